"""The /calls pages: each role sees its side, forms go through the services, no raw codes on screen."""

from __future__ import annotations

from datetime import timedelta

from smeai.calls import campaigns, service
from smeai.calls.schemas import ResponseIn
from smeai.db import utcnow
from tests import builders
from tests.calls import builders as cb
from tests.screens import problems_on


def _post(client, path: str, data: dict):
    return client.post(path, data={"csrf_token": client.csrf, **data}, follow_redirects=False)


def test_a_visitor_sees_the_published_list_and_its_outcome_but_no_forms(session, page_client_for):
    gov, provider = cb.government(session), builders.provider(session)
    listing = cb.scenario_list(session, gov)
    service.respond(session, provider, listing.scenarios[0].id, ResponseIn(approach="保密的方案细节。"))
    session.commit()
    visitor = page_client_for(None)
    index = visitor.get("/calls")
    assert index.status_code == 200 and listing.title in index.text
    page = visitor.get(f"/calls/lists/{listing.id}")
    assert page.status_code == 200 and "场景0" in page.text
    assert "保密的方案细节" not in page.text and "/respond" not in page.text
    assert problems_on(page.text, lang="zh_Hans") == []
    assert problems_on(visitor.get(f"/calls/lists/{listing.id}?lang=en").text, lang="en") == []


def test_a_government_publishes_through_the_form_and_a_provider_responds(session, page_client_for):
    gov, provider = cb.government(session), builders.provider(session)
    session.commit()
    g = page_client_for(gov)
    assert g.get("/calls/lists/new").status_code == 200
    deadline = (utcnow().date() + timedelta(days=20)).isoformat()
    bad = _post(g, "/calls/lists/new", {"title": "清单", "summary": "开放场景说明", "deadline_on": deadline})
    assert bad.status_code == 422  # no scenario
    form = {
        "title": "邢台场景清单",
        "summary": "开放生产环节场景。",
        "deadline_on": deadline,
        "s_title_0": "特钢轧线能耗优化",
        "s_industry_0": "C31",
        "s_scenario_code_0": "energy_management",
        "s_problem_0": "加热炉燃气单耗偏高。",
        "s_data_offered_0": "两年 DCS 数据。",
        "s_site_offered_0": "一座加热炉。",
        "s_expected_result_0": "单耗下降 3%。",
    }
    r = _post(g, "/calls/lists/new", form)
    assert r.status_code == 303, r.text
    path = r.headers["location"]
    [scenario] = service.get_list(session, int(path.rsplit("/", 1)[-1])).scenarios
    p = page_client_for(provider)
    assert f"/calls/scenarios/{scenario.id}/respond" in p.get(path).text
    assert _post(p, f"/calls/scenarios/{scenario.id}/respond", {"approach": "燃烧优化模型。"}).status_code == 303
    page = g.get(path).text
    assert "燃烧优化模型" in page and "/select" in page
    assert problems_on(page, lang="zh_Hans") == []
    # an ordinary enterprise may not publish
    assert page_client_for(builders.enterprise(session)).get("/calls/lists/new").status_code == 403


def test_a_campaign_collects_scores_and_selects_through_the_pages(session, page_client_for):
    op, r1, r2 = builders.operator(session), builders.consultant(session), builders.consultant(session)
    ent = builders.enterprise(session)
    session.commit()
    o = page_client_for(op)
    deadline = (utcnow().date() + timedelta(days=20)).isoformat()
    form = {
        "title": "AI 先锋案例征集",
        "summary": "征集实效案例。",
        "deadline_on": deadline,
        "c_name_0": "创新性",
        "c_weight_0": "40",
        "c_name_1": "实施成效",
        "c_weight_1": "60",
    }
    assert _post(o, "/calls/campaigns/new", form | {"c_weight_1": "50"}).status_code == 422
    r = o.post(
        "/calls/campaigns/new",
        data={"csrf_token": o.csrf, **form, "reviewer_ids": [str(r1.user_id), str(r2.user_id)]},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    campaign_path = r.headers["location"]
    campaign_id = int(campaign_path.rsplit("/", 1)[-1])
    e = page_client_for(ent)
    case = {
        "title": "冷镦产线视觉质检",
        "province_code": "13",
        "industry": "C33",
        "scenarios": "quality_inspection",
        "problem": "人工目检漏检率高。",
        "solution": "工业相机加缺陷模型。",
        "effect": "漏检率降到 0.4%。",
    }
    assert _post(e, f"{campaign_path}/entries", case).status_code == 303
    [entry] = campaigns.list_entries(session, op, campaign_id)
    c1, c2 = page_client_for(r1), page_client_for(r2)
    assert f"/calls/entries/{entry.id}/score" in c1.get(campaign_path).text
    assert _post(c1, f"/calls/entries/{entry.id}/score", {"p_0": "9", "p_1": "8"}).status_code == 303
    assert "8.40" in c1.get(campaign_path).text  # r1 sees its own weighted score (and the flash message)
    # r2 sees neither r1's scores nor a mean, only a form
    page2 = c2.get(campaign_path).text
    assert "8.40" not in page2 and f"/calls/entries/{entry.id}/score" in page2
    assert "8.40" in o.get(campaign_path).text  # 9×40 + 8×60 = 840: the operator sees it
    assert "8.40" not in e.get(campaign_path).text  # nor does the enterprise
    r = _post(o, f"/calls/entries/{entry.id}/select", {})
    assert r.status_code == 303
    session.expire_all()
    assert campaigns.get_entry(session, op, entry.id).case_id is not None
    for client, lang in ((o, "zh_Hans"), (c1, "en"), (e, "zh_Hans")):
        assert problems_on(client.get(f"{campaign_path}?lang={lang}").text, lang=lang) == []
    assert campaigns.own_score(session, r2, entry.id) is None
