"""The case library through /api/v1 and its pages."""

from __future__ import annotations

from bs4 import BeautifulSoup

from tests import builders
from tests.catalog import builders as cb

CASE = {
    "title": "织造厂验布机加装疵点检测",
    "province_code": "33",
    "industry": "C17",
    "scenarios": ["quality_inspection"],
    "problem": "夜班验布工疲劳，细小疵点漏检。",
    "solution": "在验布机上加装相机与疵点检测系统。",
    "effect": "漏检率由约 8% 降到 2% 以内。",
}


def test_enterprise_submits_operator_publishes_as_benchmark_public_searches(session, client_for, client):
    cb.imported(session, cb.record(id="o-cloth", name="布面疵点检测一体机"))
    firm, op = builders.enterprise(session), builders.operator(session)
    as_firm, as_op = client_for(firm), client_for(op)
    r = as_firm.post("/api/v1/cases", json=CASE | {"offering_ids": ["o-cloth"]})
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    assert r.json()["providers"] == ["测试服务商甲"]
    assert client_for(builders.enterprise(session)).get(f"/api/v1/cases/{case_id}").status_code == 404
    assert [c["id"] for c in as_op.get("/api/v1/cases/review-queue").json()["items"]] == [case_id]
    assert as_firm.post(f"/api/v1/cases/{case_id}/review", json={"approve": True}).status_code == 403
    r = as_op.post(f"/api/v1/cases/{case_id}/review", json={"approve": True, "benchmark": True})
    assert r.json()["is_benchmark"] is True
    found = as_firm.get("/api/v1/cases", params={"q": "瑕疵检测", "benchmark": "yes"}).json()
    assert [c["id"] for c in found["items"]] == [case_id]

    page = BeautifulSoup(client.get("/cases", params={"q": "验布"}).text, "html.parser")
    assert [a.get_text() for a in page.select(".hit h3 a")] == [CASE["title"]]
    from smeai.catalog import service

    offering = service.find_offering_by_ext_id(session, "o-cloth")
    beside = BeautifulSoup(client.get(f"/catalog/offerings/{offering.id}").text, "html.parser")
    assert CASE["title"] in beside.select_one("main").get_text()  # shown beside the offering it used


def test_case_form_reports_field_errors_and_accepts_a_case(session, page_client_for):
    browser = page_client_for(builders.provider(session))
    bad = browser.post("/cases/new", data={"csrf_token": browser.csrf, "title": "x", "industry": "Z9"})
    assert bad.status_code == 422
    marked = {
        f.select_one("input,select,textarea")["name"]
        for f in BeautifulSoup(bad.text, "html.parser").select(".has-error")
    }
    assert {"title", "industry", "problem", "province_code"} <= marked
    ok = browser.post("/cases/new", data={"csrf_token": browser.csrf, **CASE})
    assert ok.status_code == 200 and "感谢提交" in ok.text and CASE["title"] in ok.text
