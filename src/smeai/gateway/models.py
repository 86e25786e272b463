"""Gateway tables: upstreams, their model routes and versioned prices, keys, wallets, holds, usage records,
the append-only wallet ledger, voucher grants. No rules here; see service.py and ledger.py.

Amounts are integer milli-fen (1/1000 fen, "mf"): a call to a small model costs a fraction of a fen. The
database refuses an overspend on its own: CHECK constraints keep every wallet's held money within its
balance and every balance non-negative, so a bug in a code path fails loudly instead of spending money the
wallet does not have.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column

from smeai.db import Base, UTCDateTime, utcnow


class Upstream(Base):
    """A provider's OpenAI-compatible endpoint. Its key is read from an environment variable, never stored."""

    __tablename__ = "gateway_upstreams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    base_url: Mapped[str] = mapped_column(String(300))  # as one passes it to an OpenAI client (…/v1)
    api_key_env: Mapped[str | None] = mapped_column(String(100))
    # where to count streamed text when a stream carries no usage (llama.cpp: POST /tokenize); NULL: derived
    tokenize_url: Mapped[str | None] = mapped_column(String(300))
    # template tokens the provider adds around the messages (roles, a default system prompt): part of the bound
    overhead_tokens: Mapped[int] = mapped_column(Integer, default=64)
    retries: Mapped[int] = mapped_column(Integer, default=2)  # before the first byte only
    timeout_s: Mapped[int] = mapped_column(Integer, default=120)
    fallback_on: Mapped[list[int]] = mapped_column(JSON, default=list)  # status codes that try the next route
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Route(Base):
    """A model alias the gateway offers, served by one upstream's model (several routes: fallbacks by priority)."""

    __tablename__ = "gateway_routes"
    __table_args__ = (UniqueConstraint("alias", "upstream_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alias: Mapped[str] = mapped_column(String(100), index=True)
    upstream_id: Mapped[int] = mapped_column(ForeignKey("gateway_upstreams.id"), index=True)
    upstream_model: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(Integer, default=0)  # lower first
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Price(Base):
    """A route's price from a moment on (versioned: a change never reprices a call already held)."""

    __tablename__ = "gateway_prices"
    __table_args__ = (
        CheckConstraint("input_mf_per_1k >= 0", name="input_not_negative"),
        CheckConstraint("output_mf_per_1k >= 0", name="output_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("gateway_routes.id"), index=True)
    input_mf_per_1k: Mapped[int] = mapped_column(BigInteger)  # milli-fen per 1,000 input tokens
    output_mf_per_1k: Mapped[int] = mapped_column(BigInteger)
    # input tokens the provider served from its cache (`cached_tokens`, DeepSeek's `prompt_cache_hit_tokens`);
    # NULL: charged at the input price
    cached_input_mf_per_1k: Mapped[int | None] = mapped_column(BigInteger)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Key(Base):
    """An organisation's API key: only its SHA-256 is stored; the secret is shown once."""

    __tablename__ = "gateway_keys"
    __table_args__ = (
        CheckConstraint("in_flight >= 0", name="in_flight_not_negative"),
        CheckConstraint("in_flight <= concurrency", name="within_concurrency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists: "sk-smeai-ab12…"
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    allowed_models: Mapped[list[str] | None] = mapped_column(JSON)  # NULL: every model
    rpm: Mapped[int | None] = mapped_column(Integer)  # requests per minute
    tpm: Mapped[int | None] = mapped_column(Integer)  # tokens per minute: the hold's bound, less what settled under it
    concurrency: Mapped[int] = mapped_column(Integer, default=4)
    in_flight: Mapped[int] = mapped_column(Integer, default=0)  # open holds: a guarded counter
    # the per-minute window, shared by every worker: it opens at the first call after the last one closed
    # and lasts 60 s; requests and tokens count the calls held in it (ledger.take_hold)
    rate_window_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rate_requests: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rate_tokens: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    max_tokens: Mapped[int] = mapped_column(Integer, default=1024)  # the ceiling, injected when absent
    monthly_cap_mf: Mapped[int | None] = mapped_column(BigInteger)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class KeyMonth(Base):
    """A key's spend in a calendar month (UTC): held + spent never pass the key's monthly cap."""

    __tablename__ = "gateway_key_months"
    __table_args__ = (
        UniqueConstraint("key_id", "month"),
        CheckConstraint("held_mf >= 0", name="held_not_negative"),
        CheckConstraint("spent_mf >= 0", name="spent_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("gateway_keys.id"), index=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    held_mf: Mapped[int] = mapped_column(BigInteger, default=0)
    spent_mf: Mapped[int] = mapped_column(BigInteger, default=0)


class Wallet(Base):
    """An organisation's money for model calls: its own part and the voucher part, each balance and held.

    available = balance - held; a hold raises held, a settlement lowers balance and held together.
    """

    __tablename__ = "gateway_wallets"
    __table_args__ = (
        CheckConstraint("own_held_mf >= 0", name="own_held_not_negative"),
        CheckConstraint("voucher_held_mf >= 0", name="voucher_held_not_negative"),
        CheckConstraint("own_held_mf <= own_balance_mf", name="own_within_balance"),
        CheckConstraint("voucher_held_mf <= voucher_balance_mf", name="voucher_within_balance"),
        CheckConstraint("voucher_rate_bp >= 0 AND voucher_rate_bp <= 10000", name="rate_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), unique=True)
    own_balance_mf: Mapped[int] = mapped_column(BigInteger, default=0)
    own_held_mf: Mapped[int] = mapped_column(BigInteger, default=0)
    voucher_balance_mf: Mapped[int] = mapped_column(BigInteger, default=0)
    voucher_held_mf: Mapped[int] = mapped_column(BigInteger, default=0)
    voucher_rate_bp: Mapped[int] = mapped_column(Integer, default=0)  # the voucher's share of each call, 1/10000
    grant_id: Mapped[int | None] = mapped_column(Integer)  # the open voucher grant, if any
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class VoucherGrant(Base):
    """An approved 模型券 application that funds a wallet's voucher part (one open grant per wallet)."""

    __tablename__ = "gateway_voucher_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("subsidy_applications.id"), unique=True)
    programme_code: Mapped[str] = mapped_column(String(60))
    rate_bp: Mapped[int] = mapped_column(Integer)
    funded_mf: Mapped[int] = mapped_column(BigInteger)
    spent_mf: Mapped[int] = mapped_column(BigInteger, default=0)  # settled voucher shares
    ends_on: Mapped[date | None] = mapped_column(Date)  # the period end: unspent money goes back to the pool
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_fen: Mapped[int | None] = mapped_column(BigInteger)  # paid out of the pool at close
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Hold(Base):
    """A call's worst-case cost, taken from the wallet before the upstream is called; settled or voided once."""

    __tablename__ = "gateway_holds"
    __table_args__ = (
        UniqueConstraint("key_id", "idempotency_key"),
        CheckConstraint("own_mf >= 0 AND voucher_mf >= 0", name="parts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("gateway_keys.id"), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))
    alias: Mapped[str] = mapped_column(String(100))
    route_id: Mapped[int | None] = mapped_column(Integer)
    month: Mapped[str] = mapped_column(String(7))
    state: Mapped[str] = mapped_column(String(10), index=True)  # held / settled / voided
    input_bound: Mapped[int] = mapped_column(Integer)  # tokens
    output_bound: Mapped[int] = mapped_column(Integer)  # max_tokens sent upstream
    input_mf_per_1k: Mapped[int] = mapped_column(BigInteger)  # the price in force when held
    output_mf_per_1k: Mapped[int] = mapped_column(BigInteger)
    cached_input_mf_per_1k: Mapped[int | None] = mapped_column(BigInteger)  # NULL: the input price
    own_mf: Mapped[int] = mapped_column(BigInteger)
    voucher_mf: Mapped[int] = mapped_column(BigInteger)
    rate_bp: Mapped[int] = mapped_column(Integer)
    grant_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # the sweeper voids it after this
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def amount_mf(self) -> int:
        return self.own_mf + self.voucher_mf


class Usage(Base):
    """One call's metered record, written in the settlement's transaction (one per settled hold)."""

    __tablename__ = "gateway_usage"
    __table_args__ = (
        CheckConstraint("cost_mf = own_mf + voucher_mf", name="cost_is_parts"),
        CheckConstraint("prompt_tokens >= 0 AND completion_tokens >= 0", name="tokens_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hold_id: Mapped[int] = mapped_column(ForeignKey("gateway_holds.id"), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("gateway_keys.id"), index=True)
    model: Mapped[str] = mapped_column(String(100), index=True)  # the alias the caller asked for
    upstream_id: Mapped[int | None] = mapped_column(Integer)
    upstream_model: Mapped[str | None] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    # of prompt_tokens, those the upstream reported as served from its cache (charged at the cached price)
    cached_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    estimated: Mapped[bool] = mapped_column(Boolean, default=False)  # counted by the gateway, not reported
    list_mf: Mapped[int] = mapped_column(BigInteger)  # at the price, before the bound's cap
    cost_mf: Mapped[int] = mapped_column(BigInteger)  # charged: min(list, hold)
    own_mf: Mapped[int] = mapped_column(BigInteger)
    voucher_mf: Mapped[int] = mapped_column(BigInteger)
    loss_mf: Mapped[int] = mapped_column(BigInteger, default=0)  # list above the hold: the operator's loss
    status: Mapped[str] = mapped_column(String(20))  # ok / disconnected / upstream_error / truncated
    stream: Mapped[bool] = mapped_column(Boolean, default=False)
    day: Mapped[date] = mapped_column(Date, index=True)  # UTC
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    ttft_ms: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict | None] = mapped_column(JSON)  # replayed for a retried Idempotency-Key
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WalletEntry(Base):
    """Append-only: every change of a wallet's balances or held amounts. The audit recomputes wallets from these.

    kind: fund_own, fund_voucher, release_voucher (held += / balance += per part), hold, void, settle, loss.
    own_mf/voucher_mf are the change to balance; own_held_mf/voucher_held_mf the change to held.
    """

    __tablename__ = "gateway_wallet_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    hold_id: Mapped[int | None] = mapped_column(Integer, index=True)
    grant_id: Mapped[int | None] = mapped_column(Integer)
    own_mf: Mapped[int] = mapped_column(BigInteger, default=0)
    voucher_mf: Mapped[int] = mapped_column(BigInteger, default=0)
    own_held_mf: Mapped[int] = mapped_column(BigInteger, default=0)
    voucher_held_mf: Mapped[int] = mapped_column(BigInteger, default=0)
    loss_mf: Mapped[int] = mapped_column(BigInteger, default=0)
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


@event.listens_for(WalletEntry, "before_update")
@event.listens_for(WalletEntry, "before_delete")
def _append_only(_mapper: object, _conn: object, _target: object) -> None:
    raise RuntimeError("the gateway wallet ledger is append-only")
