"""Trial pages (/trials): make a trial from a template, edit its test set and candidates, see the cost bound,
run it through the gateway with progress, the results matrix, blind rating, and frozen shareable reports."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from smeai.auth.actor import Actor
from smeai.auth.deps import OptionalActor, PageActor
from smeai.auth.permissions import Permission
from smeai.config import app_settings
from smeai.db import DbSession, utcnow
from smeai.errors import Conflict, Invalid, NotFound, SmeaiError
from smeai.i18n import N_, _
from smeai.inputs import RecordId
from smeai.trials import display, gatewaylink, pdf, presets, reports, results, runner, service, testset, votes
from smeai.trials.models import Trial
from smeai.trials.presets import JudgeMode
from smeai.trials.schemas import CandidateIn, SettingsIn, TrialIn
from smeai.web.csrf import csrf_protect
from smeai.web.downloads import attachment
from smeai.web.flash import redirect_with_message
from smeai.web.forms import parse_form
from smeai.web.limits import upload_route
from smeai.web.render import render

router = APIRouter(include_in_schema=False)
CSRF = [Depends(csrf_protect)]

STATES = {
    "draft": N_("Not run yet"),
    "running": N_("Running"),
    "done": N_("Finished"),
    "failed": N_("Failed"),
}
JUDGE_MODES = {
    JudgeMode.NONE: N_("No judge model"),
    JudgeMode.RUBRIC: N_("Score each answer against the rubric"),
    JudgeMode.PAIRWISE: N_("Compare answers in pairs (both orders)"),
}
CHECK_NAMES = {
    "exact": N_("exact"),
    "contains_any": N_("contains any"),
    "contains_all": N_("contains all"),
    "regex": N_("pattern"),
    "number": N_("number"),
    "json": N_("JSON fields"),
}
ATTACH_KINDS = {"need": N_("Need"), "engagement": N_("Engagement"), "application": N_("Voucher application")}


def _ctx(**extra: Any) -> dict[str, Any]:
    return {"active": "trials", "S": STATES, "D": display, "CHECK_NAMES": CHECK_NAMES, **extra}


@router.get("/trials")
def trials(request: Request, session: DbSession, actor: PageActor) -> Response:
    own = actor.can(Permission.TRIAL_RUN)
    rows = service.list_trials(session, actor) if own else []
    options = [(t.code, str(t.name)) for t in presets.templates().values()]
    return render(
        request,
        "trials/index.html",
        **_ctx(trials=rows, own=own, templates=presets.templates(), template_options=options, errors={}, values={}),
    )


@router.post("/trials", dependencies=CSRF)
async def create(request: Request, session: DbSession, actor: PageActor) -> Response:
    form = dict(await request.form())
    try:
        data = parse_form(TrialIn, {"title": form.get("title", ""), "template_code": form.get("template_code") or None})
        trial = service.create_trial(session, actor, data)
    except Invalid as exc:
        session.rollback()
        options = [(t.code, str(t.name)) for t in presets.templates().values()]
        rows = service.list_trials(session, actor)
        ctx = _ctx(
            trials=rows,
            own=True,
            templates=presets.templates(),
            template_options=options,
            errors=exc.fields,
            values=form,
        )
        return render(request, "trials/index.html", 422, messages=[("error", _(exc.message))], **ctx)
    session.commit()
    return RedirectResponse(f"/trials/{trial.id}", status_code=303)


def _setup(
    request: Request, session: DbSession, actor: Actor, trial: Trial, status: int = 200, **extra: Any
) -> Response:
    estimate = service.estimate(session, actor, trial)
    models = gatewaylink.model_aliases(session)
    template = presets.templates().get(trial.template_code or "")
    ctx = _ctx(
        trial=trial,
        rows=service.rows_of(session, trial),
        candidates=service.candidates_of(session, trial),
        estimate=estimate,
        models=[(m, m) for m in models],
        judge_modes=[(m.value, _(label)) for m, label in JUDGE_MODES.items()],
        default_prompt=template.system_prompt if template else "",
        preset=template,
        errors={},
        values={},
    )
    ctx.update(extra)
    return render(request, "trials/trial.html", status, **ctx)


@router.get("/trials/shared/{token}")
def shared(request: Request, token: str, session: DbSession, actor: OptionalActor) -> Response:
    report = reports.by_token(session, token[:64])
    return render(request, "trials/shared.html", **_ctx(report=report, r=report.snapshot, token=report.token))


@router.get("/trials/shared/{token}/report.pdf")
def shared_pdf(token: str, session: DbSession, actor: OptionalActor) -> Response:
    report = reports.by_token(session, token[:64])
    body = pdf.render_pdf(report.snapshot, created_at=report.created_at, expires_at=report.expires_at)
    return Response(body, media_type="application/pdf", headers=attachment(f"trial-report-{report.id}.pdf"))


@router.get("/trials/{trial_id}")
def trial_page(request: Request, trial_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    trial = service.get_trial(session, actor, trial_id)
    return _setup(request, session, actor, trial)


@router.get("/trials/{trial_id}/progress")
def progress(request: Request, trial_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    trial = service.get_trial(session, actor, trial_id)
    return render(request, "trials/_progress.html", **_ctx(trial=trial))


async def _form_errors(request: Request, session: DbSession, actor: Actor, trial_id: int, exc: SmeaiError) -> Response:
    session.rollback()
    trial = service.get_trial(session, actor, trial_id)
    messages = [("error", _(exc.message))] + [
        ("error", f"{k}: {_(v)}") for k, v in exc.fields.items() if k.startswith("row")
    ]
    return _setup(request, session, actor, trial, 422, messages=messages, errors=exc.fields)


@router.post("/trials/{trial_id}/rows", dependencies=CSRF)
async def set_rows(request: Request, trial_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    trial = service.get_trial(session, actor, trial_id)
    form = await request.form()
    try:
        service.set_rows(session, actor, trial, testset.rows_from_text(str(form.get("rows") or "")))
    except Invalid as exc:
        return await _form_errors(request, session, actor, trial_id, exc)
    session.commit()
    return redirect_with_message(request, f"/trials/{trial_id}", _("Test set saved."))


@router.post("/trials/{trial_id}/rows/upload", dependencies=CSRF)
@upload_route
async def upload_rows(request: Request, trial_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    trial = service.get_trial(session, actor, trial_id)
    form = await request.form()
    file = form.get("file")
    try:
        if file is None or isinstance(file, str):
            raise Invalid(N_("The file was not accepted."), fields={"file": N_("Choose a CSV or .xlsx file.")})
        data = await file.read(app_settings(request).upload_max_bytes + 1)
        service.set_rows(session, actor, trial, testset.rows_from_file(file.filename or "", data))
    except Invalid as exc:
        return await _form_errors(request, session, actor, trial_id, exc)
    session.commit()
    return redirect_with_message(request, f"/trials/{trial_id}", _("Test set saved."))


@router.post("/trials/{trial_id}/candidates", dependencies=CSRF)
async def add_candidate(request: Request, trial_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    trial = service.get_trial(session, actor, trial_id)
    form = dict(await request.form())
    try:
        data = parse_form(CandidateIn, {k: v for k, v in form.items() if k in CandidateIn.model_fields and v != ""})
        service.add_candidate(session, actor, trial, data)
    except Invalid as exc:
        session.rollback()
        return _setup(
            request, session, actor, trial, 422, messages=[("error", _(exc.message))], errors=exc.fields, values=form
        )
    session.commit()
    return redirect_with_message(request, f"/trials/{trial_id}", _("Candidate added."))


@router.post("/trials/{trial_id}/candidates/{candidate_id}/delete", dependencies=CSRF)
def remove_candidate(
    request: Request, trial_id: RecordId, candidate_id: RecordId, session: DbSession, actor: PageActor
) -> Response:
    trial = service.get_trial(session, actor, trial_id)
    service.remove_candidate(session, actor, trial, candidate_id)
    session.commit()
    return redirect_with_message(request, f"/trials/{trial_id}", _("Candidate removed."))


@router.post("/trials/{trial_id}/settings", dependencies=CSRF)
async def settings(request: Request, trial_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    trial = service.get_trial(session, actor, trial_id)
    form = dict(await request.form())
    try:
        fields = {k: v for k, v in form.items() if k in SettingsIn.model_fields and v != ""}
        service.update_settings(session, actor, trial, parse_form(SettingsIn, fields))
    except Invalid as exc:
        session.rollback()
        return _setup(
            request, session, actor, trial, 422, messages=[("error", _(exc.message))], errors=exc.fields, values=form
        )
    session.commit()
    return redirect_with_message(request, f"/trials/{trial_id}", _("Settings saved."))


@router.post("/trials/{trial_id}/run", dependencies=CSRF)
def run(request: Request, trial_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    trial = service.get_trial(session, actor, trial_id)
    try:
        plan = service.start_run(session, actor, trial)
    except SmeaiError as exc:
        session.rollback()
        return _setup(
            request,
            session,
            actor,
            service.get_trial(session, actor, trial_id),
            422,
            messages=[("error", _(exc.message))],
        )
    session.commit()
    settings_ = app_settings(request)
    # the gateway is this portal: its public address, or the one this request came to
    base_url = settings_.public_url or str(request.base_url)
    runner.run_in_background(
        settings_.database_url, plan, base_url, getattr(request.app.state, "trials_client_factory", None)
    )
    return redirect_with_message(request, f"/trials/{trial_id}", _("The trial is running."))


@router.get("/trials/{trial_id}/results")
def results_page(
    request: Request, trial_id: RecordId, session: DbSession, actor: PageActor, run: int | None = None
) -> Response:
    trial = service.get_trial(session, actor, trial_id)
    runs = service.runs_of(session, trial)
    chosen = run if run in runs else trial.run_no
    data = results.compute(session, trial, run_no=chosen)
    shares = reports.reports_of(session, actor, trial)
    targets = reports.attach_targets(session, actor)
    attached = {r.id: reports.attachments_of(session, r) for r in shares}
    names = {k: dict(v) for k, v in targets.items()}
    opts = [
        (f"{kind}:{i}", f"{_(ATTACH_KINDS[kind])} · {title}") for kind, items in targets.items() for i, title in items
    ]
    voted, pairs = votes.progress(session, actor, trial)
    ctx = _ctx(
        trial=trial,
        r=data,
        runs=runs,
        run=chosen,
        shares=shares,
        opts=opts,
        attached=attached,
        names=names,
        now=utcnow(),
        kinds=ATTACH_KINDS,
        errors={},
        voted=voted,
        pairs=pairs,
    )
    return render(request, "trials/results.html", **ctx)


@router.get("/trials/{trial_id}/vote")
def vote_page(request: Request, trial_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    """Read only (a link prefetcher or a crawler must not draw pairs): the open pair if there is one, else the
    button that draws the next (POST below)."""
    trial = service.get_trial(session, actor, trial_id)
    vote = votes.open_vote(session, actor, trial)
    if vote is not None:
        return RedirectResponse(f"/trials/{trial_id}/vote/{vote.id}", status_code=303)
    voted, pairs = votes.progress(session, actor, trial)
    return render(request, "trials/vote.html", **_ctx(trial=trial, vote=None, voted=voted, pairs=pairs))


@router.post("/trials/{trial_id}/vote", dependencies=CSRF)
def draw(request: Request, trial_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    trial = service.get_trial(session, actor, trial_id)
    try:
        vote = votes.next_pair(session, actor, trial)
    except Conflict as exc:
        session.rollback()
        return redirect_with_message(request, f"/trials/{trial_id}", _(exc.message), "error")
    session.commit()
    target = f"/trials/{trial_id}/vote" if vote is None else f"/trials/{trial_id}/vote/{vote.id}"
    return RedirectResponse(target, status_code=303)


@router.post("/trials/{trial_id}/vote/{vote_id}", dependencies=CSRF)
async def cast(
    request: Request, trial_id: RecordId, vote_id: RecordId, session: DbSession, actor: PageActor
) -> Response:
    trial = service.get_trial(session, actor, trial_id)
    form = await request.form()
    votes.cast_vote(session, actor, trial, vote_id, str(form.get("choice") or ""))
    session.commit()
    return RedirectResponse(f"/trials/{trial_id}/vote/{vote_id}", status_code=303)


@router.get("/trials/{trial_id}/vote/{vote_id}")
def shown(request: Request, trial_id: RecordId, vote_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    """A drawn pair: blind until voted on, then with the models' names."""
    trial = service.get_trial(session, actor, trial_id)
    vote = votes.get_vote(session, actor, trial, vote_id)
    left, right, question = votes.pair_texts(session, vote)
    voted, pairs = votes.progress(session, actor, trial)
    ctx = _ctx(trial=trial, vote=vote, left=left, right=right, question=question, voted=voted, pairs=pairs)
    if vote.choice is None:  # names only after the vote
        return render(request, "trials/vote.html", **ctx)
    return render(request, "trials/revealed.html", names=results.candidate_names(session, trial), **ctx)


@router.post("/trials/{trial_id}/reports", dependencies=CSRF)
async def freeze(request: Request, trial_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    trial = service.get_trial(session, actor, trial_id)
    form = await request.form()
    raw = str(form.get("days") or reports.DEFAULT_DAYS).strip()
    # ASCII digits only (int() reads "٢٠٢٦"); a bad number is the form's error (422 naming the field), not
    # a redirect that looks like success
    days = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 4 else 0
    try:
        report = reports.freeze(session, actor, trial, days=days)
    except Invalid:
        session.rollback()
        raise
    except SmeaiError as exc:
        session.rollback()
        return redirect_with_message(request, f"/trials/{trial_id}/results", _(exc.message), "error")
    session.commit()
    return redirect_with_message(
        request, f"/trials/shared/{report.token}", _("The report is frozen; share this page's address.")
    )


@router.post("/trials/reports/{report_id}/attach", dependencies=CSRF)
async def attach(request: Request, report_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    report, trial = reports.get_report(session, actor, report_id)
    form = await request.form()
    kind, _sep, target = str(form.get("target") or "").partition(":")
    try:
        reports.attach(session, actor, report.id, kind, int(target) if target.isdigit() else 0)
    except (Invalid, NotFound) as exc:
        session.rollback()
        return redirect_with_message(request, f"/trials/{trial.id}/results", _(exc.message), "error")
    session.commit()
    return redirect_with_message(request, f"/trials/{trial.id}/results", _("Report attached."))
