"""The audit (`ledger.audit`), breach by breach: a world that holds every total at its edge is clean, and
each single corruption of it is named.

Written against the mutants of scripts/mutation.py on `audit` in smeai/subsidy/ledger.py (docs/testing.md):
the flows in test_service.py run the audit only on clean, far-from-the-edge worlds. The tables' CHECK
constraints keep some breaches out of the database altogether (a pool over its budget, a counter below
zero or over its cap); the audit checks them again, and those lines are explained in docs/testing.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import update

from smeai.auth import service as auth_service
from smeai.auth.actor import Actor
from smeai.auth.permissions import OrgKind
from smeai.auth.schemas import OrganisationIn
from smeai.subsidy import ledger
from smeai.subsidy.ledger import LedgerKind
from smeai.subsidy.models import Application, ClaimLock, Counter, LedgerEntry, Pool
from smeai.subsidy.programmes import Programme
from smeai.subsidy.schemas import ApplicationState
from tests.subsidy.test_ledger_mutants import YEAR, application, programme

SINGLE = "shanghai-compute"  # a programme with one pool
ANNUAL = "wuhan-compute"  # a programme with a pool per budget year


@dataclass
class World:
    p: Programme
    q: Programme
    a: Application  # approved, 500 reserved: its enterprise's year and its contract at their caps
    b: Application  # paid, 500 reserved then paid (another enterprise)
    c: Application  # submitted, nothing held

    def programmes(self, **p_caps: int | None) -> dict[str, Programme]:
        p = self.p
        if p_caps:
            p = p.model_copy(update={"caps": p.caps.model_copy(update=p_caps)})
        return {p.code: p, self.q.code: self.q}


@pytest.fixture
def world(session) -> World:
    p = programme(budget=1000, per_org_year=500, per_contract=500, code=SINGLE)
    q = programme(budget=10, annual=True, code=ANNUAL)
    ledger.open_pool(session, q, YEAR)  # an operator's opened year, holding nothing of its 10
    org, other_org = (_org(session, name) for name in ("审计甲公司", "审计乙公司"))
    a = application(session, p, approved=500, ref="ref-a", org_id=org)
    b = application(session, p, state=ApplicationState.PAID, approved=500, paid=500, ref="ref-b", org_id=other_org)
    c = application(session, p, state=ApplicationState.SUBMITTED, ref="ref-c", org_id=org)
    ledger.reserve(session, p, a, 500, None)
    ledger.reserve(session, p, b, 500, None)
    ledger.payout(session, p, b, 500, None)
    session.add(ClaimLock(key="contract:ref-a", application_id=a.id))
    session.flush()
    return World(p, q, a, b, c)


def _org(session, name: str) -> int:
    """An enterprise without users (no password to hash: each mutant runs this file again)."""
    return auth_service.create_organisation(
        session, Actor.system(), OrganisationIn(name=name, kind=OrgKind.ENTERPRISE)
    ).id


def _problems(session, w: World, **p_caps: int | None) -> list[str]:
    session.flush()
    session.expire_all()
    return ledger.audit(session, w.programmes(**p_caps)).problems


def _entry(session, app: Application, kind: str, amount: int, **overrides: object) -> None:
    values: dict[str, object] = {
        "kind": kind,
        "programme_code": app.programme_code,
        "application_id": app.id,
        "org_id": app.org_id,
        "budget_year": app.budget_year,
        "contract_ref": app.contract_ref,
        "amount_fen": amount,
    }
    session.add(LedgerEntry(**(values | overrides)))


def test_a_world_at_every_edge_is_clean_and_everything_is_counted(session, world):
    report = ledger.audit(session, world.programmes())
    assert report.problems == []
    assert report.ok
    assert report.checked == {"pools": 2, "counters": 4, "applications": 3, "locks": 1, "ledger_entries": 3}


def test_a_redeeming_application_holds_its_reservation_like_an_approved_one(session, world):
    world.a.state = ApplicationState.REDEEMING
    assert _problems(session, world) == []


def test_a_pool_row_that_disagrees_with_the_ledger(session, world):
    session.execute(update(Pool).where(Pool.programme_code == SINGLE).values(reserved_fen=499))
    assert f"pool {SINGLE}: reserved 499 but the ledger says 500" in _problems(session, world)
    session.execute(update(Pool).where(Pool.programme_code == SINGLE).values(reserved_fen=500, paid_fen=499))
    assert f"pool {SINGLE}: paid 499 but the ledger says 500" in _problems(session, world)


def test_ledger_entries_without_a_pool_row(session, world):
    _entry(session, world.c, LedgerKind.RESERVE, 1, programme_code="nowhere")
    assert "pool nowhere: ledger entries but no pool row" in _problems(session, world)


def test_an_annual_programmes_entries_count_in_the_pool_of_their_year(session, world):
    _entry(session, world.c, LedgerKind.RESERVE, 7, programme_code=ANNUAL, budget_year=YEAR + 1)
    problems = _problems(session, world)
    assert f"pool {ANNUAL}@{YEAR + 1}: ledger entries but no pool row" in problems
    assert f"pool {ANNUAL}: ledger entries but no pool row" not in problems


def test_a_ledger_that_releases_more_than_it_reserved(session, world):
    _entry(session, world.c, LedgerKind.RELEASE, 1, programme_code=ANNUAL)
    problems = _problems(session, world)
    assert f"pool {ANNUAL}@{YEAR}: the ledger releases or pays more than it reserved" in problems
    assert f"pool {ANNUAL}@{YEAR}: reserved 0 but the ledger says -1" in problems
    assert not any("releases or pays" in p for p in problems if SINGLE in p)


def test_a_years_pool_of_a_programme_without_annual_pools(session, world):
    session.add(Pool(programme_code=f"{SINGLE}@{YEAR}", budget_fen=None, reserved_fen=0, paid_fen=0))
    session.add(Pool(programme_code=f"ghost@{YEAR}", budget_fen=None, reserved_fen=0, paid_fen=0))
    problems = _problems(session, world)
    assert f"pool {SINGLE}@{YEAR}: a budget year's pool, but {SINGLE} has no annual pool" in problems
    assert f"pool ghost@{YEAR}: a budget year's pool, but ghost has no annual pool" in problems
    assert not any("no operator opened" in p for p in problems)


def test_a_year_no_operator_opened(session, world):
    session.add(Pool(programme_code=f"{ANNUAL}@{YEAR - 1}", budget_fen=None, reserved_fen=0, paid_fen=0))
    assert _problems(session, world) == [
        f"pool {ANNUAL}@{YEAR - 1}: no operator opened the year {YEAR - 1} (a claim created it)"
    ]


def test_an_enterprise_year_or_a_contract_over_the_programmes_cap(session, world):
    org = world.a.org_id
    assert f"{SINGLE}: enterprise {org} has 500 in {YEAR}, over the cap 499" in _problems(
        session, world, per_org_year_fen=499
    )
    assert f"{SINGLE}: contract ref-a has 500, over the cap 499" in _problems(session, world, per_contract_fen=499)


def test_a_counter_the_programme_no_longer_caps_is_still_compared(session, world):
    problems = _problems(session, world, per_org_year_fen=None, per_contract_fen=None)
    assert f"counter org-year:{SINGLE}:{world.a.org_id}:{YEAR}: 500 but the ledger says 0" in problems
    assert f"counter contract:{SINGLE}:ref-b: 500 but the ledger says 0" in problems


def test_a_counter_that_disagrees_with_the_ledger(session, world):
    key = f"contract:{SINGLE}:ref-a"
    session.execute(update(Counter).where(Counter.key == key).values(committed_fen=499))
    assert f"counter {key}: 499 but the ledger says 500" in _problems(session, world)


def test_a_counter_without_ledger_entries(session, world):
    session.add(Counter(key=f"contract:{SINGLE}:ref-z", committed_fen=1, cap_fen=500))
    assert f"counter contract:{SINGLE}:ref-z: 1 but the ledger says 0" in _problems(session, world)


def test_a_release_lowers_what_a_contract_and_a_year_carry_but_a_payout_does_not(session, world):
    _entry(session, world.a, LedgerKind.RELEASE, 100)
    problems = _problems(session, world)
    assert f"counter contract:{SINGLE}:ref-a: 500 but the ledger says 400" in problems
    assert f"counter org-year:{SINGLE}:{world.a.org_id}:{YEAR}: 500 but the ledger says 400" in problems


def test_an_approved_application_must_hold_exactly_its_approved_amount(session, world):
    world.a.approved_fen = 499
    assert (
        f"application {world.a.id} (approved): reserved 500, released 0, paid 0, approved 499, paid out None"
        in _problems(session, world)
    )


def test_an_approved_application_holds_something_and_has_no_payout(session, world):
    world.c.state = ApplicationState.APPROVED
    assert f"application {world.c.id} (approved): reserved 0, released 0, paid 0, approved None, paid out None" in (
        _problems(session, world)
    )
    world.c.state = ApplicationState.SUBMITTED
    world.b.state = ApplicationState.APPROVED
    world.b.paid_fen = None
    problems = _problems(session, world)
    assert f"application {world.b.id} (approved): reserved 500, released 0, paid 500, approved 500, paid out None" in (
        problems
    )


def test_an_approved_application_whose_payout_is_offset(session, world):
    _entry(session, world.a, LedgerKind.PAYOUT, 1)
    _entry(session, world.a, LedgerKind.RESERVE, 1)
    problems = _problems(session, world)
    assert any(p.startswith(f"application {world.a.id} (approved): reserved 501, released 0, paid 1") for p in problems)


def test_a_paid_application_paid_what_it_says_and_was_reserved_what_was_approved(session, world):
    world.b.paid_fen = 499
    assert any(p.startswith(f"application {world.b.id} (paid):") for p in _problems(session, world))
    world.b.paid_fen = 500
    world.b.approved_fen = 499
    problems = _problems(session, world)
    assert any(p.startswith(f"application {world.b.id} (paid):") for p in problems)
    assert f"application {world.b.id}: paid 500 over the approved 499" in problems


def test_a_paid_application_holds_nothing_reserved(session, world):
    _entry(session, world.b, LedgerKind.RESERVE, 1)
    world.b.approved_fen = 501
    assert any(p.startswith(f"application {world.b.id} (paid): reserved 501") for p in _problems(session, world))
    _entry(session, world.b, LedgerKind.RELEASE, 1)  # 501 - 1 - 500: nothing held, the rest paid
    assert not any(p.startswith(f"application {world.b.id} (paid)") for p in _problems(session, world))


def test_an_application_with_nothing_to_hold_holds_nothing(session, world):
    _entry(session, world.c, LedgerKind.RESERVE, 5)
    assert any(p.startswith(f"application {world.c.id} (submitted): reserved 5") for p in _problems(session, world))
    _entry(session, world.c, LedgerKind.RELEASE, 5)
    assert not any(p.startswith(f"application {world.c.id}") for p in _problems(session, world))
    _entry(session, world.c, LedgerKind.RESERVE, 5)
    _entry(session, world.c, LedgerKind.PAYOUT, 5)
    assert any(p.startswith(f"application {world.c.id} (submitted):") for p in _problems(session, world))


def test_a_paid_amount_over_the_approved_one_is_named_in_any_state(session, world):
    world.c.approved_fen, world.c.paid_fen = 10, 11
    problems = _problems(session, world)
    assert f"application {world.c.id}: paid 11 over the approved 10" in problems
    world.c.approved_fen = None
    assert not any("over the approved" in p for p in _problems(session, world))
    world.c.approved_fen, world.c.paid_fen = 10, None
    assert not any("over the approved" in p for p in _problems(session, world))


def test_a_claim_lock_held_by_an_application_that_is_not_live(session, world):
    session.add(ClaimLock(key="contract:ref-c", application_id=world.c.id))
    assert _problems(session, world) == []  # submitted is live
    world.c.state = ApplicationState.REJECTED
    assert _problems(session, world) == [
        f"claim lock contract:ref-c held by application {world.c.id}, which is not live"
    ]


def test_the_audit_checks_the_applications_against_the_rules_too(session, world):
    world.c.programme_code = "ghost"  # no ledger entry, no counter, no pool: only the rules see it
    assert _problems(session, world) == [f"application {world.c.id}: unknown programme ghost"]


def test_ledger_entries_a_counter_should_carry_but_no_counter_row(session, world):
    _entry(session, world.c, LedgerKind.RESERVE, 5)
    assert f"counter contract:{SINGLE}:ref-c: 0 but the ledger says 5" in _problems(session, world)


def test_an_approved_application_of_one_fen_and_one_without_an_amount(session, world):
    world.c.state, world.c.approved_fen = ApplicationState.APPROVED, 1
    _entry(session, world.c, LedgerKind.RESERVE, 1)
    assert not any(p.startswith(f"application {world.c.id} (approved)") for p in _problems(session, world))
    world.c.approved_fen = None
    assert any(p.startswith(f"application {world.c.id} (approved): reserved 1") for p in _problems(session, world))


def test_a_paid_application_of_nothing_paid_nothing(session, world):
    world.c.state, world.c.approved_fen = ApplicationState.PAID, 0
    assert _problems(session, world) == []
