from __future__ import annotations

from tests import builders

GOOD = {
    "industry_section": "C",
    "mfg_division": "39",
    "province_code": "36",
    "city": "南昌",
    "size_class": "small",
    "revenue_band": "2-4",
}


def test_me_is_401_for_an_anonymous_caller(client):
    r = client.get("/api/v1/me")
    assert r.status_code == 401
    assert r.json()["error"] == "not_authenticated"


def test_me_names_the_user_roles_and_organisation(session, client_for):
    actor = builders.enterprise(session, "赣光电子")
    r = client_for(actor).get("/api/v1/me")
    assert r.status_code == 200
    body = r.json()
    assert body["roles"] == ["enterprise_member"]
    assert body["organisation"]["name"] == "赣光电子"
    assert "assessment:write_own" in body["permissions"]


def test_token_endpoint_issues_a_working_token(session, client):
    builders.enterprise(session, email="api@jia.cn")
    session.commit()
    r = client.post("/api/v1/auth/token", json={"email": "api@jia.cn", "password": builders.PASSWORD})
    assert r.status_code == 201
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['token']}"})
    assert me.json()["user"]["email"] == "api@jia.cn"


def test_bad_token_is_401(client):
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_profile_put_reports_every_bad_field_and_saves_nothing(session, client_for):
    actor = builders.enterprise(session, profile={"city": "佛山"})
    api = client_for(actor)
    bad = GOOD | {"province_code": "99", "size_class": "huge", "employees": -3}
    r = api.put(f"/api/v1/organisations/{actor.org_id}/profile", json=bad)
    assert r.status_code == 422
    assert {"province_code", "size_class", "employees"} <= set(r.json()["fields"])
    assert api.get(f"/api/v1/organisations/{actor.org_id}").json()["city"] == "佛山"


def test_profile_put_saves_a_good_profile(session, client_for):
    actor = builders.enterprise(session)
    api = client_for(actor)
    r = api.put(f"/api/v1/organisations/{actor.org_id}/profile", json=GOOD)
    assert r.status_code == 200, r.text
    assert api.get(f"/api/v1/organisations/{actor.org_id}").json()["province_code"] == "36"


def test_foreign_organisation_answers_exactly_like_a_missing_one(session, client_for):
    a, b = builders.enterprise(session), builders.enterprise(session)
    as_b = client_for(b)
    foreign, missing = as_b.get(f"/api/v1/organisations/{a.org_id}"), as_b.get("/api/v1/organisations/999999")
    assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json())
    put = as_b.put(f"/api/v1/organisations/{a.org_id}/profile", json=GOOD)
    assert put.status_code == 404


def test_cookie_authenticated_api_write_needs_the_csrf_header(session, page_client_for):
    actor = builders.enterprise(session)
    browser = page_client_for(actor)
    del browser.headers["X-CSRF-Token"]
    r = browser.put(f"/api/v1/organisations/{actor.org_id}/profile", json=GOOD)
    assert r.status_code == 403
    r = browser.put(f"/api/v1/organisations/{actor.org_id}/profile", json=GOOD, headers={"X-CSRF-Token": browser.csrf})
    assert r.status_code == 200


def test_repeated_failed_token_requests_are_throttled(session, client, settings):
    builders.enterprise(session, email="guess@jia.cn")
    session.commit()
    codes = [
        client.post("/api/v1/auth/token", json={"email": "guess@jia.cn", "password": "x"}).status_code
        for _ in range(settings.login_max_failures + 1)
    ]
    assert codes[:-1] == [401] * settings.login_max_failures
    assert codes[-1] == 429


def test_a_revoked_token_stops_working(session, client_for):
    api = client_for(builders.enterprise(session))
    assert api.delete("/api/v1/auth/token").status_code == 204
    assert api.get("/api/v1/me").status_code == 401


def test_an_id_beyond_the_integer_range_is_a_clear_422_not_a_crash(session, client_for):
    api = client_for(builders.operator(session))
    r = api.get(f"/api/v1/organisations/{2**40}")
    assert r.status_code in (404, 422)  # SQLite answers 'not found', PostgreSQL's int4 refuses the value
    assert r.json()["error"] in ("not_found", "invalid")


def test_a_number_beyond_64_bits_is_a_clear_422_not_a_crash(session, client_for):
    api = client_for(builders.operator(session))
    r = api.get(f"/api/v1/organisations/{2**70}")
    assert r.status_code in (404, 422)  # SQLite's driver and PostgreSQL both refuse such a number
    assert r.json()["error"] in ("not_found", "invalid")


def test_the_organisations_an_operator_sees_are_paged_by_name_with_their_total(session, client_for):
    for name in ("乙企业", "甲企业", "丙企业"):
        builders.enterprise(session, name)
    api = client_for(builders.operator(session))
    everyone = api.get("/api/v1/organisations", params={"limit": 200}).json()
    names = [o["name"] for o in everyone["items"]]
    assert names == sorted(names) and {"甲企业", "乙企业", "丙企业"} <= set(names)
    page = api.get("/api/v1/organisations", params={"limit": 2, "offset": 1}).json()
    assert (page["total"], [o["name"] for o in page["items"]]) == (everyone["total"], names[1:3])
    assert everyone["total"] == len(names)
