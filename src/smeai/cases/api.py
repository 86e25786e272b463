"""/api/v1/cases: the case library (search, collection, review)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from smeai.auth.deps import CurrentActor
from smeai.cases import service
from smeai.cases.index import CaseQuery
from smeai.cases.schemas import CaseIn, CaseOut, CaseReviewIn
from smeai.db import DbSession
from smeai.inputs import RecordId
from smeai.web.paging import Page, PageParams, page_of

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


class CaseSearchOut(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[CaseOut]
    facets: dict[str, list[tuple[str, int]]]


class BenchmarkIn(BaseModel):
    benchmark: bool


@router.get("", summary="Search published cases (facets: industry, scenario, link, province, benchmark)")
def search_cases(
    session: DbSession,
    actor: CurrentActor,
    q: str = "",
    industry: Annotated[list[str], Query()] = [],  # noqa: B006
    scenario: Annotated[list[str], Query()] = [],  # noqa: B006
    link: Annotated[list[str], Query()] = [],  # noqa: B006
    province: Annotated[list[str], Query()] = [],  # noqa: B006
    benchmark: Annotated[list[str], Query()] = [],  # noqa: B006
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> CaseSearchOut:
    query = CaseQuery.model_validate(dict(locals()) | {"q": q[:200]})
    result, rows = service.search_cases(session, query)
    return CaseSearchOut(
        total=result.total,
        page=result.page,
        per_page=result.per_page,
        items=[CaseOut.model_validate(service.to_out(c)) for c in rows],
        facets=result.facets,
    )


@router.get("/review-queue", summary="Cases waiting for review, oldest first (operators)")
def review_queue(session: DbSession, actor: CurrentActor, paging: PageParams) -> Page[CaseOut]:
    rows = service.list_review_queue(session, actor)
    return page_of(rows, paging, lambda c: CaseOut.model_validate(service.to_out(c)))


@router.get("/{case_id}", summary="One case (published, or your own, or any for reviewers)")
def read_case(case_id: RecordId, session: DbSession, actor: CurrentActor) -> CaseOut:
    return CaseOut.model_validate(service.to_out(service.get_case(session, actor, case_id)))


@router.post("", status_code=201, summary="Submit a case to the library (征集)")
def submit_case(data: CaseIn, session: DbSession, actor: CurrentActor) -> CaseOut:
    case = service.submit_case(session, actor, data)
    session.commit()
    return CaseOut.model_validate(service.to_out(case))


@router.post("/{case_id}/review", summary="Publish or reject a submitted case, optionally as a benchmark")
def review_case(case_id: RecordId, data: CaseReviewIn, session: DbSession, actor: CurrentActor) -> CaseOut:
    case = service.review_case(session, actor, case_id, data)
    session.commit()
    return CaseOut.model_validate(service.to_out(case))


@router.post("/{case_id}/benchmark", summary="Mark or unmark a published case as a benchmark (标杆)")
def set_benchmark(case_id: RecordId, data: BenchmarkIn, session: DbSession, actor: CurrentActor) -> CaseOut:
    case = service.set_benchmark(session, actor, case_id, data.benchmark)
    session.commit()
    return CaseOut.model_validate(service.to_out(case))
