"""Pages under /subsidy: programmes, the calculator, apply, my applications, the operator's queue and
dashboard. Each role sees its own side: enterprises their claims, operators the queue; providers nothing.
Every rule is in service.py; these routes turn forms into service calls and results into pages."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from smeai import taxonomy
from smeai.auth import service as auth_service
from smeai.auth.actor import Actor
from smeai.auth.deps import OptionalActor, PageActor
from smeai.auth.models import Organisation
from smeai.auth.permissions import OrgKind, Permission
from smeai.config import app_settings
from smeai.db import DbSession, utcnow
from smeai.errors import Conflict, Invalid, SmeaiError
from smeai.i18n import N_, _
from smeai.inputs import RecordId
from smeai.storage import storage_for
from smeai.subsidy import acceptance, dashboard, documents, labels, programme_files, service
from smeai.subsidy.programmes import DocKind, Profile, all_programmes
from smeai.subsidy.schemas import (
    AcceptanceIn,
    ApplicationIn,
    ApplicationOut,
    ApplicationState,
    BudgetForm,
    DecisionForm,
    PurchaseForm,
    PurchaseIn,
    ReasonOut,
)
from smeai.web.csrf import csrf_protect
from smeai.web.downloads import attachment
from smeai.web.forms import parse_form
from smeai.web.limits import upload_route
from smeai.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)
CSRF = [Depends(csrf_protect)]
FIELD_NAMES = set(PurchaseForm.model_fields) | {"programme_code"}


def _ctx(**extra: Any) -> dict[str, Any]:
    return {
        "active": "subsidy",
        "L": labels,
        "kind_options": [(k, _(v)) for k, v in labels.KINDS.items()],
        "doc_options": [(k, _(v)) for k, v in labels.DOCS.items()],
        "programme_options": _open_programmes(),
        "field_names": FIELD_NAMES,
        "money": service.money,
        "pname": service.programme_name,
        "pcur": lambda code: getattr(all_programmes().get(code), "currency", "CNY"),
        **extra,
    }


def _open_programmes() -> list[tuple[str, str]]:
    """What an enterprise may apply for today: programmes within their period that the buyer claims."""
    today = utcnow().date()
    return [
        (p.code, str(p.name))
        for p in all_programmes().values()
        if p.period_state(today) == "open" and p.eligibility.claimant == "buyer"
    ]


def _profile(session: DbSession, actor: Actor | None) -> Profile | None:
    """The profile of the reader's enterprise, if the reader belongs to one."""
    if actor is None or actor.org_id is None:
        return None
    org = session.get(Organisation, actor.org_id)
    return service.profile_of(org) if org is not None and org.kind == OrgKind.ENTERPRISE else None


def _profile_facts(session: DbSession, actor: Actor) -> list[str]:
    """The profile facts the calculator reads, in words (the enterprise sees what it is judged on)."""
    org = session.get(Organisation, actor.org_id) if actor.org_id else None
    if org is None or org.kind != OrgKind.ENTERPRISE or not org.province_code:
        return []
    facts = [org.name, taxonomy.name("provinces", org.province_code) + (f" {org.city}" if org.city else "")]
    if org.size_class:
        facts.append(_(labels.SIZES.get(org.size_class, org.size_class)))
    if org.industry_section:
        facts.append(taxonomy.name("sections", org.industry_section))
    return facts


async def _form(request: Request) -> dict[str, Any]:
    form = await request.form()
    data: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    data["flags"] = [v for v in form.getlist("flags") if isinstance(v, str)]
    return data


@router.get("/subsidy")
def index(request: Request, session: DbSession, actor: OptionalActor) -> HTMLResponse:
    groups = service.grouped_programmes(_profile(session, actor))
    manage = actor is not None and actor.can(Permission.PROGRAMME_MANAGE)
    return render(
        request,
        "subsidy/index.html",
        **_ctx(groups=[(_(title), rows) for title, rows in groups], can_manage=manage),
    )


@router.get("/subsidy/programmes/{code}")
def programme(code: str, request: Request, actor: OptionalActor, done: str | None = None) -> HTMLResponse:
    messages = [("ok", _("Programme file accepted: it applies from now on."))] if done == "upload" else []
    return _programme_page(request, actor, code, 200, messages=messages)


def _programme_page(request: Request, actor: Actor | None, code: str, status: int, **extra: Any) -> HTMLResponse:
    p = service.get_programme(code)
    quotes = {s.id: [c.quote for c in p.clauses if c.source == s.id] for s in p.sources}
    manage = actor is not None and actor.can(Permission.PROGRAMME_MANAGE)
    return render(
        request,
        "subsidy/programme.html",
        status,
        **_ctx(
            p=p,
            out=service.programme_out(p),
            quotes=quotes,
            partners=service.stacking_names(p.code),
            versions=programme_files.versions(code) if manage else [],
            can_manage=manage,
            **extra,
        ),
    )


@router.post("/subsidy/programmes/upload", dependencies=CSRF)
@upload_route
async def upload_programme(request: Request, session: DbSession, actor: PageActor) -> Response:
    """An operator's new or changed programme file: validated with every other file, then current."""
    form = await request.form()
    file = form.get("file")
    back = str(form.get("code") or "")
    try:
        if file is None or isinstance(file, str):
            raise Invalid(N_("The file was not accepted."), fields={"file": "This field is required."})
        data = await file.read(programme_files.MAX_BYTES + 1)
        p = service.upload_programme(session, actor, data, uploaded_by=_user_name(request))
        session.commit()
    except Invalid as exc:
        session.rollback()
        problems = [("error", _(exc.message))] + [("error", f"{k}: {v}") for k, v in exc.fields.items()]
        if back and back in all_programmes():
            return _programme_page(request, actor, back, 422, messages=problems)
        groups = service.grouped_programmes(_profile(session, actor))
        return render(
            request,
            "subsidy/index.html",
            422,
            **_ctx(groups=[(_(t), rows) for t, rows in groups], messages=problems, can_manage=True),
        )
    return RedirectResponse(f"/subsidy/programmes/{p.code}?done=upload", status_code=303)


def _user_name(request: Request) -> str:
    user = getattr(request.state, "user", None)
    return str(getattr(user, "display_name", "") or getattr(user, "email", "") or "")


@router.get("/subsidy/programmes/{code}/versions/{version}")
def programme_version(code: str, version: str, actor: PageActor) -> Response:
    """A programme file as it read at VERSION (the one an application was decided under), for operators."""
    actor.require(Permission.SUBSIDY_REVIEW)
    text = programme_files.version_text(code, version)
    return Response(text, media_type="application/x-yaml", headers=attachment(f"{code}-{version}.yaml"))


def _enterprises(session: DbSession, actor: Actor) -> list[tuple[str, str]]:
    """An operator (AI 转型顾问) may calculate for any enterprise; everyone else for their own."""
    if not actor.can(Permission.ORG_READ_ANY):
        return []
    orgs = auth_service.list_organisations(session, actor, kind=OrgKind.ENTERPRISE)
    return [(str(o.id), o.name) for o in orgs]


def _profile_messages(session: DbSession, actor: Actor) -> list[tuple[str, str]]:
    """Eligibility reads the organisation profile: say so when an enterprise has not filled it in."""
    org = session.get(Organisation, actor.org_id) if actor.org_id else None
    if org is None or not actor.can(Permission.SUBSIDY_APPLY) or org.province_code:
        return []
    return [
        (
            "info",
            _(
                "Fill in your organisation profile first (region, size, industry): every programme's "
                "eligibility depends on it."
            ),
        )
    ]


@router.get("/subsidy/calculator")
def calculator(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    values = dict(request.query_params)
    return render(
        request,
        "subsidy/calculator.html",
        **_ctx(
            values=values,
            errors={},
            quote=None,
            enterprises=_enterprises(session, actor),
            messages=_profile_messages(session, actor),
            facts=_profile_facts(session, actor),
        ),
    )


@router.post("/subsidy/calculator", dependencies=CSRF)
async def calculate(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    values = await _form(request)
    template = "subsidy/_quote.html" if is_htmx(request) else "subsidy/calculator.html"
    enterprises = [] if is_htmx(request) else _enterprises(session, actor)
    try:
        form = parse_form(PurchaseForm, values)
        who = (
            auth_service.get_organisation(session, actor, form.org_id)
            if form.org_id and actor.can(Permission.ORG_READ_ANY)
            else actor
        )
        quote = service.calculate(session, who, parse_form(PurchaseIn, form.values()))
    except Invalid as exc:
        return render(
            request,
            template,
            422,
            **_ctx(
                values=values,
                errors=exc.fields,
                quote=None,
                quote_messages=[("error", _(exc.message))],
                enterprises=enterprises,
            ),
        )
    carry = {k: v for k, v in values.items() if k not in ("csrf_token", "org_id") and v}
    return render(
        request,
        template,
        **_ctx(
            values=values, errors={}, quote=quote, enterprises=enterprises, apply_query=urlencode(carry, doseq=True)
        ),
    )


@router.get("/subsidy/apply")
def apply_form(request: Request, actor: PageActor) -> HTMLResponse:
    actor.require(Permission.SUBSIDY_APPLY)
    # prefilled from the calculator's "apply" link; a fresh key makes a double-clicked submit harmless
    values = dict(request.query_params) | {
        "flags": request.query_params.getlist("flags"),
        "idempotency_key": uuid.uuid4().hex,
    }
    return render(request, "subsidy/apply.html", **_ctx(values=values, errors={}))


@router.post("/subsidy/apply", dependencies=CSRF)
async def apply(request: Request, session: DbSession, actor: PageActor) -> Response:
    values = await _form(request)
    key = values.get("idempotency_key") or None
    try:
        form = parse_form(PurchaseForm, values)
        data = parse_form(ApplicationIn, form.values() | {"programme_code": form.programme_code})
        stored = service.claim_idempotency_key(session, actor, key, service.fingerprint("apply", data.model_dump()))
        if stored is None:  # a double-clicked submit lands on the first application
            out = ApplicationOut.model_validate(service.submit_application(session, actor, data))
            service.remember_response(session, actor, key, out)
            session.commit()
            stored = out.model_dump(mode="json")
    except SmeaiError as exc:
        session.rollback()
        return render(
            request,
            "subsidy/apply.html",
            422 if isinstance(exc, Invalid) else 409,
            **_ctx(values=values, errors=exc.fields, messages=[("error", _(exc.message))]),
        )
    return RedirectResponse(f"/subsidy/applications/{stored['id']}?done=submit", status_code=303)


@router.get("/subsidy/applications")
def applications(
    request: Request, session: DbSession, actor: PageActor, state: ApplicationState | None = None
) -> HTMLResponse:
    rows = service.list_applications(session, actor, state=state)
    template = "subsidy/_rows.html" if is_htmx(request) else "subsidy/applications.html"
    return render(
        request,
        template,
        **_ctx(rows=rows, state=state, names=_org_names(session, rows), operator=actor.can(Permission.SUBSIDY_REVIEW)),
    )


def _org_names(session: DbSession, rows: list) -> dict[int, str]:
    ids = {r.org_id for r in rows}
    return {o.id: o.name for o in session.query(Organisation).filter(Organisation.id.in_(ids))} if ids else {}


def _application_page(
    request: Request, session: DbSession, actor: PageActor, application_id: RecordId, status: int = 200, **extra: Any
) -> HTMLResponse:
    app = service.get_application(session, actor, application_id)
    p = service.get_programme(app.programme_code)
    docs = documents.list_documents(session, actor, app.id)
    have = {d.kind for d in docs}
    return render(
        request,
        "subsidy/application.html",
        status,
        **_ctx(
            app=app,
            p=p,
            docs=docs,
            events=service.events(session, actor, app.id),
            reasons=[ReasonOut.model_validate(r) for r in app.explanation],
            missing_apply=[k for k in p.documents.apply if k not in have],
            missing_redeem=[k for k in p.documents.redeem if k not in have],
            org_name=_org_names(session, [app]).get(app.org_id, ""),
            org=session.get(Organisation, app.org_id) if actor.can(Permission.SUBSIDY_REVIEW) else None,
            can_apply=actor.can(Permission.SUBSIDY_APPLY),
            can_review=actor.can(Permission.SUBSIDY_REVIEW),
            key=uuid.uuid4().hex,
            doc_kinds=list(DocKind),
            accepted=acceptance.find_acceptance(session, actor, app.id),
            today=utcnow().date(),
            **({"errors": {}} | extra),
        ),
    )


@router.get("/subsidy/applications/{application_id}")
def application(
    application_id: RecordId, request: Request, session: DbSession, actor: PageActor, done: str | None = None
) -> HTMLResponse:
    messages = [("ok", _(labels.DONE[done]))] if done in labels.DONE else []
    return _application_page(request, session, actor, application_id, messages=messages)


def _decision(form: dict[str, Any]) -> DecisionForm:
    return parse_form(DecisionForm, form)


ACTIONS = {
    "approve": lambda s, a, i, f: service.approve_application(
        s, a, i, amount_fen=_decision(f).fen("amount_yuan"), note=_decision(f).note
    ),
    "reject": lambda s, a, i, f: service.reject_application(s, a, i, reasons=_required(f, "reasons")),
    "withdraw": lambda s, a, i, f: service.withdraw_application(s, a, i),
    "redeem": lambda s, a, i, f: service.submit_redemption(s, a, i),
    "return": lambda s, a, i, f: service.return_redemption(s, a, i, reasons=_required(f, "reasons")),
    "verify": lambda s, a, i, f: service.verify_redemption(
        s, a, i, paid_fen=_decision(f).fen("paid_yuan"), note=_decision(f).note
    ),
    "accept": lambda s, a, i, f: acceptance.record_acceptance(s, a, i, _acceptance(f)),
    "pay": lambda s, a, i, f: acceptance.pay_award(
        s, a, i, paid_fen=_decision(f).fen("paid_yuan"), note=_decision(f).note
    ),
}

MEASUREMENT_ROWS = 3  # the acceptance form's before/after rows; empty rows are left out


def _acceptance(form: dict[str, Any]) -> AcceptanceIn:
    """The acceptance form: the reviewers comma-separated, up to MEASUREMENT_ROWS measurement rows."""
    rows = []
    for i in range(MEASUREMENT_ROWS):
        row = {k: (form.get(f"m_{k}_{i}") or "").strip() for k in ("name", "unit", "before", "after")}
        if any(row.values()):
            rows.append(row)
    reviewers = [r.strip() for r in (form.get("reviewers") or "").replace("，", ",").replace("、", ",").split(",")]
    values = {
        "passed": {"yes": True, "no": False}.get(form.get("passed") or ""),
        "conclusion": form.get("conclusion"),
        "reviewers": [r for r in reviewers if r],
        "measurements": rows,
        "site_visit_on": form.get("site_visit_on"),
    }
    return parse_form(AcceptanceIn, values)


def _required(form: dict[str, Any], name: str) -> str:
    value = (form.get(name) or "").strip()
    if not value:
        raise Invalid(N_("Please correct the marked fields."), fields={name: "This field is required."})
    return value[:2000]


@router.post("/subsidy/applications/{application_id}/documents", dependencies=CSRF)
@upload_route  # a file: up to SMEAI_UPLOAD_MAX_BYTES, not the 1 MiB JSON/form limit
async def upload(application_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    settings = app_settings(request)
    form = await request.form()
    file = form.get("file")
    try:
        if file is None or isinstance(file, str):
            raise Invalid(N_("The file was not accepted."), fields={"file": "This field is required."})
        kind = parse_form(_KindForm, {"kind": form.get("kind")}).kind
        data = await file.read(settings.upload_max_bytes + 1)
        documents.add_document(
            session,
            actor,
            application_id,
            kind=kind,
            filename=file.filename or "",
            data=data,
            store=storage_for(settings),
            max_bytes=settings.upload_max_bytes,
        )
        session.commit()
    except (Invalid, service.WrongState) as exc:
        session.rollback()
        return _application_page(
            request, session, actor, application_id, 422, errors=exc.fields, messages=[("error", _(exc.message))]
        )
    return RedirectResponse(f"/subsidy/applications/{application_id}?done=upload", status_code=303)


class _KindForm(BaseModel):
    kind: DocKind


@router.post("/subsidy/applications/{application_id}/{action}", dependencies=CSRF)
async def act(
    application_id: RecordId, action: str, request: Request, session: DbSession, actor: PageActor
) -> Response:
    if action not in ACTIONS:
        return _application_page(request, session, actor, application_id, 404)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    key = form.get("idempotency_key") or None
    try:
        print_ = service.fingerprint(action, application_id, {k: v for k, v in form.items() if k != "csrf_token"})
        if service.claim_idempotency_key(session, actor, key, print_) is None:
            out = ApplicationOut.model_validate(ACTIONS[action](session, actor, application_id, form))
            service.remember_response(session, actor, key, out)
            session.commit()
    except (Invalid, Conflict) as exc:
        session.rollback()
        return _application_page(
            request,
            session,
            actor,
            application_id,
            422 if isinstance(exc, Invalid) else 409,
            errors=exc.fields,
            messages=[("error", _(exc.message))],
        )
    return RedirectResponse(f"/subsidy/applications/{application_id}?done={action}", status_code=303)


@router.get("/subsidy/applications/{application_id}/documents/{document_id}")
def download(
    application_id: RecordId, document_id: RecordId, request: Request, session: DbSession, actor: PageActor
) -> Response:
    doc, body = documents.read_document(session, actor, application_id, document_id, storage_for(app_settings(request)))
    ext = doc.stored_name.rsplit(".", 1)[-1]
    return Response(body, media_type=doc.content_type, headers=attachment(f"document-{doc.id}.{ext}"))


@router.get("/subsidy/dashboard")
def dashboard_page(
    request: Request, session: DbSession, actor: PageActor, expired: int | None = None, budget: str | None = None
) -> HTMLResponse:
    messages = []
    if expired is not None:
        messages.append(("ok", _("Approvals not redeemed in time expired: %(n)s.") % {"n": expired}))
    if budget == "set":
        messages.append(("ok", _("Pool budget saved.")))
    return _dashboard(request, session, actor, 200, messages)


def _dashboard(
    request: Request, session: DbSession, actor: Actor, status: int, messages: list[tuple[str, str]]
) -> HTMLResponse:
    board = dashboard.build(session, actor)
    chart = {
        "days": [b["day"] for b in board.burn],
        "reserved": [int(str(b["reserved_fen"])) / 100 for b in board.burn],
        "paid": [int(str(b["paid_fen"])) / 100 for b in board.burn],
    }
    slices = {
        key: [asdict(s) for s in rows]
        for key, rows in (
            ("by-programme", board.by_programme),
            ("by-region", board.by_region),
            ("by-industry", board.by_industry),
        )
    }
    states = [{"name": _(labels.STATES[s]), "value": n} for s, n in board.by_state.items() if n]
    return render(
        request,
        "subsidy/dashboard.html",
        status,
        **_ctx(
            board=board,
            chart=chart,
            slices=slices,
            state_rows=states,
            messages=messages,
            can_manage=actor.can(Permission.PROGRAMME_MANAGE),
        ),
    )


@router.post("/subsidy/expire", dependencies=CSRF)
def expire(session: DbSession, actor: PageActor) -> Response:
    expired = service.expire_applications(session, actor)
    session.commit()
    return RedirectResponse(f"/subsidy/dashboard?expired={len(expired)}", status_code=303)


@router.post("/subsidy/pools/{code}", dependencies=CSRF)
async def set_budget(code: str, request: Request, session: DbSession, actor: PageActor) -> Response:
    form: dict[str, object] = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        budget = parse_form(BudgetForm, form).budget()  # the API's BudgetIn: one rule for the year and amount
        service.set_pool_budget(session, actor, code, budget.budget_fen, year=budget.year)
    except (Invalid, Conflict) as exc:
        session.rollback()
        named = [("error", f"{name}: {why}") for name, why in (exc.fields or {}).items()]
        return _dashboard(
            request, session, actor, 422 if isinstance(exc, Invalid) else 409, [("error", _(exc.message)), *named]
        )
    session.commit()
    return RedirectResponse("/subsidy/dashboard?budget=set", status_code=303)


@router.get("/subsidy/export.xlsx")
def export(session: DbSession, actor: PageActor) -> Response:
    return Response(
        dashboard.export_xlsx(session, actor),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=attachment("subsidy.xlsx"),
    )
