"""What the case library's form, API and `--json` accept and return."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from smeai import taxonomy
from smeai.taxonomy import ProvinceCode, ScenarioCode


class CaseStatus(StrEnum):
    SUBMITTED = "submitted"
    PUBLISHED = "published"
    REJECTED = "rejected"


def _industry(value: str) -> str:
    tax = taxonomy.load()
    if value in tax.sections or (value.startswith("C") and value[1:] in tax.divisions):
        return value
    raise ValueError("a section letter (C) or C + manufacturing division (C33)")


class CaseIn(BaseModel):
    """A case as collected (征集): who, where, the problem, what was done, the measurable effect."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=2, max_length=200)
    enterprise_name: str | None = Field(default=None, max_length=200)
    province_code: ProvinceCode
    city: str | None = Field(default=None, max_length=60)
    industry: str
    scenarios: list[ScenarioCode] = Field(min_length=1)
    problem: str = Field(min_length=4, max_length=4000)
    solution: str = Field(min_length=4, max_length=4000)
    effect: str = Field(min_length=2, max_length=2000)
    providers: list[str] = Field(default_factory=list)
    offering_ids: list[str] = Field(default_factory=list)  # offerings' interchange ids
    media: list[str] = Field(default_factory=list)
    source: str | None = Field(default=None, max_length=200)

    @field_validator("industry")
    @classmethod
    def _check_industry(cls, v: str) -> str:
        return _industry(v)

    @field_validator("media")
    @classmethod
    def _check_media(cls, v: list[str]) -> list[str]:
        bad = [m for m in v if not (m.startswith("https://") or m.startswith("http://"))]
        if bad:
            raise ValueError("links must start with http:// or https://")
        return v


class CaseReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: bool
    benchmark: bool = False  # 标杆
    comment: str = ""


class CaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    enterprise_name: str | None
    province_code: str
    city: str | None
    industry: str
    scenarios: list[str]
    problem: str
    solution: str
    effect: str
    providers: list[str]
    offering_ids: list[str]
    media: list[str]
    source: str | None
    status: str
    is_benchmark: bool
    created_at: datetime
    published_at: datetime | None
