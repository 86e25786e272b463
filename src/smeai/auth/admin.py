"""The admin console's rules: finding users and organisations, changing a role, disabling an account.

Each change is recorded in the audit log with what it was before. Disabling an account ends its login
sessions and API tokens in the same transaction (a token of a disabled user is refused anyway; revoking
them means re-enabling the account does not bring old secrets back to life).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, update
from sqlalchemy.orm import Session

from smeai.auth import audit
from smeai.auth.actor import Actor
from smeai.auth.models import AccessToken, Organisation, User
from smeai.auth.permissions import ROLE_ORG_KINDS, OrgKind, Permission, Role
from smeai.db import utcnow
from smeai.errors import Conflict, Invalid, NotFound
from smeai.i18n import N_


def _like(text: str) -> str:
    return "%" + text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def users_query(
    actor: Actor, *, q: str | None = None, role: Role | None = None, active: bool | None = None
) -> Select[User]:
    """Users matching Q (email, name or organisation), newest first."""
    actor.require(Permission.USER_MANAGE)
    where: list[ColumnElement[bool]] = []
    if q and q.strip():
        pattern = _like(q)
        where.append(
            or_(
                func.lower(User.email).like(pattern, escape="\\"),
                func.lower(User.display_name).like(pattern, escape="\\"),
                func.lower(Organisation.name).like(pattern, escape="\\"),
            )
        )
    if role is not None:
        where.append(User.role == str(role))
    if active is not None:
        where.append(User.is_active.is_(active))
    return select(User).join(Organisation, Organisation.id == User.org_id).where(*where).order_by(User.id.desc())


def organisations_query(actor: Actor, *, q: str | None = None, kind: OrgKind | None = None) -> Select[Organisation]:
    """Organisations matching Q (name or 统一社会信用代码), by name."""
    actor.require(Permission.ORG_READ_ANY)
    where: list[ColumnElement[bool]] = []
    if q and q.strip():
        pattern = _like(q)
        where.append(
            or_(
                func.lower(Organisation.name).like(pattern, escape="\\"),
                func.lower(Organisation.credit_code).like(pattern, escape="\\"),
            )
        )
    if kind is not None:
        where.append(Organisation.kind == str(kind))
    return select(Organisation).where(*where).order_by(Organisation.name)


def member_counts(session: Session, actor: Actor, org_ids: list[int]) -> dict[int, int]:
    actor.require(Permission.ORG_READ_ANY)
    query = select(User.org_id, func.count()).where(User.org_id.in_(org_ids)).group_by(User.org_id)
    return {org_id: n for org_id, n in session.execute(query)}


def _user(session: Session, actor: Actor, user_id: int) -> User:
    actor.require(Permission.USER_MANAGE)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(N_("User not found."))
    return user


def get_user(session: Session, actor: Actor, user_id: int) -> User:
    return _user(session, actor, user_id)


def change_role(session: Session, actor: Actor, user_id: int, role: Role) -> User:
    """Give USER_ID the platform role ROLE (one that fits the user's organisation)."""
    user = _user(session, actor, user_id)
    if user.id == actor.user_id:
        raise Conflict(N_("You cannot change your own role."))
    if OrgKind(user.organisation.kind) not in ROLE_ORG_KINDS[role]:
        raise Invalid(
            N_("This role cannot belong to this kind of organisation."),
            fields={"role": f"{role} cannot belong to a {user.organisation.kind} organisation"},
        )
    before = user.role
    if before != role:
        user.role = str(role)
        end_sessions(session, user.id)  # rights are read at login: a new role starts with a new session
        session.flush()
        audit.record(session, actor, "user.role", user, {"role": before}, {"role": str(role)})
    return user


def set_active(session: Session, actor: Actor, user_id: int, active: bool) -> User:
    """Disable (ending every session and token at once) or re-enable an account."""
    user = _user(session, actor, user_id)
    if user.id == actor.user_id:
        raise Conflict(N_("You cannot disable your own account."))
    if user.is_active != active:
        user.is_active = active
        ended = 0 if active else end_sessions(session, user.id)
        session.flush()
        action = "user.enable" if active else "user.disable"
        audit.record(session, actor, action, user, {"active": not active}, {"active": active, "tokens_ended": ended})
    return user


def end_sessions(session: Session, user_id: int) -> int:
    """Revoke every live session and API token of USER_ID; returns how many."""
    now = utcnow()
    live = and_(AccessToken.user_id == user_id, AccessToken.revoked_at.is_(None))
    result = session.execute(update(AccessToken).where(live).values(revoked_at=now))
    return result.rowcount or 0  # type: ignore[attr-defined]
