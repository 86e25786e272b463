"""Issue 10: the year a claim counts in is the programme's rule, not the applicant's choice; pools exist only for
years an operator opened; dates lie in a plausible window and the programme's period; the audit checks the
counters and pools against the rules."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select, update

from smeai.db import utcnow
from smeai.errors import Invalid, fields_from_validation
from smeai.storage import LocalStorage
from smeai.subsidy import ledger, programmes, service
from smeai.subsidy.models import Application, Counter, LedgerEntry, Pool
from smeai.subsidy.programmes import DocKind, all_programmes
from smeai.subsidy.schemas import PurchaseIn
from tests import builders
from tests.subsidy import builders as sb
from tests.subsidy.builders import TODAY, WAN

DAY = date(2026, 6, 1)  # the day of the attack in issue 10
ATTACK_YEARS = (2026, 2027, 2099, 9999)


def claim(session, ent, contract_fen: int, applied_on: date, code: str = "wuhan-compute", **over):
    data = {"programme_code": code, "signed_on": None, "starts_on": None, "ends_on": None} | over
    app = service.submit_application(session, ent, sb.compute_purchase(contract_fen, **data), today=applied_on)
    sb.upload(session, ent, app.id, DocKind.CONTRACT)
    return app


def pool_years(session, code: str = "wuhan-compute") -> set[int]:
    keys = session.scalars(select(Pool.programme_code).where(Pool.programme_code.like(f"{code}@%")))
    return {int(k.split("@")[1]) for k in keys}


def problems(session) -> list[str]:
    session.expire_all()
    return service.audit(session, builders.admin(session)).problems


# --- the attack, refused -------------------------------------------------------------------------------------


def test_contracts_signed_in_years_of_the_applicants_choice_do_not_lift_the_yearly_cap(session):
    ent, op = sb.wuhan_enterprise(session), builders.operator(session)
    opened = pool_years(session)
    approved = 0
    for i, year in enumerate(ATTACK_YEARS):  # 40 万 contracts: 20 万 of subsidy each, against a 20 万 yearly cap
        signed = date(year, 1, 15)
        if year > 2027:  # beyond the window around the application (2099) or any calendar (9999): a field error
            with pytest.raises((Invalid, ValidationError)) as caught, session.begin_nested():
                claim(session, ent, 40 * WAN, DAY, signed_on=signed, contract_no=f"ATK-{i}")
            fields = (
                caught.value.fields
                if isinstance(caught.value, Invalid)
                else fields_from_validation(caught.value.errors())
            )
            assert set(fields) == {"signed_on"}
            continue
        try:
            with session.begin_nested():
                app = claim(session, ent, 40 * WAN, DAY, signed_on=signed, contract_no=f"ATK-{i}")
                assert app.budget_year == 2026  # the year of the claim (每个自然年度累计申领), not of the signing
                service.approve_application(session, op, app.id, today=DAY)
            approved += app.approved_fen
        except ledger.CapReached:  # the 2027 contract: nothing left of 2026's 20 万
            assert year == 2027
    assert approved == 20 * WAN  # not 69 万
    assert pool_years(session) == opened  # no claim opened a year
    assert problems(session) == []


def test_a_claim_in_a_year_no_operator_opened_is_refused(session):
    ent, op = sb.wuhan_enterprise(session), builders.operator(session)
    with pytest.raises(ledger.PoolNotOpen) as caught:
        claim(session, ent, 30 * WAN, date(2031, 1, 2))
    assert caught.value.fields == {"budget_year": "no pool is open for 2031"}
    app = claim(session, ent, 30 * WAN, TODAY)
    app.budget_year = 2031  # as if a claim had named the year: reserve refuses rather than opening it
    with pytest.raises(ledger.PoolNotOpen), session.begin_nested():
        ledger.reserve(session, all_programmes()["wuhan-compute"], app, 15 * WAN, op.user_id)
    assert 2031 not in pool_years(session)
    assert session.scalar(select(Counter).where(Counter.key.like("%:2031"))) is None


def test_an_operator_opens_a_year_by_setting_its_budget_within_the_programmes_years(session):
    op = builders.operator(session)
    this_year = utcnow().year
    for year in (1999, 2099, this_year + 2):
        with pytest.raises(Invalid) as caught, session.begin_nested():
            service.set_pool_budget(session, op, "wuhan-compute", 100 * WAN, year=year)
        assert list(caught.value.fields) == ["year"]
    service.set_pool_budget(session, op, "wuhan-compute", 100 * WAN, year=this_year + 1)
    row = session.scalar(select(Pool).where(Pool.programme_code == f"wuhan-compute@{this_year + 1}"))
    assert (row.budget_fen, row.opened_by_id) == (100 * WAN, op.user_id) and row.opened_at is not None
    assert not {1999, 2099, this_year + 2} & pool_years(session)


# --- dates ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "day"),
    [
        ("signed_on", date(2001, 1, 1)),
        ("signed_on", date(2100, 12, 31)),
        ("starts_on", TODAY + timedelta(days=400)),
        ("ends_on", date(2100, 1, 1)),
        ("paid_on", TODAY - timedelta(days=4 * 366)),
    ],
)
def test_dates_outside_the_window_around_the_application_are_field_errors(session, field, day):
    ent = sb.wuhan_enterprise(session)
    over = {"signed_on": None, "starts_on": None, "ends_on": None, field: day}
    with pytest.raises(Invalid) as caught:
        claim(session, ent, 30 * WAN, TODAY, **over)
    assert list(caught.value.fields) == [field]
    with pytest.raises(Invalid) as caught:  # the calculator too
        service.calculate(session, ent, PurchaseIn(description="GPU", contract_fen=30 * WAN, **over), today=TODAY)
    assert list(caught.value.fields) == [field]


def test_the_api_refuses_dates_of_any_year_the_applicant_likes(session, client_for):
    api = client_for(sb.wuhan_enterprise(session))
    body = {
        "programme_code": "wuhan-compute",
        "description": "GPU",
        "kind": "compute",
        "supplier_name": "汉算",
        "contract_no": "Y-1",
        "contract_fen": 40 * WAN,
    }
    for day in ("0001-01-01", "9999-01-15", "2099-01-15", "2026-13-01"):
        purchase = {k: v for k, v in body.items() if k not in ("programme_code", "contract_no")}
        for url, data in (("/api/v1/subsidy/applications", body), ("/api/v1/subsidy/calculate", purchase)):
            r = api.post(url, json=data | {"signed_on": day})
            assert r.status_code == 422 and list(r.json()["fields"]) == ["signed_on"], (url, day, r.text)


def test_dates_outside_the_programmes_period_are_refused(session):
    ent = sb.beijing_enterprise(session)  # 北京: 2023-09-01 to 2025-12-31
    for over, field in (
        ({"signed_on": date(2023, 8, 31)}, "signed_on"),
        ({"starts_on": date(2026, 1, 2), "ends_on": date(2026, 12, 31)}, "starts_on"),
    ):
        with pytest.raises(Invalid) as caught, session.begin_nested():
            sb.apply(session, ent, **over)
        assert list(caught.value.fields) == [field], caught.value.fields
    purchase = PurchaseIn(
        description="GPU",
        kind="compute",
        contract_fen=100 * WAN,
        signed_on=date(2023, 8, 1),
        starts_on=date(2023, 8, 1),
        ends_on=date(2024, 7, 31),
    )
    beijing = next(
        q for q in service.calculate(session, ent, purchase, today=TODAY).programmes if q.code == "beijing-compute"
    )
    assert not beijing.eligible and [r.ok for r in beijing.reasons if r.rule == "dates"] == [False]


# --- the basis is the programme's -----------------------------------------------------------------------------


def test_a_programme_whose_text_counts_by_the_signing_year_says_so_in_its_file(session, tmp_path, monkeypatch):
    folder = tmp_path / "subsidy" / "programmes"
    folder.mkdir(parents=True)
    (folder / "signed.yaml").write_text(
        sb.sourced(
            "code: signed-year\nname: {zh: 按签约年度计的券}\nissuer: {zh: 某市}\nvoucher: compute\n"
            "region: {provinces: ['42']}\npool: {annual: true, budget_fen: 100000000}\nrate: 50%\n"
            "caps: {per_org_year_fen: 20000000}\ncap_year_basis: signed\n"
        ),
        encoding="utf-8",
    )
    monkeypatch.setattr(programmes, "operator_store", lambda: LocalStorage(tmp_path))
    assert all_programmes()["beijing-compute"].cap_year_basis == "claim"
    ent = sb.wuhan_enterprise(session)
    sb.open_years(session, "signed-year", 2025)
    app = claim(session, ent, 30 * WAN, date(2026, 1, 5), code="signed-year", signed_on=date(2025, 12, 20))
    assert app.budget_year == 2025
    service.approve_application(session, builders.operator(session), app.id, today=date(2026, 1, 5))
    assert problems(session) == []
    (folder / "bad.yaml").write_text(
        (folder / "signed.yaml").read_text().replace("signed-year", "bad").replace("basis: signed", "basis: contract"),
        encoding="utf-8",
    )
    assert "bad.yaml:cap_year_basis" in programmes.load_folder(folder)[1]


# --- the audit checks the rules --------------------------------------------------------------------------------


def _what_an_old_version_stored(session, ent) -> None:
    """The database after issue 10's attack on the old code: four approvals of one enterprise made on one day,
    counted in the years the contracts named, each year's counter within its cap, a pool per year."""
    p = all_programmes()["wuhan-compute"]
    for i, (year, amount) in enumerate(zip(ATTACK_YEARS, (20 * WAN, 20 * WAN, 20 * WAN, 9 * WAN), strict=True)):
        app = Application(
            programme_code=p.code,
            org_id=ent.org_id,
            applicant_id=ent.user_id,
            state="approved",
            description="GPU",
            kind="compute",
            supplier_name="汉算",
            contract_no=f"OLD-{i}",
            contract_ref=f"汉算|old{i}",
            contract_fen=2 * amount,
            signed_on=date(year, 1, 15),
            service_year=1,
            flags=[],
            applied_on=DAY,
            budget_year=year,
            requested_fen=amount,
            explanation=[],
            approved_fen=amount,
            redeem_by_on=DAY + timedelta(days=180),
        )
        session.add(app)
        session.flush()
        key = ledger.pool_key(p, year)
        if not session.execute(
            update(Pool).where(Pool.programme_code == key).values(reserved_fen=Pool.reserved_fen + amount)
        ).rowcount:
            session.add(Pool(programme_code=key, budget_fen=p.pool.budget_fen, reserved_fen=amount, paid_fen=0))
        session.add(Counter(key=f"org-year:{p.code}:{ent.org_id}:{year}", committed_fen=amount, cap_fen=20 * WAN))
        session.add(
            LedgerEntry(
                kind="reserve",
                programme_code=p.code,
                application_id=app.id,
                org_id=ent.org_id,
                budget_year=year,
                contract_ref=app.contract_ref,
                amount_fen=amount,
            )
        )
    session.flush()


def test_the_audit_finds_the_old_attack_that_it_used_to_call_ok(session, db_url, monkeypatch):
    from tests.subsidy.test_cli import _cli

    ent = sb.wuhan_enterprise(session)
    sb.open_years(session, "wuhan-compute", DAY.year)
    _what_an_old_version_stored(session, ent)
    found = "\n".join(problems(session))
    org = ent.org_id
    assert f"org-year:wuhan-compute:{org}:2026: the applications hold {69 * WAN}, over the cap {20 * WAN}" in found
    for year in (2027, 2099, 9999):
        assert f"counted in {year}, but wuhan-compute counts it in 2026" in found
        assert f"pool wuhan-compute@{year}: no operator opened the year {year}" in found
        assert (
            f"counter org-year:wuhan-compute:{org}:{year}: {20 * WAN if year < 9999 else 9 * WAN} but no "
            "application counts toward it" in found
        )
    session.commit()
    result = _cli(monkeypatch, db_url, "subsidy", "audit")
    assert result.exit_code == 1 and "ledger NOT ok" in result.output


def test_the_audit_checks_counters_and_applications_against_the_rules(session):
    ent, op = sb.wuhan_enterprise(session), builders.operator(session)
    app = claim(session, ent, 30 * WAN, TODAY)
    service.approve_application(session, op, app.id, today=TODAY)
    assert problems(session) == []
    key = f"org-year:wuhan-compute:{ent.org_id}:{TODAY.year}"
    session.execute(update(Counter).where(Counter.key == key).values(committed_fen=0))  # a corrupted counter
    assert f"counter {key}: 0 but the applications hold {15 * WAN}" in problems(session)
    session.execute(update(Counter).where(Counter.key == key).values(committed_fen=15 * WAN))
    session.execute(update(Application).where(Application.id == app.id).values(budget_year=2099))
    assert any(f"application {app.id}: counted in 2099" in p for p in problems(session))


def test_the_dashboard_shows_an_unopened_year_and_the_operator_opens_it(session, page_client_for):
    from bs4 import BeautifulSoup

    o = page_client_for(builders.operator(session))
    year = utcnow().year
    row = BeautifulSoup(o.get("/subsidy/dashboard").text, "html.parser").select_one(
        "table#pools tr[data-code='hangzhou-compute']"
    )
    assert f"· {year}" in row.text and row.select_one("td .muted")  # not opened: no budget to claim against
    r = o.post(
        "/subsidy/pools/hangzhou-compute",
        data={"csrf_token": o.csrf, "budget_yuan": "2500000", "year": str(year)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    row = BeautifulSoup(o.get("/subsidy/dashboard").text, "html.parser").select_one(
        "table#pools tr[data-code='hangzhou-compute']"
    )
    assert "250 万元" in row.text and not row.select_one("td .muted")
    assert pool_years(session, "hangzhou-compute") == {year}
