"""The hard constraints (industry, province, deployment, budget) at their edges, on a small made-up pool.

Both forms are checked: `passes` (the plain rule) and `Pool.allowed` (vectorised). Written against the
mutants of scripts/mutation.py on smeai/matching/ranker.py (docs/testing.md); the dev-set test checks
that the two agree, but its offerings are never priced exactly at twice the budget, for example.
"""

from __future__ import annotations

import pytest

from smeai.matching.ranker import Need, Pool, industry_covers, passes


def offer(id_: str, *, price: float = 1, industries=("*",), regions=("*",), deployment=("api",)) -> dict:
    return {
        "id": id_,
        "kind": "compute",
        "name": f"算力 {id_}",
        "summary": "GPU",
        "tags": [],
        "scenarios": [],
        "pricing": {"entry_price_wan": price},
        "industries": list(industries),
        "regions": list(regions),
        "deployment": list(deployment),
    }


def allowed(records: list[dict], need: Need) -> set[str]:
    pool = Pool(records)
    vectorised = {pool.ids[i] for i, ok in enumerate(pool.allowed(need)) if ok}
    plain = {o["id"] for o in records if passes(o, need)}
    assert vectorised == plain
    return plain


PRICED = [offer("free", price=0), offer("ten", price=10), offer("just-over", price=10.01), offer("big", price=50)]


def test_the_budget_allows_up_to_twice_itself():
    assert allowed(PRICED, Need(text="GPU", budget_wan=5)) == {"free", "ten"}
    assert allowed(PRICED, Need(text="GPU", budget_wan=0)) == {"free"}
    assert allowed(PRICED, Need(text="GPU", budget_wan=25)) == {"free", "ten", "just-over", "big"}
    assert allowed(PRICED, Need(text="GPU")) == {"free", "ten", "just-over", "big"}


REGIONS = [
    offer("anywhere"),
    offer("beijing", regions=("11",)),
    offer("shanghai", regions=("31",)),
    offer("both", regions=("11", "31")),
]


def test_the_province_must_be_served_or_everywhere():
    assert allowed(REGIONS, Need(text="GPU", province_code="11")) == {"anywhere", "beijing", "both"}
    assert allowed(REGIONS, Need(text="GPU", province_code="65")) == {"anywhere"}
    assert allowed(REGIONS, Need(text="GPU")) == {"anywhere", "beijing", "shanghai", "both"}


DEPLOYED = [
    offer("api"),
    offer("private", deployment=("private",)),
    offer("either", deployment=("api", "private")),
    offer("none", deployment=()),
]


def test_one_wanted_deployment_mode_is_enough():
    assert allowed(DEPLOYED, Need(text="GPU", deployment=("private",))) == {"private", "either"}
    assert allowed(DEPLOYED, Need(text="GPU", deployment=("api", "private"))) == {"api", "private", "either"}
    assert allowed(DEPLOYED, Need(text="GPU", deployment=("edge",))) == set()
    assert allowed(DEPLOYED, Need(text="GPU")) == {"api", "private", "either", "none"}


INDUSTRIES = [
    offer("all"),
    offer("manufacturing", industries=("C",)),
    offer("metal", industries=("C33",)),
    offer("group", industries=("K1",)),
    offer("textiles", industries=("C17",)),
    offer("software", industries=("I",)),
]


@pytest.mark.parametrize(
    ("industry", "expected"),
    [
        ("C33", {"all", "manufacturing", "metal", "group"}),
        ("C", {"all", "manufacturing"}),
        ("K1", {"all", "manufacturing", "group"}),
        ("I", {"all", "software"}),
        ("G", {"all"}),
        (None, {"all", "manufacturing", "metal", "group", "textiles", "software"}),
    ],
)
def test_an_offering_covers_an_industry_through_its_section_and_group(industry, expected):
    assert allowed(INDUSTRIES, Need(text="GPU", industry=industry)) == expected


def test_industry_covers():
    assert industry_covers("C33") == {"*", "C", "C33", "K1"}
    assert industry_covers("C") == {"*", "C"}
    assert industry_covers("K1") == {"*", "K1", "C"}
    assert industry_covers("I") == {"*", "I"}


def test_every_constraint_at_once():
    records = [
        offer("fits", price=4, industries=("C",), regions=("11",), deployment=("private",)),
        offer("dear", price=4.5, industries=("C",), regions=("11",), deployment=("private",)),
        offer("far", price=4, industries=("C",), regions=("31",), deployment=("private",)),
        offer("cloud", price=4, industries=("C",), regions=("11",), deployment=("api",)),
        offer("retail", price=4, industries=("F",), regions=("11",), deployment=("private",)),
    ]
    need = Need(text="GPU", industry="C33", province_code="11", deployment=("private",), budget_wan=2)
    assert allowed(records, need) == {"fits"}


def test_passes_answers_a_bool():
    base = offer("x", price=10, industries=("C",), regions=("11",), deployment=("api",))
    assert passes(base, Need(text="GPU")) is True
    for need in (
        Need(text="GPU", industry="I"),
        Need(text="GPU", province_code="31"),
        Need(text="GPU", deployment=("private",)),
        Need(text="GPU", budget_wan=4),
    ):
        assert passes(base, need) is False
