"""The calculator's rules one by one: the best combination, the counter keys, who claims, the net price.

Written against the mutants of scripts/mutation.py on smeai/subsidy/calculator.py (docs/testing.md).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from smeai.auth.actor import Actor
from smeai.auth.models import Organisation
from smeai.errors import Invalid, NotFound
from smeai.subsidy import calculator
from smeai.subsidy.models import Counter
from smeai.subsidy.programmes import Profile, all_programmes
from smeai.subsidy.schemas import ProgrammeQuote, PurchaseIn
from tests.subsidy import builders as sb

TODAY = date(2025, 6, 1)
WAN = 1_000_000
SHANGHAI = Profile(province_code="31", city="上海")
SUZHOU = Profile(province_code="32", city="苏州", size_class="small")


def purchase(kind: str = "compute", contract_fen: int = 100 * WAN, **over) -> PurchaseIn:
    data = {
        "description": "GPU",
        "kind": kind,
        "supplier_name": "京算科技",
        "contract_no": "HT-1",
        "contract_fen": contract_fen,
        "signed_on": TODAY,
        "starts_on": TODAY,
        "ends_on": TODAY + timedelta(300),
    }
    return PurchaseIn(**(data | over))


# --- best_combination ---------------------------------------------------------------------------------------


def quote(code: str, amount: int) -> ProgrammeQuote:
    return ProgrammeQuote(
        code=code, name=code, currency="CNY", eligible=True, amount_fen=amount, rate="", reasons=[], excludes=[]
    )


def exclusive() -> dict:
    """The shipped programmes with Beijing barring every other compute voucher (as its file once read): no
    shipped file excludes another now, and the search must still honour an exclusion."""
    shipped = all_programmes()
    bj = shipped["beijing-compute"]
    return shipped | {
        "beijing-compute": bj.model_copy(
            update={"exclusivity": bj.exclusivity.model_copy(update={"no_stacking_with_vouchers": {"compute"}})}
        )
    }


def best(contract: int, *quotes: tuple[str, int]) -> tuple[list[str], int]:
    return calculator.best_combination(exclusive(), [quote(c, a) for c, a in quotes], contract)


def test_nothing_eligible_pays_nothing():
    assert best(1000) == ([], 0)


def test_one_programme_of_one_fen():
    assert best(1000, ("shanghai-compute", 1)) == (["shanghai-compute"], 1)


def test_programmes_that_stack_add_up():
    # shanghai-compute and wuhan-compute do not exclude each other; beijing-compute excludes both
    assert best(1000, ("shanghai-compute", 100), ("wuhan-compute", 50)) == (["shanghai-compute", "wuhan-compute"], 150)


def test_an_excluded_pair_takes_the_better_side():
    assert best(1000, ("beijing-compute", 120), ("shanghai-compute", 100), ("wuhan-compute", 50)) == (
        ["shanghai-compute", "wuhan-compute"],
        150,
    )
    assert best(1000, ("beijing-compute", 200), ("shanghai-compute", 100), ("wuhan-compute", 50)) == (
        ["beijing-compute"],
        200,
    )


def test_never_more_than_the_contract():
    assert best(120, ("shanghai-compute", 100), ("wuhan-compute", 50)) == (["shanghai-compute", "wuhan-compute"], 120)


def test_ties_go_to_fewer_programmes_then_to_the_first_found():
    assert best(100, ("shanghai-compute", 100), ("wuhan-compute", 50), ("huadu-tiered", 30)) == (
        ["shanghai-compute"],
        100,
    )
    assert best(100, ("shanghai-compute", 100), ("wuhan-compute", 100)) == (["shanghai-compute"], 100)


def test_only_the_twelve_largest_are_combined():
    codes = sorted(c for c in all_programmes() if c != "beijing-compute")[:13]
    quotes = [(code, 13 - i) for i, code in enumerate(codes)]  # 13, 12, ..., 1: no exclusions among them
    chosen, total = best(10**9, *quotes)
    assert total == sum(range(2, 14)) and codes[-1] not in chosen and len(chosen) == 12


# --- keys and references ------------------------------------------------------------------------------------


def test_contract_ref_ignores_case_spaces_and_punctuation():
    assert calculator.contract_ref(" 京算 科技 ", "HT-001") == calculator.contract_ref("京算科技", "ht 001")
    assert calculator.contract_ref("京算科技", "HT_001") == "京算科技|ht001"
    assert calculator.contract_ref(None, None) == "|"
    assert len(calculator.contract_ref("a" * 400, "b")) == 300


def test_counter_keys():
    beijing = calculator.get_programme("beijing-compute")  # per enterprise per year cap, no contract cap
    org_year, per_contract = calculator.counter_keys(beijing, 7, purchase(), TODAY)
    assert org_year == "org-year:beijing-compute:7:2025"
    assert per_contract is None
    assert calculator.counter_keys(beijing, None, purchase(), TODAY) == (None, None)
    capped = beijing.model_copy(update={"caps": beijing.caps.model_copy(update={"per_contract_fen": 10})})
    assert calculator.counter_keys(capped, 7, purchase(), TODAY)[1] == "contract:beijing-compute:京算科技|ht1"
    assert calculator.counter_keys(capped, 7, purchase(contract_no=None), TODAY)[1] is None
    uncapped = calculator.get_programme("shanghai-compute")
    assert calculator.counter_keys(uncapped, 7, purchase(), TODAY) == (None, None)


def test_committed_totals(session):
    assert calculator.committed_totals(session, []) == {}
    session.add(Counter(key="org-year:x:1:2025", committed_fen=40, cap_fen=100))
    session.flush()
    assert calculator.committed_totals(session, ["org-year:x:1:2025", "other"]) == {"org-year:x:1:2025": 40}


def test_get_programme():
    assert calculator.get_programme("wuhan-compute").code == "wuhan-compute"
    with pytest.raises(NotFound):
        calculator.get_programme("nowhere")
    with pytest.raises(Invalid) as info:
        calculator.get_programme("nowhere", field="programme_code")
    assert info.value.fields == {"programme_code": "unknown programme 'nowhere'"}


def test_who_claims(session):
    org_id, profile, reader = calculator._claimant(session, SHANGHAI)
    assert (org_id, profile, reader) == (None, SHANGHAI, Actor.system())
    ent = sb.beijing_enterprise(session)
    org_id, profile, reader = calculator._claimant(session, ent)
    assert org_id == ent.org_id and profile.province_code == "11" and reader == ent
    org = session.get(Organisation, ent.org_id)
    assert calculator._claimant(session, org) == (org.id, calculator.profile_of(org), Actor.system())
    loose = Actor(user_id=ent.user_id, org_id=None, org_kind=None, roles=ent.roles)
    assert calculator._claimant(session, loose) == (None, Profile(), loose)


# --- calculate ----------------------------------------------------------------------------------------------


def test_the_quote_names_the_best_and_the_net_price(session, monkeypatch):
    patched = exclusive()
    monkeypatch.setattr(calculator, "all_programmes", lambda: patched)
    quote_ = calculator.calculate(session, SHANGHAI, purchase(), today=TODAY)
    assert (quote_.best, quote_.total_fen, quote_.net_fen) == (["shanghai-compute"], 30 * WAN, 70 * WAN)
    assert quote_.contract_fen == 100 * WAN
    assert len(quote_.programmes) == len(all_programmes())
    assert quote_.programmes[0].code == "shanghai-compute" and quote_.programmes[0].eligible
    assert all(not q.eligible and q.amount_fen == 0 for q in quote_.programmes[1:])
    assert [q.code for q in quote_.programmes[1:]] == sorted(q.code for q in quote_.programmes[1:])
    assert len(quote_.explanation) == 1 and quote_.explanation[0].endswith("300,000.00")
    beijing = next(q for q in quote_.programmes if q.code == "beijing-compute")
    assert "上海市算力券" in beijing.excludes  # names, never codes


def test_a_programme_whose_cap_is_used_up_pays_nothing_and_is_not_eligible(session):
    ent = sb.beijing_enterprise(session)
    p = calculator.get_programme("beijing-compute")
    key, _ = calculator.counter_keys(p, ent.org_id, purchase(), TODAY)
    session.add(Counter(key=key, committed_fen=p.caps.per_org_year_fen, cap_fen=p.caps.per_org_year_fen))
    session.flush()
    quote_ = calculator.calculate(session, ent, purchase(), today=TODAY)
    beijing = next(q for q in quote_.programmes if q.code == "beijing-compute")
    assert not beijing.eligible and beijing.amount_fen == 0
    assert (quote_.best, quote_.total_fen, quote_.net_fen) == ([], 0, 100 * WAN)


def test_a_programme_the_supplier_claims_is_not_the_buyers(session):
    quote_ = calculator.calculate(session, SUZHOU, purchase("service", supplier_name="苏州智能"), today=TODAY)
    supplier = next(q for q in quote_.programmes if q.code == "suzhou-ai-supplier")
    assert not supplier.eligible
    assert supplier.reasons[0].rule == "claimant" and not supplier.reasons[0].ok
    buyer = next(q for q in quote_.programmes if q.code == "suzhou-ai-scenario")
    assert buyer.eligible and all(r.rule != "claimant" for r in buyer.reasons)


def test_dates_far_from_today_are_refused(session):
    with pytest.raises(Invalid) as info:
        calculator.calculate(session, SHANGHAI, purchase(signed_on=date(2099, 1, 1)), today=TODAY)
    assert "signed_on" in info.value.fields


def test_an_offering_fills_what_the_purchase_leaves_out(session):
    from tests import builders
    from tests.catalog import builders as catalog_builders

    prov, op = builders.provider(session, "武汉智算服务有限公司"), builders.operator(session)
    ent = sb.wuhan_enterprise(session)
    offering = catalog_builders.published(
        session, prov, op, name="昇腾训练算力包", kind="compute", scenarios=[], deployment=["api"]
    )
    filled, found = calculator.resolve_purchase(session, ent, PurchaseIn(offering_id=offering.id, contract_fen=100))
    assert found is not None and found.id == offering.id
    assert (filled.kind, filled.description, filled.supplier_name) == (
        "compute",
        "昇腾训练算力包",
        "武汉智算服务有限公司",
    )
    own = PurchaseIn(
        offering_id=offering.id, contract_fen=100, kind="service", description="部署服务", supplier_name="别家"
    )
    filled, _ = calculator.resolve_purchase(session, ent, own)
    assert (filled.kind, filled.description, filled.supplier_name) == ("service", "部署服务", "别家")
    plain = PurchaseIn(description="GPU", contract_fen=100)
    assert calculator.resolve_purchase(session, ent, plain) == (plain, None)


def test_listed_in_of():
    from types import SimpleNamespace

    assert calculator.listed_in_of(SimpleNamespace(voucher_eligible=["wuhan-compute"])) == {"wuhan-compute"}
    assert calculator.listed_in_of(SimpleNamespace(voucher_eligible=None)) == frozenset()
    assert calculator.listed_in_of(None) == frozenset()


def test_the_cap_per_enterprise_year_is_paid_in_full_when_nothing_is_held(session):
    ent = sb.beijing_enterprise(session)
    quote_ = calculator.calculate(session, ent, purchase(contract_fen=1500 * WAN), today=TODAY)
    assert (quote_.best, quote_.total_fen) == (["beijing-compute"], 200 * WAN)  # the cap, to the fen


def _with_shanghai_caps(monkeypatch, **caps) -> str:
    shipped = all_programmes()
    sh = shipped["shanghai-compute"]
    patched = shipped | {"shanghai-compute": sh.model_copy(update={"caps": sh.caps.model_copy(update=caps)})}
    monkeypatch.setattr(calculator, "all_programmes", lambda: patched)
    return "shanghai-compute"


def test_the_cap_per_contract_counts_what_the_contract_already_holds(session, monkeypatch):
    code = _with_shanghai_caps(monkeypatch, per_contract_fen=5 * WAN)
    quote_ = calculator.calculate(session, SHANGHAI, purchase(), today=TODAY)  # 30% of 100 万, capped at 5 万
    assert (quote_.best, quote_.total_fen) == ([code], 5 * WAN)
    session.add(Counter(key=f"contract:{code}:京算科技|ht1", committed_fen=2 * WAN, cap_fen=5 * WAN))
    session.flush()
    assert calculator.calculate(session, SHANGHAI, purchase(), today=TODAY).total_fen == 3 * WAN


def test_one_fen_is_worth_claiming(session, monkeypatch):
    code = _with_shanghai_caps(monkeypatch, per_claim_fen=1)
    quote_ = calculator.calculate(session, SHANGHAI, purchase(), today=TODAY)
    assert (quote_.best, quote_.total_fen) == ([code], 1)
    assert next(q for q in quote_.programmes if q.code == code).eligible


def test_the_given_day_is_today(session):
    later = date(2031, 1, 1)
    quote_ = calculator.calculate(
        session,
        SHANGHAI,
        purchase(signed_on=later - timedelta(30), starts_on=later - timedelta(30), ends_on=later + timedelta(300)),
        today=later,
    )
    assert quote_.best == ["shanghai-compute"]
