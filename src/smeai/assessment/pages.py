"""Pages: the questionnaire (one dimension per step, autosaved), the result, the PDF report."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from smeai.assessment import benchmark, instruments, offers, report, service
from smeai.assessment.instruments import Instrument, Question, QuestionType
from smeai.assessment.models import Assessment
from smeai.assessment.schemas import AssessmentIn, AssessmentStatus, BenchmarkOut
from smeai.assessment.scoring import NA, AnswersInvalid
from smeai.auth import service as auth_service
from smeai.auth.actor import Actor
from smeai.auth.deps import OptionalActor, PageActor
from smeai.auth.models import Organisation
from smeai.auth.permissions import Permission
from smeai.config import app_settings
from smeai.db import DbSession
from smeai.i18n import _
from smeai.web.csrf import csrf_protect
from smeai.web.downloads import attachment
from smeai.web.fragments import Fragments
from smeai.web.guard import ClientGone, abandoned
from smeai.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)
CSRF = [Depends(csrf_protect)]


def _can_answer(actor: Actor | None, a: Assessment) -> bool:
    return actor is not None and actor.can(Permission.ASSESSMENT_WRITE_OWN) and actor.org_id == a.org_id


def _profile_missing(session: Session, actor: Actor | None) -> bool:
    if actor is None or not actor.can(Permission.ASSESSMENT_WRITE_OWN) or actor.org_id is None:
        return False
    org = session.get(Organisation, actor.org_id)
    return org is not None and not auth_service.profile_complete(org)


@router.get("/assessment")
def index(request: Request, session: DbSession, actor: OptionalActor) -> HTMLResponse:
    rows = service.list_assessments(session, actor) if actor is not None else []  # scoped by the service
    orgs = auth_service.organisation_names(session, actor, {a.org_id for a in rows}) if actor and rows else {}
    completed = [a for a in rows if a.status == AssessmentStatus.COMPLETED]
    return render(
        request,
        "assessment/index.html",
        active="assessment",
        rows=rows,
        orgs=orgs,
        instruments=sorted(instruments.current().values(), key=lambda i: i.id != AssessmentIn().instrument),
        names={i.id: str(i.name) for i in instruments.current().values()},
        can_start=actor is not None and actor.can(Permission.ASSESSMENT_WRITE_OWN),
        profile_missing=_profile_missing(session, actor),
        latest=completed[0] if completed else None,
        progress=service.progress,
        level_name=service.level_name,
    )


@router.post("/assessment/start", dependencies=CSRF)
async def start(request: Request, session: DbSession, actor: PageActor) -> Response:
    form = await request.form()
    previous = str(form.get("from_assessment_id") or "")
    data = AssessmentIn(
        instrument=str(form.get("instrument") or "smeai-ai-maturity"),
        from_assessment_id=int(previous) if previous.isdigit() else None,
    )
    a = service.start_assessment(session, actor, data)
    session.commit()
    return RedirectResponse(f"/assessment/{a.id}/step/1", status_code=303)


def _step_context(a: Assessment, inst: Instrument, n: int) -> dict[str, Any]:
    answered, total = service.progress(a)
    done = [all(q.id in a.answers or not q.required for q in d.questions) for d in inst.dimensions]
    return {
        "a": a,
        "inst": inst,
        "n": n,
        "dim": inst.dimensions[n - 1],
        "steps": len(inst.dimensions),
        "answered": answered,
        "total": total,
        "done": done,
        "answers": a.answers,
        "NA": NA,
    }


def _draft(session: Session, actor: Actor, assessment_id: int) -> tuple[Assessment, Instrument]:
    a = service.get_assessment(session, actor, assessment_id)
    return a, service.instrument_of(a)


@router.get("/assessment/{assessment_id}/step/{n}")
def step(request: Request, assessment_id: int, n: int, session: DbSession, actor: PageActor) -> Response:
    a, inst = _draft(session, actor, assessment_id)
    if a.status != AssessmentStatus.DRAFT or not _can_answer(actor, a):
        return RedirectResponse(f"/assessment/{a.id}", status_code=303)
    n = min(max(n, 1), len(inst.dimensions))
    return render(request, "assessment/step.html", active="assessment", errors={}, **_step_context(a, inst, n))


def _form_answers(form: FormData, questions: tuple[Question, ...]) -> dict[str, Any]:
    """The step's answers from the form; None clears an answer (a number emptied)."""
    out: dict[str, Any] = {}
    for q in questions:
        key = f"q_{q.id}"
        if form.get(f"na_{q.id}") == NA:
            out[q.id] = NA
        elif q.type == QuestionType.MULTI:
            values = [str(v) for v in form.getlist(key)]
            # nothing ticked: "none of these" where the question has no explicit none option
            out[q.id] = values if values or not any(o.exclusive for o in q.options) else None
            if NA in values:
                out[q.id] = NA
        elif q.type == QuestionType.NUMBER:
            raw = str(form.get(key) or "").strip()
            try:
                out[q.id] = float(raw) if raw else None
            except ValueError:
                out[q.id] = raw  # refused by the service with "expected a number"
        else:
            value = form.get(key)
            out[q.id] = str(value) if value else None
    return out


async def _save_step(
    request: Request, session: Session, actor: Actor, a: Assessment, inst: Instrument, n: int
) -> dict[str, str]:
    """Save the step's answers; returns field errors by question id (nothing saved then)."""
    form = await request.form()
    answers = _form_answers(form, inst.dimensions[n - 1].questions)
    try:
        service.save_answers(session, actor, a.id, answers)
    except AnswersInvalid as exc:
        session.rollback()
        return {k.removeprefix("answers."): v for k, v in exc.fields.items()}
    session.commit()
    return {}


@router.post("/assessment/{assessment_id}/step/{n}/autosave", dependencies=CSRF)
async def autosave(request: Request, assessment_id: int, n: int, session: DbSession, actor: PageActor) -> Response:
    a, inst = _draft(session, actor, assessment_id)
    n = min(max(n, 1), len(inst.dimensions))
    errors = await _save_step(request, session, actor, a, inst, n)
    answered, total = service.progress(a)
    return render(
        request,
        "assessment/_saved.html",
        422 if errors else 200,
        errors=errors,
        answered=answered,
        total=total,
        inst=inst,
    )


@router.post("/assessment/{assessment_id}/step/{n}", dependencies=CSRF)
async def save_step(request: Request, assessment_id: int, n: int, session: DbSession, actor: PageActor) -> Response:
    a, inst = _draft(session, actor, assessment_id)
    n = min(max(n, 1), len(inst.dimensions))
    errors = await _save_step(request, session, actor, a, inst, n)
    if errors:
        a = service.get_assessment(session, actor, assessment_id)
        return render(
            request,
            "assessment/step.html",
            422,
            active="assessment",
            errors=errors,
            messages=[("error", _("Please correct the marked questions."))],
            **_step_context(a, inst, n),
        )
    go = str((await request.form()).get("go", "next"))
    if go == "prev":
        return RedirectResponse(f"/assessment/{a.id}/step/{max(n - 1, 1)}", status_code=303)
    if go == "finish" or n >= len(inst.dimensions):
        return RedirectResponse(f"/assessment/{a.id}/review", status_code=303)
    return RedirectResponse(f"/assessment/{a.id}/step/{n + 1}", status_code=303)


@router.get("/assessment/{assessment_id}/review")
def review(request: Request, assessment_id: int, session: DbSession, actor: PageActor) -> Response:
    a, inst = _draft(session, actor, assessment_id)
    if a.status != AssessmentStatus.DRAFT:
        return RedirectResponse(f"/assessment/{a.id}", status_code=303)
    missing = [
        (i + 1, d, [q for q in d.questions if q.required and q.id not in a.answers])
        for i, d in enumerate(inst.dimensions)
    ]
    missing = [m for m in missing if m[2]]
    answered, total = service.progress(a)
    return render(
        request,
        "assessment/review.html",
        active="assessment",
        a=a,
        inst=inst,
        missing=missing,
        answered=answered,
        total=total,
    )


@router.post("/assessment/{assessment_id}/complete", dependencies=CSRF)
def complete(request: Request, assessment_id: int, session: DbSession, actor: PageActor) -> Response:
    try:
        service.complete_assessment(session, actor, assessment_id)
    except AnswersInvalid:
        session.rollback()
        return RedirectResponse(f"/assessment/{assessment_id}/review", status_code=303)
    session.commit()
    return RedirectResponse(f"/assessment/{assessment_id}", status_code=303)


def result_context(request: Request, session: Session, actor: Actor, a: Assessment) -> dict[str, Any]:
    org = session.get(Organisation, a.org_id)
    result = service.display_result(session, a)
    bench: BenchmarkOut = benchmark.benchmark(session, actor, a.id, small_cell_min=app_settings(request).small_cell_min)
    inst = service.instrument_of(a)
    dims = inst.dimensions
    chart = {
        "names": [str(d.name) for d in dims],
        "mine": [result.dimensions[d.id] for d in dims],
        "peers": [bench.dimension_medians.get(d.id, 0) for d in dims] if bench.dimension_medians else [],
    }
    return {
        "a": a,
        "inst": inst,
        "result": result,
        "bench": bench,
        "chart": chart,
        "comparison": service.change_since_previous(session, actor, a),
        "org": org,
    }


@router.get("/assessment/compare")
def compare_page(request: Request, session: DbSession, actor: PageActor, a: int, b: int) -> Response:
    comparison = service.compare_assessments(session, actor, a, b)
    before = service.get_assessment(session, actor, comparison.before_id)
    after = service.get_assessment(session, actor, comparison.after_id)
    return render(
        request,
        "assessment/compare.html",
        active="assessment",
        c=comparison,
        before=before,
        after=after,
        org=session.get(Organisation, after.org_id),
    )


# A result as rendered (assessment/_result_shared.html: the scores, the peer benchmark, the change since the
# previous assessment, the links to offerings, cases and vouchers; nine tenths of the page's time), per
# database, assessment and everything else it shows (benchmark.peers_stamp: the peers, the organisations'
# profiles, the survey wave for its readers; offers.stamp: the catalog, cases, programmes, today), language
# and cell minimum. The same for every reader of it: only the retake form (its CSRF token) is rendered apart.
_RESULT_HTML = Fragments(1024)


@router.get("/assessment/{assessment_id}")
def result_page(request: Request, assessment_id: int, session: DbSession, actor: PageActor) -> Response:
    a = service.get_assessment(session, actor, assessment_id)
    if a.status == AssessmentStatus.DRAFT:
        target = f"/assessment/{a.id}/step/1" if _can_answer(actor, a) else "/assessment"
        return RedirectResponse(target, status_code=303)
    template = "assessment/_result_body.html" if is_htmx(request) else "assessment/result.html"
    small_cell_min = app_settings(request).small_cell_min
    key = (
        str(session.get_bind().engine.url),
        a.id,
        a.updated_at,
        benchmark.peers_stamp(session, actor),
        offers.stamp(session),
        small_cell_min,
    )

    def context() -> dict[str, Any]:
        built = result_context(request, session, actor, a)
        if abandoned(request):  # the client left while the benchmark was computed: nobody will see the page
            raise ClientGone
        return built

    shared = _RESULT_HTML.render(request, key, "assessment/_result_shared.html", context)
    return render(request, template, active="assessment", a=a, can_answer=_can_answer(actor, a), shared_html=shared)


@router.get("/assessment/{assessment_id}/report.pdf")
def report_pdf(request: Request, assessment_id: int, session: DbSession, actor: PageActor) -> Response:
    a = service.get_assessment(session, actor, assessment_id)
    pdf = report.render_pdf(**result_context(request, session, actor, a))
    return Response(pdf, media_type="application/pdf", headers=attachment(f"ai-maturity-{a.id}.pdf"))
