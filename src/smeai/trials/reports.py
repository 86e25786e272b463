"""Frozen, shareable reports: the results at one moment, behind an expiring link anyone holding it may open
(an owner sends it to a consultant, a provider, the centre), as a page and a PDF; and where a report is
attached (a need, an engagement, a voucher application of the same enterprise)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smeai.auth import audit
from smeai.auth.actor import Actor
from smeai.auth.permissions import Permission
from smeai.db import utcnow
from smeai.errors import Conflict, Invalid, NotFound
from smeai.i18n import N_
from smeai.matching import engagements as matching_engagements
from smeai.matching import service as matching
from smeai.subsidy import calculator
from smeai.subsidy import service as subsidy
from smeai.trials import results, service
from smeai.trials.models import Trial, TrialAttachment, TrialReport

DEFAULT_DAYS = 30
MAX_DAYS = 365
ATTACH_KINDS = ("need", "engagement", "application")


def freeze(session: Session, actor: Actor, trial: Trial, *, days: int = DEFAULT_DAYS) -> TrialReport:
    actor.require(Permission.TRIAL_RUN)
    if trial.state != service.TrialState.DONE or not service.answers_of(session, trial):
        raise Conflict(N_("Run the trial before making its report."))
    if not 1 <= days <= MAX_DAYS:
        raise Invalid(N_("A link lasts 1 to 365 days."), fields={"days": N_("1 to 365.")})
    snapshot = results.compute(session, trial)
    snapshot["org_name"] = _org_name(session, trial.org_id)
    report = TrialReport(
        trial_id=trial.id,
        token=secrets.token_urlsafe(24),
        snapshot=snapshot,
        created_by_id=actor.user_id,
        created_at=utcnow(),
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(report)
    session.flush()
    audit.record(session, actor, "trial.report_share", trial, after={"days": days}, org_id=trial.org_id)
    return report


def _org_name(session: Session, org_id: int) -> str:
    from smeai.auth.models import Organisation

    org = session.get(Organisation, org_id)
    return org.name if org else ""


def by_token(session: Session, token: str) -> TrialReport:
    """The report behind a link; an expired link and a wrong one look the same."""
    report = session.scalar(select(TrialReport).where(TrialReport.token == token))
    if report is None or report.expires_at <= utcnow():
        raise NotFound(N_("This report link is wrong or has expired."))
    return report


def reports_of(session: Session, actor: Actor, trial: Trial) -> list[TrialReport]:
    stmt = select(TrialReport).where(TrialReport.trial_id == trial.id).order_by(TrialReport.id.desc())
    return list(session.scalars(stmt))


def get_report(session: Session, actor: Actor, report_id: int) -> tuple[TrialReport, Trial]:
    report = session.get(TrialReport, report_id)
    if report is None:
        raise NotFound(N_("Report not found."))
    trial = service.get_trial(session, actor, report.trial_id)  # another organisation's: not found
    return report, trial


def attach(session: Session, actor: Actor, report_id: int, kind: str, target_id: int) -> TrialAttachment:
    """Attach the report to one of the enterprise's own needs, engagements or voucher applications (each read
    through its domain's service, so another's is not found)."""
    actor.require(Permission.TRIAL_RUN)
    report, trial = get_report(session, actor, report_id)
    if kind not in ATTACH_KINDS:
        raise Invalid(N_("Attach to a need, an engagement or a voucher application."), fields={"kind": N_("Pick one.")})
    org_of = _target_org(session, actor, kind, target_id)
    if org_of != trial.org_id:
        raise NotFound(N_("Not found."))
    existing = session.scalar(
        select(TrialAttachment).where(
            TrialAttachment.report_id == report.id, TrialAttachment.kind == kind, TrialAttachment.target_id == target_id
        )
    )
    if existing is not None:
        return existing
    attachment = TrialAttachment(report_id=report.id, kind=kind, target_id=target_id, created_by_id=actor.user_id)
    session.add(attachment)
    session.flush()
    return attachment


def _target_org(session: Session, actor: Actor, kind: str, target_id: int) -> int:
    if kind == "need":
        return matching.get_need(session, actor, target_id).org_id
    if kind == "engagement":
        return matching_engagements.get_engagement(session, actor, target_id).enterprise_org_id
    return subsidy.get_application(session, actor, target_id).org_id


def attach_targets(session: Session, actor: Actor) -> dict[str, list[tuple[int, str]]]:
    """The enterprise's needs, engagements and applications a report may be attached to, as (id, title)."""
    out: dict[str, list[tuple[int, str]]] = {k: [] for k in ATTACH_KINDS}
    needs = {n.id: n.title for n in matching.list_needs(session, actor)}
    out["need"] = list(needs.items())
    own = [e for e in matching_engagements.list_engagements(session, actor) if e.enterprise_org_id == actor.org_id]
    out["engagement"] = [(e.id, needs.get(e.need_id, "")) for e in own]
    mine = subsidy.list_applications(session, actor, org_id=actor.org_id)
    out["application"] = [(a.id, calculator.programme_name(a.programme_code)) for a in mine]
    return out


def attachments_of(session: Session, report: TrialReport) -> list[TrialAttachment]:
    stmt = select(TrialAttachment).where(TrialAttachment.report_id == report.id).order_by(TrialAttachment.id)
    return list(session.scalars(stmt))


def attached_to(session: Session, kind: str, target_id: int) -> list[TrialReport]:
    """The live reports attached to a record (its page may link them)."""
    stmt = (
        select(TrialReport)
        .join(TrialAttachment, TrialAttachment.report_id == TrialReport.id)
        .where(TrialAttachment.kind == kind, TrialAttachment.target_id == target_id, TrialReport.expires_at > utcnow())
    )
    return list(session.scalars(stmt))


def snapshot_of(report: TrialReport) -> dict[str, Any]:
    return report.snapshot
