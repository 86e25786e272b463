"""The money: pools, guarded counters, the append-only ledger, and the audit that recomputes it all.

Admission is one transaction of conditional UPDATEs: the pool row gains `reserved` only where
`budget - reserved - paid >= amount`, and each capped counter (per enterprise per year, per contract) only
where `committed + amount <= cap`. Checking and recording are the same statement, so no interleaving of
requests on PostgreSQL or SQLite can push a total past its cap; the CHECK constraints on the tables are a
second wall. Every change of a total is matched by a ledger row, and `audit()` proves they agree, and that
they agree with the rules: each application counts in the year its programme says, within the caps, and
pools exist only for years an operator opened.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select, true, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from smeai.db import insert_ignore, rows_matched, utcnow
from smeai.errors import Conflict
from smeai.i18n import N_
from smeai.subsidy.models import Application, ClaimLock, Counter, LedgerEntry, Pool
from smeai.subsidy.programmes import Programme, budget_year
from smeai.subsidy.schemas import LIVE_STATES, ApplicationState


class BudgetExhausted(Conflict):
    """The programme's budget pool cannot cover the amount; nothing was reserved."""

    code = "budget_exhausted"


class CapReached(Conflict):
    """The amount would pass a cap (per claim, per enterprise per year, per contract); nothing was reserved."""

    code = "cap_reached"


class PoolNotOpen(Conflict):
    """No pool is open for the application's budget year: an operator opens a year by setting its budget."""

    code = "pool_not_open"


class LedgerKind:
    RESERVE = "reserve"
    RELEASE = "release"
    PAYOUT = "payout"


def pool_key(programme: Programme, budget_year: int) -> str:
    """The pool a claim draws on: the programme's, or for an annual pool that budget year's (`code@2026`)."""
    return f"{programme.code}@{budget_year}" if programme.pool.annual else programme.code


def open_pool(session: Session, programme: Programme, budget_year: int, opened_by: int | None = None) -> str:
    """Open the pool (an annual pool: BUDGET_YEAR's) with the file's budget, unless it is open already.

    Only an operator's budget (`set_budget`), the demo, or the first claim on a programme's single pool (opened
    by its file) call this; no claim opens an annual pool's year.
    """
    key = pool_key(programme, budget_year)
    insert_ignore(
        session,
        Pool,
        {
            "programme_code": key,
            "budget_fen": programme.pool.budget_fen,
            "reserved_fen": 0,
            "paid_fen": 0,
            "opened_at": utcnow(),
            "opened_by_id": opened_by,
        },
        ["programme_code"],
    )
    return key


def is_open(session: Session, programme: Programme, budget_year: int) -> bool:
    """Whether a claim of BUDGET_YEAR has a pool: always for a single pool, for an annual one once opened."""
    if not programme.pool.annual:
        return True
    key = pool_key(programme, budget_year)
    return session.scalar(select(Pool.id).where(Pool.programme_code == key, Pool.opened_at.is_not(None))) is not None


def require_open(session: Session, programme: Programme, budget_year: int) -> None:
    if not is_open(session, programme, budget_year):
        raise PoolNotOpen(
            N_("No budget is open for this programme's year; an operator opens a year by setting its budget."),
            fields={"budget_year": f"no pool is open for {budget_year}"},
        )


def counter_caps(programme: Programme, app: Application) -> dict[str, int]:
    """The capped running totals an application counts against, by key (sorted: a fixed lock order)."""
    caps: dict[str, int] = {}
    if programme.caps.per_org_year_fen is not None:
        caps[f"org-year:{programme.code}:{app.org_id}:{app.budget_year}"] = programme.caps.per_org_year_fen
    if programme.caps.per_contract_fen is not None:
        caps[f"contract:{programme.code}:{app.contract_ref}"] = programme.caps.per_contract_fen
    return dict(sorted(caps.items()))


def _entry(session: Session, kind: str, app: Application, amount_fen: int, actor_user_id: int | None) -> None:
    session.add(
        LedgerEntry(
            kind=kind,
            programme_code=app.programme_code,
            application_id=app.id,
            org_id=app.org_id,
            budget_year=app.budget_year,
            contract_ref=app.contract_ref,
            amount_fen=amount_fen,
            actor_user_id=actor_user_id,
        )
    )


def reserve(
    session: Session, programme: Programme, app: Application, amount_fen: int, actor_user_id: int | None
) -> None:
    """Reserve AMOUNT against the pool and every cap, or raise and change nothing (the edge rolls back)."""
    if programme.caps.per_claim_fen is not None and amount_fen > programme.caps.per_claim_fen:
        raise CapReached(N_("The amount is over the programme's cap per claim."))
    if programme.pool.annual:  # a year's pool exists only if an operator opened it; a claim never opens one
        key = pool_key(programme, app.budget_year)
    else:
        key = open_pool(session, programme, app.budget_year)
    taken = rows_matched(
        session,
        update(Pool)
        .where(
            Pool.programme_code == key,
            Pool.opened_at.is_not(None),
            or_(Pool.budget_fen.is_(None), Pool.budget_fen - Pool.reserved_fen - Pool.paid_fen >= amount_fen),
        )
        .values(reserved_fen=Pool.reserved_fen + amount_fen)
        .execution_options(synchronize_session=False),
    )
    if taken != 1:
        require_open(session, programme, app.budget_year)  # which refusal: not open, or not enough left
        raise BudgetExhausted(N_("The programme's budget pool cannot cover this amount."))
    for key, cap in counter_caps(programme, app).items():
        insert_ignore(session, Counter, {"key": key, "committed_fen": 0, "cap_fen": cap}, ["key"])
        taken = rows_matched(
            session,
            update(Counter)
            .where(Counter.key == key, Counter.committed_fen + amount_fen <= cap)
            .values(committed_fen=Counter.committed_fen + amount_fen, cap_fen=cap)
            .execution_options(synchronize_session=False),
        )
        if taken != 1:
            raise CapReached(N_("The amount would pass a cap of the programme."), cap=key)
    _entry(session, LedgerKind.RESERVE, app, amount_fen, actor_user_id)


def release(
    session: Session, programme: Programme, app: Application, amount_fen: int, actor_user_id: int | None
) -> None:
    """Give back a reservation (rejected after approval, withdrawn, expired, or paid for less)."""
    if amount_fen <= 0:
        return
    done = rows_matched(
        session,
        update(Pool)
        .where(Pool.programme_code == pool_key(programme, app.budget_year), Pool.reserved_fen >= amount_fen)
        .values(reserved_fen=Pool.reserved_fen - amount_fen)
        .execution_options(synchronize_session=False),
    )
    if done != 1:
        raise Conflict(N_("The pool does not hold this reservation."))
    for key in counter_caps(programme, app):
        session.execute(
            update(Counter)
            .where(Counter.key == key, Counter.committed_fen >= amount_fen)
            .values(committed_fen=Counter.committed_fen - amount_fen)
            .execution_options(synchronize_session=False)
        )
    _entry(session, LedgerKind.RELEASE, app, amount_fen, actor_user_id)


def payout(
    session: Session, programme: Programme, app: Application, amount_fen: int, actor_user_id: int | None
) -> None:
    """Turn a reservation into a payment: the pool's reserved falls and paid rises by the same amount."""
    done = rows_matched(
        session,
        update(Pool)
        .where(Pool.programme_code == pool_key(programme, app.budget_year), Pool.reserved_fen >= amount_fen)
        .values(reserved_fen=Pool.reserved_fen - amount_fen, paid_fen=Pool.paid_fen + amount_fen)
        .execution_options(synchronize_session=False),
    )
    if done != 1:
        raise Conflict(N_("The pool does not hold this reservation."))
    _entry(session, LedgerKind.PAYOUT, app, amount_fen, actor_user_id)


def set_budget(
    session: Session, programme: Programme, budget_fen: int | None, budget_year: int, opened_by: int | None = None
) -> bool:
    """A new budget for the pool (of that year, for an annual pool, which this opens), never below what is
    reserved and paid."""
    key = open_pool(session, programme, budget_year, opened_by)
    done = rows_matched(
        session,
        update(Pool)
        .where(
            Pool.programme_code == key,
            true() if budget_fen is None else Pool.reserved_fen + Pool.paid_fen <= budget_fen,
        )
        .values(
            budget_fen=budget_fen,
            opened_at=func.coalesce(Pool.opened_at, utcnow()),
            opened_by_id=func.coalesce(Pool.opened_by_id, opened_by),
        )
        .execution_options(synchronize_session=False),
    )
    return done == 1


# --- derived balances and the audit ------------------------------------------------------------------------


def sums(session: Session, *group: InstrumentedAttribute[Any]) -> dict[tuple, dict[str, int]]:
    """Σ amount per ledger kind, grouped by the given LedgerEntry columns."""
    out: dict[tuple, dict[str, int]] = defaultdict(lambda: {"reserve": 0, "release": 0, "payout": 0})
    rows = session.execute(
        select(*group, LedgerEntry.kind, func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).group_by(
            *group, LedgerEntry.kind
        )
    )
    for *keys, kind, total in rows:
        out[tuple(keys)][kind] = int(total)
    return out


@dataclass
class AuditReport:
    problems: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def audit(session: Session, programmes: dict[str, Programme]) -> AuditReport:
    """Recompute every balance from the ledger and check every invariant; report each breach."""
    report = AuditReport()
    bad = report.problems

    # 1. pools: stored totals equal the ledger's, within budget, never negative
    by_pool: dict[tuple, dict[str, int]] = defaultdict(lambda: {"reserve": 0, "release": 0, "payout": 0})
    for (code, year), s in sums(session, LedgerEntry.programme_code, LedgerEntry.budget_year).items():
        key = pool_key(programmes[code], year) if code in programmes else code
        for kind, total in s.items():
            by_pool[(key,)][kind] += total
    pools = {p.programme_code: p for p in session.scalars(select(Pool))}
    for (code,) in by_pool:
        if code not in pools:
            bad.append(f"pool {code}: ledger entries but no pool row")
    for code, pool in pools.items():
        s = by_pool.get((code,), {"reserve": 0, "release": 0, "payout": 0})
        reserved = s["reserve"] - s["release"] - s["payout"]
        if pool.reserved_fen != reserved:
            bad.append(f"pool {code}: reserved {pool.reserved_fen} but the ledger says {reserved}")
        if pool.paid_fen != s["payout"]:
            bad.append(f"pool {code}: paid {pool.paid_fen} but the ledger says {s['payout']}")
        if reserved < 0:
            bad.append(f"pool {code}: the ledger releases or pays more than it reserved")
        if pool.budget_fen is not None and pool.budget_fen - pool.reserved_fen - pool.paid_fen < 0:
            remaining = pool.budget_fen - pool.reserved_fen - pool.paid_fen
            bad.append(f"pool {code}: remaining {remaining} is negative (budget {pool.budget_fen})")
        base, at, year = code.partition("@")
        p = programmes.get(base)
        if at and (p is None or not p.pool.annual):
            bad.append(f"pool {code}: a budget year's pool, but {base} has no annual pool")
        elif at and pool.opened_at is None:
            bad.append(f"pool {code}: no operator opened the year {year} (a claim created it)")
    report.checked["pools"] = len(pools)

    # 2. per enterprise per year and per contract: derived from the ledger, within the programme's caps,
    #    and equal to the guarded counters
    counters = {c.key: c for c in session.scalars(select(Counter))}
    derived: dict[str, int] = defaultdict(int)
    org_year = sums(session, LedgerEntry.programme_code, LedgerEntry.org_id, LedgerEntry.budget_year)
    for (code, org_id, year), s in org_year.items():
        committed = s["reserve"] - s["release"]
        p = programmes.get(code)
        cap = p.caps.per_org_year_fen if p else None
        if cap is not None:
            derived[f"org-year:{code}:{org_id}:{year}"] = committed
            if committed > cap:
                bad.append(f"{code}: enterprise {org_id} has {committed} in {year}, over the cap {cap}")
    per_contract = sums(session, LedgerEntry.programme_code, LedgerEntry.contract_ref)
    for (code, ref), s in per_contract.items():
        committed = s["reserve"] - s["release"]
        p = programmes.get(code)
        cap = p.caps.per_contract_fen if p else None
        if cap is not None:
            derived[f"contract:{code}:{ref}"] = committed
            if committed > cap:
                bad.append(f"{code}: contract {ref} has {committed}, over the cap {cap}")
    for key in sorted(set(derived) | set(counters)):
        stored = counters[key].committed_fen if key in counters else 0
        if stored != derived.get(key, 0):
            bad.append(f"counter {key}: {stored} but the ledger says {derived.get(key, 0)}")
    report.checked["counters"] = len(counters)

    # 3. each application: its ledger matches its state
    per_app = sums(session, LedgerEntry.application_id)
    apps = list(session.scalars(select(Application)))
    for app in apps:
        s = per_app.get((app.id,), {"reserve": 0, "release": 0, "payout": 0})
        held = s["reserve"] - s["release"] - s["payout"]
        state = ApplicationState(app.state)
        if state in (ApplicationState.APPROVED, ApplicationState.REDEEMING):
            ok = held == (app.approved_fen or 0) and s["payout"] == 0 and held > 0
        elif state is ApplicationState.PAID:
            ok = held == 0 and s["payout"] == (app.paid_fen or 0) and s["reserve"] == app.approved_fen
        else:  # submitted, rejected, withdrawn, expired: nothing held, nothing paid
            ok = held == 0 and s["payout"] == 0
        if not ok:
            bad.append(
                f"application {app.id} ({app.state}): reserved {s['reserve']}, released {s['release']}, "
                f"paid {s['payout']}, approved {app.approved_fen}, paid out {app.paid_fen}"
            )
        if app.paid_fen is not None and app.approved_fen is not None and app.paid_fen > app.approved_fen:
            bad.append(f"application {app.id}: paid {app.paid_fen} over the approved {app.approved_fen}")
    report.checked["applications"] = len(apps)

    # 4. exclusivity locks belong to live applications only
    live = {a.id for a in apps if a.state in LIVE_STATES}
    locks = list(session.scalars(select(ClaimLock)))
    for lock in locks:
        if lock.application_id not in live:
            bad.append(f"claim lock {lock.key} held by application {lock.application_id}, which is not live")
    report.checked["locks"] = len(locks)

    # 5. the rules, from the applications themselves rather than the ledger (whose budget year came from the
    #    application): each counts in the year its programme's text says; per enterprise per year and per
    #    contract it stays within the caps, and counters and pools hold exactly what the applications hold
    _against_the_rules(bad, apps, programmes, counters, pools)
    report.checked["ledger_entries"] = int(session.scalar(select(func.count(LedgerEntry.id))) or 0)
    return report


def held(app: Application) -> tuple[int, int]:
    """(reserved, paid) that an application holds in its state: what its pool and caps must carry for it."""
    state = ApplicationState(app.state)
    if state in (ApplicationState.APPROVED, ApplicationState.REDEEMING):
        return app.approved_fen or 0, 0
    if state is ApplicationState.PAID:
        return 0, app.paid_fen or 0
    return 0, 0


def _against_the_rules(
    bad: list[str],
    apps: list[Application],
    programmes: dict[str, Programme],
    counters: dict[str, Counter],
    pools: dict[str, Pool],
) -> None:
    by_pool: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_counter: dict[str, list[int]] = {}  # key -> [committed by the rules, cap]
    for app in apps:
        p = programmes.get(app.programme_code)
        if p is None:
            bad.append(f"application {app.id}: unknown programme {app.programme_code}")
            continue
        year = budget_year(p, app.signed_on, app.applied_on or app.created_at.date())
        if app.budget_year != year:
            bad.append(
                f"application {app.id}: counted in {app.budget_year}, but {p.code} counts it in {year} "
                f"(cap_year_basis: {p.cap_year_basis})"
            )
        reserved, paid = held(app)
        pool = by_pool[pool_key(p, year)]
        pool[0] += reserved
        pool[1] += paid
        for key, cap in (
            (f"org-year:{p.code}:{app.org_id}:{year}", p.caps.per_org_year_fen),
            (f"contract:{p.code}:{app.contract_ref}", p.caps.per_contract_fen),
        ):
            if cap is not None:
                by_counter.setdefault(key, [0, cap])[0] += reserved + paid
    for key, (committed, cap) in sorted(by_counter.items()):
        if committed > cap:
            bad.append(f"{key}: the applications hold {committed}, over the cap {cap}")
        stored = counters[key].committed_fen if key in counters else 0
        if stored != committed:
            bad.append(f"counter {key}: {stored} but the applications hold {committed}")
    for key, counter in sorted(counters.items()):
        if key not in by_counter and counter.committed_fen != 0:
            bad.append(f"counter {key}: {counter.committed_fen} but no application counts toward it")
        if counter.committed_fen < 0 or (counter.cap_fen is not None and counter.committed_fen > counter.cap_fen):
            bad.append(f"counter {key}: {counter.committed_fen} outside 0..{counter.cap_fen}")
    for code in sorted(set(by_pool) | set(pools)):
        reserved, paid = by_pool.get(code, [0, 0])
        row = pools.get(code)
        if row is None:
            if reserved or paid:
                bad.append(f"pool {code}: the applications hold {reserved} reserved, {paid} paid, but no pool")
        elif (row.reserved_fen, row.paid_fen) != (reserved, paid):
            bad.append(
                f"pool {code}: reserved {row.reserved_fen}, paid {row.paid_fen}, but the applications "
                f"hold {reserved} reserved, {paid} paid"
            )
