"""/api/v1/offerings and /api/v1/catalog: search, provider self-service, review, import/export."""

from __future__ import annotations

from tempfile import SpooledTemporaryFile
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel

from smeai.auth.deps import CurrentActor
from smeai.catalog import service
from smeai.catalog.index import OfferingQuery, Sort
from smeai.catalog.schemas import CommentIn, ImportReport, OfferingFields, OfferingOut, ReviewIn
from smeai.db import DbSession
from smeai.inputs import RecordId
from smeai.jsonl import read_lines
from smeai.lru import Bounded
from smeai.money import Wan
from smeai.web.limits import upload_route
from smeai.web.paging import Page, PageParams, page_of, page_select

router = APIRouter(prefix="/api/v1", tags=["catalog"])


class SearchOut(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[OfferingOut]
    facets: dict[str, list[tuple[str, int]]]
    words: list[str]
    synonyms: list[str]


class EventOut(BaseModel):
    action: str
    from_status: str | None
    to_status: str | None
    user_id: int | None
    comment: str | None
    checklist: dict[str, bool] | None
    at: Any


@router.get(
    "/offerings", summary="Search the published resource pool (facets, filters, sort, paging)", response_model=SearchOut
)
def search_offerings(
    session: DbSession,
    actor: CurrentActor,
    q: str = "",
    kind: Annotated[list[str], Query()] = [],  # noqa: B006
    industry: Annotated[list[str], Query()] = [],  # noqa: B006
    scenario: Annotated[list[str], Query()] = [],  # noqa: B006
    link: Annotated[list[str], Query()] = [],  # noqa: B006
    deployment: Annotated[list[str], Query()] = [],  # noqa: B006
    pricing: Annotated[list[str], Query()] = [],  # noqa: B006
    price_band: Annotated[list[str], Query()] = [],  # noqa: B006
    region: str | None = None,
    stage: Annotated[int | None, Query(ge=0, le=4)] = None,
    max_price_wan: Annotated[Wan | None, Query()] = None,
    sort: Sort | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    query = OfferingQuery.model_validate(dict(locals()) | {"q": q[:200]})
    stamp = service.rendered_results_stamp(session)
    key = (str(session.get_bind().engine.url), stamp, query.model_dump_json())
    found = _ANSWERS.get(key) if stamp is not None else None
    if found is not None:
        return Response(found, media_type="application/json")
    result, rows = service.search_offerings(session, query)
    answer = SearchOut(
        total=result.total,
        page=result.page,
        per_page=result.per_page,
        items=[OfferingOut.model_validate(o) for o in rows],
        facets=result.facets,
        words=result.words,
        synonyms=result.synonyms,
    )
    body = answer.model_dump_json().encode()
    if stamp is not None:
        _ANSWERS.put(key, body)
    return Response(body, media_type="application/json")


# Search answers (the published offerings only, the same for every caller) per database, catalog change stamp
# and query: loading and converting the page's rows was a third of each call. Any catalog write moves the
# stamp, read on every call, so an edit through any worker is in the next answer. Kept as the JSON sent:
# returned as it is, the answer skips FastAPI's check against SearchOut (a thread hand-off of its own for a
# plain `def` route) and its serialising again on every call. Read-only once stored.
_ANSWERS: Bounded[bytes] = Bounded(256)


@router.get("/offerings/{offering_id}", summary="One offering (published, or your own, or any for reviewers)")
def read_offering(offering_id: RecordId, session: DbSession, actor: CurrentActor) -> OfferingOut:
    return OfferingOut.model_validate(service.get_offering(session, actor, offering_id))


@router.get("/offerings/{offering_id}/history", summary="An offering's edits, review decisions and comments")
def offering_history(
    offering_id: RecordId, session: DbSession, actor: CurrentActor, paging: PageParams
) -> Page[EventOut]:
    events = service.history(session, actor, offering_id)
    return page_of(events, paging, lambda e: EventOut.model_validate(e, from_attributes=True))


@router.post("/offerings", status_code=201, summary="List a new offering for your organisation (a draft)")
def create_offering(data: OfferingFields, session: DbSession, actor: CurrentActor) -> OfferingOut:
    offering = service.create_offering(session, actor, data)
    session.commit()
    return OfferingOut.model_validate(offering)


@router.put("/offerings/{offering_id}", summary="Edit your offering (a published one goes back to review)")
def update_offering(
    offering_id: RecordId, data: OfferingFields, session: DbSession, actor: CurrentActor
) -> OfferingOut:
    offering = service.update_offering(session, actor, offering_id, data)
    session.commit()
    return OfferingOut.model_validate(offering)


@router.post("/offerings/{offering_id}/submit", summary="Send your offering to the centre for review")
def submit_offering(offering_id: RecordId, session: DbSession, actor: CurrentActor) -> OfferingOut:
    offering = service.submit_offering(session, actor, offering_id)
    session.commit()
    return OfferingOut.model_validate(offering)


@router.post("/offerings/{offering_id}/withdraw", summary="Take your offering off the pool")
def withdraw_offering(offering_id: RecordId, session: DbSession, actor: CurrentActor) -> OfferingOut:
    offering = service.withdraw_offering(session, actor, offering_id)
    session.commit()
    return OfferingOut.model_validate(offering)


@router.post("/offerings/{offering_id}/review", summary="Approve or reject a submitted offering (operators)")
def review_offering(offering_id: RecordId, data: ReviewIn, session: DbSession, actor: CurrentActor) -> OfferingOut:
    offering = service.review_offering(session, actor, offering_id, data)
    session.commit()
    return OfferingOut.model_validate(offering)


@router.post("/offerings/{offering_id}/comments", status_code=201, summary="Comment on an offering under review")
def comment_offering(offering_id: RecordId, data: CommentIn, session: DbSession, actor: CurrentActor) -> EventOut:
    event = service.comment_offering(session, actor, offering_id, data.comment)
    session.commit()
    return EventOut.model_validate(event, from_attributes=True)


@router.delete("/offerings/{offering_id}", status_code=204, summary="Delete an offering (kept in history)")
def delete_offering(offering_id: RecordId, session: DbSession, actor: CurrentActor) -> Response:
    service.delete_offering(session, actor, offering_id)
    session.commit()
    return Response(status_code=204)


@router.get("/catalog/mine", summary="Your organisation's offerings, in every status")
def my_offerings(session: DbSession, actor: CurrentActor, paging: PageParams) -> Page[OfferingOut]:
    return page_select(session, service.own_offerings_query(actor), paging, OfferingOut.model_validate)


@router.get("/catalog/review-queue", summary="Offerings waiting for review, oldest first (operators)")
def review_queue(session: DbSession, actor: CurrentActor, paging: PageParams) -> Page[OfferingOut]:
    return page_select(session, service.review_queue_query(actor), paging, OfferingOut.model_validate)


@router.post("/catalog/import", summary="Import interchange JSON Lines (operators); published at once")
@upload_route  # a file: up to SMEAI_UPLOAD_MAX_BYTES, not the 1 MiB JSON/form limit
async def import_offerings(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    strict: Annotated[bool, Query(description="All or nothing: any invalid line imports none (422).")] = False,
) -> ImportReport:
    service.require_import(actor)
    with SpooledTemporaryFile(max_size=1 << 20) as body:  # read line by line, never held whole in memory
        async for chunk in request.stream():
            body.write(chunk)
        body.seek(0)
        report = await run_in_threadpool(service.import_records, session, actor, read_lines(body), strict=strict)
    session.commit()
    return report


@router.get("/catalog/export", summary="The published pool as interchange JSON Lines")
def export_offerings(session: DbSession, actor: CurrentActor) -> Response:
    body = "".join(service.export_lines(session, actor))
    session.commit()  # the export's audit entry
    return Response(body, media_type="application/x-ndjson; charset=utf-8")
