"""`smeai demo` loads every domain's demo data idempotently, and its logins work."""

from __future__ import annotations

from sqlalchemy import func, select

from smeai.auth import service as auth_service
from smeai.db import Base
from smeai.demo import demo_password, load_demo


def _row_counts(session) -> dict[str, int]:
    return {
        t.name: session.scalar(select(func.count()).select_from(t))
        for t in Base.metadata.sorted_tables
        if t.name not in ("login_attempts", "access_tokens")
    }


def test_demo_loads_twice_without_duplicating_anything(session, settings):
    logins = load_demo(settings)
    first = _row_counts(session)
    assert len({email for _role, email, _org in logins}) == len(logins)  # each login listed once
    assert {role for role, _email, _org in logins} == {
        "admin",
        "operator",
        "analyst",
        "consultant",
        "provider_member",
        "enterprise_member",
    }
    load_demo(settings)
    session.expire_all()
    assert _row_counts(session) == first

    password = demo_password(settings)
    for _role, email, _org in logins:
        user = auth_service.authenticate(session, settings, email=email, password=password, address="demo-test")
        assert user.email == email
