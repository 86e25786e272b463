"""What the survey API and `--json` accept and return."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class WaveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=40, pattern=r"^[\w.-]+$", examples=["2025"])
    name: str | None = Field(default=None, max_length=200, examples=["2025 年中小企业 AI 应用调查"])


class WaveOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    created_at: datetime
    n_responses: int = 0


class ReasonOut(BaseModel):
    row: int
    column: str
    value: str
    rule: str
    rule_no: int
    message: str


class ImportOut(BaseModel):
    id: int
    wave: str
    filename: str
    layout: str
    n_rows: int
    n_inserted: int
    n_existing: int = Field(description="Valid rows whose response_id the wave already held (not duplicated).")
    n_rejected: int
    already_imported: bool = Field(description="The same file was imported into this wave before; nothing changed.")
    unmapped: list[str] = Field(default_factory=list, description="Headers the questionnaire mapping cannot place.")
    reasons: list[ReasonOut] = Field(
        default_factory=list,
        description="The first reasons (at most 100), in row order; every reason is in the error file (errors_url).",
    )
    n_reasons: int = Field(0, description="How many reasons the import found in all.")
    reason_counts: dict[str, int] = Field(default_factory=dict, description="How many reasons of each rule.")
    errors_url: str


IndicatorsOut = dict[str, Any]


class UploadResultOut(BaseModel):
    import_id: int | None
    already_imported: bool
    n_rows: int | None
    n_inserted: int | None
    n_existing: int | None
    n_rejected: int | None
    unmapped: list[str] = Field(default_factory=list)
    reasons: list[ReasonOut] = Field(default_factory=list, description="The first reasons (at most 100).")
    n_reasons: int = 0
    errors_url: str | None


class UploadOut(BaseModel):
    """A file imported in the background: poll `GET /api/v1/survey/uploads/{id}` until `finished`."""

    id: int
    wave: str
    filename: str
    state: str = Field(description="queued, validating, importing, done or failed")
    finished: bool
    percent: int = Field(description="0..100: checking the file is the first half, writing the rows the second")
    rows_done: int = Field(description="Valid rows written so far (PostgreSQL shows them as they go)")
    rows_total: int | None = Field(description="Rows of the file, known once it is checked")
    size_bytes: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None = Field(description="Why the import failed (nothing was imported)")
    error_fields: dict[str, str] = Field(default_factory=dict)
    result: UploadResultOut | None = None
