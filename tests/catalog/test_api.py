"""The resource pool's API: the same rules through /api/v1."""

from __future__ import annotations

from tests import builders
from tests.catalog import builders as cb

NEW = {
    "name": "设备点检智能体",
    "kind": "agent",
    "summary": "巡检员说一句话，自动生成点检记录。",
    "industries": ["C"],
    "scenarios": ["equipment_maintenance"],
    "deployment": ["saas"],
    "pricing": {"model": "subscription", "entry_price_wan": 1.5},
    "regions": ["*"],
}


def test_provider_lists_operator_approves_enterprise_finds(session, client_for):
    provider, op, firm = builders.provider(session), builders.operator(session), builders.enterprise(session)
    as_provider, as_op, as_firm = client_for(provider), client_for(op), client_for(firm)
    r = as_provider.post("/api/v1/offerings", json=NEW)
    assert r.status_code == 201, r.text
    offering_id = r.json()["id"]
    assert as_provider.post(f"/api/v1/offerings/{offering_id}/submit").json()["status"] == "submitted"
    assert as_firm.get(f"/api/v1/offerings/{offering_id}").status_code == 404
    assert [o["id"] for o in as_op.get("/api/v1/catalog/review-queue").json()["items"]] == [offering_id]
    r = as_op.post(f"/api/v1/offerings/{offering_id}/review", json={"approve": True})
    assert r.status_code == 422 and "checklist" in r.json()["fields"]
    checklist = dict.fromkeys(cb.approve().checklist, True)
    r = as_op.post(f"/api/v1/offerings/{offering_id}/review", json={"approve": True, "checklist": checklist})
    assert r.json()["status"] == "published"
    found = as_firm.get("/api/v1/offerings", params={"q": "设备管理"}).json()  # synonym of 点检
    assert [o["id"] for o in found["items"]] == [offering_id]
    assert found["facets"]["kind"] == [["agent", 1]]


def test_foreign_offering_answers_exactly_like_a_missing_one(session, client_for):
    provider = builders.provider(session)
    draft = cb.listed(session, provider)
    session.commit()
    other = client_for(builders.provider(session))
    foreign, missing = other.get(f"/api/v1/offerings/{draft.id}"), other.get("/api/v1/offerings/999999")
    assert foreign.status_code == 404
    assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json())
    put = other.put(f"/api/v1/offerings/{draft.id}", json=NEW)
    assert put.status_code == 404


def test_invalid_listing_names_its_fields(session, client_for):
    api = client_for(builders.provider(session))
    r = api.post("/api/v1/offerings", json=NEW | {"regions": ["99"], "kind": "robot"})
    assert r.status_code == 422
    assert {"regions", "kind"} <= set(r.json()["fields"])


def test_operator_imports_and_exports_interchange(session, client_for):
    op, provider = builders.operator(session), builders.provider(session)
    body = "\n".join([cb.record(id="x-1"), '{"id": "x-2"}', cb.record(id="x-3", kind="robot")])
    assert client_for(provider).post("/api/v1/catalog/import", content=body).status_code == 403
    api = client_for(op)
    report = api.post("/api/v1/catalog/import", content=body.encode()).json()
    assert report["created"] == 1
    assert {p["line"] for p in report["problems"]} == {2, 3}
    again = api.post("/api/v1/catalog/import", content=body.encode()).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 1)
    lines = api.get("/api/v1/catalog/export").text.splitlines()
    assert len(lines) == 1 and '"id": "x-1"' in lines[0]


def test_anonymous_api_callers_are_refused(client):
    assert client.get("/api/v1/offerings").status_code == 401


def test_ids_and_lists_beyond_any_real_listing_are_field_errors(session, client_for):
    api = client_for(builders.provider(session))
    for bad in ("abc", "-1", "0", "99999999999999999999"):
        r = api.get(f"/api/v1/offerings/{bad}")
        assert r.status_code == 422 and "offering_id" in r.json()["fields"], (bad, r.text)
    for field, value in [("tags", [f"词{i}" for i in range(1000)]), ("regions", ["44"] * 1000), ("tags", ["长" * 101])]:
        r = api.post("/api/v1/offerings", json=NEW | {field: value})
        assert r.status_code == 422 and any(k.startswith(field) for k in r.json()["fields"]), (field, r.text[:300])
