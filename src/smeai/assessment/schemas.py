"""What the assessment API, forms and `--json` accept and return."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from smeai.assessment.instruments import Instrument
from smeai.i18n import label

AnswerValue = str | list[str] | float | int


class InstrumentSummary(BaseModel):
    id: str
    name: str
    version: str


def instrument_json(inst: Instrument) -> dict[str, Any]:
    """The instrument as `smeai assess instrument ID --json` and the API print it: the data file's
    content, with `name` as a string in the current language (labels elsewhere stay {zh, en})."""
    data = inst.model_dump(mode="json", exclude_none=True)
    data["name_i18n"], data["name"] = data["name"], label(data["name"])
    for dim in data["dimensions"]:
        for q in dim["questions"]:
            for key in ("bands", "tags"):
                if not q.get(key):
                    q.pop(key, None)
            if q["type"] == "number":
                q.pop("options", None)
    data["questions"] = [q for dim in data["dimensions"] for q in dim["questions"]]  # flat, for tools
    return data


class TierOut(BaseModel):
    id: str
    name: str
    rank: int  # 0 = lowest


class LinkOut(BaseModel):
    kind: str  # offering, case, programme
    id: str
    title: str
    url: str | None = None


class RecommendationOut(BaseModel):
    id: str
    kind: str  # rule, scenario, offering, case, programme
    title: str
    text: str = ""
    priority: int = 2  # 1 = do first
    reasons: list[str] = Field(default_factory=list)
    scenario: str | None = None
    role: str | None = None  # the step on 辅助助手 -> 合作伙伴 -> 业务专家 it belongs to
    links: list[LinkOut] = Field(default_factory=list)
    dimension: str | None = None  # the dimension it raises, where it comes from one
    search: str | None = None  # words to find offerings and cases that help with it


class ScoreOut(BaseModel):
    """`smeai assess score --json` and POST .../score: the machine-readable result."""

    instrument: str
    version: str
    overall: float  # 0-100
    dimensions: dict[str, float]  # 0-100 each
    level: TierOut
    levels_note: str = ""  # what the levels are (e.g. smeai's own, not MIIT's)
    stage: TierOut | None = None
    role: TierOut | None = None
    questions: dict[str, float | None] = Field(default_factory=dict)  # 0..question_scale; None: n/a
    strengths: list[str] = Field(default_factory=list)  # dimension ids
    gaps: list[str] = Field(default_factory=list)  # dimension ids
    next_level: TierOut | None = None
    next_level_missing: list[str] = Field(default_factory=list)  # what the next level still needs
    recommendations: list[RecommendationOut] = Field(default_factory=list)


class AnswerFile(BaseModel):
    """{"instrument": ID, "answers": {question id: option id | [option ids] | number | "n/a"}}"""

    model_config = ConfigDict(extra="forbid")
    instrument: str
    answers: dict[str, Any]


class AssessmentStatus(StrEnum):
    DRAFT = "draft"
    COMPLETED = "completed"


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instrument: str = "smeai-ai-maturity"
    from_assessment_id: int | None = None  # retake: start from that assessment's answers
    org_id: int | None = None  # operators acting for an enterprise; default: the caller's organisation


class AnswersIn(BaseModel):
    """Save as you go: the given answers replace those questions' answers; null clears one."""

    model_config = ConfigDict(extra="forbid")
    answers: dict[str, Any]


class AssessmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    org_id: int
    instrument_id: str
    instrument_version: str
    status: AssessmentStatus
    answers: dict[str, Any]
    result: dict[str, Any] | None = None
    overall: float | None = None
    previous_id: int | None = None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None


class AssessmentRow(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    org_id: int
    instrument_id: str
    instrument_version: str
    status: AssessmentStatus
    overall: float | None = None
    completed_at: datetime | None = None


class DimensionChange(BaseModel):
    dimension: str
    name: str
    before: float
    after: float
    change: float


class ComparisonOut(BaseModel):
    before_id: int
    after_id: int
    before_date: datetime | None = None
    after_date: datetime | None = None
    overall_before: float
    overall_after: float
    overall_change: float
    dimensions: list[DimensionChange]
    level_before: TierOut
    level_after: TierOut


class DistributionBin(BaseModel):
    lower: int
    upper: int
    count: int


class SurveyStageOut(BaseModel):
    """The application stage among surveyed firms of the peer group (the survey's ai_stage maps onto it)."""

    wave: str
    peer_group: dict[str, str]
    peer_group_label: str
    firms: int
    shares: dict[str, float]  # stage id -> % of surveyed firms
    stage: str  # the enterprise's stage id
    percentile: float  # % of surveyed firms at a lower stage (ties count half)


class BenchmarkOut(BaseModel):
    """Where an assessment stands among peers; `suppressed` when no peer group is large enough."""

    assessment_id: int
    instrument: str
    peer_group: dict[str, str]  # criterion -> code, e.g. {"group": "K1", "province": "44"}
    peer_group_label: str
    peers: int
    suppressed: bool
    percentile: float | None = None  # share of peers scoring below, 0-100 (ties count half)
    overall: float
    distribution: list[DistributionBin] = Field(default_factory=list)
    quartiles: list[float] = Field(default_factory=list)  # p25, median, p75
    dimension_medians: dict[str, float] = Field(default_factory=dict)
    survey_stage: SurveyStageOut | None = None
    peers_needed: int = 0  # the smallest peer group shown (small-cell rule); with `suppressed`
