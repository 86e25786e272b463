"""The centre's share of `smeai demo`: a consultant (AI 转型顾问) with assigned enterprises."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy.orm import Session

from smeai.auth import consultants
from smeai.auth import service as auth_service
from smeai.auth.actor import Actor
from smeai.auth.permissions import Role
from smeai.auth.schemas import UserIn

DATA = Path(__file__).parent / "data" / "demo.yaml"


def load(session: Session, *, password: str) -> list[tuple[str, str, str]]:
    """The consultant's account and assignments (idempotent); returns the consultant's login."""
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    system = Actor.system()
    centre = auth_service.find_organisation_by_name(session, data["centre"])
    if centre is None:
        return []
    user = auth_service.find_user_by_email(session, data["email"])
    if user is None:
        user = auth_service.create_user(
            session,
            system,
            UserIn(
                email=data["email"],
                display_name=data["name"],
                password=password,
                role=Role.CONSULTANT,
                org_id=centre.id,
            ),
        )
    for name in data["enterprises"]:
        org = auth_service.find_organisation_by_name(session, name)
        if org is not None and consultants.consultant_of(session, org.id) is None:
            consultants.assign(session, system, org.id, user.id)
    session.flush()
    return [(str(Role.CONSULTANT), data["email"], centre.name)]
