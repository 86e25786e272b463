"""Pages of the case library: browse and search, a case, the collection form (征集), the review
workspace (遴选)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.datastructures import QueryParams

from smeai import taxonomy
from smeai.auth.deps import OptionalActor, PageActor
from smeai.auth.permissions import Permission
from smeai.cases import service
from smeai.cases.index import FACETS, CaseQuery
from smeai.cases.schemas import CaseIn, CaseReviewIn
from smeai.catalog import labels
from smeai.db import DbSession
from smeai.errors import Invalid
from smeai.i18n import N_, _
from smeai.web.csrf import csrf_protect
from smeai.web.flash import redirect_with_message
from smeai.web.forms import parse_form
from smeai.web.page_links import page_links
from smeai.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)
CSRF = [Depends(csrf_protect)]
FACET_TITLES = {
    "industry": N_("Industry"),
    "scenario": N_("Scenario"),
    "link": N_("Business link"),
    "province": N_("Region"),
    "benchmark": N_("Benchmark cases"),
}


def facet_value(facet: str, value: str) -> str:
    if facet == "province":
        return taxonomy.name("provinces", value)
    if facet == "benchmark":
        return _("Benchmark cases only")
    return labels.facet_value(facet, value)


def _ctx(**extra: Any) -> dict[str, Any]:
    return {
        "active": "cases",
        "FACET_TITLES": FACET_TITLES,
        "facet_value": facet_value,
        "L": labels,
        **extra,
    }


def _query(params: QueryParams) -> CaseQuery:
    data: dict[str, Any] = {name: params.getlist(name) for name in FACETS}
    for name in ("q", "page"):
        if params.get(name):
            data[name] = params.get(name)
    try:
        return CaseQuery.model_validate(data)
    except ValidationError:
        return CaseQuery(q=str(data.get("q", ""))[:200])


@router.get("/cases")
def browse(request: Request, session: DbSession, actor: OptionalActor) -> HTMLResponse:
    query = _query(request.query_params)
    result, rows = service.search_cases(session, query)
    pages = page_links("/cases", request.query_params, result.pages)
    template = "cases/_browse.html" if is_htmx(request) else "cases/browse.html"
    return render(request, template, **_ctx(query=query, result=result, rows=rows, facets=FACETS, pages=pages))


def _case_page(request: Request, session: DbSession, actor: Any, case_id: int, **extra: Any) -> HTMLResponse:
    case = service.get_case(session, actor, case_id)
    can_review = actor is not None and actor.can(Permission.CASE_REVIEW)
    return render(request, "cases/case.html", **_ctx(c=case, can_review=can_review, **extra))


@router.get("/cases/new")
def new_case_form(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    actor.require(Permission.CASE_SUBMIT)
    mine = service.list_own_cases(session, actor)
    return render(request, "cases/form.html", **_ctx(values={}, errors={}, mine=mine))


def _split(value: object) -> list[str]:
    return [p.strip() for p in str(value or "").replace("，", ",").replace("\n", ",").split(",") if p.strip()]


@router.post("/cases/new", dependencies=CSRF)
async def submit_case(request: Request, session: DbSession, actor: PageActor) -> Response:
    form = await request.form()
    values: dict[str, Any] = {
        k: v for k, v in form.items() if k not in ("scenarios", "providers", "offering_ids", "media")
    }
    values |= {
        "scenarios": form.getlist("scenarios"),
        "providers": _split(form.get("providers")),
        "offering_ids": _split(form.get("offering_ids")),
        "media": _split(form.get("media")),
    }
    try:
        data = parse_form(CaseIn, values)
        service.submit_case(session, actor, data)
    except Invalid as exc:
        session.rollback()
        mine = service.list_own_cases(session, actor)
        messages = [("error", _(exc.message))]
        return render(
            request, "cases/form.html", 422, **_ctx(values=values, errors=exc.fields, mine=mine, messages=messages)
        )
    session.commit()
    mine = service.list_own_cases(session, actor)
    messages = [("ok", _("Thank you. The centre will review your case before it is published."))]
    return render(request, "cases/form.html", **_ctx(values={}, errors={}, mine=mine, messages=messages))


@router.get("/cases/review")
def review_workspace(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    queue = service.list_review_queue(session, actor)
    return render(request, "cases/review.html", **_ctx(queue=queue))


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: int, session: DbSession, actor: OptionalActor) -> HTMLResponse:
    return _case_page(request, session, actor, case_id)


@router.post("/cases/{case_id}/review", dependencies=CSRF)
async def review_case(request: Request, case_id: int, session: DbSession, actor: PageActor) -> Response:
    form = await request.form()
    decision = CaseReviewIn(
        approve=form.get("decision") == "approve",
        benchmark=form.get("benchmark") == "on",
        comment=str(form.get("comment") or ""),
    )
    try:
        service.review_case(session, actor, case_id, decision)
    except Invalid as exc:
        session.rollback()
        return _case_page(request, session, actor, case_id, messages=[("error", _(exc.message))])
    session.commit()
    done = _("Published in the case library.") if decision.approve else _("Returned to the author with your comment.")
    return redirect_with_message(request, "/cases/review", done)


@router.post("/cases/{case_id}/benchmark", dependencies=CSRF)
async def set_benchmark(request: Request, case_id: int, session: DbSession, actor: PageActor) -> Response:
    form = await request.form()
    service.set_benchmark(session, actor, case_id, form.get("benchmark") == "on")
    session.commit()
    return redirect_with_message(request, f"/cases/{case_id}", _("Saved."))
