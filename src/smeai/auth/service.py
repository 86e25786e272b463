"""Accounts: organisations, users, passwords, sessions and tokens, throttling, profiles.

Every rule and permission check about who may see or change an organisation lives here, so pages,
API and CLI share them. A foreign organisation answers exactly like a missing one.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, false, func, select, true
from sqlalchemy.orm import Session

from smeai.auth.actor import Actor
from smeai.auth.models import AccessToken, LoginAttempt, Organisation, User
from smeai.auth.permissions import ROLE_ORG_KINDS, OrgKind, Permission, Role
from smeai.auth.schemas import OrganisationIn, ProfileIn, UserIn
from smeai.config import Settings
from smeai.db import utcnow
from smeai.errors import Conflict, Invalid, NotAuthenticated, NotFound, Throttled
from smeai.i18n import N_

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def actor_for(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        org_id=user.org_id,
        org_kind=OrgKind(user.organisation.kind),
        roles=frozenset({Role(user.role)}),
    )


# --- organisations --------------------------------------------------------------------------


def visible_organisations(actor: Actor) -> ColumnElement[bool]:
    if actor.can(Permission.ORG_READ_ANY):
        return true()
    if actor.can(Permission.ORG_READ_OWN) and actor.org_id is not None:
        return Organisation.id == actor.org_id
    return false()


def get_organisation(session: Session, actor: Actor, org_id: int) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.id == org_id, visible_organisations(actor)))
    if org is None:  # absent and not-yours look the same: nothing leaks
        raise NotFound(N_("Organisation not found."))
    return org


def list_organisations(session: Session, actor: Actor, *, kind: OrgKind | None = None) -> list[Organisation]:
    query = select(Organisation).where(visible_organisations(actor)).order_by(Organisation.name)
    if kind is not None:
        query = query.where(Organisation.kind == kind)
    return list(session.scalars(query))


def organisation_names(session: Session, actor: Actor, org_ids: set[int]) -> dict[int, str]:
    """Names of the given organisations that the actor may see (for lists that show whose record it is)."""
    if not org_ids:
        return {}
    query = select(Organisation.id, Organisation.name).where(Organisation.id.in_(org_ids), visible_organisations(actor))
    return {org_id: name for org_id, name in session.execute(query)}


def find_organisation_by_name(session: Session, name: str) -> Organisation | None:
    return session.scalar(select(Organisation).where(Organisation.name == name))


def create_organisation(session: Session, actor: Actor, data: OrganisationIn) -> Organisation:
    actor.require(Permission.USER_MANAGE)
    if find_organisation_by_name(session, data.name) is not None:
        raise Conflict(
            N_("An organisation with this name already exists."), fields={"name": "already exists"}
        )
    org = Organisation(name=data.name, kind=data.kind)
    session.add(org)
    session.flush()
    return org


def update_profile(session: Session, actor: Actor, org_id: int, data: ProfileIn) -> Organisation:
    org = get_organisation(session, actor, org_id)  # 404 before 403: never reveal a foreign org
    own = actor.org_id == org.id and actor.can(Permission.ORG_WRITE_OWN)
    if not own:
        actor.require(Permission.ORG_WRITE_ANY)
    for key, value in data.model_dump().items():
        setattr(org, key, value)
    session.flush()
    return org


def profile_complete(org: Organisation) -> bool:
    return all([org.industry_section, org.province_code, org.city, org.size_class, org.revenue_band])


# --- users ----------------------------------------------------------------------------------


def create_user(session: Session, actor: Actor, data: UserIn) -> User:
    actor.require(Permission.USER_MANAGE)
    org = session.get(Organisation, data.org_id)
    if org is None:
        raise Invalid(N_("Organisation not found."), fields={"org_id": "no such organisation"})
    if OrgKind(org.kind) not in ROLE_ORG_KINDS[data.role]:
        raise Invalid(
            N_("This role cannot belong to this kind of organisation."),
            fields={"role": f"{data.role} cannot belong to a {org.kind} organisation"},
        )
    email = data.email.lower()
    if session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise Conflict(N_("A user with this email already exists."), fields={"email": "already exists"})
    user = User(
        email=email,
        display_name=data.display_name,
        password_hash=hash_password(data.password),
        role=data.role,
        org_id=org.id,
    )
    session.add(user)
    session.flush()
    return user


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def actor_for_email(session: Session, email: str) -> Actor:
    """The CLI's `--as EMAIL`."""
    user = find_user_by_email(session, email)
    if user is None or not user.is_active:
        raise NotFound(N_("User not found."), fields={"as": email})
    return actor_for(user)




# --- login, sessions, tokens ----------------------------------------------------------------


def _recent_failures(session: Session, settings: Settings, *, email: str, address: str) -> int:
    since = utcnow() - timedelta(minutes=settings.login_window_minutes)
    by_email = session.scalar(
        select(func.count()).where(LoginAttempt.email == email, LoginAttempt.attempted_at >= since)
    )
    by_address = session.scalar(
        select(func.count()).where(LoginAttempt.address == address, LoginAttempt.attempted_at >= since)
    )
    return max(by_email or 0, (by_address or 0) // 4)  # an address may serve several people


def _record_failure(session: Session, *, email: str, address: str) -> None:
    # Its own transaction: the caller's unit of work rolls back on the error, the count must stay.
    # (So a login is the first write of its unit of work: on SQLite a pending write would block this.)
    with Session(bind=session.get_bind()) as own:
        own.add(LoginAttempt(email=email, address=address))
        own.commit()


def login(
    session: Session,
    settings: Settings,
    *,
    email: str,
    password: str,
    address: str,
    kind: str,
    label: str | None = None,
) -> tuple[str, datetime | None]:
    """Password check, then a new session (cookie) or API token secret and its expiry."""
    user = authenticate(session, settings, email=email, password=password, address=address)
    lifetime = timedelta(hours=settings.session_hours) if kind == "session" else timedelta(days=90)
    return issue_token(session, user, kind=kind, lifetime=lifetime, label=label)


def authenticate(session: Session, settings: Settings, *, email: str, password: str, address: str) -> User:
    """Check a password. Failures are recorded (the caller commits them) and throttled."""
    email = email.strip().lower()
    if _recent_failures(session, settings, email=email, address=address) >= settings.login_max_failures:
        raise Throttled(N_("Too many failed logins. Please wait a few minutes and try again."))
    user = find_user_by_email(session, email)
    ok = False
    if user is not None and user.is_active:
        try:
            ok = _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    else:
        _hasher.hash(password)  # spend the same time whether or not the account exists
    if not ok or user is None:
        _record_failure(session, email=email, address=address)
        raise NotAuthenticated(N_("Email or password is wrong."))
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    session.flush()
    return user


def issue_token(
    session: Session, user: User, *, kind: str, lifetime: timedelta | None, label: str | None = None
) -> tuple[str, datetime | None]:
    """A new random secret for a session cookie or an API token; returns (secret, expires_at)."""
    secret = secrets.token_urlsafe(32)
    expires_at = utcnow() + lifetime if lifetime else None
    session.add(
        AccessToken(
            user_id=user.id, kind=kind, token_sha256=_sha256(secret), label=label, expires_at=expires_at
        )
    )
    session.flush()
    return secret, expires_at


def actor_for_token(session: Session, secret: str | None, *, kind: str) -> Actor | None:
    if not secret:
        return None
    row = session.execute(
        select(AccessToken, User)
        .join(User, User.id == AccessToken.user_id)
        .where(AccessToken.token_sha256 == _sha256(secret), AccessToken.kind == kind)
    ).first()
    if row is None:
        return None
    token, user = row
    now = utcnow()
    if token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
        return None
    if not user.is_active:
        return None
    return actor_for(user)


def revoke_token(session: Session, secret: str) -> None:
    token = session.scalar(select(AccessToken).where(AccessToken.token_sha256 == _sha256(secret)))
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()


def get_user(session: Session, actor: Actor, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or (user.id != actor.user_id and not actor.can(Permission.USER_MANAGE)):
        raise NotFound(N_("User not found."))
    return user


def me(session: Session, actor: Actor) -> tuple[User, Organisation]:
    if actor.user_id is None:
        raise NotAuthenticated(N_("Please log in."))
    user = get_user(session, actor, actor.user_id)
    return user, user.organisation
