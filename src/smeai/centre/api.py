"""The consultant workspace's API: an operator assigns an enterprise's consultant; a consultant lists
their enterprises with each one's file (the same service as /centre)."""

from __future__ import annotations

from fastapi import APIRouter

from smeai.auth import consultants
from smeai.auth.deps import CurrentActor
from smeai.centre import service
from smeai.centre.schemas import (
    ApplicationBrief,
    AssignmentIn,
    AssignmentOut,
    DiagnosisOut,
    EnterpriseFileOut,
    NeedBrief,
)
from smeai.db import DbSession
from smeai.inputs import RecordId
from smeai.web.paging import Page, PageParams, page_of

router = APIRouter(prefix="/api/v1", tags=["centre"])


def _out(f: service.EnterpriseFile) -> EnterpriseFileOut:
    return EnterpriseFileOut(
        org_id=f.org.id,
        name=f.org.name,
        diagnosis=DiagnosisOut.model_validate(f.diagnosis) if f.diagnosis is not None else None,
        needs_total=f.needs_total,
        needs=[NeedBrief.model_validate(n) for n in f.needs],
        engagements=f.engagements,
        applications=[ApplicationBrief.model_validate(a) for a in f.applications],
    )


@router.put("/organisations/{org_id}/consultant", summary="Assign an enterprise's consultant (null: none)")
def assign(org_id: RecordId, data: AssignmentIn, session: DbSession, actor: CurrentActor) -> AssignmentOut:
    consultants.assign(session, actor, org_id, data.consultant_id)
    session.commit()
    return AssignmentOut(org_id=org_id, consultant_id=data.consultant_id)


@router.get("/centre/enterprises", summary="The caller's assigned enterprises, each with its file")
def enterprises(session: DbSession, actor: CurrentActor, paging: PageParams) -> Page[EnterpriseFileOut]:
    return page_of(service.workspace(session, actor), paging, _out)
