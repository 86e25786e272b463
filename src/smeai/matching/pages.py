"""Pages under /matching: needs and their matches, engagements, the funnel, challenges, the module menu.

Each page shows the caller's side only; the services decide what that is.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.datastructures import FormData

from smeai import taxonomy
from smeai.auth.deps import PageActor
from smeai.auth.permissions import Permission
from smeai.db import DbSession
from smeai.errors import Invalid
from smeai.i18n import N_, _, get_lang
from smeai.inputs import RecordId
from smeai.matching import challenges, engagements, flows, menu, service
from smeai.matching.models import Need
from smeai.matching.reasons import localise
from smeai.matching.schemas import (
    PIPELINE,
    ChallengeIn,
    InterestIn,
    ModuleIn,
    NeedIn,
    NeedStatusIn,
    OutcomeIn,
    PackageIn,
    ProposalIn,
    ResponseIn,
    TransitionIn,
)
from smeai.money import typed_fen
from smeai.web.csrf import csrf_protect, csrf_token
from smeai.web.flash import redirect_with_message
from smeai.web.forms import parse_form
from smeai.web.fragments import Fragments
from smeai.web.render import csp_nonce, is_htmx, render, templates

router = APIRouter(include_in_schema=False)
CSRF = [Depends(csrf_protect)]

STATE_LABELS = {
    "matched": N_("Matched needs"),  # the funnel's first stage (needs, not engagements)
    "interest": N_("Interest shown"),
    "introduced": N_("Introduced"),
    "meeting_held": N_("Meeting held"),
    "proposal": N_("Proposal"),
    "contract_signed": N_("Contract signed"),
    "delivered": N_("Delivered"),
    "evaluated": N_("Evaluated"),
    "closed": N_("Closed"),
}
NEED_STATUS = {"open": N_("Open"), "matched": N_("In follow-up"), "closed": N_("Closed")}
URGENCY = {"low": N_("Not urgent"), "normal": N_("Normal"), "high": N_("Urgent")}
DEPLOYMENTS = {
    "saas": N_("SaaS"),
    "private": N_("On premises"),
    "appliance": N_("Appliance"),
    "edge": N_("Edge device"),
    "api": N_("API"),
}
CHALLENGE_STATUS = {"open": N_("Open"), "awarded": N_("Awarded"), "closed": N_("Closed")}
PROPOSAL_STATUS = {  # "Submitted" alone is 提交时间 (a column) in other catalogs: its own msgid here
    "submitted": N_("Submitted, awaiting review"),
    "shortlisted": N_("Shortlisted"),
    "awarded": N_("Awarded"),
    "declined": N_("Not selected"),
}
LABELS = {
    "state": STATE_LABELS,
    "need": NEED_STATUS,
    "urgency": URGENCY,
    "deployment": DEPLOYMENTS,
    "challenge": CHALLENGE_STATUS,
    "proposal": PROPOSAL_STATUS,
}


# How a field read from the need's words is proposed: "预算 30 万元（“预算30万”）".
PROPOSED_MODES = {
    "private": N_("on-premises deployment"),
    "edge": N_("on-site device (edge)"),
    "appliance": N_("all-in-one appliance"),
    "saas": N_("online service (SaaS)"),
    "api": N_("API"),
}


def _industry_label(code: str) -> str:
    if code.startswith("C") and len(code) > 1:
        return taxonomy.name("divisions", code[1:])
    return taxonomy.name("groups", code) if code in taxonomy.load().groups else taxonomy.name("sections", code)


def proposed_fields(need: Need) -> list[tuple[str, str]]:
    """(what was read, the words that say it) for each field the need's words filled in."""
    out = []
    for field_name, got in (need.extracted or {}).items():
        value = got.get("value")
        if field_name == "budget_wan":
            label = _("Budget {n} wan yuan").format(n=f"{float(value):g}")
        elif field_name == "deployment":
            label = "、".join(_(PROPOSED_MODES[m]) for m in value if m in PROPOSED_MODES)
        elif field_name == "province_code":
            label = taxonomy.name("provinces", value) or str(value)
        elif field_name == "industry":
            label = _industry_label(str(value))
        elif field_name == "stage":
            label = _("Application stage {n}").format(n=value)
        else:
            continue
        out.append((label, str(got.get("evidence") or "")))
    return out


def highlighted(text: str, evidence: list[str]) -> list[tuple[str, bool]]:
    """The need's words as (piece, is evidence) runs, for <mark>: the owner's words, never rewritten."""
    marks = [False] * len(text)
    for words in evidence:
        start = text.find(words) if words else -1
        if start >= 0:
            marks[start : start + len(words)] = [True] * len(words)
    runs: list[tuple[str, bool]] = []
    for ch, marked in zip(text, marks, strict=True):
        if runs and runs[-1][1] == marked:
            runs[-1] = (runs[-1][0] + ch, marked)
        else:
            runs.append((ch, marked))
    return runs


def industry_choices() -> list[tuple[str, str]]:
    """Sections, with manufacturing by division (C13 …), as a need's industry is coded."""
    tax = taxonomy.load()
    out = [(code, f"{code} {t.name}") for code, t in tax.sections.items() if code != "C"]
    return out + [(f"C{code}", f"C{code} {t.name}") for code, t in tax.divisions.items()]


def _page(request: Request, template: str, status: int = 200, **context: object) -> HTMLResponse:
    return render(request, template, status, active="matching", L=LABELS, reason=localise, **context)


def _form_values(form: FormData) -> dict[str, object]:
    """Form fields as parse_form reads them, multi-valued ones (checkboxes) as lists."""
    values: dict[str, object] = {}
    for key in form:
        items = form.getlist(key)
        values[key] = items if key in ("deployment", "scenarios", "module_ids") else items[-1]
    return values


WAN, YUAN = 1_000_000, 100  # fen per unit a form box is typed in


def _need_data(values: dict[str, object]) -> dict[str, object]:
    """The need form as NeedIn reads it: the budget typed in 万元 becomes fen."""
    data = dict(values)
    data["budget_fen"] = _fen(data.pop("budget_wan", None), WAN, "budget_fen")
    return data


def _fen(raw: object, per_unit: int, field: str) -> int | None:
    """An amount typed in the form's unit (万元, 元) as whole fen, by the platform's one rule
    (smeai.money.typed_fen); a field error under the schema's name (`field`) otherwise."""
    try:
        return typed_fen(raw, per_unit)
    except ValueError as exc:
        raise Invalid(N_("Please correct the marked fields."), fields={field: str(exc)}) from None


def _form_errors(exc: Invalid) -> dict[str, str]:
    return {("budget_wan" if k == "budget_fen" else k): v for k, v in exc.fields.items()}


# --- landing ----------------------------------------------------------------------------------


@router.get("/matching")
def index(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    can = actor.can
    context: dict[str, Any] = {
        "needs": service.list_needs(session, actor)
        if can(Permission.NEED_READ_OWN) or can(Permission.NEED_READ_ANY)
        else [],
        "engagements": engagements.list_engagements(session, actor),
        "challenges": challenges.list_challenges(session, actor),
        "can_write_need": can(Permission.NEED_WRITE_OWN) or can(Permission.NEED_WRITE_ANY),
        "is_provider": can(Permission.PROPOSAL_SUBMIT),
        "funnel": engagements.funnel(session, actor) if can(Permission.ENGAGEMENT_READ_ANY) else None,
    }
    return _page(request, "matching/index.html", **context)


# --- needs ------------------------------------------------------------------------------------


@router.get("/matching/needs/new")
def need_form(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    return _page(
        request, "matching/need_form.html", values={}, errors={}, enterprises=service.enterprise_choices(session, actor)
    )


@router.post("/matching/needs/new", dependencies=CSRF)
async def create_need(request: Request, session: DbSession, actor: PageActor) -> Response:
    values = _form_values(await request.form())
    try:
        need = service.create_need(session, actor, parse_form(NeedIn, _need_data(values)))
        engagements.recommend(session, actor, need.id)  # the funnel's first stage, with the reasons shown
    except Invalid as exc:
        session.rollback()
        return _page(
            request,
            "matching/need_form.html",
            422,
            values=values,
            errors=_form_errors(exc),
            messages=[("error", _(exc.message))],
            enterprises=service.enterprise_choices(session, actor),
        )
    session.commit()
    return RedirectResponse(f"/matching/needs/{need.id}", status_code=303)


# A need's page below the header as rendered (matching/_need_body.html: the need, the fields read from its
# words, its matches and near misses with the offerings' names and each one's engagement or buttons; with
# the offerings' rows, about 1.3 ms of the page's 7 ms of server CPU), per database, what it shows of the
# need and its list and the catalog's change stamp (service.page_stamp), the engagements the reader sees
# on it (ids and states, read on every view), the reader's rights that change its buttons, and language.
# Shared by the readers with the same rights: their CSRF token is put into its forms on the way out.
_NEED_HTML = Fragments(1024)


@router.get("/matching/needs/{need_id}")
def need_page(need_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    need = service.get_need(session, actor, need_id)  # the reader may see it, or 404: before anything shared
    rows = engagements.list_engagements(session, actor, need_id=need_id)
    by_offering = {e.offering_id: e for e in rows if e.offering_id is not None}
    snap = service.snapshot(session, need, store=False)  # a read: nothing written
    can_write = actor.can(Permission.NEED_WRITE_OWN) or actor.can(Permission.NEED_WRITE_ANY)
    can_introduce = actor.can(Permission.NEED_WRITE_ANY)

    def body() -> dict[str, Any]:
        shown = service.shown_matches(session, actor, need_id, engaged_ids=set(by_offering), need=need, snap=snap)
        proposed = proposed_fields(need)
        return {
            "L": LABELS,
            "need": need,
            "shown": shown,
            "proposed": proposed,
            "text_runs": highlighted(need.text, [words for _label, words in proposed]),
            "by_offering": by_offering,
            "can_write": can_write,
            "can_introduce": can_introduce,
        }

    stamp = service.page_stamp(need, snap)
    if stamp is None:  # the list is from an older pool while a newer one is built: rendered each time
        fresh = body() | {"lang": get_lang(), "csrf_token": csrf_token(request), "csp_nonce": csp_nonce(request)}
        html = Markup(templates().env.get_template("matching/_need_body.html").render(fresh))
    else:
        engaged = tuple(sorted((o, e.id, e.state) for o, e in by_offering.items()))
        key = (str(session.get_bind().engine.url), stamp, engaged, can_write, can_introduce)
        html = _NEED_HTML.render(request, key, "matching/_need_body.html", body, forms=True)
    return _page(request, "matching/need.html", need=need, body_html=html)


@router.post("/matching/needs/{need_id}/fields", dependencies=CSRF)
def confirm_fields(need_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    service.confirm_fields(session, actor, need_id)
    session.commit()
    return redirect_with_message(
        request, f"/matching/needs/{need_id}", _("Confirmed. The matches now use what you confirmed.")
    )


@router.post("/matching/needs/{need_id}/introduce", dependencies=CSRF)
async def introduce(need_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    data = parse_form(InterestIn, dict(await request.form()))
    e = engagements.introduce(session, actor, need_id, data.offering_id, note=data.note)
    session.commit()
    return RedirectResponse(f"/matching/engagements/{e.id}", status_code=303)


@router.get("/matching/needs/{need_id}/edit")
def edit_need_form(need_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    need = service.writable_need(session, actor, need_id)
    values = {
        "title": need.title,
        "text": need.text,
        "urgency": need.urgency,
        "deployment": need.deployment,
        "budget_wan": None if need.budget_fen is None else f"{need.budget_fen / 1_000_000:g}",
        "industry": need.industry,
        "province_code": need.province_code,
        "stage": need.stage,
    }
    return _page(
        request,
        "matching/need_form.html",
        values=values,
        errors={},
        action=f"/matching/needs/{need_id}/edit",
        industries=industry_choices(),
    )


@router.post("/matching/needs/{need_id}/edit", dependencies=CSRF)
async def edit_need(need_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    values = _form_values(await request.form())
    need = service.writable_need(session, actor, need_id)
    try:
        data = _need_data(values) | {"scenarios": need.scenarios if need.scenarios_confirmed else None}
        service.update_need(session, actor, need_id, parse_form(NeedIn, data))
    except Invalid as exc:
        session.rollback()
        return _page(
            request,
            "matching/need_form.html",
            422,
            values=values,
            errors=_form_errors(exc),
            messages=[("error", _(exc.message))],
            action=f"/matching/needs/{need_id}/edit",
            industries=industry_choices(),
        )
    session.commit()
    return RedirectResponse(f"/matching/needs/{need_id}", status_code=303)


@router.post("/matching/needs/{need_id}/status", dependencies=CSRF)
async def need_status(need_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    data = parse_form(NeedStatusIn, dict(await request.form()))  # an unknown status: 422, not 500
    service.set_need_status(session, actor, need_id, data.status)
    session.commit()
    done = _("Need closed.") if data.status == "closed" else _("Need reopened.")
    return redirect_with_message(request, f"/matching/needs/{need_id}", done)


@router.post("/matching/needs/{need_id}/scenarios", dependencies=CSRF)
async def confirm_scenarios(need_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    form = await request.form()
    need = service.get_need(session, actor, need_id)
    kept = {"title": need.title, "text": need.text, "budget_fen": need.budget_fen, "urgency": need.urgency}
    # An unknown scenario code is a field error (422), not a 500.
    kept |= {"industry": need.industry, "province_code": need.province_code, "stage": need.stage}
    data = parse_form(NeedIn, kept | {"deployment": need.deployment, "scenarios": form.getlist("scenarios")})
    service.update_need(session, actor, need_id, data, confirm_fields=False)
    session.commit()
    return redirect_with_message(
        request, f"/matching/needs/{need_id}", _("Scenarios confirmed. The matches are updated.")
    )


@router.post("/matching/needs/{need_id}/interest", dependencies=CSRF)
async def interest(need_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    data = parse_form(InterestIn, dict(await request.form()))  # "abc" or 10^30: a field error, not a 500
    e = engagements.express_interest(session, actor, need_id, data.offering_id, note=data.note)
    session.commit()
    return RedirectResponse(f"/matching/engagements/{e.id}", status_code=303)


# --- engagements ------------------------------------------------------------------------------


@router.get("/matching/engagements/{engagement_id}")
def engagement_page(engagement_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    e = engagements.get_engagement(session, actor, engagement_id)
    return _page(
        request,
        "matching/engagement.html",
        e=e,
        side=engagements.side_of(actor, e),
        offering=e.offering,
        enterprise=e.enterprise,
        provider=e.provider,
        next_state=engagements.next_state(e),
        pipeline=PIPELINE,
        users=engagements.event_authors(session, e),
    )


@router.post("/matching/engagements/{engagement_id}/respond", dependencies=CSRF)
async def respond(engagement_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    form = await request.form()
    data = parse_form(ResponseIn, {"accept": form.get("accept") == "yes", "note": form.get("note")})
    engagements.respond(session, actor, engagement_id, data)
    session.commit()
    return RedirectResponse(f"/matching/engagements/{engagement_id}", status_code=303)


@router.post("/matching/engagements/{engagement_id}/advance", dependencies=CSRF)
async def advance(engagement_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    form: dict[str, object] = dict(await request.form())
    engagements.advance(session, actor, engagement_id, parse_form(TransitionIn, form))
    session.commit()
    return RedirectResponse(f"/matching/engagements/{engagement_id}", status_code=303)


@router.post("/matching/engagements/{engagement_id}/outcome", dependencies=CSRF)
async def outcome(engagement_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    form: dict[str, object] = dict(await request.form())
    form["cost_fen"] = _fen(form.pop("cost_wan", ""), WAN, "cost_fen")
    form["share_as_case"] = form.get("share_as_case") == "on"
    flows.report_outcome(session, actor, engagement_id, parse_form(OutcomeIn, form))
    session.commit()
    return RedirectResponse(f"/matching/engagements/{engagement_id}", status_code=303)


@router.get("/matching/funnel")
def funnel_page(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    figures = engagements.funnel(session, actor)
    board = engagements.pipeline(session, actor) if actor.can(Permission.NEED_WRITE_ANY) else None
    names = [_(STATE_LABELS[s["state"]]) for s in figures["stages"]]
    return _page(request, "matching/funnel.html", funnel=figures, board=board, stage_names=names)


# --- challenges -------------------------------------------------------------------------------


@router.get("/matching/challenges")
def challenge_list(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    return _page(
        request,
        "matching/challenges.html",
        challenges=challenges.list_challenges(session, actor),
        can_publish=actor.can(Permission.CHALLENGE_PUBLISH),
        values={},
        errors={},
    )


@router.post("/matching/challenges", dependencies=CSRF)
async def publish(request: Request, session: DbSession, actor: PageActor) -> Response:
    values = dict(await request.form())
    data: dict[str, object] = dict(values)
    try:
        data["budget_fen"] = _fen(data.pop("budget_wan", None), WAN, "budget_fen")
        c = challenges.publish_challenge(session, actor, parse_form(ChallengeIn, data))
    except Invalid as exc:
        session.rollback()
        return _page(
            request,
            "matching/challenges.html",
            422,
            challenges=challenges.list_challenges(session, actor),
            can_publish=True,
            values=values,
            errors=_form_errors(exc),
            messages=[("error", _(exc.message))],
        )
    session.commit()
    return RedirectResponse(f"/matching/challenges/{c.id}", status_code=303)


@router.get("/matching/challenges/{challenge_id}")
def challenge_page(challenge_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    c = challenges.get_challenge(session, actor, challenge_id)
    return _page(
        request,
        "matching/challenge.html",
        c=c,
        proposals=challenges.list_proposals(session, actor, c.id),
        owner=c.org_id == actor.org_id,
        can_propose=actor.can(Permission.PROPOSAL_SUBMIT),
    )


@router.post("/matching/challenges/{challenge_id}/proposals", dependencies=CSRF)
async def propose(challenge_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    form: dict[str, object] = dict(await request.form())
    form["price_fen"] = _fen(form.pop("price_wan", None), WAN, "price_fen")
    challenges.submit_proposal(session, actor, challenge_id, parse_form(ProposalIn, form))
    session.commit()
    return redirect_with_message(
        request, f"/matching/challenges/{challenge_id}", _("Proposal sent. The enterprise will answer on this page.")
    )


@router.post("/matching/proposals/{proposal_id}/{decision}", dependencies=CSRF)
def decide(proposal_id: RecordId, decision: str, request: Request, session: DbSession, actor: PageActor) -> Response:
    act = {"shortlist": challenges.shortlist_proposal, "award": challenges.award_proposal}.get(decision)
    if act is None:
        raise Invalid(N_("Unknown action."))
    proposal = act(session, actor, proposal_id)
    session.commit()
    if proposal.engagement_id:
        return RedirectResponse(f"/matching/engagements/{proposal.engagement_id}", status_code=303)
    return RedirectResponse(f"/matching/challenges/{proposal.challenge_id}", status_code=303)


# --- module menu ------------------------------------------------------------------------------


@router.get("/matching/menu")
def menu_page(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    own = menu.own_offerings(session, actor)
    return _page(
        request,
        "matching/menu.html",
        rows=menu.list_menu(session),
        own_offerings=own,
        programmes=menu.tiered_programmes(session, actor),
        quote=None,
        can_order=actor.can(Permission.NEED_WRITE_OWN),
    )


@router.post("/matching/menu/quote", dependencies=CSRF)
async def quote(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    values = _form_values(await request.form())
    try:
        data = parse_form(PackageIn, values)
        result, error = menu.compose_package(session, actor, data), None
    except Invalid as exc:
        result, error = None, _(exc.message)
    template = "matching/_quote.html" if is_htmx(request) else "matching/menu.html"
    return _page(
        request,
        template,
        quote=result,
        error=error,
        rows=menu.list_menu(session),
        own_offerings=[],
        programmes=menu.tiered_programmes(session, actor),
        can_order=True,
    )


@router.post("/matching/menu/send", dependencies=CSRF)
async def send(request: Request, session: DbSession, actor: PageActor) -> Response:
    need = menu.send_package(session, actor, parse_form(PackageIn, _form_values(await request.form())))
    session.commit()
    return RedirectResponse(f"/matching/needs/{need.id}", status_code=303)


@router.post("/matching/menu/modules", dependencies=CSRF)
async def add_module(request: Request, session: DbSession, actor: PageActor) -> Response:
    form: dict[str, object] = dict(await request.form())
    form["price_fen"] = _fen(form.pop("price_yuan", None), YUAN, "price_fen")
    menu.add_module(session, actor, parse_form(ModuleIn, form))
    session.commit()
    return RedirectResponse("/matching/menu", status_code=303)
