"""Organisation members, join requests, one's own account and personal data, through the API."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from smeai.auth import account, service
from smeai.auth.actor import Actor
from smeai.auth.audit import AuditEntry
from smeai.auth.permissions import Role
from smeai.auth.registration import privacy_version
from smeai.auth.schemas import UserIn
from smeai.mail import service as mail
from tests import builders
from tests.auth.test_registration import credit_code, registration
from tests.mail.smtp import urls


def _token(link: str) -> str:
    return parse_qs(urlparse(link).query)["token"][0]


def test_an_admin_invites_a_colleague_who_accepts_and_is_a_plain_member(client, smtp, session, client_for):
    admin = builders.enterprise(session, "联合精密有限公司", email="boss@lianhe.cn")
    api = client_for(admin)
    r = api.post("/api/v1/organisation/invitations", json={"email": "li@lianhe.cn"})
    assert r.status_code == 201, r.text
    assert [i["email"] for i in api.get("/api/v1/organisation/invitations").json()["items"]] == ["li@lianhe.cn"]
    (message,) = smtp.wait_for("li@lianhe.cn")
    (link,) = urls(message)
    accepted = client.post(
        "/api/v1/invitations/accept", json={"token": _token(link), "name": "李工", "password": "lianhe-2026x"}
    )
    assert accepted.status_code == 201, accepted.text
    again = client.post(
        "/api/v1/invitations/accept", json={"token": _token(link), "name": "李工", "password": "lianhe-2026x"}
    )
    assert again.status_code == 404  # once
    li = client.post("/api/v1/auth/token", json={"email": "li@lianhe.cn", "password": "lianhe-2026x"})
    li_api = client.__class__(client.app, headers={"Authorization": f"Bearer {li.json()['token']}"})
    me = li_api.get("/api/v1/me").json()
    assert me["organisation"]["name"] == "联合精密有限公司"
    assert "org:members_own" not in me["permissions"] and "subsidy:apply" in me["permissions"]
    assert li_api.get("/api/v1/organisation/members").status_code == 403

    members = api.get("/api/v1/organisation/members").json()["items"]
    li_id = next(m["id"] for m in members if m["email"] == "li@lianhe.cn")
    assert api.put(f"/api/v1/organisation/members/{li_id}", json={"org_role": "admin"}).json()["org_role"] == "admin"
    assert session.query(AuditEntry).filter_by(action="member.role").count() == 1
    assert api.delete(f"/api/v1/organisation/members/{li_id}").status_code == 204
    assert li_api.get("/api/v1/me").status_code == 401  # removed: its tokens ended


def test_the_last_admin_stays_and_another_organisation_s_members_are_not_found(session, client_for):
    admin = builders.enterprise(session, email="solo@a.cn")
    api = client_for(admin)
    me = api.get("/api/v1/me").json()["user"]
    r = api.put(f"/api/v1/organisation/members/{me['id']}", json={"org_role": "member"})
    assert r.status_code == 409
    other = builders.enterprise(session, email="boss@b.cn")
    foreign = client_for(other).put(f"/api/v1/organisation/members/{me['id']}", json={"org_role": "member"})
    assert foreign.status_code == 404


def test_registering_with_a_known_code_asks_to_join_and_the_admin_decides(client, smtp, session, client_for):
    code = credit_code(11)
    assert client.post("/api/v1/auth/register", json=registration("first@firm.cn", code)).status_code == 201
    first = service.find_user_by_email(session, "first@firm.cn")
    first.email_verified_at = first.created_at
    session.commit()
    r = client.post("/api/v1/auth/register", json=registration("second@firm.cn", code, name="随便写的名字"))
    assert r.status_code == 201 and r.json()["status"] == "join_requested"
    link = urls(smtp.wait_for("second@firm.cn")[0])[0]
    client.post("/api/v1/auth/verify-email", json={"token": _token(link)})
    refused = client.post("/api/v1/auth/token", json={"email": "second@firm.cn", "password": "correct-horse-42"})
    assert refused.status_code == 403 and refused.json()["error"] == "membership_pending"
    assert smtp.wait_for("first@firm.cn", 2)[1]["Subject"].startswith("王经理 申请加入")  # after its own link
    admin = client_for(service.actor_for(first))
    pending = [m for m in admin.get("/api/v1/organisation/members").json()["items"] if m["membership"] == "pending"]
    assert [m["email"] for m in pending] == ["second@firm.cn"]
    decided = admin.post(f"/api/v1/organisation/members/{pending[0]['id']}/decision", json={"accept": True})
    assert decided.status_code == 200 and decided.json()["membership"] == "active"
    ok = client.post("/api/v1/auth/token", json={"email": "second@firm.cn", "password": "correct-horse-42"})
    assert ok.status_code == 201


def test_change_password_ends_the_other_tokens_but_not_this_one(session, client_for):
    actor = builders.enterprise(session, email="pw@firm.cn")
    this, other = client_for(actor), client_for(actor)
    r = this.post(
        "/api/v1/me/password", json={"current_password": builders.PASSWORD, "new_password": "brand-new-pass-1"}
    )
    assert r.status_code == 200 and r.json()["revoked"] >= 1
    assert this.get("/api/v1/me").status_code == 200
    assert other.get("/api/v1/me").status_code == 401
    wrong = this.post("/api/v1/me/password", json={"current_password": "nope", "new_password": "brand-new-pass-2"})
    assert wrong.status_code == 401


def test_change_email_is_confirmed_from_the_new_address(client, smtp, session, client_for):
    api = client_for(builders.enterprise(session, email="old@firm.cn"))
    r = api.post("/api/v1/me/email", json={"email": "new@firm.cn", "password": builders.PASSWORD})
    assert r.status_code == 202
    assert api.get("/api/v1/me").json()["user"]["email"] == "old@firm.cn"
    link = urls(smtp.wait_for("new@firm.cn")[0])[0]
    assert client.post("/api/v1/auth/email-change/confirm", json={"token": _token(link)}).status_code == 200
    assert api.get("/api/v1/me").json()["user"]["email"] == "new@firm.cn"


def test_personal_data_download_and_account_deletion_keep_the_organisation(session, client_for, smtp):
    actor = builders.enterprise(session, "留存记录有限公司", email="gone@firm.cn")
    api = client_for(actor)
    data = api.get("/api/v1/me/data")
    assert data.status_code == 200 and "attachment" in data.headers["content-disposition"]
    assert data.json()["user"]["email"] == "gone@firm.cn"
    assert api.post("/api/v1/me/deletion", json={"password": "wrong"}).status_code == 401
    assert api.post("/api/v1/me/deletion", json={"password": builders.PASSWORD}).status_code == 204
    assert api.get("/api/v1/me").status_code == 401
    session.expire_all()
    assert service.find_user_by_email(session, "gone@firm.cn") is None
    org = service.find_organisation_by_name(session, "留存记录有限公司")
    assert org is not None and [u.display_name for u in org.users] == ["已注销用户"]
    assert mail.sent_to(session, "gone@firm.cn") == []


def test_sessions_are_listed_and_ended_one_by_one(session, client_for, page_client_for):
    actor = builders.enterprise(session, email="s@firm.cn")
    browser = page_client_for(actor)
    api = client_for(actor)
    (listed,) = api.get("/api/v1/auth/sessions").json()["items"]
    assert browser.get("/account").status_code == 200
    assert api.delete(f"/api/v1/auth/sessions/{listed['id']}").status_code == 204
    assert browser.get("/account", follow_redirects=False).status_code == 303  # to the login


def test_an_unverified_organisation_cannot_apply_but_may_self_diagnose(client, smtp, session):
    client.post("/api/v1/auth/register", json=registration("wait@firm.cn", credit_code(21)))
    user = service.find_user_by_email(session, "wait@firm.cn")
    actor = service.actor_for(user)
    assert not actor.can(service.Permission.SUBSIDY_APPLY)
    assert not actor.can(service.Permission.ENGAGEMENT_ACT)
    assert actor.can(service.Permission.ASSESSMENT_WRITE_OWN) and actor.can(service.Permission.ORG_MEMBERS_OWN)


def test_a_new_privacy_notice_is_asked_for_at_the_next_login(session, page_client_for):
    actor = builders.enterprise(session, email="consent@firm.cn")
    user = service.get_user(session, actor, actor.user_id)
    user.privacy_version = "2000-01"
    session.commit()
    browser = page_client_for(None)
    r = browser.post(
        "/login",
        data={
            "email": "consent@firm.cn",
            "password": builders.PASSWORD,
            "next": "/profile",
            "csrf_token": browser.csrf,
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/privacy?next=/profile"
    page = browser.get("/privacy?next=/profile")
    version = privacy_version()
    assert version in page.text
    r = browser.post(
        "/privacy/consent",
        data={"version": version, "next": "/profile", "csrf_token": browser.csrf},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/profile"
    session.expire_all()
    assert service.get_user(session, actor, actor.user_id).privacy_version == version


def test_notifications_reach_the_organisation_unless_turned_off(session, client_for):
    actor = builders.provider(session, "通知测试服务商", email="p1@prov.cn")
    other = builders.enterprise(session, email="ent@x.cn")
    colleague = service.create_user(
        session,
        Actor.system(),
        UserIn(
            email="p2@prov.cn",
            display_name="同事",
            password=builders.PASSWORD,
            role=Role.PROVIDER_MEMBER,
            org_id=actor.org_id,
        ),
    )
    assert client_for(actor).put("/api/v1/me/notifications", json={"off": ["review"]}).status_code == 200
    session.expire_all()
    queued = account.notify_event(session, "offering.approve", org_id=actor.org_id, params={"name": "质检方案"})
    assert queued == 1  # the colleague, not the one who turned reviews off
    (message,) = mail.sent_to(session, colleague.email)
    assert message.category == "review" and "质检方案" in message.body
    assert account.notify_event(session, "voucher.approve", org_id=other.org_id) == 1
