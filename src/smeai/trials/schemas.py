"""What trial forms, the API and `--json` accept and return."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from smeai.trials.presets import JudgeMode

MIN_CANDIDATES, MAX_CANDIDATES = 2, 6
MAX_ROWS = 200
MAX_INPUT_CHARS = 8000


class TrialIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=200)
    template_code: str | None = Field(default=None, max_length=60)


class CandidateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    model: str = Field(min_length=1, max_length=120)
    system_prompt: str = Field(default="", max_length=4000)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=256, ge=1, le=4096)


class RowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: str = Field(min_length=1, max_length=MAX_INPUT_CHARS)
    reference: str = Field(default="", max_length=MAX_INPUT_CHARS)
    checks: list[dict[str, Any]] = Field(default_factory=list)


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    judge_mode: JudgeMode = JudgeMode.NONE
    judge_model: str | None = Field(default=None, max_length=120)
    rubric: str = Field(default="", max_length=4000)
    monthly_calls: int = Field(default=0, ge=0, le=100_000_000)


class TrialOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    template_code: str | None
    state: str
    run_no: int
    calls_done: int
    calls_total: int
    estimate_milli_fen: int
    monthly_calls: int
