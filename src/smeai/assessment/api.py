"""/api/v1/assessments: instruments, scoring, stored assessments, compare, peer benchmark."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request

from smeai.assessment import benchmark, instruments, service
from smeai.assessment.schemas import (
    AnswersIn,
    AssessmentIn,
    AssessmentOut,
    AssessmentRow,
    BenchmarkOut,
    ComparisonOut,
    InstrumentSummary,
    ScoreOut,
    instrument_json,
)
from smeai.auth.deps import CurrentActor
from smeai.config import app_settings
from smeai.db import DbSession
from smeai.inputs import RecordId
from smeai.web.paging import Page, PageParams, page_of

router = APIRouter(prefix="/api/v1/assessments", tags=["assessment"])


@router.get("/instruments", summary="Every instrument (latest version): id, name, version")
def list_instruments(actor: CurrentActor, paging: PageParams) -> Page[InstrumentSummary]:
    return page_of(
        list(instruments.current().values()),
        paging,
        lambda i: InstrumentSummary(id=i.id, name=str(i.name), version=i.version),
    )


@router.get("/instruments/{instrument_id}", summary="One instrument: dimensions, questions, options, levels")
def read_instrument(instrument_id: str, actor: CurrentActor, version: str | None = None) -> dict[str, Any]:
    return instrument_json(instruments.get_instrument(instrument_id, version))


@router.post("/instruments/{instrument_id}/score", summary="Score an answer file without storing it")
def score(instrument_id: str, session: DbSession, actor: CurrentActor, data: Any = Body(...)) -> ScoreOut:
    return service.score_answers(session, actor, instrument_id, data)


@router.get("", summary="Assessments the caller may see")
def list_assessments(
    session: DbSession, actor: CurrentActor, paging: PageParams, org_id: RecordId | None = None
) -> Page[AssessmentRow]:
    return page_of(service.list_assessments(session, actor, org_id=org_id), paging, AssessmentRow.model_validate)


@router.post("", status_code=201, summary="Start an assessment (or a retake from an earlier one's answers)")
def start(data: AssessmentIn, session: DbSession, actor: CurrentActor) -> AssessmentOut:
    a = service.start_assessment(session, actor, data)
    session.commit()
    return AssessmentOut.model_validate(a)


@router.post("/submit", status_code=201, summary="Store a completed assessment from an answer file")
def submit(session: DbSession, actor: CurrentActor, data: Any = Body(...)) -> AssessmentOut:
    a = service.submit_answer_file(session, actor, data)
    session.commit()
    return AssessmentOut.model_validate(a)


@router.get("/{assessment_id}", summary="One assessment: answers so far and, once completed, its result")
def read(assessment_id: RecordId, session: DbSession, actor: CurrentActor) -> AssessmentOut:
    return service.assessment_out(session, service.get_assessment(session, actor, assessment_id))


@router.patch("/{assessment_id}/answers", summary="Save answers as you go (null clears one)")
def save_answers(assessment_id: RecordId, data: AnswersIn, session: DbSession, actor: CurrentActor) -> AssessmentOut:
    a = service.save_answers(session, actor, assessment_id, data.answers)
    session.commit()
    return AssessmentOut.model_validate(a)


@router.post("/{assessment_id}/complete", summary="Check every answer, score and keep the result")
def complete(assessment_id: RecordId, session: DbSession, actor: CurrentActor) -> AssessmentOut:
    a = service.complete_assessment(session, actor, assessment_id)
    session.commit()
    return AssessmentOut.model_validate(a)


@router.get("/{assessment_id}/compare/{other_id}", summary="Per-dimension change between two assessments")
def compare(assessment_id: RecordId, other_id: RecordId, session: DbSession, actor: CurrentActor) -> ComparisonOut:
    return service.compare_assessments(session, actor, assessment_id, other_id)


@router.get("/{assessment_id}/benchmark", summary="Percentile and distribution among peers")
def peer_benchmark(assessment_id: RecordId, request: Request, session: DbSession, actor: CurrentActor) -> BenchmarkOut:
    limit = app_settings(request).small_cell_min
    return benchmark.benchmark(session, actor, assessment_id, small_cell_min=limit)
