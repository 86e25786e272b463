"""Accounts: organisations, users, passwords, sessions and tokens, throttling, profiles.

Every rule and permission check about who may see or change an organisation lives here, so pages,
API and CLI share them. A foreign organisation answers exactly like a missing one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, Select, and_, bindparam, delete, false, func, or_, select, true, update
from sqlalchemy.orm import Session, object_session
from sqlalchemy.sql.elements import BindParameter

from smeai.auth.actor import Actor
from smeai.auth.models import AccessToken, LoginAttempt, Organisation, User
from smeai.auth.permissions import ROLE_ORG_KINDS, OrgKind, Permission, Role
from smeai.auth.schemas import PASSWORD_RULE, OrganisationIn, ProfileIn, UserIn, check_password
from smeai.config import Settings, secret_key
from smeai.db import rows_matched, utcnow
from smeai.errors import Conflict, Forbidden, Invalid, NotAuthenticated, NotFound, Throttled
from smeai.i18n import N_

_hasher = PasswordHasher()


class EmailUnverified(Forbidden):
    """The password is right but the email address is not verified yet (the emailed link)."""

    code = "email_unverified"


class MembershipPending(Forbidden):
    """Registered with an existing organisation's credit code: its admin has not accepted yet."""

    code = "membership_pending"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True or an argon2 VerificationError / InvalidHashError."""
    return _hasher.verify(password_hash, password)


def check_password_text(password: str, email: str | None = None, *, field: str = "password") -> None:
    """The stated password rule (schemas.PASSWORD_RULE) as a domain error naming FIELD."""
    try:
        check_password(password, email)
    except ValueError as exc:
        raise Invalid(PASSWORD_RULE, fields={field: str(exc)}) from exc


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def actor_for(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        org_id=user.org_id,
        org_kind=OrgKind(user.organisation.kind),
        roles=frozenset({Role(user.role)}),
        org_verified=user.organisation.verification == "verified",
        org_admin=user.org_role == "admin",
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


def organisations_query(actor: Actor, *, kind: OrgKind | None = None) -> Select[Organisation]:
    """The organisations the actor may see, by name (and id, for a stable page): a select, so the API
    pages it in SQL."""
    query = select(Organisation).where(visible_organisations(actor)).order_by(Organisation.name, Organisation.id)
    if kind is not None:
        query = query.where(Organisation.kind == kind)
    return query


def list_organisations(session: Session, actor: Actor, *, kind: OrgKind | None = None) -> list[Organisation]:
    return list(session.scalars(organisations_query(actor, kind=kind)))


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
        raise Conflict(N_("An organisation with this name already exists."), fields={"name": "already exists"})
    org = Organisation(name=data.name, kind=data.kind)
    session.add(org)
    session.flush()
    return org


def update_profile(session: Session, actor: Actor, org_id: int, data: ProfileIn) -> Organisation:
    org = get_organisation(session, actor, org_id)  # 404 before 403: never reveal a foreign org
    own = actor.org_id == org.id and actor.can(Permission.ORG_WRITE_OWN)
    if not own:
        actor.require(Permission.ORG_WRITE_ANY)
    values = data.model_dump()
    code = values.pop("credit_code")
    if code is not None and code != org.credit_code:
        # the code names the organisation the centre verified: only the centre changes it once set
        if org.credit_code and not actor.can(Permission.ORG_WRITE_ANY):
            message = N_("The credit code is kept as verified; ask the centre to change it.")
            raise Invalid(message, fields={"credit_code": "fixed"})
        if find_organisation_by_code(session, code) not in (None, org):
            raise Conflict(N_("Another organisation has this credit code."), fields={"credit_code": "already exists"})
        org.credit_code = code
    for key, value in values.items():
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
    has_admin = session.scalar(
        select(User.id).where(User.org_id == org.id, User.org_role == "admin", User.is_active.is_(True)).limit(1)
    )
    user = User(
        email=email,
        display_name=data.display_name,
        password_hash=hash_password(data.password),
        role=data.role,
        org_id=org.id,
        email_verified_at=utcnow(),  # created by an administrator: nothing to verify
        org_role="member" if has_admin else "admin",  # an organisation's first user is its admin
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


# Throttling guesses without letting anyone lock out the people who know their password.
#
# A browser that has logged in to an account gets a signed device cookie for it (OWASP's "device
# cookies"). Failed logins from such a browser count only against that account on that browser. Every
# other failure counts against the account and against the client address; past either limit, logins
# from browsers unknown to the account are refused for the window. So a guesser (or a whole NAT or
# proxy of them) can lock an account or an address only for browsers that never logged in there,
# and a user with their usual browser always gets in with the right password.

DEVICE_COOKIE_DAYS = 180
ATTEMPTS_KEPT = timedelta(days=1)  # longer than any sensible SMEAI_LOGIN_WINDOW_MINUTES
TOKEN_SCOPES = ("full", "read")


def _sign(settings: Settings, text: str) -> str:
    key = secret_key(settings).encode()
    return hmac.new(key, f"smeai-device:{text}".encode(), hashlib.sha256).hexdigest()[:32]


def device_cookie(settings: Settings, user_id: int, device: str | None = None) -> str:
    """A device cookie value for this account: a random browser id, the user id and their signature."""
    device = device or secrets.token_hex(8)
    return f"{device}.{user_id}.{_sign(settings, f'{device}.{user_id}')}"


def known_device(settings: Settings, cookie: str | None, user_id: int) -> str | None:
    """The browser id in a device cookie, if the cookie is genuine and was issued for this account."""
    device, _, rest = (cookie or "").partition(".")
    owner, _, signature = rest.partition(".")
    if not device or owner != str(user_id) or len(device) > 32:
        return None
    return device if hmac.compare_digest(signature, _sign(settings, f"{device}.{owner}")) else None


def _throttled(session: Session, settings: Settings, *, email: str, address: str, device: str | None) -> bool:
    since = utcnow() - timedelta(minutes=settings.login_window_minutes)

    def count(*where: ColumnElement[bool]) -> int:
        return session.scalar(select(func.count()).where(LoginAttempt.attempted_at >= since, *where)) or 0

    if device is not None:  # a browser that has logged in to this account: its own count only
        return count(LoginAttempt.email == email, LoginAttempt.device == device) >= settings.login_max_failures
    unknown = LoginAttempt.device.is_(None)
    return (
        count(LoginAttempt.email == email, unknown) >= settings.login_max_failures
        or count(LoginAttempt.address == address, unknown) >= settings.login_max_failures_per_address
    )


def _record_failure(session: Session, *, email: str, address: str, device: str | None) -> None:
    # Its own transaction: the caller's unit of work rolls back on the error, the count must stay.
    # (So a login is the first write of its unit of work: on SQLite a pending write would block this.)
    with Session(bind=session.get_bind()) as own:
        now = utcnow()
        own.add(LoginAttempt(email=email[:200], address=address[:64], device=device, attempted_at=now))
        # Rows older than any window are never counted again: drop them, so guessing cannot fill the table.
        own.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at < now - ATTEMPTS_KEPT))
        own.commit()


@dataclass(frozen=True)
class LoginResult:
    secret: str  # shown once: only its SHA-256 is stored
    token: AccessToken
    device_cookie: str  # keep in the browser: its own failure count for this account from now on


def login(
    session: Session,
    settings: Settings,
    *,
    email: str,
    password: str,
    address: str,
    kind: str,
    label: str | None = None,
    device_cookie_value: str | None = None,
    scope: str = "full",
    days: int | None = None,
) -> LoginResult:
    """Password check, then a new session (cookie) or API token secret, its expiry and a device cookie."""
    user = authenticate(
        session, settings, email=email, password=password, address=address, device_cookie_value=device_cookie_value
    )
    if kind == "session":
        lifetime, scope = timedelta(hours=settings.session_hours), "full"
    else:
        lifetime = timedelta(days=min(days or settings.api_token_days, settings.api_token_days))
    secret, token = _new_token(session, user, kind=kind, lifetime=lifetime, label=label, scope=scope)
    device = known_device(settings, device_cookie_value, user.id)
    return LoginResult(secret, token, device_cookie(settings, user.id, device))


def authenticate(
    session: Session,
    settings: Settings,
    *,
    email: str,
    password: str,
    address: str,
    device_cookie_value: str | None = None,
) -> User:
    """Check a password. Failures are recorded (in their own transaction) and throttled."""
    email = email.strip().lower()
    user = find_user_by_email(session, email)
    device = known_device(settings, device_cookie_value, user.id) if user is not None else None
    if _throttled(session, settings, email=email, address=address, device=device):
        raise Throttled(N_("Too many failed logins. Please wait a few minutes and try again."))
    ok = False
    if user is not None and user.is_active:
        try:
            ok = _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    else:
        _hasher.hash(password)  # spend the same time whether or not the account exists
    if not ok or user is None:
        _record_failure(session, email=email, address=address, device=device)
        raise NotAuthenticated(N_("Email or password is wrong."))
    # Only after the password: a stranger learns nothing about an address from these answers.
    if user.email_verified_at is None:
        raise EmailUnverified(N_("Please verify your email address first: open the link we emailed you."))
    if user.membership != "active":
        raise MembershipPending(N_("The organisation's administrator has not accepted you yet."))
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    session.flush()
    return user


def issue_token(
    session: Session,
    user: User,
    *,
    kind: str,
    lifetime: timedelta | None,
    label: str | None = None,
    scope: str = "full",
) -> tuple[str, datetime | None]:
    """A new random secret for a session cookie or an API token; returns (secret, expires_at)."""
    secret, token = _new_token(session, user, kind=kind, lifetime=lifetime, label=label, scope=scope)
    return secret, token.expires_at


def _new_token(
    session: Session, user: User, *, kind: str, lifetime: timedelta | None, label: str | None, scope: str
) -> tuple[str, AccessToken]:
    if scope not in TOKEN_SCOPES:
        raise Invalid(N_("Unknown token scope."), fields={"scope": f"one of {', '.join(TOKEN_SCOPES)}"})
    secret = secrets.token_urlsafe(32)
    token = AccessToken(
        user_id=user.id,
        kind=kind,
        token_sha256=_sha256(secret),
        label=label,
        expires_at=utcnow() + lifetime if lifetime else None,
        scope=scope,
    )
    session.add(token)
    session.flush()
    return secret, token


def _live(now: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    return and_(
        AccessToken.revoked_at.is_(None),
        or_(AccessToken.expires_at.is_(None), AccessToken.expires_at > now),
    )


# Asked on every request with a session cookie or a token: built once, with its values as parameters, so a
# request neither builds the statement nor computes its cache key again. The organisation comes in the same
# query: actor_for reads it (no lazy load per request).
_TOKEN_QUERY = (
    select(AccessToken, User, Organisation)
    .join(User, User.id == AccessToken.user_id)
    .join(Organisation, Organisation.id == User.org_id)
    .where(
        AccessToken.token_sha256 == bindparam("sha"),
        AccessToken.kind == bindparam("kind"),
        _live(bindparam("now", type_=AccessToken.expires_at.type)),
    )
)


def find_token(session: Session, secret: str | None, *, kind: str) -> tuple[Actor, AccessToken, User] | None:
    """The acting user (as an Actor, and the row) and the token row for a live secret of this kind, or None.
    The caller keeps the user row: the session holds rows weakly, so one dropped here is read again by
    the next `session.get(User, ...)` (it was, on every request, before the row was handed out)."""
    if not secret:
        return None
    row = session.execute(_TOKEN_QUERY, {"sha": _sha256(secret), "kind": kind, "now": utcnow()}).first()
    if row is None or not row[1].is_active:
        return None
    return actor_for(row[1]), row[0], row[1]


def actor_for_token(session: Session, secret: str | None, *, kind: str) -> Actor | None:
    found = find_token(session, secret, kind=kind)
    return found[0] if found else None


def revoke_token(session: Session, secret: str) -> None:
    token = session.scalar(select(AccessToken).where(AccessToken.token_sha256 == _sha256(secret)))
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()


def _own_api_tokens(actor: Actor) -> ColumnElement[bool]:
    if actor.user_id is None:
        raise NotAuthenticated(N_("Please log in."))
    return and_(AccessToken.user_id == actor.user_id, AccessToken.kind == "api")


def list_api_tokens(session: Session, actor: Actor) -> list[AccessToken]:
    """The caller's live API tokens, newest first (their secrets are never stored, so never shown)."""
    query = select(AccessToken).where(_own_api_tokens(actor), _live(utcnow()))
    return list(session.scalars(query.order_by(AccessToken.created_at.desc(), AccessToken.id.desc())))


def revoke_api_token(session: Session, actor: Actor, token_id: int) -> AccessToken:
    """Revoke one of the caller's API tokens; another user's answers like a missing one."""
    token = session.scalar(select(AccessToken).where(AccessToken.id == token_id, _own_api_tokens(actor)))
    if token is None:
        raise NotFound(N_("Token not found."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
    return token


def revoke_api_tokens(session: Session, actor: Actor) -> int:
    """Revoke every live API token of the caller (e.g. after a leak); returns how many."""
    now = utcnow()
    revoked = rows_matched(
        session, update(AccessToken).where(_own_api_tokens(actor), _live(now)).values(revoked_at=now)
    )
    session.flush()
    return revoked


def user_of_token(token: AccessToken) -> User:
    session = object_session(token)
    user = session.get(User, token.user_id) if session is not None else None
    assert user is not None  # a foreign key
    return user


def revoke_user_tokens(session: Session, user_id: int, *, keep: int | None = None) -> int:
    """End every live session and API token of a user (but KEEP, the one in use); returns how many."""
    now = utcnow()
    query = update(AccessToken).where(AccessToken.user_id == user_id, _live(now))
    if keep is not None:
        query = query.where(AccessToken.id != keep)
    revoked = rows_matched(session, query.values(revoked_at=now).execution_options(synchronize_session=False))
    session.flush()
    return revoked


def find_organisation_by_code(session: Session, credit_code: str) -> Organisation | None:
    return session.scalar(select(Organisation).where(Organisation.credit_code == credit_code.strip().upper()))


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
