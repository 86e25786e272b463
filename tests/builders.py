"""Test data made through services, never raw SQL: fixtures cannot make what users could not.

Each builder returns the Actor of a new user in a new organisation (or the given one).
"""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from smeai.auth import service
from smeai.auth.actor import Actor
from smeai.auth.permissions import OrgKind, Role
from smeai.auth.schemas import OrganisationIn, ProfileIn, UserIn

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


def _user(session: Session, *, role: Role, org_name: str, kind: OrgKind, email: str | None = None) -> Actor:
    system = Actor.system()
    n = next(_counter)
    org = service.find_organisation_by_name(session, org_name) or service.create_organisation(
        session, system, OrganisationIn(name=org_name, kind=kind)
    )
    user = service.create_user(
        session,
        system,
        UserIn(
            email=email or f"user{n}-{role}@example.cn",
            display_name=f"用户{n}",
            password=PASSWORD,
            role=role,
            org_id=org.id,
        ),
    )
    session.flush()
    return service.actor_for(user)


def enterprise(
    session: Session, name: str | None = None, *, profile: dict | None = None, email: str | None = None
) -> Actor:
    """A member of a new (or the named) enterprise; with `profile`, its profile is filled in."""
    name = name or f"测试企业{next(_counter)}有限公司"
    actor = _user(session, role=Role.ENTERPRISE_MEMBER, org_name=name, kind=OrgKind.ENTERPRISE, email=email)
    if profile is not None:
        base = {
            "industry_section": "C",
            "mfg_division": "33",
            "province_code": "44",
            "city": "佛山",
            "size_class": "small",
            "revenue_band": "0-2",
        }
        service.update_profile(session, actor, actor.org_id, ProfileIn(**(base | profile)))  # type: ignore[arg-type]
    return actor


def provider(session: Session, name: str | None = None, *, email: str | None = None) -> Actor:
    name = name or f"测试服务商{next(_counter)}"
    return _user(session, role=Role.PROVIDER_MEMBER, org_name=name, kind=OrgKind.PROVIDER, email=email)


def _centre(session: Session, role: Role, name: str | None, email: str | None) -> Actor:
    return _user(session, role=role, org_name=name or "测试赋能中心", kind=OrgKind.CENTRE, email=email)


def operator(session: Session, name: str | None = None, *, email: str | None = None) -> Actor:
    return _centre(session, Role.OPERATOR, name, email)


def analyst(session: Session, name: str | None = None, *, email: str | None = None) -> Actor:
    return _centre(session, Role.ANALYST, name, email)


def admin(session: Session, name: str | None = None, *, email: str | None = None) -> Actor:
    return _centre(session, Role.ADMIN, name, email)


def consultant(session: Session, name: str | None = None, *, email: str | None = None) -> Actor:
    return _centre(session, Role.CONSULTANT, name, email)


def of_role(session: Session, role: Role) -> Actor:
    return {
        Role.ENTERPRISE_MEMBER: enterprise,
        Role.PROVIDER_MEMBER: provider,
        Role.OPERATOR: operator,
        Role.CONSULTANT: consultant,
        Role.ANALYST: analyst,
        Role.ADMIN: admin,
    }[role](session)
