"""The gateway's money: hold before the upstream call, settle (or void) after it, sweep what outlived its
call, and the audit that recomputes every wallet, counter and grant from the append-only entries.

A hold is one transaction of conditional UPDATEs, each of which checks and takes in the same statement:
the key's concurrency slot (`in_flight < concurrency`), its monthly cap (`held + spent + amount <= cap`),
and the wallet's two parts (`balance - held >= part`). No interleaving of calls on PostgreSQL or SQLite can
push a total past its limit; the CHECK constraints on the tables are a second wall. A settlement writes the
usage record and moves the money in one transaction, at the actual cost and never above the hold: a cost
above it (a bound that was wrong) is charged at the hold and the rest is the operator's loss, never the
voucher's. Amounts are integer milli-fen ("mf").
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from smeai.db import UTCDateTime, insert_ignore, rows_matched, utcnow
from smeai.errors import Conflict, SmeaiError, Throttled
from smeai.gateway.models import Hold, Key, KeyMonth, Usage, VoucherGrant, Wallet, WalletEntry
from smeai.i18n import N_

BP = 10_000  # basis points: a rate of 5000 is 50 %


class InsufficientQuota(SmeaiError):
    """The wallet (or the key's monthly cap) cannot cover the call's hold; nothing was taken. HTTP 402."""

    code = "insufficient_quota"


class RateLimited(Throttled):
    """A key's requests or tokens per minute, or its concurrent calls, are used up; retry shortly."""

    code = "rate_limit_exceeded"


class HoldInFlight(Conflict):
    """A call with the same Idempotency-Key is still running; retry it to get its answer."""

    code = "idempotency_key_in_flight"


class HoldState:
    HELD = "held"
    SETTLED = "settled"
    VOIDED = "voided"


class EntryKind:
    FUND_OWN = "fund_own"
    FUND_VOUCHER = "fund_voucher"
    RELEASE_VOUCHER = "release_voucher"
    HOLD = "hold"
    VOID = "void"
    SETTLE = "settle"


# --- arithmetic ------------------------------------------------------------------------------------------


def token_cost(tokens: int, mf_per_1k: int) -> int:
    """Milli-fen for TOKENS at a price per 1,000, rounded up (the gateway never undercharges a part-token)."""
    return -(-tokens * mf_per_1k // 1000)


def call_cost(
    prompt: int,
    completion: int,
    input_mf_per_1k: int,
    output_mf_per_1k: int,
    cached: int = 0,
    cached_mf_per_1k: int | None = None,
) -> int:
    """A call's price: its prompt tokens at the input price, except the CACHED of them at the cached-input price
    (none: the input price), and its completion tokens at the output price."""
    cached = min(max(cached, 0), prompt)
    if cached_mf_per_1k is None or not cached:
        return token_cost(prompt, input_mf_per_1k) + token_cost(completion, output_mf_per_1k)
    return (
        token_cost(prompt - cached, input_mf_per_1k)
        + token_cost(cached, cached_mf_per_1k)
        + token_cost(completion, output_mf_per_1k)
    )


def message_bytes(messages: Any, tools: Any = None) -> int:
    """UTF-8 bytes of the messages (and tools) as compact JSON: every character of every content counted at
    least once (a token of a byte-level BPE tokenizer is never shorter than a byte), plus the keys."""
    text = json.dumps(messages, ensure_ascii=False, separators=(",", ":"))
    if tools:
        text += json.dumps(tools, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode("utf-8"))


def split(amount: int, rate_bp: int, voucher_available: int) -> tuple[int, int]:
    """(own, voucher) parts of AMOUNT: the voucher pays its rate, as far as it reaches; the enterprise the rest."""
    voucher = min(amount * rate_bp // BP, max(voucher_available, 0))
    return amount - voucher, voucher


def month_of(when: datetime) -> str:
    return f"{when.year:04d}-{when.month:02d}"


def fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def ensure_wallet(session: Session, org_id: int) -> Wallet:
    insert_ignore(
        session,
        Wallet,
        {
            "org_id": org_id,
            "own_balance_mf": 0,
            "own_held_mf": 0,
            "voucher_balance_mf": 0,
            "voucher_held_mf": 0,
            "voucher_rate_bp": 0,
            "updated_at": utcnow(),
        },
        ["org_id"],
    )
    wallet = session.scalar(select(Wallet).where(Wallet.org_id == org_id).execution_options(populate_existing=True))
    assert wallet is not None
    return wallet


def _entry(session: Session, org_id: int, kind: str, **values: Any) -> None:
    session.add(WalletEntry(org_id=org_id, kind=kind, created_at=utcnow(), **values))


# --- funding ---------------------------------------------------------------------------------------------


def fund_own(session: Session, org_id: int, amount_mf: int, actor_user_id: int | None, note: str | None) -> None:
    ensure_wallet(session, org_id)
    session.execute(
        update(Wallet)
        .where(Wallet.org_id == org_id)
        .values(own_balance_mf=Wallet.own_balance_mf + amount_mf, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    _entry(session, org_id, EntryKind.FUND_OWN, own_mf=amount_mf, actor_user_id=actor_user_id, note=note)


def fund_voucher(session: Session, grant: VoucherGrant, actor_user_id: int | None) -> None:
    """A grant's money into the wallet's voucher part, and the grant's rate as the voucher's share; refused
    while another grant is open (one voucher part, one rate)."""
    ensure_wallet(session, grant.org_id)
    done = rows_matched(
        session,
        update(Wallet)
        .where(Wallet.org_id == grant.org_id, Wallet.grant_id.is_(None), Wallet.voucher_held_mf == 0)
        .values(
            voucher_balance_mf=Wallet.voucher_balance_mf + grant.funded_mf,
            voucher_rate_bp=grant.rate_bp,
            grant_id=grant.id,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False),
    )
    if done != 1:
        raise Conflict(N_("This wallet already has an open voucher; close it first."))
    _entry(
        session,
        grant.org_id,
        EntryKind.FUND_VOUCHER,
        grant_id=grant.id,
        voucher_mf=grant.funded_mf,
        actor_user_id=actor_user_id,
    )


def release_voucher(session: Session, grant: VoucherGrant, actor_user_id: int | None) -> int:
    """Take the grant's unspent money out of the wallet (period end); refused while calls hold voucher money.
    Returns the milli-fen released."""
    wallet = ensure_wallet(session, grant.org_id)
    left = wallet.voucher_balance_mf
    done = rows_matched(
        session,
        update(Wallet)
        .where(
            Wallet.org_id == grant.org_id,
            Wallet.grant_id == grant.id,
            Wallet.voucher_held_mf == 0,
            Wallet.voucher_balance_mf == left,
        )
        .values(voucher_balance_mf=0, voucher_rate_bp=0, grant_id=None, updated_at=utcnow())
        .execution_options(synchronize_session=False),
    )
    if done != 1:
        raise Conflict(N_("Calls are holding voucher money; try again when they have finished."))
    if left:
        _entry(
            session,
            grant.org_id,
            EntryKind.RELEASE_VOUCHER,
            grant_id=grant.id,
            voucher_mf=-left,
            actor_user_id=actor_user_id,
        )
    return left


# --- hold, settle, void ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldRequest:
    key: Key
    alias: str
    route_id: int
    input_bound: int
    output_bound: int
    input_mf_per_1k: int
    output_mf_per_1k: int
    lifetime: timedelta
    idempotency_key: str | None = None
    fingerprint: str = ""
    cached_input_mf_per_1k: int | None = None  # settles cached input; the hold is at the full input price

    @property
    def amount_mf(self) -> int:
        return call_cost(self.input_bound, self.output_bound, self.input_mf_per_1k, self.output_mf_per_1k)

    @property
    def rate_tokens(self) -> int:
        """What the call counts against the key's tokens per minute when held: its bound (settlement gives
        back the part it did not use, while the window is the same)."""
        return self.input_bound + self.output_bound


def find_hold(session: Session, key_id: int, idempotency_key: str) -> Hold | None:
    return session.scalar(
        select(Hold)
        .where(Hold.key_id == key_id, Hold.idempotency_key == idempotency_key)
        .execution_options(populate_existing=True)
    )


RATE_WINDOW = timedelta(minutes=1)


def _window_closed(now: datetime) -> ColumnElement[bool]:
    return or_(Key.rate_window_at.is_(None), Key.rate_window_at <= literal(now - RATE_WINDOW, UTCDateTime()))


def take_slot(session: Session, key_id: int, tokens: int, now: datetime) -> int:
    """One conditional UPDATE of the key's row: a concurrency slot, and one request and TOKENS in its
    per-minute window (a window opens at the first call after the last one closed and lasts a minute). The
    row is the same for every worker, so N requests per minute are N across all of them; it is rolled back
    with the hold when the wallet refuses. Returns the rows matched (1: taken)."""
    closed = _window_closed(now)
    requests = case((closed, 0), else_=Key.rate_requests)
    used = case((closed, 0), else_=Key.rate_tokens)
    return rows_matched(
        session,
        update(Key)
        .where(
            Key.id == key_id,
            Key.in_flight < Key.concurrency,
            or_(Key.rpm.is_(None), requests + 1 <= Key.rpm),
            or_(Key.tpm.is_(None), used + tokens <= Key.tpm),
        )
        .values(
            in_flight=Key.in_flight + 1,
            last_used_at=now,
            rate_window_at=case((closed, literal(now, UTCDateTime())), else_=Key.rate_window_at),
            rate_requests=requests + 1,
            rate_tokens=used + tokens,
        )
        .execution_options(synchronize_session=False),
    )


def _refusal(session: Session, key_id: int, tokens: int, now: datetime) -> RateLimited:
    """Which limit refused the slot (read after the fact: only the message depends on it)."""
    key = session.scalar(select(Key).where(Key.id == key_id).execution_options(populate_existing=True))
    assert key is not None
    if key.in_flight >= key.concurrency:
        return RateLimited(N_("Too many calls at once on this key."), limit="concurrency")
    live = key.rate_window_at is not None and key.rate_window_at > now - RATE_WINDOW
    if key.rpm is not None and (key.rate_requests if live else 0) + 1 > key.rpm:
        return RateLimited(N_("Rate limit reached for requests per minute."), limit="rpm")
    return RateLimited(N_("Rate limit reached for tokens per minute."), limit="tpm")


def take_hold(session: Session, req: HoldRequest, now: datetime | None = None) -> Hold:
    """Take the hold or raise and take nothing (the caller rolls back). Order: the key's slot first (cheap,
    and it refuses a burst before it touches the wallet), then the monthly cap, then the wallet."""
    now = now or utcnow()
    key, amount = req.key, req.amount_mf
    if take_slot(session, key.id, req.rate_tokens, now) != 1:
        raise _refusal(session, key.id, req.rate_tokens, now)
    month = month_of(now)
    if key.monthly_cap_mf is not None:
        insert_ignore(
            session, KeyMonth, {"key_id": key.id, "month": month, "held_mf": 0, "spent_mf": 0}, ["key_id", "month"]
        )
        within = rows_matched(
            session,
            update(KeyMonth)
            .where(
                KeyMonth.key_id == key.id,
                KeyMonth.month == month,
                KeyMonth.held_mf + KeyMonth.spent_mf + amount <= key.monthly_cap_mf,
            )
            .values(held_mf=KeyMonth.held_mf + amount)
            .execution_options(synchronize_session=False),
        )
        if within != 1:
            raise InsufficientQuota(N_("This key's monthly spending cap is reached."), limit="monthly_cap")
    own = voucher = 0
    taken = False
    for _attempt in range(5):  # the split depends on the voucher's remainder; a changed row means recompute
        wallet = session.scalar(
            select(Wallet).where(Wallet.org_id == key.org_id).execution_options(populate_existing=True)
        )
        if wallet is None:
            break
        own, voucher = split(amount, wallet.voucher_rate_bp, wallet.voucher_balance_mf - wallet.voucher_held_mf)
        if wallet.own_balance_mf - wallet.own_held_mf < own:
            break
        taken = (
            rows_matched(
                session,
                update(Wallet)
                .where(
                    Wallet.org_id == key.org_id,
                    Wallet.voucher_rate_bp == wallet.voucher_rate_bp,
                    func.coalesce(Wallet.grant_id, 0) == (wallet.grant_id or 0),
                    Wallet.own_balance_mf - Wallet.own_held_mf >= own,
                    Wallet.voucher_balance_mf - Wallet.voucher_held_mf >= voucher,
                )
                .values(
                    own_held_mf=Wallet.own_held_mf + own,
                    voucher_held_mf=Wallet.voucher_held_mf + voucher,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False),
            )
            == 1
        )
        if taken:
            break
    if not taken:
        raise InsufficientQuota(N_("The wallet cannot cover this call's hold; top it up or lower max_tokens."))
    hold = Hold(
        org_id=key.org_id,
        key_id=key.id,
        idempotency_key=req.idempotency_key,
        fingerprint=req.fingerprint,
        alias=req.alias,
        route_id=req.route_id,
        month=month,
        state=HoldState.HELD,
        input_bound=req.input_bound,
        output_bound=req.output_bound,
        input_mf_per_1k=req.input_mf_per_1k,
        output_mf_per_1k=req.output_mf_per_1k,
        cached_input_mf_per_1k=req.cached_input_mf_per_1k,
        own_mf=own,
        voucher_mf=voucher,
        rate_bp=wallet.voucher_rate_bp if wallet else 0,
        grant_id=wallet.grant_id if wallet and voucher else None,
        created_at=now,
        expires_at=now + req.lifetime,
    )
    session.add(hold)
    try:
        session.flush()
    except IntegrityError:  # a twin with the same Idempotency-Key got there first: the caller rolls back
        raise HoldInFlight(N_("A call with this Idempotency-Key is in progress; retry it.")) from None
    _entry(session, key.org_id, EntryKind.HOLD, hold_id=hold.id, own_held_mf=own, voucher_held_mf=voucher)
    return hold


def _release(session: Session, hold: Hold, spent_mf: int, used_tokens: int) -> None:
    """Give back the hold's concurrency slot, its monthly-cap share (SPENT of it stays as spent) and, while
    the per-minute window it was counted in is still open, the tokens of its bound it did not use."""
    unused = max(hold.input_bound + hold.output_bound - used_tokens, 0)
    same_window = and_(
        Key.rate_window_at.is_not(None),
        Key.rate_window_at <= literal(hold.created_at, UTCDateTime()),
        Key.rate_tokens >= unused,
    )
    session.execute(
        update(Key)
        .where(Key.id == hold.key_id, Key.in_flight > 0)
        .values(
            in_flight=Key.in_flight - 1,
            rate_tokens=case((same_window, Key.rate_tokens - unused), else_=Key.rate_tokens),
        )
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(KeyMonth)
        .where(KeyMonth.key_id == hold.key_id, KeyMonth.month == hold.month, KeyMonth.held_mf >= hold.amount_mf)
        .values(held_mf=KeyMonth.held_mf - hold.amount_mf, spent_mf=KeyMonth.spent_mf + spent_mf)
        .execution_options(synchronize_session=False)
    )


def _resolve(session: Session, hold: Hold, state: str, now: datetime) -> bool:
    done = rows_matched(
        session,
        update(Hold)
        .where(Hold.id == hold.id, Hold.state == HoldState.HELD)
        .values(state=state, resolved_at=now)
        .execution_options(synchronize_session=False),
    )
    if done == 1:
        hold.state, hold.resolved_at = state, now
    return done == 1


def void_hold(session: Session, hold: Hold, *, note: str | None = None, now: datetime | None = None) -> bool:
    """Give the whole hold back (the upstream failed before any output, or the call outlived its hold)."""
    now = now or utcnow()
    if not _resolve(session, hold, HoldState.VOIDED, now):
        return False
    _release(session, hold, 0, 0)  # the key's row before the wallet's, as take_hold locks them
    session.execute(
        update(Wallet)
        .where(Wallet.org_id == hold.org_id)
        .values(
            own_held_mf=Wallet.own_held_mf - hold.own_mf,
            voucher_held_mf=Wallet.voucher_held_mf - hold.voucher_mf,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    _entry(
        session,
        hold.org_id,
        EntryKind.VOID,
        hold_id=hold.id,
        own_held_mf=-hold.own_mf,
        voucher_held_mf=-hold.voucher_mf,
        note=note,
    )
    return True


@dataclass
class Metered:
    """What a call used, as the upstream reported it (or the gateway counted it: estimated)."""

    prompt_tokens: int
    completion_tokens: int
    estimated: bool
    status: str
    stream: bool = False
    upstream_id: int | None = None
    upstream_model: str | None = None
    latency_ms: int | None = None
    ttft_ms: int | None = None
    response: dict | None = None
    cached_tokens: int = 0  # of prompt_tokens, served from the provider's cache (as it reported)


def settle_hold(session: Session, hold: Hold, used: Metered, *, now: datetime | None = None) -> Usage:
    """Write the usage record and charge its cost, in this one transaction. A hold the sweeper already voided
    still gets its record, charged nothing: the money was given back, so the whole cost is the operator's loss."""
    now = now or utcnow()
    cached = min(max(used.cached_tokens, 0), used.prompt_tokens)
    listed = call_cost(
        used.prompt_tokens,
        used.completion_tokens,
        hold.input_mf_per_1k,
        hold.output_mf_per_1k,
        cached,
        hold.cached_input_mf_per_1k,
    )
    live = _resolve(session, hold, HoldState.SETTLED, now)
    if live:
        cost = min(listed, hold.amount_mf)
        voucher = min(hold.voucher_mf, cost * hold.rate_bp // BP)
        own = cost - voucher  # never above hold.own_mf: see split()
    else:
        cost = voucher = own = 0
    loss = listed - cost
    usage = Usage(
        hold_id=hold.id,
        org_id=hold.org_id,
        key_id=hold.key_id,
        model=hold.alias,
        upstream_id=used.upstream_id,
        upstream_model=used.upstream_model,
        prompt_tokens=used.prompt_tokens,
        completion_tokens=used.completion_tokens,
        cached_tokens=cached,
        estimated=used.estimated,
        list_mf=listed,
        cost_mf=cost,
        own_mf=own,
        voucher_mf=voucher,
        loss_mf=loss,
        status=used.status,
        stream=used.stream,
        day=now.date(),
        latency_ms=used.latency_ms,
        ttft_ms=used.ttft_ms,
        response=used.response,
        created_at=now,
    )
    session.add(usage)
    if live:
        # the key's row, then the wallet's: the order take_hold locks them in (the other order deadlocked
        # a settlement against a hold on PostgreSQL under load)
        _release(session, hold, cost, used.prompt_tokens + used.completion_tokens)
        session.execute(
            update(Wallet)
            .where(Wallet.org_id == hold.org_id)
            .values(
                own_balance_mf=Wallet.own_balance_mf - own,
                own_held_mf=Wallet.own_held_mf - hold.own_mf,
                voucher_balance_mf=Wallet.voucher_balance_mf - voucher,
                voucher_held_mf=Wallet.voucher_held_mf - hold.voucher_mf,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if hold.grant_id is not None and voucher:
            session.execute(
                update(VoucherGrant)
                .where(VoucherGrant.id == hold.grant_id)
                .values(spent_mf=VoucherGrant.spent_mf + voucher)
                .execution_options(synchronize_session=False)
            )
    _entry(
        session,
        hold.org_id,
        EntryKind.SETTLE,
        hold_id=hold.id,
        grant_id=hold.grant_id,
        own_mf=-own,
        voucher_mf=-voucher,
        own_held_mf=-hold.own_mf if live else 0,
        voucher_held_mf=-hold.voucher_mf if live else 0,
        loss_mf=loss,
    )
    session.flush()
    return usage


def expired_holds(session: Session, now: datetime | None = None, limit: int = 500) -> list[Hold]:
    now = now or utcnow()
    return list(
        session.scalars(
            select(Hold).where(Hold.state == HoldState.HELD, Hold.expires_at < now).order_by(Hold.id).limit(limit)
        )
    )


# --- the audit -------------------------------------------------------------------------------------------


@dataclass
class AuditReport:
    problems: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def _sums(session: Session, *group: Any) -> dict[tuple, dict[str, int]]:
    cols = ("own_mf", "voucher_mf", "own_held_mf", "voucher_held_mf", "loss_mf")
    rows = session.execute(
        select(*group, *(func.coalesce(func.sum(getattr(WalletEntry, c)), 0) for c in cols)).group_by(*group)
    )
    return {tuple(r[: len(group)]): dict(zip(cols, (int(v) for v in r[len(group) :]), strict=True)) for r in rows}


def audit(session: Session, approved_fen: dict[int, int] | None = None) -> AuditReport:
    """Recompute every wallet, key counter, hold and grant from the entries and records; name each breach.

    APPROVED_FEN (application id -> approved amount in fen, from the subsidy domain) checks that no grant
    funds more than its application was approved for.
    """
    report = AuditReport()
    bad = report.problems
    wallets = {w.org_id: w for w in session.scalars(select(Wallet))}
    by_org = _sums(session, WalletEntry.org_id)
    for (org_id,) in by_org:
        if org_id not in wallets:
            bad.append(f"organisation {org_id}: wallet entries but no wallet")
    holds = list(session.scalars(select(Hold)))
    open_by_org: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for h in holds:
        if h.state == HoldState.HELD:
            open_by_org[h.org_id][0] += h.own_mf
            open_by_org[h.org_id][1] += h.voucher_mf
    for org_id, w in wallets.items():
        s = by_org.get((org_id,), {"own_mf": 0, "voucher_mf": 0, "own_held_mf": 0, "voucher_held_mf": 0})
        for name, stored, derived in (
            ("own balance", w.own_balance_mf, s["own_mf"]),
            ("voucher balance", w.voucher_balance_mf, s["voucher_mf"]),
            ("own held", w.own_held_mf, s["own_held_mf"]),
            ("voucher held", w.voucher_held_mf, s["voucher_held_mf"]),
            ("own held by open holds", w.own_held_mf, open_by_org[org_id][0]),
            ("voucher held by open holds", w.voucher_held_mf, open_by_org[org_id][1]),
        ):
            if stored != derived:
                bad.append(f"wallet of organisation {org_id}: {name} {stored} but the ledger says {derived}")
        if min(w.own_balance_mf, w.voucher_balance_mf, w.own_held_mf, w.voucher_held_mf) < 0:
            bad.append(f"wallet of organisation {org_id}: a negative amount")
        if w.own_held_mf > w.own_balance_mf or w.voucher_held_mf > w.voucher_balance_mf:
            bad.append(f"wallet of organisation {org_id}: holds more than its balance")
    report.checked["wallets"] = len(wallets)

    # each hold: its state and its records agree
    usage = {u.hold_id: u for u in session.scalars(select(Usage))}
    by_hold = _sums(session, WalletEntry.hold_id, WalletEntry.kind)
    for h in holds:
        u = usage.get(h.id)
        taken = by_hold.get((h.id, EntryKind.HOLD))
        if taken is None or (taken["own_held_mf"], taken["voucher_held_mf"]) != (h.own_mf, h.voucher_mf):
            bad.append(f"hold {h.id}: its hold entry does not match ({h.own_mf} own, {h.voucher_mf} voucher)")
        if h.state == HoldState.SETTLED:
            if u is None:
                bad.append(f"hold {h.id}: settled without a usage record")
                continue
            if u.cost_mf > h.amount_mf or u.own_mf > h.own_mf or u.voucher_mf > h.voucher_mf:
                bad.append(f"hold {h.id}: charged {u.cost_mf} over its hold {h.amount_mf}")
            if u.cost_mf + u.loss_mf != u.list_mf or u.cost_mf < 0 or u.loss_mf < 0:
                bad.append(f"usage {u.id}: cost {u.cost_mf} + loss {u.loss_mf} is not its list price {u.list_mf}")
            expected = call_cost(
                u.prompt_tokens,
                u.completion_tokens,
                h.input_mf_per_1k,
                h.output_mf_per_1k,
                u.cached_tokens,
                h.cached_input_mf_per_1k,
            )
            if expected != u.list_mf:
                bad.append(f"usage {u.id}: list price {u.list_mf} but its tokens cost {expected}")
            settled = by_hold.get((h.id, EntryKind.SETTLE))
            if settled is None or (-settled["own_mf"], -settled["voucher_mf"], settled["loss_mf"]) != (
                u.own_mf,
                u.voucher_mf,
                u.loss_mf,
            ):
                bad.append(f"hold {h.id}: its settle entry does not match usage {u.id}")
        elif h.state == HoldState.VOIDED:
            if u is not None and u.cost_mf != 0:  # settled after the sweeper voided it: charged nothing
                bad.append(f"hold {h.id}: voided but usage {u.id} charged {u.cost_mf}")
            if (h.id, EntryKind.VOID) not in by_hold:
                bad.append(f"hold {h.id}: voided without a void entry")
        elif u is not None:
            bad.append(f"hold {h.id}: still held but usage {u.id} exists")
    for hold_id in set(usage) - {h.id for h in holds}:
        bad.append(f"usage {usage[hold_id].id}: no hold {hold_id}")
    report.checked["holds"] = len(holds)
    report.checked["usage_records"] = len(usage)

    # keys: in_flight counts the open holds; a month's counter holds what its open holds and records say
    keys = list(session.scalars(select(Key)))
    open_by_key: dict[int, int] = defaultdict(int)
    month_held: dict[tuple[int, str], int] = defaultdict(int)
    month_spent: dict[tuple[int, str], int] = defaultdict(int)
    for h in holds:
        if h.state == HoldState.HELD:
            open_by_key[h.key_id] += 1
            month_held[(h.key_id, h.month)] += h.amount_mf
        elif h.state == HoldState.SETTLED and h.id in usage:
            month_spent[(h.key_id, h.month)] += usage[h.id].cost_mf
    for k in keys:
        if k.in_flight != open_by_key[k.id]:
            bad.append(f"key {k.id}: {k.in_flight} calls in flight but {open_by_key[k.id]} open holds")
    for m in session.scalars(select(KeyMonth)):
        if m.held_mf != month_held[(m.key_id, m.month)] or m.spent_mf != month_spent[(m.key_id, m.month)]:
            bad.append(
                f"key {m.key_id} in {m.month}: held {m.held_mf}, spent {m.spent_mf}, but the holds say "
                f"{month_held[(m.key_id, m.month)]}, {month_spent[(m.key_id, m.month)]}"
            )
    report.checked["keys"] = len(keys)

    # grants: funded once, spent as the usage records say, within their application's approval
    grants = list(session.scalars(select(VoucherGrant)))
    spent_by_grant: dict[int, int] = defaultdict(int)
    hold_grant = {h.id: h.grant_id for h in holds}
    for u in usage.values():
        grant_id = hold_grant.get(u.hold_id)
        if grant_id is not None:
            spent_by_grant[grant_id] += u.voucher_mf
    by_grant = _sums(session, WalletEntry.grant_id, WalletEntry.kind)
    for g in grants:
        funded = by_grant.get((g.id, EntryKind.FUND_VOUCHER), {}).get("voucher_mf", 0)
        if funded != g.funded_mf:
            bad.append(f"voucher grant {g.id}: funded {g.funded_mf} but the ledger says {funded}")
        if g.spent_mf != spent_by_grant[g.id]:
            bad.append(f"voucher grant {g.id}: spent {g.spent_mf} but its usage records say {spent_by_grant[g.id]}")
        if g.spent_mf > g.funded_mf:
            bad.append(f"voucher grant {g.id}: spent {g.spent_mf} over its funding {g.funded_mf}")
        released = -by_grant.get((g.id, EntryKind.RELEASE_VOUCHER), {}).get("voucher_mf", 0)
        if g.closed_at is not None and g.spent_mf + released != g.funded_mf:
            bad.append(f"voucher grant {g.id}: closed, but spent {g.spent_mf} + released {released} != funded")
        if approved_fen is not None and g.funded_mf > approved_fen.get(g.application_id, 0) * 1000:
            bad.append(f"voucher grant {g.id}: funds {g.funded_mf} mf, over application {g.application_id}'s approval")
    report.checked["voucher_grants"] = len(grants)
    report.checked["wallet_entries"] = int(session.scalar(select(func.count(WalletEntry.id))) or 0)
    return report
