"""What the subsidy API, forms and `--json` accept and return."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, computed_field, model_validator

from smeai import taxonomy
from smeai.i18n import get_lang, gettext
from smeai.inputs import CalendarDate, RecordId
from smeai.money import Fen, PositiveFen, Yuan, yuan_to_fen
from smeai.subsidy import labels
from smeai.subsidy.programmes import DocKind, PurchaseFlag, PurchaseKind, Reason


class ApplicationState(StrEnum):
    SUBMITTED = "submitted"  # 已申领，待审核
    APPROVED = "approved"  # 已批准，额度已预留
    REDEEMING = "redeeming"  # 已提交兑付材料，待核验
    PAID = "paid"  # 已兑付
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"  # approved but not redeemed in time


LIVE_STATES = frozenset(
    {ApplicationState.SUBMITTED, ApplicationState.APPROVED, ApplicationState.REDEEMING, ApplicationState.PAID}
)

# One type per quantity, used by the API, the forms and the CLI alike (amounts: smeai.money).
ServiceYear = Annotated[int, Field(ge=1, le=20)]  # year of a multi-year service plan: 1 = first year
BudgetYear = Annotated[int, Field(ge=2000, le=2100)]  # an annual pool's budget year (ASCII digits only)


class PurchaseIn(BaseModel):
    """A purchase: an offering from the resource pool, or a free-text description of what is bought."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    offering_id: RecordId | None = None
    description: str | None = Field(default=None, max_length=500)
    kind: PurchaseKind | None = None
    supplier_name: str | None = Field(default=None, max_length=200)
    supplier_affiliated: bool = False
    contract_fen: PositiveFen  # at most MAX_FEN (1,000 亿元)
    contract_no: str | None = Field(default=None, max_length=100)
    signed_on: CalendarDate | None = None  # the service narrows: a window around the claim, the programme's period
    starts_on: CalendarDate | None = None
    ends_on: CalendarDate | None = None
    paid_on: CalendarDate | None = None
    service_year: ServiceYear = 1
    flags: frozenset[PurchaseFlag] = frozenset()

    @model_validator(mode="after")
    def _something_is_bought(self) -> PurchaseIn:
        if self.offering_id is None and not self.description:
            raise ValueError("description: describe the purchase, or choose an offering")
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("ends_on: the contract ends before it starts")
        return self


class ApplicationIn(PurchaseIn):
    programme_code: str = Field(min_length=1, max_length=60)
    contract_no: str = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _supplier_is_named(self) -> ApplicationIn:
        if not self.supplier_name and self.offering_id is None:  # an offering names its provider
            raise ValueError("supplier_name: name the supplier, or choose an offering")
        return self


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    amount_fen: PositiveFen | None = None  # default: the computed amount
    note: str | None = Field(default=None, max_length=2000)


class ReasonsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reasons: str = Field(min_length=1, max_length=2000)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str | None = Field(default=None, max_length=2000)


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    paid_fen: PositiveFen | None = None  # default: the approved amount
    note: str | None = Field(default=None, max_length=2000)


class BudgetIn(BaseModel):
    """A pool's budget (the API and `smeai subsidy budget`); setting it for a year opens that year's pool."""

    model_config = ConfigDict(extra="forbid")

    budget_fen: Fen | None  # None: no limit (the API only; the page always names an amount)
    year: BudgetYear | None = None  # annual pools: which year (default: this one)


class BudgetForm(BudgetIn):
    """The dashboard's budget box: the same schema in 元, and never "no limit" by an empty box."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    budget_fen: Fen | None = None
    budget_yuan: Yuan

    def budget(self) -> BudgetIn:
        return BudgetIn(budget_fen=yuan_to_fen(self.budget_yuan), year=self.year)


class DecisionForm(BaseModel):
    """The application page's approve and verify boxes: an amount in 元 (empty: the default) and a note."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    amount_yuan: Yuan | None = None
    paid_yuan: Yuan | None = None
    note: str | None = Field(default=None, max_length=2000)

    def fen(self, name: str) -> int | None:
        value = getattr(self, name)
        return None if value is None else yuan_to_fen(value)


def _shown(key: str, value: object) -> str:
    if isinstance(value, int) and key in _MONEY:
        return f"{value / 100:,.2f}"
    sep = ", " if get_lang() == "en" else "、"
    names = {"sizes": labels.SIZES, "kinds": labels.KINDS}.get(key)
    if names is not None:  # codes (stored so) in the reader's language
        return sep.join(gettext(names.get(c.strip(), c.strip())) for c in str(value).split(","))
    if key == "sections":
        return sep.join(taxonomy.name("sections", c.strip()) for c in str(value).split(","))
    return str(value)


def describe(rule: str, message: str, params: dict[str, object]) -> str:
    """A rule's verdict in the reader's language; amounts in params are fen, shown in 元."""
    shown = {k: _shown(k, v) for k, v in params.items()}
    try:
        return gettext(message).format(**shown)
    except (KeyError, IndexError):
        return gettext(message)


_MONEY = {"contract", "gross", "cap", "left", "amount"}


class ReasonOut(BaseModel):
    rule: str
    ok: bool
    message: str
    params: dict[str, object] = {}

    @computed_field  # type: ignore[prop-decorator]
    @property
    def text(self) -> str:
        return describe(self.rule, self.message, self.params)

    @classmethod
    def of(cls, reason: Reason) -> ReasonOut:
        return cls(
            rule=reason.rule,
            ok=reason.ok,
            message=reason.message,
            params={k: (v if isinstance(v, int | str) else str(v)) for k, v in reason.params.items()},
        )


class SourceOut(BaseModel):
    id: str
    title: str
    issuer: str
    issued_on: date | None
    url: str
    note: str


class ProgrammeOut(BaseModel):
    code: str
    name: str
    issuer: str
    voucher: str
    currency: str
    region: str  # where it applies, in words
    region_group: str  # country, then province code: sorts and groups programmes by where they apply
    rate: str
    summary: str
    sources: list[SourceOut]
    documents_apply: list[str]
    documents_redeem: list[str]
    assumptions: list[str]
    period_state: Literal["open", "not_started", "ended"]  # on the day it was read
    version: str  # the programme file's version (its SHA-256, 12 hex digits)


class ProgrammeQuote(BaseModel):
    code: str
    name: str
    currency: str
    eligible: bool
    amount_fen: int
    rate: str
    reasons: list[ReasonOut]
    excludes: list[str]  # names of the programmes it may not be combined with
    region: str = ""  # where it applies, in words
    region_group: str = ""  # country:provinces, to group programmes by where they apply
    home: Literal["region", "country", "abroad"] = "country"  # as seen from the enterprise
    period_state: Literal["open", "not_started", "ended"] = "open"


class QuoteOut(BaseModel):
    contract_fen: int
    programmes: list[ProgrammeQuote]
    best: list[str]  # the best allowed combination
    total_fen: int
    net_fen: int
    explanation: list[str]


class DocumentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: DocKind
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_at: datetime


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    action: str
    from_state: str | None
    to_state: str
    note: str | None
    created_at: datetime


class ApplicationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    programme_code: str
    org_id: int
    state: ApplicationState
    offering_id: int | None
    description: str
    kind: str | None
    supplier_name: str
    contract_no: str | None
    contract_fen: int
    signed_on: date | None
    starts_on: date | None
    ends_on: date | None
    paid_on: date | None
    service_year: int
    flags: list[str]
    budget_year: int
    requested_fen: int
    programme_version: str | None = None
    approved_fen: int | None
    paid_fen: int | None
    decision_note: str | None
    redeem_by_on: date | None
    explanation: list[ReasonOut]
    created_at: datetime


class ApplicationList(RootModel[list[ApplicationOut]]):
    pass


class PoolOut(BaseModel):
    programme_code: str
    year: int | None = None  # the budget year of an annual pool
    name: str
    currency: str = "CNY"
    opened: bool = True  # False: an annual pool's year no operator has opened yet (claims of it are refused)
    budget_fen: int | None
    reserved_fen: int
    paid_fen: int
    remaining_fen: int | None


class LedgerEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    programme_code: str
    application_id: int
    org_id: int
    budget_year: int
    amount_fen: int
    created_at: datetime


class AuditOut(BaseModel):
    ok: bool
    checked: dict[str, int]
    problems: list[str]


class PurchaseForm(BaseModel):
    """The calculator and application forms: amounts typed in 元 (two decimals at most), turned into fen."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    programme_code: str | None = None
    org_id: RecordId | None = None  # the calculator: an operator calculates for this enterprise
    offering_id: RecordId | None = None
    description: str | None = Field(default=None, max_length=500)
    kind: PurchaseKind | None = None
    supplier_name: str | None = Field(default=None, max_length=200)
    supplier_affiliated: bool = False
    contract_yuan: Yuan
    contract_no: str | None = Field(default=None, max_length=100)
    signed_on: CalendarDate | None = None  # the service narrows: a window around the claim, the programme's period
    starts_on: CalendarDate | None = None
    ends_on: CalendarDate | None = None
    paid_on: CalendarDate | None = None
    service_year: ServiceYear = 1
    flags: list[PurchaseFlag] = []

    def values(self) -> dict[str, object]:
        data = self.model_dump(exclude={"contract_yuan", "programme_code", "org_id"})
        return data | {"contract_fen": yuan_to_fen(self.contract_yuan)}


class MeasurementIn(BaseModel):
    """One before/after measurement of the finished project (e.g. defect rate 3.2 → 0.9 %)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    unit: str = Field(default="", max_length=20)
    before: str = Field(min_length=1, max_length=40)  # as measured: a number or a short text ("manual")
    after: str = Field(min_length=1, max_length=40)


class AcceptanceIn(BaseModel):
    """验收: the reviewers' record of a finished project (post-completion programmes)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    passed: bool
    conclusion: str = Field(min_length=2, max_length=2000)
    reviewers: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(min_length=1, max_length=20)
    measurements: list[MeasurementIn] = Field(min_length=1, max_length=20)
    site_visit_on: CalendarDate | None = None


class AcceptanceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    application_id: int
    passed: bool
    conclusion: str
    reviewers: list[str]
    measurements: list[dict[str, str]]
    site_visit_on: date | None
    recorded_at: datetime
