"""改造后补贴: programmes that pay after a finished project passed acceptance (验收).

The enterprise applies with the completed project's evidence (the documents the programme asks for at
application); the centre records the acceptance (before/after measurements, reviewers, conclusion, the site
visit where the programme requires one). A passed acceptance approves the claim, which reserves the award
through the ledger exactly as any approval does (one conditional UPDATE per total: no overspend); a failed
one rejects it. The centre then pays the award: the reservation becomes a payout, with no redemption step,
since the evidence came with the application.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from smeai.auth.actor import Actor
from smeai.auth.permissions import Permission
from smeai.db import utcnow
from smeai.errors import Invalid
from smeai.i18n import N_
from smeai.subsidy import ledger, service
from smeai.subsidy.models import AcceptanceRecord, Application
from smeai.subsidy.schemas import AcceptanceIn, ApplicationState

S = ApplicationState


def find_acceptance(session: Session, actor: Actor, application_id: int) -> AcceptanceRecord | None:
    """The acceptance of an application the actor may see (enterprise: its own; operators: any)."""
    service.get_application(session, actor, application_id)
    return session.scalar(select(AcceptanceRecord).where(AcceptanceRecord.application_id == application_id))


def record_acceptance(
    session: Session, actor: Actor, application_id: int, data: AcceptanceIn, *, today: date | None = None
) -> Application:
    """Record 验收; passed: approve and reserve the computed award, failed: reject with the conclusion."""
    app = service.get_application(session, actor, application_id)
    actor.require(Permission.SUBSIDY_REVIEW)
    p = service.get_programme(app.programme_code)
    if not p.acceptance.required:
        raise service.WrongState(N_("This programme pays without an acceptance step."), state=app.state)
    if app.state != S.SUBMITTED:
        raise service.WrongState(N_("The application is not in a state that allows this."), state=app.state)
    today = today or utcnow().date()
    if p.acceptance.site_visit and data.site_visit_on is None:
        raise Invalid(
            N_("Please correct the marked fields."),
            fields={"site_visit_on": "The programme requires a site visit: give its date."},
        )
    if data.site_visit_on is not None and data.site_visit_on > today:
        raise Invalid(N_("Please correct the marked fields."), fields={"site_visit_on": "not in the future"})
    record = AcceptanceRecord(
        application_id=app.id,
        passed=data.passed,
        conclusion=data.conclusion,
        reviewers=list(dict.fromkeys(data.reviewers)),
        measurements=[m.model_dump() for m in data.measurements],
        site_visit_on=data.site_visit_on,
        recorded_by_id=actor.user_id,
        recorded_at=utcnow(),
    )
    session.add(record)
    try:
        session.flush()
    except IntegrityError:  # a second operator recorded one at the same moment
        raise service.WrongState(N_("The application is not in a state that allows this."), state=app.state) from None
    if data.passed:
        return service.approve_application(session, actor, app.id, note=data.conclusion, today=today)
    return service.reject_application(session, actor, app.id, reasons=data.conclusion)


def pay_award(
    session: Session, actor: Actor, application_id: int, *, paid_fen: int | None = None, note: str | None = None
) -> Application:
    """拨付: the reserved award of an accepted project becomes a payout; any unpaid remainder is released."""
    app = service.get_application(session, actor, application_id)
    actor.require(Permission.SUBSIDY_REVIEW)
    p = service.get_programme(app.programme_code)
    if not p.acceptance.required:
        raise service.WrongState(N_("This programme pays through redemption."), state=app.state)
    approved = app.approved_fen or 0
    value = paid_fen or approved
    if value > approved:
        raise Invalid(N_("Please correct the marked fields."), fields={"paid_fen": "over the approved amount"})
    service.transition(session, app, actor, "pay", {S.APPROVED}, S.PAID, note, paid_fen=value)
    ledger.payout(session, p, app, value, actor.user_id)
    ledger.release(session, p, app, approved - value, actor.user_id)
    return app
