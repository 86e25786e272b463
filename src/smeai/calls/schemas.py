"""What the scenario-list and campaign forms accept."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from smeai.cases.schemas import _industry
from smeai.inputs import CalendarDate
from smeai.taxonomy import ProvinceCode, ScenarioCode


class ScenarioStatus(StrEnum):
    OPEN = "open"  # takes responses until the list's deadline
    SELECTED = "selected"  # a provider was chosen to validate it
    VALIDATED = "validated"  # the result is recorded


class ResponseStatus(StrEnum):
    SUBMITTED = "submitted"
    SHORTLISTED = "shortlisted"
    SELECTED = "selected"
    DECLINED = "declined"


class EntryStatus(StrEnum):
    SUBMITTED = "submitted"
    SELECTED = "selected"  # published as 标杆 in the case library


class ScenarioIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=2, max_length=200)
    industry: str
    scenario_code: ScenarioCode
    problem: str = Field(min_length=4, max_length=4000)
    data_offered: str = Field(min_length=2, max_length=2000)
    site_offered: str = Field(min_length=2, max_length=2000)
    expected_result: str = Field(min_length=2, max_length=2000)

    @field_validator("industry")
    @classmethod
    def _check_industry(cls, v: str) -> str:
        return _industry(v)


class ScenarioListIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=2, max_length=200)
    summary: str = Field(min_length=4, max_length=4000)
    province_code: ProvinceCode | None = None
    deadline_on: CalendarDate
    scenarios: list[ScenarioIn] = Field(min_length=1, max_length=30)


class ResponseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    approach: str = Field(min_length=4, max_length=4000)


class OutcomeIn(BaseModel):
    """The validation's result, in words (what the selected provider achieved on site)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    result: str = Field(min_length=2, max_length=4000)


class CriterionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=60)
    weight_pct: int = Field(gt=0, le=100)


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=2, max_length=200)
    summary: str = Field(min_length=4, max_length=4000)
    deadline_on: CalendarDate
    criteria: list[CriterionIn] = Field(min_length=1, max_length=10)
    reviewer_ids: list[Annotated[int, Field(gt=0)]] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _weights_sum_to_100(self) -> CampaignIn:
        if sum(c.weight_pct for c in self.criteria) != 100:
            raise ValueError("criteria: the weights add up to 100")
        if len({c.name for c in self.criteria}) != len(self.criteria):
            raise ValueError("criteria: each criterion once")
        return self


class ScoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    points: list[Annotated[int, Field(ge=0, le=10)]] = Field(min_length=1, max_length=10)
    comment: str | None = Field(default=None, max_length=2000)
