"""Consultants (AI 转型顾问): which enterprises an operator assigned to whom, and acting for them.

An enterprise has at most one consultant; assigning it again moves it. A consultant may act for an
assigned enterprise with the rights `permissions.ON_BEHALF` allows (`act_for`): the actor then carries the
enterprise as its organisation and `on_behalf_of`, so records are filed under the enterprise and the
audit log names both the consultant and the enterprise. The workspace that lists the enterprises is
the centre domain (`smeai.centre`), which reads the domains above this one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from smeai.auth import audit
from smeai.auth.actor import Actor
from smeai.auth.models import Organisation, User
from smeai.auth.permissions import OrgKind, Permission, Role
from smeai.db import Base, UTCDateTime, utcnow
from smeai.errors import Invalid, NotFound
from smeai.i18n import N_


class ConsultantAssignment(Base):
    __tablename__ = "consultant_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), unique=True)
    consultant_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    assigned_by: Mapped[int | None] = mapped_column(Integer)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def consultants(session: Session, actor: Actor) -> list[User]:
    """Active consultants, by name (whom an operator may assign to)."""
    actor.require(Permission.CONSULTANT_ASSIGN)
    query = select(User).where(User.role == str(Role.CONSULTANT), User.is_active).order_by(User.display_name)
    return list(session.scalars(query))


def assign(session: Session, actor: Actor, org_id: int, consultant_id: int | None) -> ConsultantAssignment | None:
    """Give enterprise ORG_ID to CONSULTANT_ID (None: to nobody). Recorded in the audit log."""
    actor.require(Permission.CONSULTANT_ASSIGN)
    org = session.get(Organisation, org_id)
    if org is None or org.kind != OrgKind.ENTERPRISE:
        raise NotFound(N_("Organisation not found."))
    row = session.scalar(select(ConsultantAssignment).where(ConsultantAssignment.org_id == org_id))
    before = {"consultant_id": row.consultant_id} if row is not None else None
    if consultant_id is None:
        if row is not None:
            session.delete(row)
    else:
        consultant = session.get(User, consultant_id)
        if consultant is None or consultant.role != Role.CONSULTANT or not consultant.is_active:
            raise Invalid(N_("Choose a consultant."), fields={"consultant_id": "not an active consultant"})
        if row is None:
            row = ConsultantAssignment(org_id=org_id, consultant_id=consultant_id)
            session.add(row)
        row.consultant_id, row.assigned_by, row.assigned_at = consultant_id, actor.user_id, utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "consultant.assign",
        org,
        before,
        {"consultant_id": consultant_id} if consultant_id is not None else None,
    )
    return row if consultant_id is not None else None


def consultant_of(session: Session, org_id: int) -> int | None:
    return session.scalar(select(ConsultantAssignment.consultant_id).where(ConsultantAssignment.org_id == org_id))


def consultant_names(session: Session, actor: Actor, org_ids: set[int]) -> dict[int, str]:
    """Each enterprise's consultant's name (for the operators' organisation list)."""
    actor.require(Permission.ORG_READ_ANY)
    query = (
        select(ConsultantAssignment.org_id, User.display_name)
        .join(User, User.id == ConsultantAssignment.consultant_id)
        .where(ConsultantAssignment.org_id.in_(org_ids))
    )
    return {org_id: name for org_id, name in session.execute(query)}


def assigned_org_ids(session: Session, actor: Actor) -> list[int]:
    """The enterprises assigned to ACTOR (a consultant), by name."""
    actor.require(Permission.CONSULTANT_WORKSPACE)
    query = (
        select(ConsultantAssignment.org_id)
        .join(Organisation, Organisation.id == ConsultantAssignment.org_id)
        .where(ConsultantAssignment.consultant_id == actor.user_id)
        .order_by(Organisation.name)
    )
    return list(session.scalars(query))


def assigned_enterprise(session: Session, actor: Actor, org_id: int) -> Organisation:
    """Enterprise ORG_ID if it is assigned to ACTOR; otherwise it answers like a missing one."""
    actor.require(Permission.CONSULTANT_WORKSPACE)
    org = session.get(Organisation, org_id)
    if org is None or actor.user_id is None or consultant_of(session, org_id) != actor.user_id:
        raise NotFound(N_("Organisation not found."))
    return org


def act_for(session: Session, actor: Actor, org_id: int) -> Actor:
    """ACTOR (a consultant) acting for assigned enterprise ORG_ID, with the rights ON_BEHALF allows."""
    if actor.on_behalf_of is not None:
        raise Invalid(N_("You are already acting for an enterprise."))
    org = assigned_enterprise(session, actor, org_id)
    return Actor(
        user_id=actor.user_id,
        org_id=org.id,
        org_kind=OrgKind.ENTERPRISE,
        roles=frozenset({Role.ENTERPRISE_MEMBER}),
        on_behalf_of=org.id,
        # a consultant never holds more than the enterprise's own people would: an organisation the centre
        # has not verified yet cannot apply for vouchers or start engagements, on its own or through an adviser
        org_verified=org.verification == "verified",
    )
