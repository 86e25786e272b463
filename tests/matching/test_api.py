"""/api/v1 matching routes: thin edges over the services; foreign records answer exactly like missing ones."""

from __future__ import annotations

import time

from smeai.matching.schemas import MAX_NEEDS_PER_CALL
from smeai.money import MAX_FEN
from tests import builders
from tests.matching.builders import offering

PROFILE = {"industry_section": "C", "mfg_division": "33", "province_code": "44"}


def _setup(session, client_for):
    firm = builders.enterprise(session, profile=PROFILE)
    vendor = builders.provider(session, "甲视觉")
    item = offering(session, "甲视觉", id="fit")
    session.commit()
    as_firm = client_for(firm)
    need = as_firm.post(
        "/api/v1/needs", json={"title": "外观检测", "text": "裂纹靠人眼挑，经常漏检", "budget_fen": 30_000_000}
    )
    assert need.status_code == 201, need.text
    return firm, vendor, item, as_firm, need.json()


def test_need_to_evaluated_through_the_api(session, client_for):
    _firm, vendor, item, as_firm, need = _setup(session, client_for)
    assert need["industry"] == "C33" and "quality_inspection" in need["scenarios"]
    matches = as_firm.get(f"/api/v1/needs/{need['id']}/matches").json()["items"]
    assert [m["id"] for m in matches] == ["fit"] and matches[0]["reasons"]
    e = as_firm.post(f"/api/v1/needs/{need['id']}/interest", json={"offering_id": item.id}).json()
    as_vendor = client_for(vendor)
    assert (
        as_vendor.post(f"/api/v1/engagements/{e['id']}/response", json={"accept": True, "note": "好"}).status_code
        == 200
    )
    for to in ("meeting_held", "proposal", "contract_signed", "delivered"):
        r = as_vendor.post(f"/api/v1/engagements/{e['id']}/transitions", json={"to": to})
        assert r.status_code == 200, r.text
    r = as_firm.post(
        f"/api/v1/engagements/{e['id']}/outcome", json={"cost_fen": 1, "effect": "漏检降到 0.5%", "satisfaction": 5}
    )
    assert r.json()["state"] == "evaluated"
    skipped = as_firm.post(f"/api/v1/engagements/{e['id']}/transitions", json={"to": "delivered"})
    assert skipped.status_code == 409 and skipped.json()["error"] == "engagement_wrong_state"
    events = as_firm.get(f"/api/v1/engagements/{e['id']}/events").json()["items"]
    assert [ev["to_state"] for ev in events][-1] == "evaluated"


def test_foreign_need_and_engagement_answer_exactly_like_missing_ones(session, client_for):
    _firm, _vendor, item, as_firm, need = _setup(session, client_for)
    e = as_firm.post(f"/api/v1/needs/{need['id']}/interest", json={"offering_id": item.id}).json()
    for outsider in (builders.enterprise(session), builders.provider(session)):
        api = client_for(outsider)
        for path, missing in (
            (f"/api/v1/needs/{need['id']}", "/api/v1/needs/999999"),
            (f"/api/v1/engagements/{e['id']}", "/api/v1/engagements/999999"),
        ):
            foreign, absent = api.get(path), api.get(missing)
            assert (foreign.status_code, foreign.json()) == (absent.status_code, absent.json())
            assert foreign.status_code in (403, 404)
    assert client_for(builders.enterprise(session)).get("/api/v1/engagements").json()["items"] == []


def test_the_funnel_is_for_operators(session, client_for):
    _setup(session, client_for)
    assert client_for(builders.enterprise(session)).get("/api/v1/matching/funnel").status_code == 403
    figures = client_for(builders.operator(session)).get("/api/v1/matching/funnel").json()
    assert figures["stages"][0]["state"] == "matched"  # needs with a list, each counted once


def test_match_route_takes_interchange_needs(session, client_for):
    _setup(session, client_for)
    api = client_for(builders.analyst(session))
    r = api.post(
        "/api/v1/match?top=3", json=[{"text": "外观缺陷检测", "industry": "C33"}, {"text": "x", "budget_wan": 0}]
    )
    assert r.status_code == 200
    assert [m["id"] for m in r.json()[0]] == ["fit"] and r.json()[1] == []


def test_match_route_bounds_what_one_call_may_ask(session, client_for):
    _setup(session, client_for)
    api = client_for(builders.analyst(session))
    started = time.monotonic()
    r = api.post("/api/v1/match", json=[{"text": "外观缺陷检测"}] * 1000)
    assert r.status_code == 422 and time.monotonic() - started < 5
    assert api.post("/api/v1/match", json=[{"text": "外观缺陷检测"}] * MAX_NEEDS_PER_CALL).status_code == 200
    for body, query in (
        ([{"text": "检测"}], "?top=0"),
        ([{"text": "检测"}], "?top=101"),
        ([{"text": "检测"}], "?top=abc"),
        ([{"text": "检测"}], "?top=" + "9" * 30),
        ([{"text": "长" * 5001}], ""),
        ([{"text": "检测", "id": "i" * 201}], ""),
        ([{"text": "检测", "budget_wan": -1}], ""),
        ([{"text": "检测", "budget_wan": 1e300}], ""),
        ([{"text": "检测", "budget_wan": "abc"}], ""),
        ([{"text": "检测", "budget_wan": True}], ""),
        ([{"text": "检测", "deployment": ["saas"] * 21}], ""),
        ([{"text": "检测", "deployment": ["s" * 65]}], ""),
        ([{"text": "检测", "industry": "C" * 65}], ""),
        ([{"text": "检测", "stage": 5}], ""),
    ):
        r = api.post(f"/api/v1/match{query}", json=body)
        assert r.status_code == 422 and r.json()["fields"], (body, query, r.text)
    for raw in ('[{"text": "检测", "budget_wan": 1e999}]', '[{"text": "检测", "budget_wan": NaN}]'):
        r = api.post("/api/v1/match", content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 422, raw
    r = api.post("/api/v1/match", json=[{"text": "外观缺陷检测", "budget_wan": 0.1}])  # 1,000 元: exact
    assert r.status_code == 200 and r.json() == [[]]  # the 8 万元 offering is beyond twice the budget


def test_a_budget_beyond_int4_is_stored_and_read_back(session, client_for):
    # 3,000 万元 is 3e9 fen: beyond a 32-bit column, within the platform maximum, on both databases.
    _firm, _vendor, _item, as_firm, _need = _setup(session, client_for)
    r = as_firm.post("/api/v1/needs", json={"title": "t", "text": "x", "budget_fen": 3_000_000_000})
    assert r.status_code == 201, r.text
    assert as_firm.get(f"/api/v1/needs/{r.json()['id']}").json()["budget_fen"] == 3_000_000_000
    r = as_firm.post("/api/v1/challenges", json={"title": "t", "problem": "p", "budget_fen": MAX_FEN})
    assert r.status_code == 201 and r.json()["budget_fen"] == MAX_FEN, r.text


def test_matching_routes_answer_bad_values_with_field_errors(session, client_for):
    _firm, _vendor, item, as_firm, need = _setup(session, client_for)
    base = {"title": "t", "text": "x"}
    for method, path, body in (
        ("post", f"/api/v1/needs/{need['id']}/interest", {"offering_id": "abc"}),
        ("post", f"/api/v1/needs/{need['id']}/interest", {"offering_id": 10**30}),
        ("post", f"/api/v1/needs/{need['id']}/interest", {"offering_id": 0}),
        ("post", "/api/v1/needs", base | {"budget_fen": 10**20}),
        ("post", "/api/v1/needs", base | {"budget_fen": MAX_FEN + 1}),  # beyond the platform maximum
        ("post", "/api/v1/challenges", {"title": "t", "problem": "p", "budget_fen": MAX_FEN + 1}),
        ("post", "/api/v1/needs", base | {"budget_fen": 1e308}),
        ("post", "/api/v1/needs", base | {"budget_fen": "8"}),
        ("post", "/api/v1/needs", base | {"scenarios": ["no_such_scenario"]}),
        ("post", "/api/v1/needs", base | {"scenarios": ["quality_inspection"] * 21}),
        ("post", "/api/v1/needs", base | {"org_id": 10**30}),
        ("post", "/api/v1/needs", base | {"urgency": "yesterday"}),
        ("put", f"/api/v1/needs/{need['id']}", base | {"deployment": ["cloud"]}),
        ("get", f"/api/v1/needs/{10**30}", None),
        ("get", f"/api/v1/needs/{need['id']}/matches?top=1000", None),
        ("post", f"/api/v1/needs/{need['id']}/recommendations?top=-1", None),
        ("get", "/api/v1/needs?status=finished", None),
        ("get", "/api/v1/engagements?need_id=abc", None),
        ("get", f"/api/v1/engagements?need_id={10**30}", None),
        ("post", "/api/v1/challenges", {"title": "t", "problem": "p", "budget_fen": 10**20}),
        ("post", "/api/v1/challenges", {"title": "t", "problem": "p", "deadline_on": "9999-12-31"}),
        ("post", "/api/v1/modules", {"offering_id": item.id, "name": "m", "price_fen": 10**20}),
        ("post", "/api/v1/packages/quote", {"module_ids": list(range(1, 60))}),
        ("post", "/api/v1/packages/quote", {"module_ids": [10**30]}),
        ("post", "/api/v1/packages/quote", {"module_ids": [1], "programme": "p" * 65}),
    ):
        r = getattr(as_firm, method)(path, **({} if body is None else {"json": body}))
        assert r.status_code == 422 and r.json()["fields"], (method, path, body, r.text)


def test_read_fields_shortlist_confirmation_and_introduction_through_the_api(session, client_for):
    *_others, as_firm, _need = _setup(session, client_for)
    text = "我们是一家做汽车零部件的小厂，想用视觉检测代替人工目检，预算30万，希望本地部署"
    offering(
        session, "甲视觉", id="onsite", deployment=["private"], pricing={"model": "one_off", "entry_price_wan": 20}
    )
    session.commit()
    need = as_firm.post("/api/v1/needs", json={"title": "视觉检测", "text": text}).json()
    assert (need["budget_fen"], need["deployment"], need["fields_confirmed"]) == (30_000_000, ["private"], False)
    assert need["extracted"]["budget_wan"] == {"value": 30, "evidence": "预算30万"}
    shortlist = as_firm.get(f"/api/v1/needs/{need['id']}/shortlist").json()
    assert [m["id"] for m in shortlist["matches"]] == ["onsite"]
    assert [(m["id"], m["missed"]) for m in shortlist["near"]] == [("fit", ["需云端部署"])]
    confirmed = as_firm.post(f"/api/v1/needs/{need['id']}/fields/confirmation").json()
    assert confirmed["fields_confirmed"] is True
    onsite = shortlist["matches"][0]["offering_id"]
    assert as_firm.post(f"/api/v1/needs/{need['id']}/introductions", json={"offering_id": onsite}).status_code == 403
    as_centre = client_for(builders.operator(session))
    e = as_centre.post(f"/api/v1/needs/{need['id']}/introductions", json={"offering_id": onsite, "note": "牵线"})
    assert e.status_code == 201 and e.json()["state"] == "introduced"
    again = as_firm.get(f"/api/v1/needs/{need['id']}/shortlist").json()
    assert again["matches"][0]["engagement_state"] == "introduced"
    assert as_firm.get(f"/api/v1/needs/{10**6}/shortlist").status_code == 404


def test_a_consultants_pipeline_pages_the_engagements_of_their_needs_with_a_bounded_limit(session, client_for):
    firm, _vendor, item, as_firm, _need = _setup(session, client_for)
    other = offering(session, "甲视觉", id="other")
    session.commit()
    consultant = builders.operator(session)
    as_centre = client_for(consultant)
    need = as_centre.post(
        "/api/v1/needs", json={"title": "外观检测", "text": "裂纹靠人眼挑", "org_id": firm.org_id}
    ).json()
    for offering_id in (item.id, other.id):
        r = as_centre.post(f"/api/v1/needs/{need['id']}/introductions", json={"offering_id": offering_id})
        assert r.status_code == 201, r.text
    page = as_centre.get("/api/v1/matching/pipeline", params={"limit": 1}).json()
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (2, 1, 0, 1)
    assert page["items"][0]["state"] == "introduced" and page["items"][0]["need_id"] == need["id"]
    assert as_centre.get("/api/v1/matching/pipeline", params={"state": "delivered"}).json()["total"] == 0
    assert as_centre.get("/api/v1/matching/pipeline", params={"limit": 201}).status_code == 422
    assert client_for(builders.operator(session)).get("/api/v1/matching/pipeline").json()["total"] == 0  # not theirs
    assert as_firm.get("/api/v1/matching/pipeline").status_code == 403


def test_engagements_are_paged_in_order_with_their_total(session, client_for):
    _firm, _vendor, item, as_firm, need = _setup(session, client_for)
    others = [offering(session, "甲视觉", id=f"more-{i}") for i in range(2)]
    session.commit()
    for o in (item, *others):
        r = as_firm.post(f"/api/v1/needs/{need['id']}/interest", json={"offering_id": o.id})
        assert r.status_code == 201, r.text
    whole = as_firm.get("/api/v1/engagements").json()
    assert whole["total"] == 3 and len(whole["items"]) == 3
    page = as_firm.get("/api/v1/engagements?limit=2&offset=1").json()
    assert page["total"] == 3 and [e["id"] for e in page["items"]] == [e["id"] for e in whole["items"][1:]]
    assert as_firm.get(f"/api/v1/engagements?need_id={need['id']}&offset=3").json() == {
        "items": [],
        "total": 3,
        "limit": whole["limit"],
        "offset": 3,
    }
