"""The resource pool's records: the interchange Offering (shared/catalog/interchange.md), the
provider's form, and what the API and `--json` return.

`OfferingRecord` is the contract other domains (matching) and other centres rely on: validation here
follows interchange.md rule by rule, and industries, scenarios and regions are checked against the
taxonomy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    computed_field,
    field_serializer,
    field_validator,
    model_validator,
)

from smeai import taxonomy
from smeai.i18n import N_
from smeai.money import Wan, fen_to_wan


class OfferingKind(StrEnum):
    SAAS = "saas"  # 智能原生 SaaS
    PLATFORM = "platform"  # 开发/行业平台
    AGENT = "agent"  # 场景化智能体
    MODEL = "model"  # 模型/MaaS
    APPLIANCE = "appliance"  # 一体机
    SERVICE = "service"  # 定制开发/咨询/集成
    COMPUTE = "compute"  # 算力
    DATASET = "dataset"  # 数据集
    TRAINING = "training"  # 培训


# interchange.md: scenarios "may be empty for compute, dataset, training"
SCENARIO_OPTIONAL_KINDS = frozenset({OfferingKind.COMPUTE, OfferingKind.DATASET, OfferingKind.TRAINING})


class Deployment(StrEnum):
    SAAS = "saas"
    PRIVATE = "private"  # 私有化
    APPLIANCE = "appliance"  # 一体机
    EDGE = "edge"  # 端侧
    API = "api"


class PricingModel(StrEnum):
    SUBSCRIPTION = "subscription"
    PER_CALL = "per_call"
    PER_TOKEN = "per_token"
    PER_DATA = "per_data"
    VALUE_SHARE = "value_share"
    ONE_OFF = "one_off"
    FREE = "free"


class OfferingStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PUBLISHED = "published"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


ANY = "*"
_HAN = re.compile(r"[\u4e00-\u9fff]")


def industry_code_ok(code: str) -> bool:
    """`*`, a section letter (`C`), `C` + a manufacturing division (`C33`) or a report group (`K1`)."""
    tax = taxonomy.load()
    if code == ANY or code in tax.sections or code in tax.groups:
        return True
    return code.startswith("C") and code[1:] in tax.divisions


def _text(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError(N_("This field is required."))
    return value


NonEmpty = Annotated[str, Field(min_length=1, max_length=100)]
# Lists are bounded well above any real listing (70 industry codes exist, 34 provinces, 21 scenarios),
# so a hostile list costs one error, not one per item.
MAX_CODES = 100
MAX_TAGS = 50


def _json_number(value: object) -> object:
    """The interchange carries numbers as JSON numbers: true and "8" are not prices (forms convert first)."""
    if isinstance(value, bool | str):
        raise ValueError("a number is required")
    return value


# 万元 as a JSON number: finite, 0 ≤ amount ≤ MAX_WAN, at most 6 decimals (whole fen); parsed exactly.
JsonWan = Annotated[Wan, BeforeValidator(_json_number)]


def wan_number(amount: Decimal) -> int | float:
    """A 万元 amount as a JSON number: an integer when whole (30, not 30.0), else the nearest float,
    which for the ≤ 14 significant digits of a Wan reads back as the same decimal."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


class Pricing(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: PricingModel
    # indicative first-year cost for an SME, 万元 (stored as fen)
    entry_price_wan: JsonWan
    note: str | None = None

    @field_serializer("entry_price_wan")
    def _as_number(self, value: Decimal) -> int | float:
        return wan_number(value)

    @model_validator(mode="after")
    def _free_costs_nothing(self) -> Pricing:
        if self.model == PricingModel.FREE and self.entry_price_wan != 0:
            raise ValueError("entry_price_wan: a free offering has entry price 0")
        return self


def _codes(values: list[str], *, allow_any: bool, check, what: str, unique: bool = True) -> list[str]:
    if unique and len(set(values)) != len(values):
        raise ValueError("duplicate code")
    if ANY in values:
        if not allow_any:
            raise ValueError("* is not allowed here")
        if len(values) > 1:
            raise ValueError("* cannot be combined with other codes")
        return values
    bad = [v for v in values if not check(v)]
    if bad:
        raise ValueError(f"unknown {what}: {', '.join(bad)}")
    return values


class OfferingFields(BaseModel):
    """Everything of an offering but its id and provider: what a provider fills in."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=200)]
    kind: OfferingKind
    summary: str
    description: str | None = None
    industries: list[str] = Field(min_length=1, max_length=MAX_CODES)
    scenarios: list[str] = Field(max_length=MAX_CODES)
    deployment: list[Deployment] = Field(min_length=1, max_length=MAX_CODES)
    pricing: Pricing
    regions: list[str] = Field(min_length=1, max_length=MAX_CODES)
    min_stage: StrictInt = Field(default=0, ge=0, le=4)
    max_stage: StrictInt = Field(default=4, ge=0, le=4)
    tags: list[NonEmpty] = Field(default_factory=list, max_length=MAX_TAGS)
    voucher_eligible: list[NonEmpty] = Field(default_factory=list, max_length=MAX_TAGS)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _text(v)

    @field_validator("summary")
    @classmethod
    def _summary(cls, v: str) -> str:
        v = _text(v)
        if not _HAN.search(v):
            raise ValueError("must be written in Chinese")
        return v

    @field_validator("description")
    @classmethod
    def _description(cls, v: str | None) -> str | None:
        if v is not None and not _HAN.search(v):
            raise ValueError("must be written in Chinese")
        return v

    @field_validator("industries")
    @classmethod
    def _industries(cls, v: list[str]) -> list[str]:
        return _codes(v, allow_any=True, check=industry_code_ok, what="industry code")

    @field_validator("scenarios")
    @classmethod
    def _scenarios(cls, v: list[str]) -> list[str]:
        return _codes(v, allow_any=False, check=lambda c: c in taxonomy.load().scenarios, what="scenario")

    @field_validator("regions")
    @classmethod
    def _regions(cls, v: list[str]) -> list[str]:
        # interchange.md asks no uniqueness of regions (its reference validator neither)
        return _codes(v, allow_any=True, check=lambda c: c in taxonomy.load().provinces, what="province", unique=False)

    @model_validator(mode="after")
    def _cross_field(self) -> OfferingFields:
        if self.min_stage > self.max_stage:
            raise ValueError("max_stage: must not be below min_stage")
        if not self.scenarios and self.kind not in SCENARIO_OPTIONAL_KINDS:
            raise ValueError(f"scenarios: at least one scenario for kind {self.kind}")
        return self


class OfferingRecord(OfferingFields):
    """One line of the interchange file (interchange.md, "Offering")."""

    id: Annotated[str, Field(max_length=100)]
    provider: Annotated[str, Field(max_length=200)]

    @model_validator(mode="before")
    @classmethod
    def _optional_means_absent(cls, data: Any) -> Any:
        # In the file an optional field is left out, not null (as the reference validator reads it).
        if isinstance(data, dict):
            if "description" in data and data["description"] is None:
                raise ValueError("description: must be a string when given")
            pricing = data.get("pricing")
            if isinstance(pricing, dict) and "note" in pricing and pricing["note"] is None:
                raise ValueError("pricing.note: must be a string when given")
        return data

    @field_validator("id", "provider")
    @classmethod
    def _required_text(cls, v: str) -> str:
        return _text(v)

    def to_interchange(self) -> dict[str, Any]:
        """The JSON object of one line, fields in interchange.md's order; absent optionals left out."""
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "provider": self.provider,
            "kind": str(self.kind),
            "summary": self.summary,
        }
        if self.description is not None:
            out["description"] = self.description
        price = wan_number(self.pricing.entry_price_wan)
        pricing: dict[str, Any] = {"model": str(self.pricing.model), "entry_price_wan": price}
        if self.pricing.note is not None:
            pricing["note"] = self.pricing.note
        out |= {
            "industries": list(self.industries),
            "scenarios": list(self.scenarios),
            "deployment": [str(d) for d in self.deployment],
            "pricing": pricing,
            "regions": list(self.regions),
            "min_stage": self.min_stage,
            "max_stage": self.max_stage,
            "tags": list(self.tags),
            "voucher_eligible": list(self.voucher_eligible),
        }
        return out


class ImportProblem(BaseModel):
    line: int
    field: str
    reason: str
    code: str = "invalid"  # the kind of problem, stable for scripts: invalid_json, missing, provider, …


# An import reports its first problems in full and counts the rest: a file of broken lines gives a
# report of bounded size, not one larger than the file.
MAX_REPORTED_PROBLEMS = 100
_MAX_TEXT = 300


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


class ImportReport(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid_lines: int = 0  # lines not imported
    problem_count: int = 0  # every problem found, listed or not
    problem_counts: dict[str, int] = Field(default_factory=dict)  # per code
    problems: list[ImportProblem] = Field(default_factory=list)  # the first MAX_REPORTED_PROBLEMS, by line
    applied: bool = True  # False: a strict import found problems and imported nothing

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged

    @property
    def truncated(self) -> bool:
        return self.problem_count > len(self.problems)

    def add_line(self, line: int, problems: Iterable[tuple[str, str, str]]) -> None:
        """The problems (field, reason, code) of one line that is not imported. Each is counted; only
        the first MAX_REPORTED_PROBLEMS by line are kept, so a line with thousands costs no memory."""
        self.invalid_lines += 1
        for field, reason, code in problems:
            self.problem_count += 1
            self.problem_counts[code] = self.problem_counts.get(code, 0) + 1
            full = len(self.problems) >= MAX_REPORTED_PROBLEMS
            if full and line >= self.problems[-1].line:
                continue
            problem = ImportProblem(line=line, field=_clip(field), reason=_clip(reason), code=code)
            if full:  # a later check (the provider) found an earlier line's problem
                self.problems[-1] = problem
            else:
                self.problems.append(problem)
            if len(self.problems) > 1 and line < self.problems[-2].line:
                self.problems.sort(key=lambda q: q.line)


class OfferingOut(BaseModel):
    """An offering as the API returns it: the interchange fields plus its place in the pool."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    ext_id: str
    name: str
    provider_id: int
    provider_name: str
    kind: str
    summary: str
    description: str | None
    industries: list[str]
    scenarios: list[str]
    deployment: list[str]
    pricing_model: str
    entry_price_fen: int = Field(exclude=True)
    pricing_note: str | None
    regions: list[str]
    min_stage: int
    max_stage: int
    tags: list[str]
    voucher_eligible: list[str]
    status: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def entry_price_wan(self) -> float:
        """The API speaks 万元 as a JSON number, as the interchange does; the pool stores fen."""
        return float(fen_to_wan(self.entry_price_fen))


class ReviewIn(BaseModel):
    """An operator's decision (遴选): the checklist, a comment, approve or reject."""

    model_config = ConfigDict(extra="forbid")

    approve: bool
    checklist: dict[str, bool] = Field(default_factory=dict)
    comment: str = ""


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(min_length=1, max_length=4000)
