"""Pages of the resource pool: browse with facets, the offering page, the two workspaces."""

from __future__ import annotations

from bs4 import BeautifulSoup

from tests import builders
from tests.catalog import builders as cb


def _soup(r) -> BeautifulSoup:
    assert r.status_code == 200, r.text[:500]
    return BeautifulSoup(r.text, "html.parser")


def test_anyone_browses_and_searches_with_facets(session, client):
    cb.imported(
        session,
        cb.record(id="p-1", name="纺织疵点检测一体机"),
        cb.record(
            id="p-2",
            name="电商客服机器人",
            scenarios=["customer_service"],
            kind="saas",
            summary="自动回答售前售后问题。",
        ),
    )
    session.commit()
    page = _soup(client.get("/catalog", params={"q": "验布"}))
    assert [a.get_text() for a in page.select(".hit h3 a")] == ["纺织疵点检测一体机"]
    assert page.select_one("input[name=kind][value=appliance]") is not None
    fragment = client.get("/catalog", params={"kind": "saas"}, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "电商客服机器人" in fragment.text and "纺织疵点" not in fragment.text


def test_offering_page_shows_costs_cases_and_vouchers(session, client):
    cb.imported(session, cb.record(id="p-9", voucher_eligible=["huadu-tiered"]))
    session.commit()
    from smeai.catalog import service

    offering = service.find_offering_by_ext_id(session, "p-9")
    page = _soup(client.get(f"/catalog/offerings/{offering.id}"))
    assert "16 万元" in page.get_text()
    assert (
        "huadu-tiered" in page.select_one("#vouchers").get_text() or "花都" in page.select_one("#vouchers").get_text()
    )
    assert client.get("/catalog/offerings/999999").status_code == 404


def test_provider_lists_through_the_form_and_operator_approves(session, page_client_for):
    provider, op = builders.provider(session), builders.operator(session)
    session.commit()
    browser = page_client_for(provider)
    form = cb.LISTING_FORM | {"csrf_token": browser.csrf, "action": "submit"}
    bad = browser.post("/catalog/provider/new", data=form | {"entry_price_wan": "", "deployment": []})
    assert bad.status_code == 422
    marked = {f.select_one("input,select,textarea")["name"] for f in _soup_any(bad).select(".field.has-error")}
    assert {"entry_price_wan", "deployment"} <= marked
    for wrong, field in [
        ({"pricing_model": "barter"}, "pricing_model"),  # pricing.model
        ({"pricing_model": "free", "entry_price_wan": "3"}, "entry_price_wan"),  # the pricing object's own rule
        ({"industries": ["nope"]}, "industries"),
    ]:
        bad = browser.post("/catalog/provider/new", data=form | wrong)
        marked = {f.select_one("input,select,textarea")["name"] for f in _soup_any(bad).select(".field.has-error")}
        assert bad.status_code == 422 and field in marked, (wrong, marked)
    r = browser.post("/catalog/provider/new", data=form, follow_redirects=False)
    assert r.status_code == 303
    workspace = _soup(browser.get("/catalog/provider"))
    assert "小批量排单助手" in workspace.get_text() and "审核中" in workspace.get_text()

    reviewer = page_client_for(op)
    queue = _soup(reviewer.get("/catalog/review"))
    link = queue.select_one("table a")["href"].split("#")[0]
    review = {"csrf_token": reviewer.csrf, "decision": "approve", "comment": ""}
    review |= {f"check_{k}": "on" for k in cb.approve().checklist}
    r = reviewer.post(
        link.replace("/catalog/offerings/", "/catalog/offerings/") + "/review", data=review, follow_redirects=False
    )
    assert r.status_code == 303
    assert "小批量排单助手" in _soup(reviewer.get("/catalog", params={"q": "排程"})).get_text()


def test_workspaces_need_the_right_role(session, page_client_for):
    firm = page_client_for(builders.enterprise(session))
    assert firm.get("/catalog/review").status_code == 403
    assert firm.get("/catalog/provider/new").status_code == 403


def _soup_any(r) -> BeautifulSoup:
    return BeautifulSoup(r.text, "html.parser")


def test_provider_edits_a_published_listing_and_it_goes_back_to_review(session, page_client_for):
    provider, op = builders.provider(session), builders.operator(session)
    offering = cb.published(session, provider, op, name="能耗管家", voucher_eligible=["huadu-tiered"])
    session.commit()
    browser = page_client_for(provider)
    form = _soup(browser.get(f"/catalog/offerings/{offering.id}/edit"))
    assert form.select_one("#f-name")["value"] == "能耗管家"
    assert form.select_one("input[name=scenarios][value=quality_inspection]").has_attr("checked")
    data = {
        "csrf_token": browser.csrf,
        "name": "能耗管家 2.0",
        "kind": "saas",
        "summary": "按工序统计水电气消耗。",
        "industries": ["C"],
        "scenarios": ["energy_management"],
        "deployment": ["saas"],
        "regions": ["*"],
        "pricing_model": "subscription",
        "entry_price_wan": "2.5",
        "voucher_eligible": ["huadu-tiered"],
        "action": "save",
    }
    r = browser.post(f"/catalog/offerings/{offering.id}/edit", data=data, follow_redirects=False)
    assert r.status_code == 303
    session.expire_all()
    from smeai.catalog import service

    edited = service.get_offering(session, provider, offering.id)
    assert (edited.name, edited.status, edited.entry_price_fen) == ("能耗管家 2.0", "submitted", 2_500_000)
    assert edited.voucher_eligible == ["huadu-tiered"]


def test_operator_uploads_a_file_and_sees_its_problems(session, page_client_for):
    browser = page_client_for(builders.operator(session))
    body = b"\n".join([b'{"id": ' + b"[" * 20_000 + b"]" * 20_000 + b"}", cb.record(id="u-1").encode()])
    r = browser.post("/catalog/import", data={"csrf_token": browser.csrf}, files={"file": ("pool.jsonl", body)})
    page = _soup(r)
    assert "1 invalid line(s) not imported." in page.get_text() or "1 行无效" in page.get_text()
    assert [td.get_text() for td in page.select("table.data td")][:2] == ["1", "-"]
    from smeai.catalog import service

    assert service.find_offering_by_ext_id(session, "u-1") is not None


def test_listing_form_refuses_numbers_in_other_scripts_and_garbled_stages(session, page_client_for):
    browser = page_client_for(builders.provider(session))
    form = cb.LISTING_FORM | {"csrf_token": browser.csrf}
    for wrong, field in [
        ({"entry_price_wan": "٢٠٢٦"}, "entry_price_wan"),  # Decimal() reads Arabic-Indic digits as 2026
        ({"min_stage": "²"}, "min_stage"),  # isdigit() but not int(): once a 500
        ({"max_stage": "9" * 5000}, "max_stage"),  # beyond int()'s 4,300 digits: once a 500
        ({"min_stage": "٣"}, "min_stage"),
    ]:
        r = browser.post("/catalog/provider/new", data=form | wrong)
        marked = {f.select_one("input,select,textarea")["name"] for f in _soup_any(r).select(".field.has-error")}
        assert r.status_code == 422 and field in marked, (wrong, r.status_code, marked)
    r = browser.post("/catalog/provider/new", data=form | {"entry_price_wan": "３０"}, follow_redirects=False)
    assert r.status_code == 303  # full-width digits typed with a Chinese IME are a number


def test_offering_urls_with_ids_that_are_no_ids_are_client_errors(session, client):
    for bad in ("abc", "-1", "0", "99999999999999999999", "1e3"):
        r = client.get(f"/catalog/offerings/{bad}")
        assert r.status_code in (404, 422), (bad, r.status_code)
