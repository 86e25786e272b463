"""The accounts share of `smeai demo`: the centre, providers, enterprises and their logins."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy.orm import Session

from smeai.auth import service
from smeai.auth.actor import Actor
from smeai.auth.models import Organisation
from smeai.auth.permissions import OrgKind, Role
from smeai.auth.schemas import OrganisationIn, ProfileIn, UserIn

DATA = Path(__file__).parent / "data" / "demo.yaml"


def _org(session: Session, system: Actor, name: str, kind: OrgKind) -> Organisation:
    org = service.find_organisation_by_name(session, name)
    return org or service.create_organisation(session, system, OrganisationIn(name=name, kind=kind))


def _account(
    session: Session,
    system: Actor,
    org: Organisation,
    email: str,
    name: str,
    role: Role,
    password: str,
    logins: list[tuple[str, str, str]],
) -> None:
    if service.find_user_by_email(session, email) is None:
        service.create_user(
            session,
            system,
            UserIn(email=email, display_name=name, password=password, role=role, org_id=org.id),
        )
    logins.append((str(role), email, org.name))


def load(session: Session, *, password: str) -> list[tuple[str, str, str]]:
    """Create what is missing; returns (role, email, organisation) for every demo login."""
    system = Actor.system()
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    logins: list[tuple[str, str, str]] = []

    centre = _org(session, system, data["centre"]["name"], OrgKind.CENTRE)
    centre.province_code, centre.city = (
        data["centre"]["profile"]["province_code"],
        data["centre"]["profile"]["city"],
    )
    for acc in data["centre"]["accounts"]:
        _account(session, system, centre, acc["email"], acc["name"], Role(acc["role"]), password, logins)

    for p in data["providers"]:
        org = _org(session, system, p["name"], OrgKind.PROVIDER)
        org.province_code, org.city = p.get("province_code"), p.get("city")
        if p.get("account"):
            _account(
                session,
                system,
                org,
                p["account"],
                f"{p['name']} 产品经理",
                Role.PROVIDER_MEMBER,
                password,
                logins,
            )

    for e in data["enterprises"]:
        org = _org(session, system, e["name"], OrgKind.ENTERPRISE)
        service.update_profile(session, system, org.id, ProfileIn(**e["profile"], description=e["description"]))
        _account(session, system, org, e["account"], e["contact"], Role.ENTERPRISE_MEMBER, password, logins)
    session.flush()
    return logins
