"""Self-registration through the API, against a real local SMTP server: the contract of issue 14."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from smeai.auth import service
from smeai.auth.schemas import credit_check_char
from smeai.mail import service as mail
from tests import builders
from tests.mail.smtp import urls


def credit_code(serial: int, *, kind: str = "91") -> str:
    """A valid 统一社会信用代码: registration authority + kind, 110108 (北京海淀), a 9-character body."""
    first = f"{kind}110108{serial:09d}"
    return first + credit_check_char(first)


def registration(email: str, code: str, **org: object) -> dict[str, object]:
    return {
        "email": email,
        "password": "correct-horse-42",
        "name": "王经理",
        "organisation": {
            "name": org.get("name", f"测试企业{code[-6:]}"),
            "credit_code": code,
            "kind": org.get("kind", "enterprise"),
            "province_code": "11",
            "industry": "C36",
        },
    }


def test_register_verify_and_log_in(client, smtp, session):
    r = client.post("/api/v1/auth/register", json=registration("owner@firm.cn", credit_code(1)))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "verify_email"
    refused = client.post("/api/v1/auth/token", json={"email": "owner@firm.cn", "password": "correct-horse-42"})
    assert refused.status_code == 403 and refused.json()["error"] == "email_unverified"

    (message,) = smtp.wait_for("owner@firm.cn")
    (link,) = urls(message)
    assert client.get(link.replace("http://testserver", "")).status_code == 200
    ok = client.post("/api/v1/auth/token", json={"email": "owner@firm.cn", "password": "correct-horse-42"})
    assert ok.status_code == 201, ok.text
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {ok.json()['token']}"}).json()
    assert me["organisation"]["credit_code"] == credit_code(1)
    assert "subsidy:apply" not in me["permissions"]  # waiting for the centre
    assert "assessment:write_own" in me["permissions"]


def test_bad_input_names_each_field_and_a_duplicate_email_is_a_conflict(client, smtp):
    good = credit_code(2)
    bad = registration("not-an-email", good[:-1] + ("0" if good[-1] != "0" else "1"))
    bad["password"] = "short"
    r = client.post("/api/v1/auth/register", json=bad)
    assert r.status_code == 422
    assert {"email", "password", "organisation.credit_code"} <= set(r.json()["fields"])
    assert client.post("/api/v1/auth/register", json=registration("a@firm.cn", credit_code(3))).status_code == 201
    again = client.post("/api/v1/auth/register", json=registration("A@firm.cn", credit_code(4)))
    assert again.status_code == 409 and "email" in again.json()["fields"]


def test_password_reset_by_email_ends_every_session_and_token(client, smtp, session, client_for):
    actor = builders.enterprise(session, email="reset@firm.cn")
    api = client_for(actor)
    assert api.get("/api/v1/me").status_code == 200
    for email in ("reset@firm.cn", "nobody@firm.cn"):
        r = client.post("/api/v1/auth/password-reset", json={"email": email})
        assert r.status_code == 202 and r.json() == {"detail": r.json()["detail"]}
    (message,) = smtp.wait_for("reset@firm.cn")
    (link,) = urls(message)
    url = urlparse(link)
    token = parse_qs(url.query)["token"][0]
    r = client.post(url.path, json={"token": token, "password": "new-password-77"})
    assert r.status_code == 200, r.text
    assert api.get("/api/v1/me").status_code == 401  # the old token ended
    assert client.post(url.path, json={"token": token, "password": "again-password-88"}).status_code == 404  # once
    ok = client.post("/api/v1/auth/token", json={"email": "reset@firm.cn", "password": "new-password-77"})
    assert ok.status_code == 201
    assert not smtp.to("nobody@firm.cn")
    assert mail.sent_to(session, "reset@firm.cn")[0].sent_at is not None


def test_operator_verifies_and_the_enterprise_may_apply(client, smtp, session, client_for):
    client.post("/api/v1/auth/register", json=registration("boss@firm.cn", credit_code(5)))
    user = service.find_user_by_email(session, "boss@firm.cn")
    assert user is not None and user.organisation.verification == "pending"
    operator = client_for(builders.operator(session))
    queue = operator.get("/api/v1/verification-queue").json()
    assert [o["credit_code"] for o in queue["items"]] == [credit_code(5)]
    client.post("/api/v1/auth/register", json=registration("second@firm.cn", credit_code(6)))
    paged = operator.get("/api/v1/verification-queue?limit=1&offset=1").json()  # paged in the database
    assert paged["total"] == 2 and len(paged["items"]) == 1
    assert {o["credit_code"] for o in operator.get("/api/v1/verification-queue").json()["items"]} == {
        credit_code(5),
        credit_code(6),
    }
    enterprise = client_for(builders.enterprise(session))
    assert enterprise.get("/api/v1/verification-queue").status_code == 403
    r = operator.post(f"/api/v1/organisations/{user.org_id}/verification")
    assert r.status_code == 200 and r.json()["verification"] == "verified"
    session.expire_all()
    assert service.actor_for(user).can(service.Permission.SUBSIDY_APPLY)
    smtp.wait_for("boss@firm.cn", 2)  # the verification link, then the result
    assert "通过" in smtp.to("boss@firm.cn")[1]["Subject"]


def test_the_password_rule():
    import pytest

    from smeai.auth.schemas import check_password

    for good in ("correct horse battery staple", "hanjiang-2026", "S3cure-pass"):
        assert check_password(good, "li@firm.cn") == good
    for weak in ("short1", "aaaaaaaaaaaa", "1234567890123", "Password123", "zhangwei-2026"):
        with pytest.raises(ValueError):
            check_password(weak, "zhangwei@firm.cn")
