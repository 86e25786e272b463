from __future__ import annotations

from bs4 import BeautifulSoup

from tests import builders


def _errors(html: str) -> dict[str, str]:
    soup = BeautifulSoup(html, "html.parser")
    out = {}
    for field in soup.select(".field.has-error"):
        name = field.select_one("input,select,textarea")["name"]
        out[name] = field.select_one(".error").get_text(strip=True)
    return out


def test_profile_page_needs_a_login(client):
    r = client.get("/profile", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=/profile")


def test_login_form_logs_in_and_out(session, page_client_for):
    builders.enterprise(session, "粤美日化", email="beauty@jia.cn")
    session.commit()
    browser = page_client_for(None)
    r = browser.post(
        "/login",
        data={
            "email": "beauty@jia.cn",
            "password": builders.PASSWORD,
            "csrf_token": browser.csrf,
            "next": "/profile",
        },
        follow_redirects=False,
    )
    assert (r.status_code, r.headers["location"]) == (303, "/profile")
    assert "粤美日化" in browser.get("/profile").text
    browser.post("/logout", data={"csrf_token": browser.csrf})
    assert browser.get("/profile", follow_redirects=False).status_code == 303


def test_wrong_password_shows_a_message_in_chinese(session, page_client_for):
    builders.enterprise(session, email="wrong@jia.cn")
    session.commit()
    browser = page_client_for(None)
    r = browser.post("/login", data={"email": "wrong@jia.cn", "password": "nope", "csrf_token": browser.csrf})
    assert r.status_code == 401
    assert "邮箱或密码错误" in r.text


def test_form_without_csrf_token_is_refused(session, page_client_for):
    builders.enterprise(session, email="csrf@jia.cn")
    session.commit()
    browser = page_client_for(None)
    del browser.headers["X-CSRF-Token"]
    r = browser.post("/login", data={"email": "csrf@jia.cn", "password": builders.PASSWORD})
    assert r.status_code == 403


def test_profile_form_shows_field_messages_and_saves_nothing(session, page_client_for):
    actor = builders.enterprise(session, profile={"city": "佛山"})
    browser = page_client_for(actor)
    r = browser.post(
        "/profile",
        data={
            "csrf_token": browser.csrf,
            "industry_section": "C",
            "province_code": "44",
            "city": "",
            "size_class": "small",
            "revenue_band": "0-2",
            "employees": "很多",
        },
    )
    assert r.status_code == 422
    errors = _errors(r.text)
    assert set(errors) == {"city", "employees", "mfg_division"}
    assert errors["city"] == "此项为必填项。"
    page = browser.get("/profile").text
    assert 'value="佛山"' in page


def test_profile_form_saves(session, page_client_for):
    actor = builders.enterprise(session)
    browser = page_client_for(actor)
    r = browser.post(
        "/profile",
        data={
            "csrf_token": browser.csrf,
            "industry_section": "F",
            "province_code": "31",
            "city": "上海",
            "size_class": "micro",
            "revenue_band": "0-2",
        },
    )
    assert r.status_code == 200
    assert "资料已保存" in r.text


def test_home_page_is_chinese_by_default_and_english_on_request(client):
    zh = client.get("/").text
    assert "赋能中心" in zh and "自我诊断" in zh
    en = client.get("/?lang=en").text
    assert "Self-diagnosis" in en
    assert client.cookies.get("smeai_lang") == "en"


def test_static_assets_are_served_from_the_package(client):
    for asset in ("/static/htmx.min.js", "/static/echarts.min.js", "/static/app.css"):
        assert client.get(asset).status_code == 200
    assert "cdn" not in client.get("/").text.lower()


def test_responses_carry_security_headers(client):
    r = client.get("/")
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_the_profile_lists_api_tokens_and_revokes_them(session, page_client_for, client_for):
    from datetime import timedelta

    from smeai.auth import service
    from smeai.auth.models import User

    actor = builders.enterprise(session)
    user = session.get(User, actor.user_id)
    first, _ = service.issue_token(session, user, kind="api", lifetime=timedelta(days=3), label="ERP 对接")
    second, _ = service.issue_token(session, user, kind="api", lifetime=timedelta(days=3), label="报表")
    session.commit()
    browser = page_client_for(actor)
    page = browser.get("/profile")
    assert "ERP 对接" in page.text and "报表" in page.text
    assert first not in page.text and second not in page.text  # secrets are never shown again
    (token_id,) = [t.id for t in service.list_api_tokens(session, actor) if t.label == "ERP 对接"]
    r = browser.post(f"/profile/tokens/{token_id}/revoke", data={"csrf_token": browser.csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert service.actor_for_token(session, first, kind="api") is None
    assert service.actor_for_token(session, second, kind="api") is not None
    other = builders.enterprise(session)
    session.commit()
    foreign = page_client_for(other)
    assert foreign.post(f"/profile/tokens/{token_id}/revoke", data={"csrf_token": foreign.csrf}).status_code == 404
    browser.post("/profile/tokens/revoke", data={"csrf_token": browser.csrf})
    assert service.actor_for_token(session, second, kind="api") is None
    assert "ERP 对接" not in browser.get("/profile").text
