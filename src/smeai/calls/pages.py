"""Pages under /calls: published scenario lists (public) and case-collection campaigns. Each role sees its
own side: a publisher its lists' responses and decisions, a provider its responses, enterprises and
providers their entries, a panel's consultant the entries and only their own scores, operators every score
and the selection. Rules are in service.py (lists) and campaigns.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from smeai.auth.actor import Actor
from smeai.auth.deps import OptionalActor, PageActor
from smeai.auth.models import Organisation
from smeai.auth.permissions import Permission
from smeai.calls import campaigns, service
from smeai.calls.schemas import CampaignIn, OutcomeIn, ResponseIn, ScenarioListIn, ScoreIn
from smeai.cases.schemas import CaseIn
from smeai.catalog import labels as catalog_labels
from smeai.db import DbSession, utcnow
from smeai.errors import Conflict, Invalid
from smeai.i18n import N_, _
from smeai.inputs import RecordId
from smeai.web.csrf import csrf_protect
from smeai.web.flash import redirect_with_message
from smeai.web.forms import parse_form
from smeai.web.render import render

router = APIRouter(include_in_schema=False)
CSRF = [Depends(csrf_protect)]
SCENARIO_ROWS = 3  # the publishing form's scenario blocks; empty ones are left out

SCENARIO_STATUS = {"open": N_("Open for responses"), "selected": N_("Provider selected"), "validated": N_("Validated")}
RESPONSE_STATUS = {
    "submitted": N_("Submitted"),
    "shortlisted": N_("Shortlisted"),
    "selected": N_("Selected"),
    "declined": N_("Not selected"),
}
ENTRY_STATUS = {"submitted": N_("Under review"), "selected": N_("Selected as a benchmark")}


def _ctx(**extra: Any) -> dict[str, Any]:
    return {
        "active": "calls",
        "industry": catalog_labels.industry,
        "SCENARIO_STATUS": SCENARIO_STATUS,
        "RESPONSE_STATUS": RESPONSE_STATUS,
        "ENTRY_STATUS": ENTRY_STATUS,
        "today": utcnow().date(),
        "score_text": lambda x100: "—" if x100 is None else f"{x100 / 100:.2f}",
        **extra,
    }


def _split(value: object) -> list[str]:
    text = str(value or "").replace("，", ",").replace("、", ",").replace("\n", ",")
    return [p.strip() for p in text.split(",") if p.strip()]


def _messages(exc: Exception) -> list[tuple[str, str]]:
    return [("error", _(getattr(exc, "message", str(exc))))]


# --- the index ---------------------------------------------------------------------------------------------


@router.get("/calls")
def index(request: Request, session: DbSession, actor: OptionalActor) -> HTMLResponse:
    return render(
        request,
        "calls/index.html",
        **_ctx(
            lists=service.list_lists(session),
            campaigns=campaigns.list_campaigns(session),
            may_publish=service.may_publish(session, actor),
            own_lists=service.own_lists(session, actor) if actor else [],
            own_responses=service.own_responses(session, actor) if actor else [],
            reviewing=campaigns.reviewing(session, actor) if actor else [],
            may_open=actor is not None and actor.can(Permission.CASE_REVIEW),
        ),
    )


# --- scenario lists ----------------------------------------------------------------------------------------


def _list_form_page(request: Request, status: int = 200, **extra: Any) -> HTMLResponse:
    return render(request, "calls/list_form.html", status, **_ctx(**({"values": {}, "errors": {}} | extra)))


@router.get("/calls/lists/new")
def new_list(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    service.require_publisher(session, actor)
    return _list_form_page(request)


@router.post("/calls/lists/new", dependencies=CSRF)
async def publish_list(request: Request, session: DbSession, actor: PageActor) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    rows = []
    for i in range(SCENARIO_ROWS):
        keys = ("title", "industry", "scenario_code", "problem", "data_offered", "site_offered", "expected_result")
        row = {k: form.get(f"s_{k}_{i}", "").strip() for k in keys}
        if any(row.values()):
            rows.append({k: v for k, v in row.items() if v})
    values = {k: form.get(k) for k in ("title", "summary", "province_code", "deadline_on")} | {"scenarios": rows}
    try:
        data = parse_form(ScenarioListIn, values)
        listing = service.publish_list(session, actor, data)
    except Invalid as exc:
        session.rollback()
        return _list_form_page(request, 422, values=form, errors=exc.fields, messages=_messages(exc))
    session.commit()
    return redirect_with_message(request, f"/calls/lists/{listing.id}", _("The scenario list is published."))


def _list_page(
    request: Request, session: DbSession, actor: Actor | None, list_id: int, status: int = 200, **extra: Any
) -> HTMLResponse:
    listing = service.get_list(session, list_id)
    responses = service.responses_by_scenario(session, actor, listing)
    answered = {r.scenario_id for rows in responses.values() for r in rows if actor and r.org_id == actor.org_id}
    return render(
        request,
        "calls/list.html",
        status,
        **_ctx(
            listing=listing,
            responses=responses,
            answered=answered,
            publisher=service.is_publisher(actor, listing),
            may_respond=actor is not None and actor.can(Permission.PROPOSAL_SUBMIT),
            is_open=service.open_for_responses,
            **({"errors": {}} | extra),
        ),
    )


@router.get("/calls/lists/{list_id}")
def list_page(list_id: RecordId, request: Request, session: DbSession, actor: OptionalActor) -> HTMLResponse:
    return _list_page(request, session, actor, list_id)


async def _scenario_action(
    request: Request, session: DbSession, actor: Actor, list_id: int, run: Any, done: str
) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        run(form)
    except (Invalid, Conflict) as exc:
        session.rollback()
        code = 422 if isinstance(exc, Invalid) else 409
        return _list_page(request, session, actor, list_id, code, errors=exc.fields, messages=_messages(exc))
    session.commit()
    return redirect_with_message(request, f"/calls/lists/{list_id}", done)


@router.post("/calls/scenarios/{scenario_id}/respond", dependencies=CSRF)
async def respond(scenario_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    scenario = service.get_scenario(session, scenario_id)
    return await _scenario_action(
        request,
        session,
        actor,
        scenario.list_id,
        lambda f: service.respond(session, actor, scenario_id, parse_form(ResponseIn, {"approach": f.get("approach")})),
        _("Your response is sent to the publisher."),
    )


@router.post("/calls/scenarios/{scenario_id}/result", dependencies=CSRF)
async def record_result(scenario_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    scenario = service.get_scenario(session, scenario_id)
    return await _scenario_action(
        request,
        session,
        actor,
        scenario.list_id,
        lambda f: service.record_result(
            session, actor, scenario_id, parse_form(OutcomeIn, {"result": f.get("result")})
        ),
        _("The result is recorded."),
    )


@router.post("/calls/responses/{response_id}/{action}", dependencies=CSRF)
async def decide(
    response_id: RecordId, action: str, request: Request, session: DbSession, actor: PageActor
) -> Response:
    run = {"shortlist": service.shortlist, "select": service.select_response}.get(action)
    if run is None:
        return redirect_with_message(request, "/calls", _("Page not found."), "error")
    list_id = service.get_response(session, actor, response_id).scenario.list_id
    done = _("Shortlisted.") if action == "shortlist" else _("The provider is selected.")
    return await _scenario_action(request, session, actor, list_id, lambda f: run(session, actor, response_id), done)


# --- campaigns ---------------------------------------------------------------------------------------------


def _campaign_form_page(
    request: Request, session: DbSession, actor: Actor, status: int = 200, **extra: Any
) -> HTMLResponse:
    reviewers = campaigns.reviewer_choices(session, actor)
    ctx = {"values": {}, "errors": {}} | extra
    return render(request, "calls/campaign_form.html", status, **_ctx(reviewers=reviewers, **ctx))


@router.get("/calls/campaigns/new")
def new_campaign(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    return _campaign_form_page(request, session, actor)


CRITERIA_ROWS = 4


@router.post("/calls/campaigns/new", dependencies=CSRF)
async def create_campaign(request: Request, session: DbSession, actor: PageActor) -> Response:
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    criteria = []
    for i in range(CRITERIA_ROWS):
        name, weight = form.get(f"c_name_{i}", "").strip(), form.get(f"c_weight_{i}", "").strip()
        if name or weight:
            criteria.append({"name": name, "weight_pct": weight or None})
    values: dict[str, object] = {k: form.get(k) for k in ("title", "summary", "deadline_on")}
    values |= {"criteria": criteria, "reviewer_ids": [v for v in raw.getlist("reviewer_ids") if isinstance(v, str)]}
    try:
        campaign = campaigns.create_campaign(session, actor, parse_form(CampaignIn, values))
    except Invalid as exc:
        session.rollback()
        return _campaign_form_page(
            request, session, actor, 422, values=form, errors=exc.fields, messages=_messages(exc)
        )
    session.commit()
    return redirect_with_message(request, f"/calls/campaigns/{campaign.id}", _("The campaign is open."))


def _campaign_page(
    request: Request, session: DbSession, actor: Actor | None, campaign_id: int, status: int = 200, **extra: Any
) -> HTMLResponse:
    campaign = campaigns.get_campaign(session, campaign_id)
    entries = campaigns.list_entries(session, actor, campaign.id)
    operator = actor is not None and actor.can(Permission.CASE_REVIEW)
    reviewer = campaigns.is_reviewer(session, actor, campaign.id)
    all_scores = campaigns.scores(session, actor, campaign.id) if operator and actor else {}
    names = {o.id: o.name for o in session.query(Organisation).filter(Organisation.id.in_({e.org_id for e in entries}))}
    panel = campaigns.panel(session, campaign.id)
    return render(
        request,
        "calls/campaign.html",
        status,
        **_ctx(
            campaign=campaign,
            entries=entries,
            names=names,
            operator=operator,
            reviewer=reviewer,
            own={e.id: campaigns.own_score(session, actor, e.id) for e in entries} if reviewer and actor else {},
            all_scores=all_scores,
            means={e.id: campaigns.mean_x100(all_scores.get(e.id, [])) for e in entries},
            panel=panel,
            panel_names={u.id: u.display_name for u in panel},
            may_submit=campaigns.may_submit(actor) and campaigns.is_open(campaign),
            promotable=campaigns.promotable_engagements(session, actor) if actor else [],
            is_open=campaigns.is_open(campaign),
            **({"values": {}, "errors": {}} | extra),
        ),
    )


@router.get("/calls/campaigns/{campaign_id}")
def campaign_page(campaign_id: RecordId, request: Request, session: DbSession, actor: OptionalActor) -> HTMLResponse:
    return _campaign_page(request, session, actor, campaign_id)


async def _campaign_action(
    request: Request, session: DbSession, actor: Actor, campaign_id: int, run: Any, done: str, form: dict | None = None
) -> Response:
    try:
        run()
    except (Invalid, Conflict) as exc:
        session.rollback()
        code = 422 if isinstance(exc, Invalid) else 409
        extra = {"values": form or {}, "errors": exc.fields, "messages": _messages(exc)}
        return _campaign_page(request, session, actor, campaign_id, code, **extra)
    session.commit()
    return redirect_with_message(request, f"/calls/campaigns/{campaign_id}", done)


@router.post("/calls/campaigns/{campaign_id}/entries", dependencies=CSRF)
async def submit_entry(campaign_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str) and k not in ("scenarios", "providers")}
    values: dict[str, Any] = dict(form) | {
        "scenarios": [v for v in raw.getlist("scenarios") if isinstance(v, str)],
        "providers": _split(raw.get("providers")),
    }
    values.pop("csrf_token", None)
    return await _campaign_action(
        request,
        session,
        actor,
        campaign_id,
        lambda: campaigns.submit_entry(session, actor, campaign_id, parse_form(CaseIn, values)),
        _("Your case is entered. The panel will review it."),
        form=values,
    )


@router.post("/calls/campaigns/{campaign_id}/promote", dependencies=CSRF)
async def promote(campaign_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    raw_id = form.get("engagement_id", "")
    return await _campaign_action(
        request,
        session,
        actor,
        campaign_id,
        lambda: campaigns.promote_engagement(session, actor, campaign_id, _record_id(raw_id, "engagement_id")),
        _("Your engagement's outcome is entered as a case."),
    )


def _record_id(value: str, field: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 2**31:
        raise Invalid(N_("Please correct the marked fields."), fields={field: "This field is required."})
    return int(value)


@router.post("/calls/entries/{entry_id}/score", dependencies=CSRF)
async def score(entry_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    entry = campaigns.get_entry(session, actor, entry_id)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    n = len(campaigns.get_campaign(session, entry.campaign_id).criteria)
    points = [form.get(f"p_{i}", "") for i in range(n)]
    values = {"points": points, "comment": form.get("comment")}

    def run() -> None:
        if any(not p.strip() for p in points):
            raise Invalid(N_("Please correct the marked fields."), fields={"points": "one score per criterion"})
        campaigns.score_entry(session, actor, entry_id, parse_form(ScoreIn, values))

    return await _campaign_action(request, session, actor, entry.campaign_id, run, _("Your scores are recorded."))


@router.post("/calls/entries/{entry_id}/select", dependencies=CSRF)
async def select_entry(entry_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    entry = campaigns.get_entry(session, actor, entry_id)
    return await _campaign_action(
        request,
        session,
        actor,
        entry.campaign_id,
        lambda: campaigns.select_entry(session, actor, entry_id),
        _("Selected: the case is published as a benchmark in the case library."),
    )
