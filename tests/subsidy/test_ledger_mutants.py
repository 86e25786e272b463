"""The guarded totals, rule by rule and edge by edge: each cap is reached exactly and passed by one fen.

Written against the mutants of scripts/mutation.py on smeai/subsidy/ledger.py (docs/testing.md): the
flows in test_service.py go through these functions, but with amounts far from every edge.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from smeai.errors import Conflict
from smeai.subsidy import ledger
from smeai.subsidy.ledger import BudgetExhausted, CapReached, LedgerKind, PoolNotOpen
from smeai.subsidy.models import Application, Counter, LedgerEntry, Pool
from smeai.subsidy.programmes import Caps, all_programmes
from smeai.subsidy.programmes import Pool as PoolRule
from smeai.subsidy.schemas import ApplicationState
from tests import builders

YEAR = 2025


def programme(
    *,
    budget: int | None = 1000,
    annual: bool = False,
    per_claim: int | None = None,
    per_org_year: int | None = None,
    per_contract: int | None = None,
    code: str = "shanghai-compute",
):
    base = all_programmes()[code]
    return base.model_copy(
        update={
            "pool": PoolRule(budget_fen=budget, annual=annual),
            "caps": Caps(per_claim_fen=per_claim, per_org_year_fen=per_org_year, per_contract_fen=per_contract),
        }
    )


def _org(session) -> int:
    """One enterprise per test (making a user hashes a password: slow)."""
    if "ledger_test_org" not in session.info:
        session.info["ledger_test_org"] = builders.enterprise(session).org_id
    return session.info["ledger_test_org"]


def application(
    session,
    p,
    *,
    state: str = ApplicationState.APPROVED,
    ref: str = "supplier|ht-1",
    org_id: int | None = None,
    approved: int | None = None,
    paid: int | None = None,
) -> Application:
    org_id = org_id or _org(session)
    app = Application(
        programme_code=p.code,
        org_id=org_id,
        state=state,
        description="GPU",
        supplier_name="S",
        contract_ref=ref,
        contract_fen=10_000,
        budget_year=YEAR,
        requested_fen=approved or 0,
        approved_fen=approved,
        paid_fen=paid,
        applied_on=date(YEAR, 6, 1),
        signed_on=date(YEAR, 3, 1),
    )
    session.add(app)
    session.flush()
    return app


def pool_row(session, key: str) -> Pool:
    session.expire_all()
    return session.scalar(select(Pool).where(Pool.programme_code == key))


def counters(session) -> dict[str, int]:
    session.expire_all()
    return {c.key: c.committed_fen for c in session.scalars(select(Counter))}


def entries(session) -> list[tuple[str, int]]:
    return [(e.kind, e.amount_fen) for e in session.scalars(select(LedgerEntry).order_by(LedgerEntry.id))]


def test_pool_key():
    assert ledger.pool_key(programme(), YEAR) == "shanghai-compute"
    assert ledger.pool_key(programme(annual=True), YEAR) == "shanghai-compute@2025"


def test_counter_caps_name_each_capped_total_in_a_fixed_order(session):
    p = programme(per_org_year=50, per_contract=70)
    app = application(session, p)
    assert ledger.counter_caps(p, app) == {
        f"contract:{p.code}:supplier|ht-1": 70,
        f"org-year:{p.code}:{app.org_id}:{YEAR}": 50,
    }
    assert list(ledger.counter_caps(p, app)) == sorted(ledger.counter_caps(p, app))
    assert ledger.counter_caps(programme(), app) == {}


def test_the_pool_is_reserved_up_to_the_last_fen_and_not_one_more(session):
    p = programme(budget=1000)
    first, second = application(session, p), application(session, p)
    ledger.reserve(session, p, first, 600, None)
    ledger.reserve(session, p, second, 400, None)  # exactly what is left
    assert pool_row(session, p.code).reserved_fen == 1000
    with pytest.raises(BudgetExhausted):
        ledger.reserve(session, p, application(session, p), 1, None)
    assert pool_row(session, p.code).reserved_fen == 1000
    assert entries(session) == [(LedgerKind.RESERVE, 600), (LedgerKind.RESERVE, 400)]


def test_paid_money_counts_against_the_pool_too(session):
    p = programme(budget=1000)
    app = application(session, p)
    ledger.reserve(session, p, app, 700, None)
    ledger.payout(session, p, app, 700, None)
    with pytest.raises(BudgetExhausted):
        ledger.reserve(session, p, application(session, p), 301, None)
    ledger.reserve(session, p, application(session, p), 300, None)
    row = pool_row(session, p.code)
    assert (row.reserved_fen, row.paid_fen) == (300, 700)


def test_a_pool_without_a_budget_takes_any_amount(session):
    p = programme(budget=None)
    ledger.reserve(session, p, application(session, p), 10**12, None)
    assert pool_row(session, p.code).reserved_fen == 10**12


def test_the_cap_per_claim_is_inclusive(session):
    p = programme(per_claim=500)
    ledger.reserve(session, p, application(session, p), 500, None)
    with pytest.raises(CapReached):
        ledger.reserve(session, p, application(session, p), 501, None)
    assert pool_row(session, p.code).reserved_fen == 500


def test_the_cap_per_enterprise_year_is_reached_exactly_and_passed_by_one_fen(session):
    p = programme(per_org_year=500, budget=None)
    org = _org(session)
    ledger.reserve(session, p, application(session, p, org_id=org, ref="a"), 300, None)
    ledger.reserve(session, p, application(session, p, org_id=org, ref="b"), 200, None)
    key = f"org-year:{p.code}:{org}:{YEAR}"
    assert counters(session) == {key: 500}
    with pytest.raises(CapReached) as info:
        ledger.reserve(session, p, application(session, p, org_id=org, ref="c"), 1, None)
    assert info.value.params == {"cap": key}
    # another enterprise has its own total
    ledger.reserve(session, p, application(session, p, org_id=builders.enterprise(session).org_id, ref="d"), 500, None)


def test_the_cap_per_contract(session):
    p = programme(per_contract=400)
    ledger.reserve(session, p, application(session, p, ref="x|1"), 400, None)
    with pytest.raises(CapReached):
        ledger.reserve(session, p, application(session, p, ref="x|1"), 1, None)
    assert counters(session) == {f"contract:{p.code}:x|1": 400}
    session.expire_all()
    assert session.scalar(select(Counter.cap_fen)) == 400


def test_an_annual_pool_must_be_opened_by_an_operator(session):
    p = programme(annual=True, budget=1000)
    app = application(session, p)
    assert not ledger.is_open(session, p, YEAR)
    with pytest.raises(PoolNotOpen) as info:
        ledger.reserve(session, p, app, 10, None)
    assert info.value.fields == {"budget_year": f"no pool is open for {YEAR}"}
    assert pool_row(session, f"{p.code}@{YEAR}") is None
    ledger.open_pool(session, p, YEAR)
    assert ledger.is_open(session, p, YEAR)
    assert not ledger.is_open(session, p, YEAR + 1)
    ledger.reserve(session, p, app, 10, None)
    assert pool_row(session, f"{p.code}@{YEAR}").reserved_fen == 10
    ledger.require_open(session, p, YEAR)


def test_a_single_pool_opens_with_its_first_claim(session):
    p = programme(budget=1000)
    assert ledger.is_open(session, p, YEAR)
    assert pool_row(session, p.code) is None
    ledger.reserve(session, p, application(session, p), 10, None)
    row = pool_row(session, p.code)
    assert (row.budget_fen, row.reserved_fen, row.paid_fen) == (1000, 10, 0)
    assert row.opened_at is not None


def test_release_gives_back_pool_and_counters(session):
    p = programme(per_org_year=500, per_contract=500)
    member = builders.enterprise(session)
    app = application(session, p, org_id=member.org_id)
    ledger.reserve(session, p, app, 300, None)
    ledger.release(session, p, app, 99, member.user_id)
    ledger.release(session, p, app, 1, None)  # one fen is an amount too
    assert pool_row(session, p.code).reserved_fen == 200
    assert set(counters(session).values()) == {200}
    ledger.release(session, p, app, 0, None)  # nothing to give back: no entry
    ledger.release(session, p, app, -5, None)
    assert entries(session) == [(LedgerKind.RESERVE, 300), (LedgerKind.RELEASE, 99), (LedgerKind.RELEASE, 1)]
    with pytest.raises(Conflict):
        ledger.release(session, p, app, 201, None)
    ledger.release(session, p, app, 200, None)  # exactly what is held
    assert pool_row(session, p.code).reserved_fen == 0
    assert set(counters(session).values()) == {0}
    entry = session.scalars(select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.RELEASE)).first()
    assert (entry.application_id, entry.org_id, entry.budget_year, entry.contract_ref, entry.actor_user_id) == (
        app.id,
        app.org_id,
        YEAR,
        "supplier|ht-1",
        member.user_id,
    )


def test_payout_turns_a_reservation_into_a_payment(session):
    p = programme(budget=1000, per_org_year=800)
    app = application(session, p)
    ledger.reserve(session, p, app, 500, None)
    with pytest.raises(Conflict):
        ledger.payout(session, p, app, 501, None)
    ledger.payout(session, p, app, 500, None)  # exactly what is reserved
    row = pool_row(session, p.code)
    assert (row.reserved_fen, row.paid_fen) == (0, 500)
    assert set(counters(session).values()) == {500}  # a payment still counts against the cap
    assert entries(session) == [(LedgerKind.RESERVE, 500), (LedgerKind.PAYOUT, 500)]


def test_set_budget_never_below_what_is_held(session):
    p = programme(budget=1000)
    app = application(session, p)
    ledger.reserve(session, p, app, 300, None)
    ledger.payout(session, p, app, 100, None)
    assert not ledger.set_budget(session, p, 299, YEAR)
    assert pool_row(session, p.code).budget_fen == 1000
    assert ledger.set_budget(session, p, 300, YEAR)  # reserved 200 + paid 100: exactly
    assert pool_row(session, p.code).budget_fen == 300
    assert ledger.set_budget(session, p, None, YEAR)
    assert pool_row(session, p.code).budget_fen is None


def test_set_budget_opens_an_annual_year_and_records_who(session):
    p = programme(annual=True, budget=1000)
    user_id = builders.operator(session).user_id
    assert ledger.set_budget(session, p, 700, YEAR, opened_by=user_id)
    row = pool_row(session, f"{p.code}@{YEAR}")
    assert (row.budget_fen, row.opened_by_id) == (700, user_id)
    assert row.opened_at is not None
    assert ledger.is_open(session, p, YEAR)


@pytest.mark.parametrize(
    ("state", "approved", "paid", "held"),
    [
        (ApplicationState.APPROVED, 500, None, (500, 0)),
        (ApplicationState.REDEEMING, 500, None, (500, 0)),
        (ApplicationState.PAID, 500, 400, (0, 400)),
        (ApplicationState.SUBMITTED, None, None, (0, 0)),
        (ApplicationState.REJECTED, 500, None, (0, 0)),
        (ApplicationState.EXPIRED, 500, None, (0, 0)),
        (ApplicationState.APPROVED, None, None, (0, 0)),
        (ApplicationState.PAID, 500, None, (0, 0)),
    ],
)
def test_what_an_application_holds_in_each_state(state, approved, paid, held):
    app = Application(state=state, approved_fen=approved, paid_fen=paid)
    assert ledger.held(app) == held


def test_sums_per_kind(session):
    p = programme(budget=None)
    app = application(session, p)
    ledger.reserve(session, p, app, 300, None)
    ledger.reserve(session, p, app, 200, None)
    ledger.release(session, p, app, 50, None)
    assert ledger.sums(session, LedgerEntry.application_id) == {(app.id,): {"reserve": 500, "release": 50, "payout": 0}}
    assert ledger.sums(session, LedgerEntry.application_id)[(app.id + 1,)] == {"reserve": 0, "release": 0, "payout": 0}


def test_release_touches_only_its_own_counters(session):
    p = programme(budget=None, per_contract=500)
    mine, other = application(session, p, ref="a|1"), application(session, p, ref="b|2")
    ledger.reserve(session, p, mine, 300, None)
    ledger.reserve(session, p, other, 300, None)
    ledger.release(session, p, mine, 100, None)
    assert counters(session) == {f"contract:{p.code}:a|1": 200, f"contract:{p.code}:b|2": 300}
