"""/api/v1/survey: waves, imports (with the error file), indicators and the AI-application index."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from smeai.auth.deps import CurrentActor
from smeai.config import app_settings
from smeai.db import DbSession
from smeai.inputs import RecordId
from smeai.survey import service, uploads
from smeai.survey.schemas import ImportOut, UploadOut, WaveIn, WaveOut
from smeai.web.downloads import attachment
from smeai.web.limits import upload_route
from smeai.web.paging import Page, PageParams, page_of

router = APIRouter(prefix="/api/v1/survey", tags=["survey"])


def filters(
    province: Annotated[str | None, Query(description="GB/T 2260 province code")] = None,
    section: Annotated[str | None, Query(description="GB/T 4754 section letter")] = None,
    group: Annotated[str | None, Query(description="Manufacturing group L1..K7")] = None,
) -> service.Filters:
    return service.Filters(province=province or None, section=section or None, group=group or None)


REASONS_IN_REPLY = 100


def import_out(outcome: service.ImportOutcome, wave_code: str) -> ImportOut:
    r = outcome.record
    return ImportOut(
        id=r.id,
        wave=wave_code,
        filename=r.filename,
        layout=r.layout,
        n_rows=r.n_rows,
        n_inserted=r.n_inserted,
        n_existing=r.n_existing,
        n_rejected=r.n_rejected,
        already_imported=outcome.already_imported,
        unmapped=outcome.unmapped,
        # A file of 100,000 bad rows has millions of reasons: the reply carries the first ones and the
        # counts; the error file (errors_url) has them all, up to its own bound.
        reasons=[x.as_dict() for x in outcome.reasons[:REASONS_IN_REPLY]],
        n_reasons=len(outcome.reasons),
        reason_counts=dict(Counter(x.rule for x in outcome.reasons)),
        errors_url=f"/api/v1/survey/imports/{r.id}/errors.csv",
    )


@router.get("/waves", summary="Survey waves with their number of responses")
def list_waves(session: DbSession, actor: CurrentActor, paging: PageParams) -> Page[WaveOut]:
    return page_of(
        service.list_waves(session, actor),
        paging,
        lambda row: WaveOut(code=row[0].code, name=row[0].name, created_at=row[0].created_at, n_responses=row[1]),
    )


@router.post("/waves", status_code=201, summary="Create a survey wave")
def create_wave(data: WaveIn, session: DbSession, actor: CurrentActor) -> WaveOut:
    wave = service.create_wave(session, actor, data.code, name=data.name)
    session.commit()
    return WaveOut(code=wave.code, name=wave.name, created_at=wave.created_at)


@router.get("/waves/{code}", summary="One survey wave")
def read_wave(code: str, session: DbSession, actor: CurrentActor) -> WaveOut:
    wave = service.get_wave(session, actor, code)
    return WaveOut(
        code=wave.code,
        name=wave.name,
        created_at=wave.created_at,
        n_responses=service.wave_stats(session, wave)["n_responses"],
    )


@router.post("/waves/{code}/imports", status_code=201, summary="Import a survey file (canonical or 问卷星) into a wave")
@upload_route  # a file: up to SMEAI_UPLOAD_MAX_BYTES, not the 1 MiB JSON/form limit
async def import_file(
    code: str,
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    file: Annotated[UploadFile, File()],
    name: Annotated[str | None, Form(description="Wave name when the wave is new")] = None,
) -> ImportOut:
    async with uploads.spooled(file, limit=app_settings(request).upload_max_bytes) as path:
        outcome = service.import_file(session, actor, code, path, filename=file.filename or "upload", wave_name=name)
    session.commit()
    return import_out(outcome, code)


@router.post(
    "/waves/{code}/uploads",
    status_code=202,
    summary="Upload a survey file to import in the background (poll the upload for progress and outcome)",
)
@upload_route  # a file: up to SMEAI_UPLOAD_MAX_BYTES, not the 1 MiB JSON/form limit
async def upload_file(
    code: str,
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    file: Annotated[UploadFile, File()],
    name: Annotated[str | None, Form(description="Wave name when the wave is new")] = None,
) -> UploadOut:
    upload = await uploads.receive(session, actor, app_settings(request), file, wave_code=code, wave_name=name)
    return UploadOut.model_validate(uploads.as_dict(session, upload))


@router.get("/uploads/{upload_id}", summary="A background import: its state, progress and outcome")
def read_upload(upload_id: RecordId, session: DbSession, actor: CurrentActor) -> UploadOut:
    return UploadOut.model_validate(uploads.as_dict(session, uploads.get_upload(session, actor, upload_id)))


@router.get("/imports/{import_id}/errors.csv", summary="Download the error file of an import")
def import_errors(import_id: RecordId, session: DbSession, actor: CurrentActor) -> Response:
    record = service.get_import(session, actor, import_id)
    return Response(
        record.errors_csv.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers=attachment(f"survey-import-{record.id}-errors.csv"),
    )


@router.get("/waves/{code}/indicators", summary="The chapter-4 indicators of a wave (indicators.md JSON)")
def wave_indicators(
    code: str,
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    province: str | None = None,
    section: str | None = None,
    group: str | None = None,
) -> dict[str, Any]:
    return service.wave_indicators(
        session,
        actor,
        code,
        filters=filters(province, section, group),
        small_cell_min=app_settings(request).small_cell_min,
    )


@router.get("/waves/{code}/index", summary="The AI-application index by province and manufacturing group")
def wave_index(
    code: str,
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    province: str | None = None,
    section: str | None = None,
    group: str | None = None,
) -> dict[str, Any]:
    return service.wave_index(
        session,
        actor,
        code,
        filters=filters(province, section, group),
        small_cell_min=app_settings(request).small_cell_min,
    )
