"""The per-worker memory of who a token is (auth/principals.py): a change made through this worker counts at
once; one made elsewhere (another worker, a `smeai` command) within PRINCIPAL_TTL_SECONDS; every check the
database lookup makes (live token, its expiry, the user active) still holds for a remembered token."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import text

from smeai.auth import principals, service
from smeai.auth.actor import UserView
from smeai.auth.models import AccessToken, Organisation, User
from smeai.db import get_engine
from tests import builders


def _token(client, email: str) -> str:
    r = client.post("/api/v1/auth/token", json={"email": email, "password": builders.PASSWORD})
    assert r.status_code == 201, r.text
    return r.json()["token"]


def _me(client, secret: str):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})


def _remembered(session, client, email: str) -> str:
    """A new enterprise user's API token, asked with once (so this worker now remembers who it is)."""
    builders.enterprise(session, email=email)
    session.commit()
    secret = _token(client, email)
    assert _me(client, secret).status_code == 200
    return secret


def _user(session, email: str) -> User:
    return session.query(User).filter_by(email=email).one()


def test_a_revoked_token_stops_working_at_once_though_it_was_just_remembered(session, client):
    secret = _remembered(session, client, "revoke@jia.cn")
    assert _me(client, secret).status_code == 200  # now answered from memory
    token_id = session.query(AccessToken).filter_by(token_sha256=service._sha256(secret)).one().id
    gone = client.delete(f"/api/v1/auth/tokens/{token_id}", headers={"Authorization": f"Bearer {secret}"})
    assert gone.status_code == 204
    assert _me(client, secret).status_code == 401


def test_a_role_change_or_disabling_committed_in_this_process_counts_on_the_next_request(session, client):
    builders.enterprise(session, email="roles@jia.cn")
    session.commit()
    secret = _token(client, "roles@jia.cn")
    assert _me(client, secret).json()["roles"] == ["enterprise_member"]
    assert _me(client, secret).json()["roles"] == ["enterprise_member"]  # remembered

    user = _user(session, "roles@jia.cn")
    user.org_role = "admin"  # the organisation's admin: rights only they hold
    session.commit()
    assert "org:members_own" in _me(client, secret).json()["permissions"]
    assert "subsidy:apply" in _me(client, secret).json()["permissions"]

    org = session.get(Organisation, user.org_id)
    org.verification = "pending"  # back to waiting for the centre: some rights withheld again
    session.commit()
    assert "subsidy:apply" not in _me(client, secret).json()["permissions"]

    user.is_active = False
    session.commit()
    assert _me(client, secret).status_code == 401


def test_a_change_made_by_another_process_counts_within_the_ttl(session, client, db_url):
    secret = _remembered(session, client, "elsewhere@jia.cn")
    # Another worker or `smeai user disable`: a write this process's sessions never see.
    with get_engine(db_url).begin() as conn:
        conn.execute(text("UPDATE users SET is_active = :no WHERE email = 'elsewhere@jia.cn'"), {"no": False})
    time.sleep(principals.PRINCIPAL_TTL_SECONDS + 0.1)
    assert _me(client, secret).status_code == 401


def test_a_remembered_token_past_its_expiry_is_refused(session, client, monkeypatch):
    secret = _remembered(session, client, "expiry@jia.cn")
    row = session.query(AccessToken).filter_by(token_sha256=service._sha256(secret)).one()
    later = row.expires_at + timedelta(seconds=1)
    monkeypatch.setattr(service, "utcnow", lambda: later)
    assert _me(client, secret).status_code == 401


def test_a_page_login_then_logout_ends_the_session_at_once(session, client):
    builders.enterprise(session, email="logout@jia.cn")
    session.commit()
    page = client.get("/login")
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = client.post(
        "/login",
        data={"email": "logout@jia.cn", "password": builders.PASSWORD, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert client.get("/account", follow_redirects=False).status_code == 200
    assert client.get("/account", follow_redirects=False).status_code == 200  # remembered
    assert client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    cookie = r.cookies.get("smeai_session")
    assert cookie
    client.cookies.set("smeai_session", cookie)  # the old cookie, sent again after the logout
    again = client.get("/account", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/login")


def test_a_lookup_that_began_before_a_commit_is_not_remembered():
    key = principals.key("sqlite:///x", "session", "secret")
    assert "secret" not in key  # only the token's hash is kept
    principal = principals.Principal(
        actor=builders_actor(),
        token_id=1,
        scope="full",
        expires_at=None,
        user=UserView(id=1, email="a@b.cn", display_name="A"),
        stored_at=time.monotonic(),
    )
    since = principals.generation()
    principals.forget_all()  # a commit that wrote a user, an organisation or a token, meanwhile
    principals.remember(key, principal, since)
    assert principals.recall(key, service.utcnow()) is None
    principals.remember(key, principal, principals.generation())
    assert principals.recall(key, service.utcnow()) == principal


def builders_actor():
    from smeai.auth.actor import Actor
    from smeai.auth.permissions import OrgKind, Role

    return Actor(user_id=1, org_id=1, org_kind=OrgKind.ENTERPRISE, roles=frozenset({Role.ENTERPRISE_MEMBER}))
