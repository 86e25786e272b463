"""What the matching API, forms and `--json` accept and return."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from smeai import taxonomy
from smeai.catalog.schemas import Deployment
from smeai.inputs import CalendarDate, RecordId
from smeai.money import Fen, Wan
from smeai.taxonomy import ProvinceCode, ScenarioCode

# Bounds on what one call may ask for: each need costs a ranking pass over the whole pool.
MAX_NEEDS_PER_CALL = 50  # POST /api/v1/match; `smeai match` reads files of any length
MAX_TOP = 100  # offerings per need
MAX_NEED_TEXT = 5000  # characters, the need form's own limit
MAX_LIST = 20  # deployment modes, scenarios: more than any taxonomy lists
MAX_MODULES = 50  # modules in one package

Code = Annotated[str, Field(max_length=64)]  # a code-like string (industry, deployment mode, programme)


def _industry(value: str | None) -> str | None:
    """A section letter or C + division (interchange.md); a report group (K1…) is read too, as
    manufacturing in that group, since offerings use the same codes."""
    if value in (None, ""):
        return None
    tax = taxonomy.load()
    if value in tax.sections or value in tax.groups or (value.startswith("C") and value[1:] in tax.divisions):
        return value
    raise ValueError(f"unknown industry {value!r}: a section letter or C + division code")


class NeedRecord(BaseModel):
    """interchange.md, "Need": the record `smeai match --need FILE` reads."""

    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, Field(max_length=200)] | None = None
    text: Annotated[str, Field(min_length=1, max_length=MAX_NEED_TEXT)]
    industry: Code | None = None
    province_code: ProvinceCode | None = None
    stage: Annotated[int, Field(ge=0, le=4)] | None = None
    budget_wan: Wan | None = None  # finite, at most money.MAX_WAN
    # Any string: a mode no offering lists simply matches nothing (the hard constraint stays exact).
    deployment: Annotated[list[Code], Field(max_length=MAX_LIST)] = []

    @field_validator("id", "province_code", "industry", mode="before")
    @classmethod
    def _code_as_text(cls, v: object) -> object:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v  # 44 means "44"

    @field_validator("deployment", mode="before")
    @classmethod
    def _null_is_none_listed(cls, v: object) -> object:
        return [] if v is None else v

    @field_validator("industry")
    @classmethod
    def _check_industry(cls, v: str | None) -> str | None:
        return _industry(v)


class MatchOut(BaseModel):
    id: str  # the offering's interchange id
    score: float
    reasons: list[str]


class NeedStatus(StrEnum):
    OPEN = "open"
    MATCHED = "matched"  # at least one engagement (interest shown, or introduced)
    CLOSED = "closed"


class NeedUrgency(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class NeedIn(BaseModel):
    """A need as the enterprise (or its consultant) writes it; blanks are filled from the profile,
    the latest assessment and the text itself."""

    title: Annotated[str, Field(min_length=1, max_length=200)]
    text: Annotated[str, Field(min_length=1, max_length=MAX_NEED_TEXT)]
    org_id: RecordId | None = None  # a consultant acting for an enterprise
    industry: Code | None = None
    province_code: ProvinceCode | None = None
    stage: Annotated[int, Field(ge=0, le=4)] | None = None
    budget_fen: Fen | None = None
    deployment: Annotated[list[Deployment], Field(max_length=MAX_LIST)] = []
    scenarios: Annotated[list[ScenarioCode], Field(max_length=MAX_LIST)] | None = None  # None: detect from the text
    urgency: NeedUrgency = NeedUrgency.NORMAL

    @field_validator("industry")
    @classmethod
    def _check_industry(cls, v: str | None) -> str | None:
        return _industry(v)


class NeedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    org_id: int
    title: str
    text: str
    industry: str | None
    province_code: str | None
    stage: int | None
    budget_fen: int | None
    deployment: list[str]
    scenarios: list[str]
    scenarios_confirmed: bool
    extracted: dict | None = None  # {field: {"value", "evidence"}} read from the words, budget in 万元
    fields_confirmed: bool = False
    urgency: str
    status: str
    source: str
    created_at: datetime


class EngagementState(StrEnum):
    """An engagement starts when someone acts: the enterprise's interest, or a consultant's
    introduction. A recommendation is the need's snapshot, not an engagement (migration 0012)."""

    INTEREST = "interest"
    INTRODUCED = "introduced"
    MEETING_HELD = "meeting_held"
    PROPOSAL = "proposal"
    CONTRACT_SIGNED = "contract_signed"
    DELIVERED = "delivered"
    EVALUATED = "evaluated"
    CLOSED = "closed"


PIPELINE: tuple[EngagementState, ...] = tuple(s for s in EngagementState if s is not EngagementState.CLOSED)
REALISED: frozenset[EngagementState] = frozenset(PIPELINE[PIPELINE.index(EngagementState.CONTRACT_SIGNED) :])


class ShownMatchOut(BaseModel):
    """One offering of a need's list as its page shows it."""

    id: str  # the offering's interchange id
    offering_id: int
    name: str
    score: float
    relevance: float
    reasons: list[str]
    missed: list[str] = []  # near misses: why it is not a match
    engagement_state: str | None = None


class ShortlistOut(BaseModel):
    """A need's list (its snapshot): matches above the relevance floor, near misses apart, and the
    engaged offerings outside both."""

    matches: list[ShownMatchOut]
    near: list[ShownMatchOut]
    engaged: list[ShownMatchOut]
    computed_at: str | None


class NeedStatusIn(BaseModel):
    status: NeedStatus


class InterestIn(BaseModel):
    offering_id: RecordId
    note: Annotated[str, Field(max_length=2000)] | None = None


class TransitionIn(BaseModel):
    to: EngagementState
    note: Annotated[str, Field(max_length=2000)] | None = None


class ResponseIn(BaseModel):
    accept: bool
    note: Annotated[str, Field(min_length=1, max_length=2000)]


class OutcomeIn(BaseModel):
    cost_fen: Fen
    effect: Annotated[str, Field(min_length=1, max_length=2000)]  # measurable: "漏检率从 3% 降到 0.5%"
    satisfaction: Annotated[int, Field(ge=1, le=5)]
    share_as_case: bool = False


class EngagementEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_state: str | None
    to_state: str
    user_id: int | None
    note: str | None
    at: datetime


class EngagementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    need_id: int
    offering_id: int | None
    enterprise_org_id: int
    provider_org_id: int
    state: str
    score: float | None
    reasons: list[str]
    closed_reason: str | None
    provider_response: str | None
    outcome: dict | None
    case_id: int | None
    created_at: datetime
    updated_at: datetime


class ChallengeStatus(StrEnum):
    OPEN = "open"
    AWARDED = "awarded"
    CLOSED = "closed"


class ChallengeIn(BaseModel):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    problem: Annotated[str, Field(min_length=1, max_length=5000)]
    data_available: Annotated[str, Field(max_length=2000)] | None = None
    budget_fen: Fen | None = None
    deadline_on: CalendarDate | None = None


class ChallengeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    org_id: int
    title: str
    problem: str
    data_available: str | None
    budget_fen: int | None
    deadline_on: date | None
    status: str
    need_id: int | None
    created_at: datetime


class ProposalStatus(StrEnum):
    SUBMITTED = "submitted"
    SHORTLISTED = "shortlisted"
    AWARDED = "awarded"
    DECLINED = "declined"


class ProposalIn(BaseModel):
    summary: Annotated[str, Field(min_length=1, max_length=5000)]
    price_fen: Fen | None = None
    offering_id: RecordId | None = None


class ProposalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    challenge_id: int
    org_id: int
    offering_id: int | None
    summary: str
    price_fen: int | None
    status: str
    engagement_id: int | None
    created_at: datetime


class ModuleIn(BaseModel):
    offering_id: RecordId
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=2000)] | None = None
    price_fen: Fen


class ModuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    offering_id: int
    name: str
    description: str | None
    price_fen: int


class PackageIn(BaseModel):
    module_ids: Annotated[list[RecordId], Field(min_length=1, max_length=MAX_MODULES)]
    programme: Code | None = None  # a tiered programme's code


class PlanYear(BaseModel):
    year: int
    subsidy_pct: float
    pay_fen: int


class PackageOut(BaseModel):
    modules: list[ModuleOut]
    total_fen: int
    programme: str | None
    plan: list[PlanYear]
