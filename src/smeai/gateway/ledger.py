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
from typing import Any, NamedTuple
from typing import cast as type_cast

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Connection,
    Executable,
    Integer,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.sqltypes import NullType

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
#
# The data plane runs these once per call, so they are SQLAlchemy Core statements built once, at import, and
# executed with parameters on a Connection: no ORM loading, flushing or statement building per call. The
# session functions (take_hold, settle_hold, void_hold) run the same statements on the session's connection.

_K, _KM, _W, _H, _U, _E, _G = (
    type_cast(Table, m.__table__) for m in (Key, KeyMonth, Wallet, Hold, Usage, WalletEntry, VoucherGrant)
)
RATE_WINDOW = timedelta(minutes=1)


def _at(name: str) -> BindParameter[datetime]:
    return bindparam(name, type_=UTCDateTime())


@dataclass(frozen=True)
class KeyRef:
    """What a hold needs of its key (an ORM Key serves as well)."""

    id: int
    org_id: int
    monthly_cap_mf: int | None


class WalletRead(NamedTuple):
    """What a hold's split needs of its wallet (`WALLET_SPLIT`), as read: the voucher's rate and grant, and what
    is free of each part. The hold's UPDATE takes the parts only if the wallet still matches it."""

    rate_bp: int
    grant_id: int | None
    own_free_mf: int
    voucher_free_mf: int


@dataclass(frozen=True)
class HoldRequest:
    key: Key | KeyRef
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
    wallet: WalletRead | None = None  # read in the hold's transaction just before (None: the hold reads it)

    @property
    def amount_mf(self) -> int:
        return call_cost(self.input_bound, self.output_bound, self.input_mf_per_1k, self.output_mf_per_1k)

    @property
    def rate_tokens(self) -> int:
        """What the call counts against the key's tokens per minute when held: its bound (settlement gives
        back the part it did not use, while the window is the same)."""
        return self.input_bound + self.output_bound


@dataclass(frozen=True)
class Held:
    """A hold as taken: all that its settlement or void needs, so neither reads it back (an ORM Hold serves
    as well)."""

    id: int
    org_id: int
    key_id: int
    alias: str
    month: str
    input_bound: int
    output_bound: int
    input_mf_per_1k: int
    output_mf_per_1k: int
    cached_input_mf_per_1k: int | None
    own_mf: int
    voucher_mf: int
    rate_bp: int
    grant_id: int | None
    created_at: datetime
    capped: bool = True  # the key has a monthly cap, so a month row to release (unknown: try it)

    @property
    def amount_mf(self) -> int:
        return self.own_mf + self.voucher_mf


HoldLike = Held | Hold


def find_hold(session: Session, key_id: int, idempotency_key: str) -> Hold | None:
    return session.scalar(
        select(Hold)
        .where(Hold.key_id == key_id, Hold.idempotency_key == idempotency_key)
        .execution_options(populate_existing=True)
    )


# the key's concurrency slot and per-minute window (a window opens at the first call after the last one
# closed and lasts a minute)
_closed = or_(_K.c.rate_window_at.is_(None), _K.c.rate_window_at <= _at("window_from"))
_window_requests = case((_closed, 0), else_=_K.c.rate_requests)
_window_tokens = case((_closed, 0), else_=_K.c.rate_tokens)
_TAKE_SLOT = (
    update(_K)
    .where(
        _K.c.id == bindparam("key_id"),
        _K.c.in_flight < _K.c.concurrency,
        or_(_K.c.rpm.is_(None), _window_requests + 1 <= _K.c.rpm),
        or_(_K.c.tpm.is_(None), _window_tokens + bindparam("tokens", type_=BigInteger()) <= _K.c.tpm),
    )
    .values(
        in_flight=_K.c.in_flight + 1,
        last_used_at=_at("now"),
        rate_window_at=case((_closed, _at("now")), else_=_K.c.rate_window_at),
        rate_requests=_window_requests + 1,
        rate_tokens=_window_tokens + bindparam("tokens", type_=BigInteger()),
    )
)
_KEY_LIMITS = select(_K.c.in_flight, _K.c.concurrency, _K.c.rate_window_at, _K.c.rpm, _K.c.rate_requests).where(
    _K.c.id == bindparam("key_id")
)
# a settled or voided call gives back its slot and, while the window it was counted in is open, the tokens of
# its bound it did not use
_same_window = and_(
    _K.c.rate_window_at.is_not(None),
    _K.c.rate_window_at <= _at("held_at"),
    _K.c.rate_tokens >= bindparam("unused", type_=BigInteger()),
)
_RELEASE_SLOT = (
    update(_K)
    .where(_K.c.id == bindparam("slot_key"), _K.c.in_flight > 0)
    .values(
        in_flight=_K.c.in_flight - 1,
        rate_tokens=case(
            (_same_window, _K.c.rate_tokens - bindparam("unused", type_=BigInteger())), else_=_K.c.rate_tokens
        ),
    )
)
# the key's month: held + spent never past its cap
_MONTH_TAKE = (
    update(_KM)
    .where(
        _KM.c.key_id == bindparam("m_key"),
        _KM.c.month == bindparam("m_month"),
        _KM.c.held_mf + _KM.c.spent_mf + bindparam("m_amount", type_=BigInteger())
        <= bindparam("m_cap", type_=BigInteger()),
    )
    .values(held_mf=_KM.c.held_mf + bindparam("m_amount", type_=BigInteger()))
)
_MONTH_RELEASE = (
    update(_KM)
    .where(
        _KM.c.key_id == bindparam("m_key"),
        _KM.c.month == bindparam("m_month"),
        _KM.c.held_mf >= bindparam("m_amount", type_=BigInteger()),
    )
    .values(
        held_mf=_KM.c.held_mf - bindparam("m_amount", type_=BigInteger()),
        spent_mf=_KM.c.spent_mf + bindparam("m_spent", type_=BigInteger()),
    )
)
# the wallet: read its split, then take the parts only if nothing the split depends on changed
WALLETS = _W
WALLET_SPLIT = (  # WalletRead's columns; service.live_key reads them with the key
    _W.c.voucher_rate_bp,
    _W.c.grant_id,
    _W.c.own_balance_mf - _W.c.own_held_mf,
    _W.c.voucher_balance_mf - _W.c.voucher_held_mf,
)
_WALLET = select(*WALLET_SPLIT).where(_W.c.org_id == bindparam("w_org"))
_WALLET_TAKE = (
    update(_W)
    .where(
        _W.c.org_id == bindparam("w_org"),
        _W.c.voucher_rate_bp == bindparam("w_rate", type_=Integer()),
        func.coalesce(_W.c.grant_id, 0) == bindparam("w_grant", type_=Integer()),
        _W.c.own_balance_mf - _W.c.own_held_mf >= bindparam("w_own", type_=BigInteger()),
        _W.c.voucher_balance_mf - _W.c.voucher_held_mf >= bindparam("w_voucher", type_=BigInteger()),
    )
    .values(
        own_held_mf=_W.c.own_held_mf + bindparam("w_own", type_=BigInteger()),
        voucher_held_mf=_W.c.voucher_held_mf + bindparam("w_voucher", type_=BigInteger()),
        updated_at=_at("w_now"),
    )
)
# a settlement (or void) lowers the balances by what was charged and the held amounts by the hold's parts
_WALLET_MOVE = (
    update(_W)
    .where(_W.c.org_id == bindparam("w_org"))
    .values(
        own_balance_mf=_W.c.own_balance_mf - bindparam("w_own", type_=BigInteger()),
        own_held_mf=_W.c.own_held_mf - bindparam("w_own_held", type_=BigInteger()),
        voucher_balance_mf=_W.c.voucher_balance_mf - bindparam("w_voucher", type_=BigInteger()),
        voucher_held_mf=_W.c.voucher_held_mf - bindparam("w_voucher_held", type_=BigInteger()),
        updated_at=_at("w_now"),
    )
)
_GRANT_SPEND = (
    update(_G)
    .where(_G.c.id == bindparam("g_id"))
    .values(spent_mf=_G.c.spent_mf + bindparam("g_spent", type_=BigInteger()))
)
_RESOLVE = (
    update(_H)
    .where(_H.c.id == bindparam("h_id"), _H.c.state == HoldState.HELD)
    .values(state=bindparam("h_state", type_=String()), resolved_at=_at("h_at"))
)
_HOLD_INSERT = insert(_H).returning(_H.c.id)
_USAGE_INSERT = insert(_U).returning(_U.c.id)
_ENTRY_INSERT = insert(_E)
_MONTH_ROW: dict[str, Executable] = {}


# PostgreSQL: the key's slot, the wallet's parts, the hold and its entry in ONE statement (data-modifying CTEs),
# so the key's and the wallet's rows stay locked for that statement and the commit, not for five round trips:
# every call on one key queues on those locks (benchmarks/gateway.py --pg). Each CTE runs only when the one
# before it took its row (`select_from` the previous one's RETURNING; the slot is an InitPlan of the wallet's
# UPDATE, so the key's row is locked before the wallet's, in the order of every other write). The split is
# computed from a read before it; the wallet's UPDATE takes it only if nothing it depends on changed, as below.
def _params(table: Table, prefix: str, names: list[str]) -> list[Any]:
    """One bound parameter per column NAME, cast to the column's type (a NULL in a SELECT list is otherwise
    text to PostgreSQL). A foreign key's column may not know its type yet at import (organisations.id is an
    integer)."""
    types = {n: Integer() if isinstance(table.c[n].type, NullType) else table.c[n].type for n in names}
    return [cast(bindparam(prefix + n, type_=types[n]), types[n]).label(n) for n in names]


_HOLD_COLUMNS = [
    "org_id", "key_id", "alias", "month", "input_bound", "output_bound", "input_mf_per_1k", "output_mf_per_1k",
    "cached_input_mf_per_1k", "own_mf", "voucher_mf", "rate_bp", "grant_id", "created_at", "idempotency_key",
    "fingerprint", "route_id", "state", "expires_at", "resolved_at",
]  # fmt: skip
_ENTRY_COLUMNS = [
    "org_id", "kind", "grant_id", "own_mf", "voucher_mf", "own_held_mf", "voucher_held_mf", "loss_mf",
    "actor_user_id", "note", "created_at",
]  # fmt: skip
_slot = _TAKE_SLOT.returning(_K.c.id).cte("slot")
_take = _WALLET_TAKE.where(exists(select(_slot.c.id))).returning(_W.c.org_id).cte("take")
_new_hold = (
    insert(_H)
    .from_select(_HOLD_COLUMNS, select(*_params(_H, "hold_", _HOLD_COLUMNS)).select_from(_take))
    .returning(_H.c.id)
    .cte("new_hold")
)
_new_entry = (
    insert(_E)
    .from_select([*_ENTRY_COLUMNS, "hold_id"], select(*_params(_E, "entry_", _ENTRY_COLUMNS), _new_hold.c.id))
    .returning(_E.c.hold_id)
    .cte("new_entry")
)
_slots = select(func.count()).select_from(_slot).scalar_subquery()
_new_hold_id = select(_new_entry.c.hold_id).scalar_subquery()
_HOLD_AT_ONCE: Select[Any] = select(_slots, _new_hold_id)
# The same, alone in autocommit (`hold(at_once=True)`: no BEGIN or COMMIT round trip, and the key's and the
# wallet's rows locked only while the server runs the statement and flushes it, never across a round trip to
# the gateway): a slot taken with the wallet refused must take nothing, so that case fails the statement (a
# division by zero, SQLSTATE 22012: plain SQL has no RAISE), which rolls all of it back; the caller then takes
# the steps one by one in a transaction.
_HOLD_AT_ONCE_ALONE: Select[Any] = select(
    _slots, _new_hold_id, case((_new_hold_id.is_(None), 1 // (_slots - 1)), else_=0)
)
WALLET_MOVED = "22012"  # the SQLSTATE of _HOLD_AT_ONCE_ALONE's refusal

# PostgreSQL: a settlement in one statement, in the order of the steps (the hold's row, the usage record, the
# key's row, the wallet's, the grant's, the entry), every part only if the hold was still held
# (a parameter named as a column of a table a CTE UPDATEs becomes a SET of it: hence `slot_key`, not `key_id`)
_USAGE_COLUMNS = [
    "org_id", "key_id", "model", "upstream_id", "upstream_model", "prompt_tokens", "completion_tokens",
    "cached_tokens", "estimated", "list_mf", "cost_mf", "own_mf", "voucher_mf", "loss_mf", "status", "stream",
    "day", "latency_ms", "ttft_ms", "response", "created_at",
]  # fmt: skip
_settled = _RESOLVE.returning(_H.c.id).cte("settled")
_was_held = exists(select(_settled.c.id))
_s_usage = (
    insert(_U)
    .from_select([*_USAGE_COLUMNS, "hold_id"], select(*_params(_U, "u_", _USAGE_COLUMNS), _settled.c.id))
    .returning(_U.c.id)
    .cte("s_usage")
)
_s_slot = _RELEASE_SLOT.where(_was_held).returning(_K.c.id).cte("s_slot")
_s_wallet = (  # after the key's row (an InitPlan over s_slot): the order a hold locks them in
    _WALLET_MOVE.where(_was_held, select(func.count()).select_from(_s_slot).scalar_subquery() >= 0)
    .returning(_W.c.org_id)
    .cte("s_wallet")
)
_s_grant = _GRANT_SPEND.where(exists(select(_s_wallet.c.org_id))).returning(_G.c.id).cte("s_grant")
_s_entry = (
    insert(_E)
    .from_select([*_ENTRY_COLUMNS, "hold_id"], select(*_params(_E, "entry_", _ENTRY_COLUMNS), _settled.c.id))
    .returning(_E.c.id)
    .cte("s_entry")
)
_SETTLE_PARTS = (
    select(_s_usage.c.id).scalar_subquery(),
    select(func.count()).select_from(_s_wallet).scalar_subquery(),
    select(func.count()).select_from(_s_entry).scalar_subquery(),
)
_SETTLE_AT_ONCE: dict[bool, Select[Any]] = {  # with the grant's spend or without
    False: select(*_SETTLE_PARTS),
    True: select(*_SETTLE_PARTS, select(func.count()).select_from(_s_grant).scalar_subquery()),
}


def _month_row(conn: Connection) -> Executable:
    """INSERT the key's month row if it is not there (ON CONFLICT DO NOTHING), for this backend."""
    name = conn.dialect.name
    stmt = _MONTH_ROW.get(name)
    if stmt is None:
        ins = pg_insert(_KM) if name == "postgresql" else sqlite_insert(_KM)
        stmt = _MONTH_ROW[name] = ins.values(
            key_id=bindparam("m_key"), month=bindparam("m_month"), held_mf=0, spent_mf=0
        ).on_conflict_do_nothing(index_elements=["key_id", "month"])
    return stmt


def _entry_row(org_id: int, kind: str, hold_id: int, now: datetime, **amounts: Any) -> dict[str, Any]:
    """A wallet entry of a hold's, every column given (one compiled INSERT for every kind)."""
    row = {"own_mf": 0, "voucher_mf": 0, "own_held_mf": 0, "voucher_held_mf": 0, "loss_mf": 0, "grant_id": None}
    fixed = {"org_id": org_id, "kind": kind, "hold_id": hold_id, "actor_user_id": None, "created_at": now}
    return row | {"note": None} | amounts | fixed


def _refusal(conn: Connection, key_id: int, now: datetime) -> RateLimited:
    """Which limit refused the slot (read after the fact: only the message depends on it)."""
    in_flight, concurrency, window_at, rpm, requests = conn.execute(_KEY_LIMITS, {"key_id": key_id}).one()
    if in_flight >= concurrency:
        return RateLimited(N_("Too many calls at once on this key."), limit="concurrency")
    live = window_at is not None and window_at > now - RATE_WINDOW
    if rpm is not None and (requests if live else 0) + 1 > rpm:
        return RateLimited(N_("Rate limit reached for requests per minute."), limit="rpm")
    return RateLimited(N_("Rate limit reached for tokens per minute."), limit="tpm")


def take_slot(conn: Connection, key_id: int, tokens: int, now: datetime) -> int:
    """One conditional UPDATE of the key's row: a concurrency slot, and one request and TOKENS in its
    per-minute window. The row is the same for every worker, so N requests per minute are N across all of
    them; it is rolled back with the hold when the wallet refuses. Returns the rows matched (1: taken)."""
    params = {"key_id": key_id, "tokens": tokens, "now": now, "window_from": now - RATE_WINDOW}
    return conn.execute(_TAKE_SLOT, params).rowcount


class NotAtOnce(Exception):
    """`hold` or `settle` with at_once: this one needs the steps in a transaction; nothing was written."""


def hold(conn: Connection, req: HoldRequest, now: datetime, *, at_once: bool = False) -> Held:
    """Take the hold or raise and take nothing (the caller rolls back). Order: the key's slot first (cheap,
    and it refuses a burst before it touches the wallet), then the monthly cap, then the wallet.

    AT_ONCE (PostgreSQL, CONN in autocommit): the hold in one statement that commits alone, or nothing: raises
    NotAtOnce (nothing taken) where the steps are needed (a capped key, no wallet, the wallet moved since its
    read), for the caller to call again in a transaction."""
    key, amount = req.key, req.amount_mf
    month = month_of(now)
    if at_once:
        if conn.dialect.name != "postgresql" or key.monthly_cap_mf is not None or req.wallet is None:
            raise NotAtOnce
        alone_held = _hold_at_once(conn, req, now, month, alone=True)
        if isinstance(alone_held, Held):
            return alone_held
        assert alone_held is False  # a slot taken without its hold failed the statement (NotAtOnce)
        raise _refusal(conn, key.id, now)  # the key's slot refused: nothing was taken
    slot_taken = False
    if conn.dialect.name == "postgresql" and key.monthly_cap_mf is None:
        one = _hold_at_once(conn, req, now, month)
        if isinstance(one, Held):
            return one
        slot_taken = one  # the wallet moved between its read and its UPDATE: the steps below, slot taken
    if not slot_taken and take_slot(conn, key.id, req.rate_tokens, now) != 1:
        raise _refusal(conn, key.id, now)
    if key.monthly_cap_mf is not None:
        conn.execute(_month_row(conn), {"m_key": key.id, "m_month": month})
        capped = {"m_key": key.id, "m_month": month, "m_amount": amount, "m_cap": key.monthly_cap_mf}
        if conn.execute(_MONTH_TAKE, capped).rowcount != 1:
            raise InsufficientQuota(N_("This key's monthly spending cap is reached."), limit="monthly_cap")
    own = voucher = rate = 0
    grant: int | None = None
    taken = False
    read = req.wallet if not slot_taken else None  # after a refused statement: read the wallet as it is now
    for _attempt in range(5):  # the split depends on the voucher's remainder; a changed row means recompute
        row = read or conn.execute(_WALLET, {"w_org": key.org_id}).first()
        read = None
        if row is None:
            break
        rate, grant, own_free, voucher_free = row
        own, voucher = split(amount, rate, voucher_free)
        if own_free < own:
            break
        params = {"w_org": key.org_id, "w_rate": rate, "w_grant": grant or 0, "w_own": own, "w_voucher": voucher}
        taken = conn.execute(_WALLET_TAKE, params | {"w_now": now}).rowcount == 1
        if taken:
            break
    if not taken:
        raise InsufficientQuota(N_("The wallet cannot cover this call's hold; top it up or lower max_tokens."))
    held = _hold_values(req, month, now, own, voucher, rate, grant)
    try:
        hold_id = conn.execute(_HOLD_INSERT, _hold_row(req, held, now)).scalar_one()
    except IntegrityError:  # a twin with the same Idempotency-Key got there first: the caller rolls back
        raise HoldInFlight(N_("A call with this Idempotency-Key is in progress; retry it.")) from None
    conn.execute(
        _ENTRY_INSERT, _entry_row(key.org_id, EntryKind.HOLD, hold_id, now, own_held_mf=own, voucher_held_mf=voucher)
    )
    return Held(id=hold_id, capped=key.monthly_cap_mf is not None, **held)


def _hold_values(
    req: HoldRequest, month: str, now: datetime, own: int, voucher: int, rate: int, grant: int | None
) -> dict[str, Any]:
    key = req.key
    return {
        "org_id": key.org_id,
        "key_id": key.id,
        "alias": req.alias,
        "month": month,
        "input_bound": req.input_bound,
        "output_bound": req.output_bound,
        "input_mf_per_1k": req.input_mf_per_1k,
        "output_mf_per_1k": req.output_mf_per_1k,
        "cached_input_mf_per_1k": req.cached_input_mf_per_1k,
        "own_mf": own,
        "voucher_mf": voucher,
        "rate_bp": rate,
        "grant_id": grant if voucher else None,
        "created_at": now,
    }


def _hold_row(req: HoldRequest, held: dict[str, Any], now: datetime) -> dict[str, Any]:
    return held | {
        "idempotency_key": req.idempotency_key,
        "fingerprint": req.fingerprint,
        "route_id": req.route_id,
        "state": HoldState.HELD,
        "expires_at": now + req.lifetime,
        "resolved_at": None,
    }


def _hold_at_once(conn: Connection, req: HoldRequest, now: datetime, month: str, *, alone: bool = False) -> Held | bool:
    """PostgreSQL, a key without a monthly cap: the hold in one statement (`_HOLD_AT_ONCE`) after an unlocked
    read of the wallet's split. The Held; or False when the key's slot was refused (nothing taken), True when
    the slot was taken but the wallet refused the parts read before (moved meanwhile, or short): the caller
    goes on with the steps one by one, as on SQLite, from the wallet. ALONE (autocommit): that last case
    fails the statement instead (`_HOLD_AT_ONCE_ALONE`: nothing taken) and raises NotAtOnce."""
    key, amount = req.key, req.amount_mf
    row = req.wallet or conn.execute(_WALLET, {"w_org": key.org_id}).first()
    if row is None:
        return take_slot(conn, key.id, req.rate_tokens, now) == 1  # no wallet: refused below, as before
    rate, grant, _own_free, voucher_free = row
    own, voucher = split(amount, rate, voucher_free)
    held = _hold_values(req, month, now, own, voucher, rate, grant)
    entry = _entry_row(key.org_id, EntryKind.HOLD, 0, now, own_held_mf=own, voucher_held_mf=voucher)
    params = {
        "key_id": key.id,
        "tokens": req.rate_tokens,
        "now": now,
        "window_from": now - RATE_WINDOW,
        "w_org": key.org_id,
        "w_rate": rate,
        "w_grant": grant or 0,
        "w_own": own,
        "w_voucher": voucher,
        "w_now": now,
    }
    params |= {f"hold_{k}": v for k, v in _hold_row(req, held, now).items()}
    params |= {f"entry_{k}": entry[k] for k in _ENTRY_COLUMNS}
    try:
        slots, hold_id, *_guard = conn.execute(_HOLD_AT_ONCE_ALONE if alone else _HOLD_AT_ONCE, params).one()
    except IntegrityError:  # a twin with the same Idempotency-Key got there first: the caller rolls back
        raise HoldInFlight(N_("A call with this Idempotency-Key is in progress; retry it.")) from None
    except DataError as exc:
        if alone and getattr(exc.orig, "sqlstate", None) == WALLET_MOVED:
            raise NotAtOnce from None  # the whole statement was rolled back
        raise
    if hold_id is None:
        return slots == 1
    return Held(id=hold_id, capped=False, **held)


def _unused(hold: HoldLike, used_tokens: int) -> int:
    return max(hold.input_bound + hold.output_bound - used_tokens, 0)


def _release(conn: Connection, hold: HoldLike, spent_mf: int, used_tokens: int) -> None:
    """Give back the hold's concurrency slot, its monthly-cap share (SPENT of it stays as spent) and, while
    the per-minute window it was counted in is still open, the tokens of its bound it did not use."""
    unused = _unused(hold, used_tokens)
    conn.execute(_RELEASE_SLOT, {"slot_key": hold.key_id, "unused": unused, "held_at": hold.created_at})
    if not isinstance(hold, Held) or hold.capped:
        params = {"m_key": hold.key_id, "m_month": hold.month, "m_amount": hold.amount_mf, "m_spent": spent_mf}
        conn.execute(_MONTH_RELEASE, params)


def _resolve(conn: Connection, hold: HoldLike, state: str, now: datetime) -> bool:
    return conn.execute(_RESOLVE, {"h_id": hold.id, "h_state": state, "h_at": now}).rowcount == 1


def void(conn: Connection, hold: HoldLike, *, note: str | None = None, now: datetime | None = None) -> bool:
    """Give the whole hold back (the upstream failed before any output, or the call outlived its hold)."""
    now = now or utcnow()
    if not _resolve(conn, hold, HoldState.VOIDED, now):
        return False
    _release(conn, hold, 0, 0)  # the key's row before the wallet's, as a hold locks them
    conn.execute(
        _WALLET_MOVE,
        {
            "w_org": hold.org_id,
            "w_own": 0,
            "w_own_held": hold.own_mf,
            "w_voucher": 0,
            "w_voucher_held": hold.voucher_mf,
            "w_now": now,
        },
    )
    conn.execute(
        _ENTRY_INSERT,
        _entry_row(
            hold.org_id,
            EntryKind.VOID,
            hold.id,
            now,
            own_held_mf=-hold.own_mf,
            voucher_held_mf=-hold.voucher_mf,
            note=note,
        ),
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


def settle(
    conn: Connection, hold: HoldLike, used: Metered, *, now: datetime | None = None, at_once: bool = False
) -> tuple[int, bool]:
    """Write the usage record and charge its cost, in this one transaction; returns the record's id and
    whether the hold was still open. A hold the sweeper already voided still gets its record, charged
    nothing: the money was given back, so the whole cost is the operator's loss.

    AT_ONCE (PostgreSQL, CONN in autocommit): one statement that commits alone, or NotAtOnce with nothing
    written (a capped key, or a hold no longer held), for the caller to call again in a transaction."""
    now = now or utcnow()
    if at_once and (conn.dialect.name != "postgresql" or not isinstance(hold, Held) or hold.capped):
        raise NotAtOnce
    cached = min(max(used.cached_tokens, 0), used.prompt_tokens)
    listed = call_cost(
        used.prompt_tokens,
        used.completion_tokens,
        hold.input_mf_per_1k,
        hold.output_mf_per_1k,
        cached,
        hold.cached_input_mf_per_1k,
    )
    if conn.dialect.name == "postgresql" and isinstance(hold, Held) and not hold.capped:
        usage_id = _settle_at_once(conn, hold, used, now, cached, listed)
        if usage_id is not None:
            return usage_id, True
        if at_once:
            raise NotAtOnce
        # the hold was no longer held (the sweeper voided it): nothing was written; the steps below
    live = _resolve(conn, hold, HoldState.SETTLED, now)
    cost, own, voucher = _charge(hold, listed) if live else (0, 0, 0)
    loss = listed - cost
    usage_id = conn.execute(_USAGE_INSERT, _usage_row(hold, used, now, cached, listed, cost, own, voucher)).scalar_one()
    if live:
        # the key's row, then the wallet's: the order a hold locks them in (the other order deadlocked a
        # settlement against a hold on PostgreSQL under load)
        _release(conn, hold, cost, used.prompt_tokens + used.completion_tokens)
        conn.execute(_WALLET_MOVE, _wallet_move(hold, own, voucher, now))
        if hold.grant_id is not None and voucher:
            conn.execute(_GRANT_SPEND, {"g_id": hold.grant_id, "g_spent": voucher})
    conn.execute(_ENTRY_INSERT, _settle_entry(hold, now, own, voucher, loss, live))
    return usage_id, live


def _charge(hold: HoldLike, listed: int) -> tuple[int, int, int]:
    """(cost, own, voucher) of a live hold's settlement: the listed cost, never above the hold."""
    cost = min(listed, hold.amount_mf)
    voucher = min(hold.voucher_mf, cost * hold.rate_bp // BP)
    return cost, cost - voucher, voucher  # own never above hold.own_mf: see split()


def _wallet_move(hold: HoldLike, own: int, voucher: int, now: datetime) -> dict[str, Any]:
    return {
        "w_org": hold.org_id,
        "w_own": own,
        "w_own_held": hold.own_mf,
        "w_voucher": voucher,
        "w_voucher_held": hold.voucher_mf,
        "w_now": now,
    }


def _settle_entry(hold: HoldLike, now: datetime, own: int, voucher: int, loss: int, live: bool) -> dict[str, Any]:
    return _entry_row(
        hold.org_id,
        EntryKind.SETTLE,
        hold.id,
        now,
        grant_id=hold.grant_id,
        own_mf=-own,
        voucher_mf=-voucher,
        own_held_mf=-hold.own_mf if live else 0,
        voucher_held_mf=-hold.voucher_mf if live else 0,
        loss_mf=loss,
    )


def _settle_at_once(conn: Connection, hold: Held, used: Metered, now: datetime, cached: int, listed: int) -> int | None:
    """PostgreSQL, a key without a monthly cap: the settlement of a hold still held in one statement
    (`_SETTLE_AT_ONCE`); the usage record's id, or None when the hold was no longer held (nothing written)."""
    cost, own, voucher = _charge(hold, listed)
    with_grant = hold.grant_id is not None and voucher > 0
    params = {"h_id": hold.id, "h_state": HoldState.SETTLED, "h_at": now}
    params |= {"slot_key": hold.key_id, "unused": _unused(hold, used.prompt_tokens + used.completion_tokens)}
    params |= {"held_at": hold.created_at} | _wallet_move(hold, own, voucher, now)
    params |= {f"u_{k}": v for k, v in _usage_row(hold, used, now, cached, listed, cost, own, voucher).items()}
    entry = _settle_entry(hold, now, own, voucher, listed - cost, True)
    params |= {f"entry_{k}": entry[k] for k in _ENTRY_COLUMNS}
    if with_grant:
        params |= {"g_id": hold.grant_id, "g_spent": voucher}
    usage_id, *_written = conn.execute(_SETTLE_AT_ONCE[with_grant], params).one()
    return None if usage_id is None else int(usage_id)


def _usage_row(
    hold: HoldLike, used: Metered, now: datetime, cached: int, listed: int, cost: int, own: int, voucher: int
) -> dict[str, Any]:
    return {
        "hold_id": hold.id,
        "org_id": hold.org_id,
        "key_id": hold.key_id,
        "model": hold.alias,
        "upstream_id": used.upstream_id,
        "upstream_model": used.upstream_model,
        "prompt_tokens": used.prompt_tokens,
        "completion_tokens": used.completion_tokens,
        "cached_tokens": cached,
        "estimated": used.estimated,
        "list_mf": listed,
        "cost_mf": cost,
        "own_mf": own,
        "voucher_mf": voucher,
        "loss_mf": listed - cost,
        "status": used.status,
        "stream": used.stream,
        "day": now.date(),
        "latency_ms": used.latency_ms,
        "ttft_ms": used.ttft_ms,
        "response": used.response,
        "created_at": now,
    }


# --- the same on a Session (the CLI, jobs, the demo, tests) ------------------------------------------------


def _mark(hold: HoldLike, state: str, now: datetime) -> None:
    """An ORM Hold the statements resolved shows it, without a second write at the next flush."""
    if isinstance(hold, Hold):
        set_committed_value(hold, "state", state)
        set_committed_value(hold, "resolved_at", now)


def take_hold(session: Session, req: HoldRequest, now: datetime | None = None) -> Hold:
    """`hold` in the session's transaction; the new Hold row."""
    held = hold(session.connection(), req, now or utcnow())
    row = session.get(Hold, held.id)
    assert row is not None
    return row


def void_hold(session: Session, hold: HoldLike, *, note: str | None = None, now: datetime | None = None) -> bool:
    now = now or utcnow()
    done = void(session.connection(), hold, note=note, now=now)
    if done:
        _mark(hold, HoldState.VOIDED, now)
    return done


def settle_hold(session: Session, hold: HoldLike, used: Metered, *, now: datetime | None = None) -> Usage:
    """`settle` in the session's transaction; the usage record."""
    now = now or utcnow()
    usage_id, live = settle(session.connection(), hold, used, now=now)
    if live:
        _mark(hold, HoldState.SETTLED, now)
    usage = session.get(Usage, usage_id)
    assert usage is not None
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
