"""API tokens: listed without secrets, revoked one by one or all together, read-only scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests import builders

PROFILE = {
    "industry_section": "C",
    "mfg_division": "39",
    "province_code": "36",
    "city": "南昌",
    "size_class": "small",
    "revenue_band": "2-4",
}


def _token(client, email: str, **extra) -> dict:
    r = client.post("/api/v1/auth/token", json={"email": email, "password": builders.PASSWORD, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def _as(client, secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_tokens_are_listed_without_their_secrets(session, client):
    builders.enterprise(session, email="lister@jia.cn")
    session.commit()
    first = _token(client, "lister@jia.cn", label="报表脚本")
    second = _token(client, "lister@jia.cn", label="ERP 对接", scope="read")
    r = client.get("/api/v1/auth/tokens", headers=_as(client, first["token"]))
    assert r.status_code == 200
    listed = r.json()["items"]
    assert [t["id"] for t in listed] == [second["id"], first["id"]]
    assert [t["label"] for t in listed] == ["ERP 对接", "报表脚本"]
    assert [t["scope"] for t in listed] == ["read", "full"]
    assert [t["current"] for t in listed] == [False, True]
    assert first["token"] not in r.text and second["token"] not in r.text
    assert all("token" not in t for t in listed)


def test_one_token_is_revoked_and_another_users_token_looks_missing(session, client):
    builders.enterprise(session, email="owner@jia.cn")
    builders.enterprise(session, email="other@jia.cn")
    session.commit()
    keep, leaked = _token(client, "owner@jia.cn"), _token(client, "owner@jia.cn")
    others = _token(client, "other@jia.cn")
    as_other = _as(client, others["token"])
    foreign = client.delete(f"/api/v1/auth/tokens/{leaked['id']}", headers=as_other)
    missing = client.delete("/api/v1/auth/tokens/999999", headers=as_other)
    assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json())
    assert foreign.status_code == 404
    assert client.get("/api/v1/me", headers=_as(client, leaked["token"])).status_code == 200  # untouched

    r = client.delete(f"/api/v1/auth/tokens/{leaked['id']}", headers=_as(client, keep["token"]))
    assert r.status_code == 204
    assert client.get("/api/v1/me", headers=_as(client, leaked["token"])).status_code == 401
    assert client.get("/api/v1/me", headers=_as(client, keep["token"])).status_code == 200
    ids = [t["id"] for t in client.get("/api/v1/auth/tokens", headers=_as(client, keep["token"])).json()["items"]]
    assert ids == [keep["id"]]


def test_revoke_all_ends_every_api_token_of_the_caller_only(session, client, page_client_for):
    owner = builders.enterprise(session, email="leak@jia.cn")
    builders.enterprise(session, email="bystander@jia.cn")
    session.commit()
    tokens = [_token(client, "leak@jia.cn") for _ in range(3)]
    bystander = _token(client, "bystander@jia.cn")
    browser = page_client_for(owner)
    r = client.delete("/api/v1/auth/tokens", headers=_as(client, tokens[0]["token"]))
    assert (r.status_code, r.json()) == (200, {"revoked": 3})
    for t in tokens:
        assert client.get("/api/v1/me", headers=_as(client, t["token"])).status_code == 401
    assert client.get("/api/v1/me", headers=_as(client, bystander["token"])).status_code == 200
    assert browser.get("/api/v1/me").status_code == 200  # the browser session is not an API token


def test_a_read_token_reads_but_cannot_write(session, client):
    actor = builders.enterprise(session, email="reader@jia.cn")
    session.commit()
    read = _as(client, _token(client, "reader@jia.cn", scope="read")["token"])
    assert client.get("/api/v1/me", headers=read).status_code == 200
    r = client.put(f"/api/v1/organisations/{actor.org_id}/profile", json=PROFILE, headers=read)
    assert r.status_code == 403
    assert r.json()["error"] == "forbidden"
    assert client.delete("/api/v1/auth/tokens", headers=read).status_code == 403
    full = _as(client, _token(client, "reader@jia.cn")["token"])
    assert client.put(f"/api/v1/organisations/{actor.org_id}/profile", json=PROFILE, headers=full).status_code == 200


def test_a_token_lives_at_most_the_configured_days(session, client, settings):
    builders.enterprise(session, email="days@jia.cn")
    session.commit()
    now = datetime.now(UTC)
    short = datetime.fromisoformat(_token(client, "days@jia.cn", days=7)["expires_at"])
    assert timedelta(days=6) < short - now <= timedelta(days=7, minutes=1)
    long = datetime.fromisoformat(_token(client, "days@jia.cn", days=3000)["expires_at"])
    assert long - now <= timedelta(days=settings.api_token_days, minutes=1)
    r = client.post(
        "/api/v1/auth/token", json={"email": "days@jia.cn", "password": builders.PASSWORD, "scope": "admin"}
    )
    assert r.status_code == 422
    assert "scope" in r.json()["fields"]


def test_the_secret_is_shown_only_when_the_token_is_made(session, client):
    builders.enterprise(session, email="once@jia.cn")
    session.commit()
    made = _token(client, "once@jia.cn")
    assert set(made) >= {"id", "token", "scope", "expires_at"}
    listed = client.get("/api/v1/auth/tokens", headers=_as(client, made["token"])).json()["items"]
    assert made["token"] not in str(listed)
