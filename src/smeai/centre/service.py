"""A consultant's workspace: each assigned enterprise's latest diagnosis, needs, engagements and voucher
applications, and the things a consultant may do for it (`auth.consultants.ON_BEHALF`), recorded in the
audit log as done on the enterprise's behalf.

The centre sits above every other domain, so it reads their tables for the overview (one query per kind
for all the consultant's enterprises) and acts through their services with the on-behalf actor, so their
own rules and permission checks apply unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smeai.assessment.models import Assessment
from smeai.auth import consultants
from smeai.auth.actor import Actor
from smeai.auth.models import Organisation
from smeai.matching import service as matching_service
from smeai.matching.models import Engagement, Need
from smeai.matching.schemas import NeedIn
from smeai.subsidy.models import Application

RECENT = 5  # needs and applications shown per enterprise


@dataclass
class EnterpriseFile:
    """What the workspace shows of one enterprise."""

    org: Organisation
    diagnosis: Assessment | None = None
    needs: list[Need] = field(default_factory=list)
    needs_total: int = 0
    engagements: dict[str, int] = field(default_factory=dict)  # state -> how many
    applications: list[Application] = field(default_factory=list)


def _files(session: Session, orgs: list[Organisation], *, recent: int) -> list[EnterpriseFile]:
    ids = [o.id for o in orgs]
    files = {o.id: EnterpriseFile(org=o) for o in orgs}
    if not ids:
        return []
    latest = (
        select(Assessment)
        .where(Assessment.org_id.in_(ids), Assessment.status == "completed")
        .order_by(Assessment.org_id, Assessment.completed_at.desc(), Assessment.id.desc())
    )
    for a in session.scalars(latest):
        if files[a.org_id].diagnosis is None:
            files[a.org_id].diagnosis = a
    for need in session.scalars(select(Need).where(Need.org_id.in_(ids)).order_by(Need.id.desc())):
        f = files[need.org_id]
        f.needs_total += 1
        if len(f.needs) < recent:
            f.needs.append(need)
    counts = (
        select(Engagement.enterprise_org_id, Engagement.state, func.count())
        .where(Engagement.enterprise_org_id.in_(ids))
        .group_by(Engagement.enterprise_org_id, Engagement.state)
    )
    for org_id, state, n in session.execute(counts):
        files[org_id].engagements[state] = n
    for app in session.scalars(select(Application).where(Application.org_id.in_(ids)).order_by(Application.id.desc())):
        if len(files[app.org_id].applications) < recent:
            files[app.org_id].applications.append(app)
    return [files[i] for i in ids]


def workspace(session: Session, actor: Actor) -> list[EnterpriseFile]:
    """The consultant's assigned enterprises, by name, each with its file."""
    ids = consultants.assigned_org_ids(session, actor)
    orgs = {o.id: o for o in session.scalars(select(Organisation).where(Organisation.id.in_(ids)))}
    return _files(session, [orgs[i] for i in ids], recent=RECENT)


def enterprise_file(session: Session, actor: Actor, org_id: int) -> EnterpriseFile:
    """One assigned enterprise's file, with every need and application (a foreign one answers NotFound)."""
    org = consultants.assigned_enterprise(session, actor, org_id)
    return _files(session, [org], recent=1000)[0]


def write_need(session: Session, actor: Actor, org_id: int, data: NeedIn) -> Need:
    """A need written by the consultant for assigned enterprise ORG_ID, filed under the enterprise."""
    acting = consultants.act_for(session, actor, org_id)
    return matching_service.create_need(session, acting, data.model_copy(update={"org_id": None}))  # audited there
