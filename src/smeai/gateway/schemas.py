"""Gateway in/out shapes: what the API, the pages and `--json` accept and return. Money in integer milli-fen
(`*_mf` inside, `*_milli_fen` in the usage API's contract); prices typed in fen per 1,000 tokens."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from smeai.i18n import N_
from smeai.inputs import EARLIEST_DATE, LATEST_DATE

# A price above 1,000 元 per 1,000 tokens is a typing mistake, not a price (LiteLLM #20615: a mistyped
# price that locks every user out); the bound refuses it where it is typed.
MAX_PRICE_FEN_PER_1K = Decimal(100_000)
MAX_FUND_FEN = 10**11  # 10 亿元
ALIAS = r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,99}$"


def _price(value: Any) -> int:
    """Fen per 1,000 tokens (up to three decimals, e.g. "0.8") as milli-fen per 1,000 tokens."""
    text = str(value).strip()
    try:
        # ASCII digits only: Decimal reads "٢٠٢٦" as 2026, which nobody typing a price meant
        if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
            raise InvalidOperation
        d = Decimal(text)
    except InvalidOperation:
        raise ValueError("a price in fen per 1,000 tokens, such as 0.8 or 12") from None
    if not d.is_finite() or d < 0 or d > MAX_PRICE_FEN_PER_1K:
        raise ValueError(f"a price between 0 and {MAX_PRICE_FEN_PER_1K} fen per 1,000 tokens")
    mf = d * 1000
    if mf != mf.to_integral_value():
        raise ValueError("at most three decimals (a milli-fen)")
    return int(mf)


PriceMf = Annotated[int, BeforeValidator(_price)]


def _utc(value: datetime | None) -> datetime | None:
    """A time without a zone is read as UTC (the database keeps aware UTC times only); year 1 or 9999 is a
    typing mistake, refused like any calendar date (smeai.inputs)."""
    if value is None:
        return None
    if not EARLIEST_DATE <= value.date() <= LATEST_DATE:
        raise ValueError(N_("Enter a date between 2000 and 2100."))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


def _base_url(value: str) -> str:
    value = value.strip().rstrip("/")
    if not re.fullmatch(r"(https?://[^\s/]+(/[^\s]*)?|local://smollm2)", value):
        raise ValueError("an http(s):// address, or local://smollm2 for the bundled local model")
    return value


class UpstreamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    base_url: Annotated[str, AfterValidator(_base_url)] = Field(max_length=300)
    models: dict[str, str] = Field(min_length=1)  # alias -> the upstream's model name
    price_in: PriceMf  # milli-fen per 1,000 input tokens (typed in fen)
    price_out: PriceMf
    price_cached_in: PriceMf | None = None  # input tokens served from the provider's cache; None: price_in
    api_key_env: str | None = Field(None, max_length=100, pattern=r"^[A-Z_][A-Z0-9_]*$")
    tokenize_url: str | None = Field(None, max_length=300)
    overhead_tokens: int = Field(64, ge=0, le=100_000)
    retries: int = Field(2, ge=0, le=5)
    timeout_s: int = Field(120, ge=1, le=3600)
    fallback_on: list[int] = Field(default_factory=list, max_length=20)
    priority: int = Field(0, ge=0, le=1000)

    @model_validator(mode="after")
    def _cached(self) -> UpstreamIn:
        _cached_within_input(self.price_in, self.price_cached_in)
        return self

    @field_validator("models")
    @classmethod
    def _aliases(cls, v: dict[str, str]) -> dict[str, str]:
        for alias, target in v.items():
            if not re.fullmatch(ALIAS, alias) or not target or len(target) > 200:
                raise ValueError(f"{alias}: an alias of letters, digits and ._:/@+- and the upstream's model name")
        return v


def _cached_within_input(price_in: int, price_cached_in: int | None) -> None:
    if price_cached_in is not None and price_cached_in > price_in:
        # the hold bounds every input token at price_in: a dearer cached price could pass it
        raise ValueError("price_cached_in: " + N_("At most the input price."))


class PriceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    price_in: PriceMf
    price_out: PriceMf
    price_cached_in: PriceMf | None = None  # None: cached input at price_in
    effective_from: UtcDatetime | None = None  # default: now

    @model_validator(mode="after")
    def _cached(self) -> PriceIn:
        _cached_within_input(self.price_in, self.price_cached_in)
        return self


class RouteOut(BaseModel):
    id: int
    alias: str
    upstream_model: str
    priority: int
    input_mf_per_1k: int | None = None
    output_mf_per_1k: int | None = None
    cached_input_mf_per_1k: int | None = None  # None: cached input at the input price
    price_effective_from: datetime | None = None


class UpstreamOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    base_url: str
    api_key_env: str | None
    tokenize_url: str | None
    overhead_tokens: int
    retries: int
    fallback_on: list[int]
    active: bool
    routes: list[RouteOut] = Field(default_factory=list)


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    allowed_models: list[Annotated[str, Field(pattern=ALIAS)]] | None = Field(None, max_length=100)
    rpm: int | None = Field(None, ge=1, le=100_000)
    tpm: int | None = Field(None, ge=1, le=100_000_000)
    concurrency: int = Field(4, ge=1, le=1000)
    max_tokens: int = Field(1024, ge=1, le=131_072)
    monthly_cap_fen: int | None = Field(None, ge=0, le=MAX_FUND_FEN)
    expires_at: UtcDatetime | None = None


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    org_id: int
    name: str
    prefix: str
    allowed_models: list[str] | None
    rpm: int | None
    tpm: int | None
    concurrency: int
    in_flight: int
    max_tokens: int
    monthly_cap_mf: int | None
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    last_used_at: datetime | None


class KeyCreated(BaseModel):
    """The contract of `smeai gateway key create --json`: the id and the secret, shown this once."""

    id: int
    key: str


class FundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fen: int = Field(ge=1, le=MAX_FUND_FEN)
    note: str | None = Field(None, max_length=500)


class WalletOut(BaseModel):
    org_id: int
    own_balance_mf: int
    own_held_mf: int
    own_available_mf: int
    voucher_balance_mf: int
    voucher_held_mf: int
    voucher_available_mf: int
    voucher_rate_bp: int
    grant_id: int | None
    spent_mf: int = 0  # settled, all time
    voucher_spent_mf: int = 0


class UsageOut(BaseModel):
    """One call (the contract of GET /api/v1/gateway/usage)."""

    id: int
    key_id: int
    model: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int  # of prompt_tokens, served from the provider's cache (at the cached-input price)
    estimated: bool
    cost_milli_fen: int  # charged, before the voucher's share
    voucher_milli_fen: int  # paid by the voucher
    own_milli_fen: int  # paid by the enterprise: the cost after subsidy
    status: str
    stream: bool
    day: date
    created_at: datetime

    @classmethod
    def of(cls, u: Any) -> UsageOut:
        return cls(
            id=u.id,
            key_id=u.key_id,
            model=u.model,
            prompt_tokens=u.prompt_tokens,
            completion_tokens=u.completion_tokens,
            cached_tokens=u.cached_tokens,
            estimated=u.estimated,
            cost_milli_fen=u.cost_mf,
            voucher_milli_fen=u.voucher_mf,
            own_milli_fen=u.own_mf,
            status=u.status,
            stream=u.stream,
            day=u.day,
            created_at=u.created_at,
        )


class UsageDayOut(BaseModel):
    """Sums per day (and model, and key): the cost before the voucher and after it."""

    day: date
    model: str
    key_id: int
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_milli_fen: int
    voucher_milli_fen: int
    own_milli_fen: int


class LossOut(BaseModel):
    usage_id: int
    org_id: int
    model: str
    list_mf: int
    cost_mf: int
    loss_mf: int
    created_at: datetime


class AuditOut(BaseModel):
    ok: bool
    checked: dict[str, int]
    problems: list[str]


class GrantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    org_id: int
    application_id: int
    programme_code: str
    rate_bp: int
    funded_mf: int
    spent_mf: int
    ends_on: date | None
    closed_at: datetime | None
    paid_fen: int | None
