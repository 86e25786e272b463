"""The consultant workspace's API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from smeai.inputs import RecordId


class AssignmentIn(BaseModel):
    """Who serves an enterprise: a consultant's user id, or null for nobody."""

    model_config = ConfigDict(extra="forbid")

    consultant_id: RecordId | None = None


class AssignmentOut(BaseModel):
    org_id: int
    consultant_id: int | None


class DiagnosisOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    overall: float | None
    completed_at: datetime | None


class NeedBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    status: str
    created_at: datetime


class ApplicationBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    programme_code: str
    state: str
    requested_fen: int
    approved_fen: int | None


class EnterpriseFileOut(BaseModel):
    """One assigned enterprise as the consultant's workspace shows it."""

    org_id: int
    name: str
    diagnosis: DiagnosisOut | None
    needs_total: int = Field(ge=0)
    needs: list[NeedBrief]
    engagements: dict[str, int]
    applications: list[ApplicationBrief]
