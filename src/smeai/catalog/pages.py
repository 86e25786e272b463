"""Pages of the resource pool: browse and search, an offering, the provider's and the operator's
workspaces. Routes stay thin; every rule is in service.py."""

from __future__ import annotations

import contextlib
import io
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData, QueryParams, UploadFile

from smeai import taxonomy
from smeai.auth import service as auth_service
from smeai.auth.actor import Actor
from smeai.auth.deps import OptionalActor, PageActor
from smeai.auth.permissions import Permission
from smeai.cases import service as cases_service
from smeai.catalog import labels, service
from smeai.catalog.index import FACETS, OfferingQuery
from smeai.catalog.schemas import OfferingFields, ReviewIn
from smeai.db import DbSession
from smeai.errors import Invalid, NotFound, fields_from_validation
from smeai.i18n import N_, _
from smeai.inputs import RecordId
from smeai.jsonl import read_lines
from smeai.money import plain_number_text
from smeai.subsidy import service as subsidy_service
from smeai.web.csrf import csrf_protect
from smeai.web.flash import redirect_with_message
from smeai.web.fragments import Fragments
from smeai.web.limits import upload_route
from smeai.web.page_links import page_links
from smeai.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)
CSRF = [Depends(csrf_protect)]


def _ctx(**extra: Any) -> dict[str, Any]:
    return {"active": "catalog", "L": labels, "checklist": service.CHECKLIST, **extra}


def _query(params: QueryParams) -> OfferingQuery:
    data: dict[str, Any] = {name: params.getlist(name) for name in FACETS}
    for name in ("q", "region", "stage", "max_price_wan", "sort", "page"):
        if params.get(name):
            data[name] = params.get(name)
    try:
        return OfferingQuery.model_validate(data)
    except ValidationError:  # a hand-edited URL: drop what does not parse rather than fail
        return OfferingQuery(q=str(data.get("q", ""))[:200])


# The search form and its results as rendered (catalog/_browse.html: about half of the page's time), per
# database, change stamp and query string (and language): they show the published offerings only, the same
# to every visitor; any catalog write moves the stamp, read on every view.
_RESULTS_HTML = Fragments(256)


@router.get("/catalog")
def browse(request: Request, session: DbSession, actor: OptionalActor) -> HTMLResponse:
    def results() -> dict[str, Any]:
        query = _query(request.query_params)
        result, rows = service.search_offerings(session, query)
        pages = page_links("/catalog", request.query_params, result.pages)
        return _ctx(query=query, result=result, rows=rows, facets=FACETS, pages=pages)

    stamp = service.rendered_results_stamp(session)
    if stamp is None:  # the index is catching up with an import: rendered each time meanwhile
        context = results()
        template = "catalog/_browse.html" if is_htmx(request) else "catalog/browse.html"
        return render(request, template, **context)
    key = (str(session.get_bind().engine.url), stamp, request.url.query)
    html = _RESULTS_HTML.render(request, key, "catalog/_browse.html", results)
    if is_htmx(request):
        return render(request, "fragment.html", fragment=html)
    return render(request, "catalog/browse.html", **_ctx(results_html=html))


# The body of a published offering's page as every visitor sees it (catalog/_offering_body.html: the
# listing, its cases, programmes and the provider's other listings; about two thirds of the page's time),
# per database, everything it shows (catalog/service.py public_view_stamp, the case table's stamp, the
# programme files) and language. Owners, reviewers and operators see forms and history: rendered each time.
_OFFERING_HTML = Fragments(1024)


def _offering_page(request: Request, session: DbSession, actor: Actor | None, offering_id: int, **extra: Any):
    offering = service.get_offering(session, actor, offering_id)

    def body() -> dict[str, Any]:
        cases = cases_service.cases_for_offering(session, offering.id)
        others = [
            o
            for o in service.list_offerings(session, None, provider_id=offering.provider_id, limit=7)
            if o.id != offering.id
        ][:6]
        return _ctx(o=offering, cases=cases, others=others, vouchers=_vouchers(offering), errors={})

    if not extra and service.shows_public_view(actor, offering):
        key = (
            str(session.get_bind().engine.url),
            service.public_view_stamp(session, offering),
            cases_service.search_stamp(session),
            subsidy_service.programmes_stamp(),
        )
        html = _OFFERING_HTML.render(
            request,
            key,
            "catalog/_offering_body.html",
            lambda: body() | {"events": [], "can_edit": False, "can_review": False},
        )
        return render(request, "catalog/offering.html", **_ctx(o=offering, body_html=html))
    can_edit = actor is not None and actor.org_id == offering.provider_id and actor.can(Permission.OFFERING_WRITE_OWN)
    can_review = actor is not None and actor.can(Permission.OFFERING_REVIEW)
    return render(
        request,
        "catalog/offering.html",
        **(
            body()
            | {
                "events": service.history(session, actor, offering.id),
                "can_edit": can_edit,
                "can_review": can_review,
                **extra,
            }
        ),
    )


def _vouchers(offering: Any) -> list[dict[str, str]]:
    """Voucher programmes the listing qualifies under, named and linked through the subsidy domain's
    service; ids it does not know are shown as given."""
    out = []
    for code in offering.voucher_eligible:
        entry = {"code": code, "name": code, "summary": "", "href": ""}
        try:
            programme = subsidy_service.programme_out(subsidy_service.get_programme(code))
        except (NotFound, Invalid):  # unknown id, or the programme files are being edited
            programme = None
        if programme is not None:
            entry |= {"name": programme.name, "summary": programme.summary, "href": f"/subsidy/programmes/{code}"}
        out.append(entry)
    return out


@router.get("/catalog/offerings/{offering_id}")
def offering_page(request: Request, offering_id: RecordId, session: DbSession, actor: OptionalActor) -> HTMLResponse:
    return _offering_page(request, session, actor, offering_id)


# --- provider workspace ---------------------------------------------------------------------


@router.get("/catalog/provider")
def provider_workspace(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    rows = service.list_own_offerings(session, actor)
    _user, org = auth_service.me(session, actor)
    return render(request, "catalog/provider.html", **_ctx(rows=rows, org=org))


def _form_values(form: FormData) -> dict[str, Any]:
    def split(name: str) -> list[str]:
        raw = form.get(name) or ""
        return [p.strip() for p in str(raw).replace("，", ",").split(",") if p.strip()]

    price: Any = str(form.get("entry_price_wan") or "").strip()
    with contextlib.suppress(ValueError, InvalidOperation):  # what is no number stays text: "a number is required"
        price = Decimal(plain_number_text(price)) if price else None  # ASCII, exact; Pricing bounds it
    values: dict[str, Any] = {
        "name": str(form.get("name") or ""),
        "kind": str(form.get("kind") or ""),
        "summary": str(form.get("summary") or ""),
        "description": str(form.get("description") or "").strip() or None,
        "industries": form.getlist("industries"),
        "scenarios": form.getlist("scenarios"),
        "deployment": form.getlist("deployment"),
        "regions": form.getlist("regions"),
        "pricing": {"model": str(form.get("pricing_model") or ""), "entry_price_wan": price},
        "tags": split("tags"),
        "voucher_eligible": [
            part.strip()
            for value in form.getlist("voucher_eligible")
            for part in str(value).replace("，", ",").split(",")
            if part.strip()
        ],
    }
    if str(form.get("pricing_note") or "").strip():
        values["pricing"]["note"] = str(form.get("pricing_note")).strip()
    for name in ("min_stage", "max_stage"):
        raw = str(form.get(name) or "").strip()
        if raw:  # an ASCII integer of a few digits, else the text itself ("a valid integer" is required)
            values[name] = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else raw
    return values


def _input_name(error_key: str) -> str:
    """The form input an error belongs to: a list's field (industries.0 -> industries); the pricing
    object's members are inputs of their own (pricing.model -> pricing_model, pricing -> entry_price_wan)."""
    head, _dot, rest = error_key.partition(".")
    if head != "pricing":
        return head
    return {"": "entry_price_wan", "model": "pricing_model"}.get(rest, rest)


def _parse_offering(values: dict[str, Any]) -> OfferingFields:
    try:
        return OfferingFields.model_validate(values)
    except ValidationError as exc:
        fields = {_input_name(key): msg for key, msg in fields_from_validation([dict(e) for e in exc.errors()]).items()}
        raise Invalid(N_("Please correct the marked fields."), fields=fields) from None


def _form_page(request: Request, values: dict[str, Any], errors: dict[str, str], status: int = 200, **extra: Any):
    return render(
        request,
        "catalog/form.html",
        status,
        **_ctx(
            values=values,
            errors=errors,
            scenarios_by_link=_scenarios_by_link(),
            stage_options=[(k, _(v)) for k, v in labels.STAGE.items()],
            programmes=_programmes(),
            **extra,
        ),
    )


def _programmes() -> list[tuple[str, str]]:
    """(code, name) of the voucher programmes the subsidy domain knows, for the listing form."""
    try:
        return [(p.code, p.name) for p in subsidy_service.list_programmes()]
    except Invalid:  # programme files being edited: fall back to typing the ids
        return []


def _scenarios_by_link() -> list[tuple[str, list[tuple[str, str]]]]:
    tax = taxonomy.load()
    return [
        (tax.links[link].name, [(c, t.name) for c, t in tax.scenarios.items() if t.extra.get("link") == link])
        for link in tax.links
    ]


def _values_of(o: Any) -> dict[str, Any]:
    record = service.to_record(o).to_interchange()
    return record | {"description": o.description}


EMPTY = {
    "industries": [],
    "scenarios": [],
    "deployment": [],
    "regions": ["*"],
    "pricing": {},
    "tags": [],
    "voucher_eligible": [],
    "min_stage": 0,
    "max_stage": 4,
}


@router.get("/catalog/provider/new")
def new_offering_form(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    actor.require(Permission.OFFERING_WRITE_OWN)
    return _form_page(request, EMPTY, {}, offering=None)


async def _save(request: Request, session: DbSession, actor: Actor, offering_id: int | None) -> Response:
    form = await request.form()
    values = _form_values(form)
    offering = service.get_offering(session, actor, offering_id) if offering_id else None
    try:
        data = _parse_offering(values)
        if offering is None:
            offering = service.create_offering(session, actor, data)
        else:
            offering = service.update_offering(session, actor, offering.id, data)
        if form.get("action") == "submit" and offering.status != "submitted":
            service.submit_offering(session, actor, offering.id)
    except Invalid as exc:
        session.rollback()
        messages = [("error", _(exc.message))]
        return _form_page(request, values, exc.fields, 422, offering=offering, messages=messages)
    session.commit()
    submitted = offering.status == "submitted"
    text = _("Submitted for review. The centre will reply on this page.") if submitted else _("Draft saved.")
    return redirect_with_message(request, "/catalog/provider", text)


@router.post("/catalog/provider/new", dependencies=CSRF)
async def create_offering(request: Request, session: DbSession, actor: PageActor) -> Response:
    return await _save(request, session, actor, None)


@router.get("/catalog/offerings/{offering_id}/edit")
def edit_offering_form(request: Request, offering_id: RecordId, session: DbSession, actor: PageActor) -> HTMLResponse:
    offering = service.get_offering(session, actor, offering_id)
    return _form_page(request, _values_of(offering), {}, offering=offering)


@router.post("/catalog/offerings/{offering_id}/edit", dependencies=CSRF)
async def update_offering(request: Request, offering_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    return await _save(request, session, actor, offering_id)


@router.post("/catalog/offerings/{offering_id}/submit", dependencies=CSRF)
def submit_offering(request: Request, offering_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    service.submit_offering(session, actor, offering_id)
    session.commit()
    return redirect_with_message(
        request, "/catalog/provider", _("Submitted for review. The centre will reply on this page.")
    )


@router.post("/catalog/offerings/{offering_id}/withdraw", dependencies=CSRF)
def withdraw_offering(request: Request, offering_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    service.withdraw_offering(session, actor, offering_id)
    session.commit()
    return redirect_with_message(request, "/catalog/provider", _("Withdrawn. It is no longer listed."))


@router.post("/catalog/offerings/{offering_id}/delete", dependencies=CSRF)
def delete_offering(request: Request, offering_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    service.delete_offering(session, actor, offering_id)
    session.commit()
    target = "/catalog/review" if actor.can(Permission.OFFERING_REVIEW) else "/catalog/provider"
    return redirect_with_message(request, target, _("Deleted."))


# --- operator review (遴选) -----------------------------------------------------------------


@router.get("/catalog/review")
def review_workspace(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    queue = service.list_review_queue(session, actor)
    counts = service.status_counts(session, actor)
    recent = service.list_offerings(session, actor, limit=20)  # reviewers see every state
    return render(request, "catalog/review.html", **_ctx(queue=queue, counts=counts, recent=recent))


@router.post("/catalog/offerings/{offering_id}/review", dependencies=CSRF)
async def review_offering(request: Request, offering_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    form = await request.form()
    decision = ReviewIn(
        approve=form.get("decision") == "approve",
        checklist={key: form.get(f"check_{key}") == "on" for key in service.CHECKLIST},
        comment=str(form.get("comment") or ""),
    )
    try:
        service.review_offering(session, actor, offering_id, decision)
    except Invalid as exc:
        session.rollback()
        messages = [("error", _(exc.message))]
        return _offering_page(request, session, actor, offering_id, messages=messages, review_values=decision)
    session.commit()
    done = _("Approved and published.") if decision.approve else _("Rejected. The provider sees your comment.")
    return redirect_with_message(request, "/catalog/review", done)


@router.post("/catalog/offerings/{offering_id}/comment", dependencies=CSRF)
async def comment_offering(request: Request, offering_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    form = await request.form()
    try:
        service.comment_offering(session, actor, offering_id, str(form.get("comment") or ""))
    except Invalid as exc:
        session.rollback()
        return _offering_page(request, session, actor, offering_id, messages=[("error", _(exc.message))])
    session.commit()
    return redirect_with_message(request, f"/catalog/offerings/{offering_id}", _("Comment added."))


@router.get("/catalog/import")
def import_form(request: Request, actor: PageActor) -> HTMLResponse:
    actor.require(Permission.CATALOG_IMPORT)
    return render(request, "catalog/import.html", **_ctx(report=None))


@router.post("/catalog/import", dependencies=CSRF)
@upload_route  # a file: up to SMEAI_UPLOAD_MAX_BYTES, not the 1 MiB JSON/form limit
async def import_upload(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    service.require_import(actor)
    form = await request.form()
    upload = form.get("file")
    stream = upload.file if isinstance(upload, UploadFile) else io.BytesIO()  # spooled by Starlette
    report = await run_in_threadpool(service.import_records, session, actor, read_lines(stream))
    session.commit()
    return render(request, "catalog/import.html", **_ctx(report=report))
