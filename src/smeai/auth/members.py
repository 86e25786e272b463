"""An organisation's members: its admins invite colleagues by email, set their role within the
organisation (admin or member), remove them, and accept or refuse people who registered with the
organisation's credit code. Every check is ORG_MEMBERS_OWN (the Actor holds it only for admins); another
organisation's member answers like a missing one."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smeai.auth import audit, service
from smeai.auth.actor import Actor
from smeai.auth.links import LINK_INVALID, LinkInvalid, Links
from smeai.auth.models import Invitation, Organisation, User
from smeai.auth.permissions import OrgKind, Permission
from smeai.auth.registration import ROLE_OF_KIND, privacy_version
from smeai.auth.schemas import OrgRole
from smeai.db import utcnow
from smeai.errors import Conflict, NotFound
from smeai.i18n import N_
from smeai.mail import service as mail

INVITE_PATH = "/invitations/accept"
ROLE_LABELS = {"admin": {"zh_Hans": "管理员", "en": "administrator"}, "member": {"zh_Hans": "成员", "en": "member"}}


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _own_org(session: Session, actor: Actor) -> Organisation:
    actor.require(Permission.ORG_MEMBERS_OWN)
    return service.get_organisation(session, actor, actor.org_id or 0)


def list_members(session: Session, actor: Actor) -> list[User]:
    """The organisation's users, pending join requests first (its admins only)."""
    org = _own_org(session, actor)
    query = select(User).where(User.org_id == org.id, User.deleted_at.is_(None))
    return list(session.scalars(query.order_by(User.membership.desc(), User.id)))


def _member(session: Session, actor: Actor, user_id: int) -> User:
    org = _own_org(session, actor)
    user = session.get(User, user_id)
    if user is None or user.org_id != org.id or user.deleted_at is not None:
        raise NotFound(N_("User not found."))
    return user


def _last_admin(session: Session, user: User) -> bool:
    query = select(func.count()).where(
        User.org_id == user.org_id, User.org_role == "admin", User.is_active.is_(True), User.membership == "active"
    )
    return user.org_role == "admin" and (session.scalar(query) or 0) <= 1


def set_org_role(session: Session, actor: Actor, user_id: int, role: OrgRole) -> User:
    user = _member(session, actor, user_id)
    if role == OrgRole.MEMBER and _last_admin(session, user):
        raise Conflict(N_("An organisation keeps at least one administrator."), fields={"org_role": "last admin"})
    before = audit.snapshot(user, "org_role")
    user.org_role = role.value
    session.flush()
    audit.record(session, actor, "member.role", user, before, audit.snapshot(user, "org_role"))
    return user


def remove_member(session: Session, actor: Actor, user_id: int) -> User:
    """The account leaves the organisation: it can no longer log in and its sessions and tokens end
    (its records stay with the organisation)."""
    user = _member(session, actor, user_id)
    if _last_admin(session, user):
        raise Conflict(N_("An organisation keeps at least one administrator."), fields={"user": "last admin"})
    before = audit.snapshot(user, "is_active", "org_role")
    user.is_active = False
    service.revoke_user_tokens(session, user.id)
    audit.record(session, actor, "member.remove", user, before, audit.snapshot(user, "is_active", "org_role"))
    return user


def decide_join(session: Session, actor: Actor, links: Links, user_id: int, *, accept: bool) -> User:
    user = _member(session, actor, user_id)
    if user.membership != "pending":
        raise Conflict(N_("This person is already a member."))
    before = audit.snapshot(user, "membership", "is_active")
    if accept:
        user.membership = "active"
    else:
        user.is_active = False
    session.flush()
    audit.record(session, actor, "member.join", user, before, audit.snapshot(user, "membership", "is_active"))
    mail.queue(
        session,
        to=user.email,
        template="join_decided",
        lang=links.lang,
        params={
            "name": user.display_name,
            "org": user.organisation.name,
            "accepted": accept,
            "url": f"{links.base_url.rstrip('/')}/login",
        },
    )
    return user


# --- invitations -----------------------------------------------------------------------------


def invite(session: Session, actor: Actor, links: Links, email: str, role: OrgRole) -> Invitation:
    org = _own_org(session, actor)
    email = email.strip().lower()
    if service.find_user_by_email(session, email) is not None:
        raise Conflict(N_("An account with this email already exists."), fields={"email": "already registered"})
    secret = secrets.token_urlsafe(32)
    invitation = Invitation(
        org_id=org.id,
        email=email,
        org_role=role.value,
        invited_by=actor.user_id,
        token_sha256=_sha256(secret),
        expires_at=utcnow() + timedelta(hours=links.hours),
    )
    session.add(invitation)
    session.flush()
    inviter = session.get(User, actor.user_id) if actor.user_id else None
    mail.queue(
        session,
        to=email,
        template="invitation",
        lang=links.lang,
        params={
            "inviter": inviter.display_name if inviter else org.name,
            "org": org.name,
            "role": ROLE_LABELS[role.value]["en" if links.lang == "en" else "zh_Hans"],
            "url": links.url(INVITE_PATH, secret),
            "hours": links.hours,
        },
    )
    return invitation


def list_invitations(session: Session, actor: Actor) -> list[Invitation]:
    org = _own_org(session, actor)
    query = select(Invitation).where(
        Invitation.org_id == org.id,
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > utcnow(),
    )
    return list(session.scalars(query.order_by(Invitation.id.desc())))


def revoke_invitation(session: Session, actor: Actor, invitation_id: int) -> Invitation:
    org = _own_org(session, actor)
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.org_id != org.id:
        raise NotFound(N_("Invitation not found."))
    if invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        session.flush()
    return invitation


def open_invitation(session: Session, secret: str) -> Invitation:
    """A live invitation by its emailed secret (the accept page shows whose it is)."""
    invitation = session.scalar(select(Invitation).where(Invitation.token_sha256 == _sha256(secret.strip())))
    live = invitation is not None and invitation.accepted_at is None and invitation.revoked_at is None
    if invitation is None or not live or invitation.expires_at <= utcnow():
        raise LinkInvalid(LINK_INVALID, fields={"token": "invalid"})
    return invitation


def organisation_of(session: Session, invitation: Invitation) -> Organisation:
    org = session.get(Organisation, invitation.org_id)
    assert org is not None  # a foreign key
    return org


def accept_invitation(session: Session, secret: str, *, name: str, password: str) -> User:
    """A new account in the inviting organisation; the emailed link proved the address."""
    invitation = open_invitation(session, secret)
    if service.find_user_by_email(session, invitation.email) is not None:
        raise Conflict(N_("An account with this email already exists."), fields={"email": "already registered"})
    service.check_password_text(password, invitation.email)
    org = session.get(Organisation, invitation.org_id)
    assert org is not None  # a foreign key
    now = utcnow()
    user = User(
        email=invitation.email,
        display_name=name.strip()[:100],
        password_hash=service.hash_password(password),
        role=ROLE_OF_KIND[OrgKind(org.kind)],
        org_id=org.id,
        org_role=invitation.org_role,
        email_verified_at=now,
        privacy_version=privacy_version(),
        privacy_consented_at=now,
    )
    session.add(user)
    invitation.accepted_at = now
    session.flush()
    return user
