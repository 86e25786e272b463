from __future__ import annotations

from bs4 import BeautifulSoup

from smeai.storage import LocalStorage
from smeai.subsidy import service
from tests import builders
from tests.subsidy import builders as sb

FORM = {
    "programme_code": "wuhan-compute",
    "description": "GPU 算力租用",
    "kind": "compute",
    "supplier_name": "汉算科技",
    "contract_no": "PG-1",
    "contract_yuan": "300000.00",
    "service_year": "1",
}


def _post(client, path: str, data: dict, **kw):
    return client.post(path, data={"csrf_token": client.csrf, **data}, follow_redirects=False, **kw)


def _apply(client, **over) -> int:
    r = _post(client, "/subsidy/apply", FORM | {"idempotency_key": "pk-" + over.get("contract_no", "PG-1")} | over)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].split("/")[-1].split("?")[0])


def test_programmes_page_lists_every_programme(session, page_client_for):
    page = page_client_for(sb.wuhan_enterprise(session)).get("/subsidy")
    assert page.status_code == 200
    links = {a["href"] for a in BeautifulSoup(page.text, "html.parser").select(".prog h3 a")}
    assert {"/subsidy/programmes/beijing-compute", "/subsidy/programmes/huadu-tiered"} <= links


def test_calculator_fragment_shows_best_combination_and_net_price(session, page_client_for):
    c = page_client_for(sb.wuhan_enterprise(session))
    r = _post(
        c,
        "/subsidy/calculator",
        {"description": "GPU", "kind": "compute", "contract_yuan": "300000"},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200
    html = BeautifulSoup(r.text, "html.parser")
    assert "<html" not in r.text  # a fragment for htmx
    assert html.select_one(".qrow.best")["data-code"] == "wuhan-compute"
    totals = [b.text for b in html.select(".quote-total b")]
    assert totals == ["30 万元", "15 万元", "15 万元"]  # contract, subsidy, net price


def test_calculator_marks_bad_fields(session, page_client_for):
    c = page_client_for(sb.wuhan_enterprise(session))
    r = _post(c, "/subsidy/calculator", {"description": "GPU", "contract_yuan": "-3"})
    assert r.status_code == 422
    assert BeautifulSoup(r.text, "html.parser").select_one(".field.has-error #f-contract_yuan")


def test_apply_once_even_when_the_form_is_sent_twice(session, page_client_for):
    ent = sb.wuhan_enterprise(session)
    c = page_client_for(ent)
    assert _apply(c) == _apply(c)
    assert len(service.list_applications(session, ent)) == 1


def test_ineligible_application_names_the_rule(session, page_client_for):
    c = page_client_for(builders.enterprise(session, profile={"province_code": "13", "city": "邢台"}))
    r = _post(c, "/subsidy/apply", FORM)
    assert r.status_code == 422
    alerts = " ".join(a.text for a in BeautifulSoup(r.text, "html.parser").select(".alert.error"))
    assert "武汉" in alerts  # the region rule, named


def test_each_role_sees_only_its_side_of_an_application(session, page_client_for):
    ent, other, prov, op = (
        sb.wuhan_enterprise(session),
        sb.wuhan_enterprise(session),
        builders.provider(session),
        builders.operator(session),
    )
    app_id = _apply(page_client_for(ent))
    url = f"/subsidy/applications/{app_id}"
    mine = BeautifulSoup(page_client_for(ent).get(url).text, "html.parser")
    assert mine.select_one(f"form[action='{url}/withdraw']") and not mine.select_one(f"form[action='{url}/approve']")
    theirs = BeautifulSoup(page_client_for(op).get(url).text, "html.parser")
    assert theirs.select_one(f"form[action='{url}/approve']")
    assert not theirs.select_one(f"form[action='{url}/withdraw']")
    for outsider in (other, prov):
        assert page_client_for(outsider).get(url).status_code == 404
    assert page_client_for(ent).get("/subsidy/dashboard").status_code == 403


def test_upload_then_operator_approves_from_the_page(session, page_client_for):
    ent, op = sb.wuhan_enterprise(session), builders.operator(session)
    c = page_client_for(ent)
    app_id = _apply(c)
    r = c.post(
        f"/subsidy/applications/{app_id}/documents",
        data={"csrf_token": c.csrf, "kind": "contract"},
        files={"file": ("合同.pdf", sb.PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    bad = c.post(
        f"/subsidy/applications/{app_id}/documents",
        data={"csrf_token": c.csrf, "kind": "invoice"},
        files={"file": ("x.exe", b"MZ\x90\x00", "application/octet-stream")},
        follow_redirects=False,
    )
    assert bad.status_code == 422
    o = page_client_for(op)
    r = _post(o, f"/subsidy/applications/{app_id}/approve", {"amount_yuan": "120000.00", "idempotency_key": "a1"})
    assert r.status_code == 303, r.text
    page = BeautifulSoup(o.get(r.headers["location"]).text, "html.parser")
    assert "12 万元" in page.select_one("dl.facts").text
    again = _post(o, f"/subsidy/applications/{app_id}/approve", {"amount_yuan": "120000.00", "idempotency_key": "a1"})
    assert again.status_code == 303  # the same click twice: one approval, one reservation
    assert [e.kind for e in service.ledger_entries(session, op, application_id=app_id)] == ["reserve"]


def test_operator_dashboard_and_excel_export(session, page_client_for):
    op = builders.operator(session)
    o = page_client_for(op)
    page = o.get("/subsidy/dashboard")
    assert page.status_code == 200
    html = BeautifulSoup(page.text, "html.parser")
    assert html.select_one("#burn") and html.select_one("table#pools tr[data-code='wuhan-compute']")
    canada = html.select_one("table#pools tr[data-code='canada-ai-compute']").text
    assert "C$300,000,000" in canada and "CAD" not in canada  # one format per currency: its symbol, no code
    xlsx = o.get("/subsidy/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_an_operator_calculates_for_an_enterprise(session, page_client_for):
    ent, op = sb.wuhan_enterprise(session), builders.operator(session)
    o = page_client_for(op)
    form = BeautifulSoup(o.get("/subsidy/calculator").text, "html.parser")
    assert form.select_one(f"#f-org_id option[value='{ent.org_id}']")
    r = _post(
        o,
        "/subsidy/calculator",
        {"org_id": str(ent.org_id), "description": "GPU", "kind": "compute", "contract_yuan": "300000"},
        headers={"HX-Request": "true"},
    )
    assert BeautifulSoup(r.text, "html.parser").select_one(".qrow.best")["data-code"] == "wuhan-compute"
    e = page_client_for(ent)
    assert not BeautifulSoup(e.get("/subsidy/calculator").text, "html.parser").select_one("#f-org_id")


def test_the_calculators_apply_link_carries_the_purchase_into_the_form(session, page_client_for):
    c = page_client_for(sb.wuhan_enterprise(session))
    r = _post(
        c,
        "/subsidy/calculator",
        {"description": "GPU 算力", "kind": "compute", "contract_yuan": "300000", "flags": "domestic_chip"},
        headers={"HX-Request": "true"},
    )
    link = BeautifulSoup(r.text, "html.parser").select_one(".qrow.best a.btn")["href"]
    form = BeautifulSoup(c.get(link).text, "html.parser")
    assert form.select_one("#f-programme_code option[selected]")["value"] == "wuhan-compute"
    assert form.select_one("#f-contract_yuan")["value"] == "300000"
    assert form.select_one("input[name=flags][value=domestic_chip]").has_attr("checked")


def test_operator_expires_overdue_approvals_from_the_dashboard(session, page_client_for):
    o = page_client_for(builders.operator(session))
    r = _post(o, "/subsidy/expire", {})
    assert (r.status_code, r.headers["location"]) == (303, "/subsidy/dashboard?expired=0")
    assert _post(page_client_for(sb.wuhan_enterprise(session)), "/subsidy/expire", {}).status_code == 403


def test_an_enterprise_without_a_profile_is_told_to_fill_it_in(session, page_client_for):
    html = BeautifulSoup(page_client_for(builders.enterprise(session)).get("/subsidy/calculator").text, "html.parser")
    assert html.select_one(".alert.info") and html.select_one("a[href='/profile']")
    full = BeautifulSoup(page_client_for(sb.wuhan_enterprise(session)).get("/subsidy/calculator").text, "html.parser")
    assert not full.select_one(".alert.info")


def test_operator_sets_a_pool_budget_but_never_below_what_is_committed(session, page_client_for):
    ent, op = sb.wuhan_enterprise(session), builders.operator(session)
    application = sb.apply(
        session, ent, 30 * sb.WAN, programme_code="wuhan-compute", signed_on=None, starts_on=None, ends_on=None
    )
    service.approve_application(session, op, application.id)
    session.commit()
    o = page_client_for(op)
    year = str(application.budget_year)
    ok = _post(o, "/subsidy/pools/wuhan-compute", {"budget_yuan": "500000", "year": year})
    assert (ok.status_code, ok.headers["location"]) == (303, "/subsidy/dashboard?budget=set")
    row = BeautifulSoup(o.get("/subsidy/dashboard").text, "html.parser").select_one(
        "table#pools tr[data-code='wuhan-compute']"
    )
    assert "50 万元" in row.text
    assert _post(o, "/subsidy/pools/wuhan-compute", {"budget_yuan": "100000", "year": year}).status_code == 409
    assert _post(o, "/subsidy/pools/wuhan-compute", {"budget_yuan": "", "year": year}).status_code == 422
    for bad in ("NaN", "Infinity", "abc", "0.001", "1e30"):  # never a server error, never a budget
        assert _post(o, "/subsidy/pools/wuhan-compute", {"budget_yuan": bad, "year": year}).status_code == 422, bad


def test_apply_without_a_contract_number_marks_that_field(session, page_client_for):
    c = page_client_for(sb.wuhan_enterprise(session))
    r = _post(c, "/subsidy/apply", FORM | {"contract_no": "", "idempotency_key": "pk-none"})
    assert r.status_code == 422
    assert BeautifulSoup(r.text, "html.parser").select_one(".field.has-error #f-contract_no")


BAD_YUAN = ("1e999999999", "NaN", "Infinity", "-Infinity", "1e308", "-1", "0", "0.001", "abc", "1e30")


def test_every_amount_box_answers_422_to_a_number_that_is_no_amount(session, page_client_for):
    ent, op = sb.wuhan_enterprise(session), builders.operator(session)
    c, o = page_client_for(ent), page_client_for(op)
    app_id = _apply(c)
    for i, bad in enumerate(BAD_YUAN):
        assert _post(c, "/subsidy/calculator", {"description": "GPU", "contract_yuan": bad}).status_code == 422, bad
        r = _post(
            c, "/subsidy/apply", FORM | {"contract_yuan": bad, "contract_no": f"B-{i}", "idempotency_key": f"bad-{i}"}
        )
        assert r.status_code == 422, bad
        r = _post(o, f"/subsidy/applications/{app_id}/approve", {"amount_yuan": bad, "idempotency_key": f"a-{i}"})
        assert r.status_code == 422, (bad, r.text[-300:])
        assert _post(o, "/subsidy/pools/wuhan-compute", {"budget_yuan": bad}).status_code == 422, bad
    assert service.ledger_entries(session, op) == []


def test_the_budget_form_takes_the_apis_years_only(session, page_client_for):
    o = page_client_for(builders.operator(session))
    for year in ("99999999999999999999999", "٢٠٢٦", "1999", "2101", "-2026"):
        r = _post(o, "/subsidy/pools/wuhan-compute", {"budget_yuan": "1000", "year": year})
        assert r.status_code == 422, year
        assert "year" in BeautifulSoup(r.text, "html.parser").select_one(".alert.error").parent.text
    assert not any(p.year and p.year > 2100 for p in service_pools(session))


def service_pools(session):
    from smeai.subsidy import dashboard

    return dashboard.pools(session, builders.admin(session))


def test_programmes_are_grouped_by_where_they_apply_the_enterprises_own_first(session, page_client_for):
    html = BeautifulSoup(page_client_for(sb.wuhan_enterprise(session)).get("/subsidy").text, "html.parser")
    titles = [h.text for h in html.select("h2.group-title")]
    assert titles == ["贵企业注册地的项目", "中国其他地区", "中国以外"]
    first = [a["href"] for a in html.select(".grid")[0].select(".prog h3 a")]
    assert first == ["/subsidy/programmes/wuhan-compute"]
    abroad = {a["href"].rsplit("/", 1)[1] for a in html.select(".grid")[2].select(".prog h3 a")}
    assert abroad == {"canada-ai-compute", "singapore-ai-cloud", "singapore-psg", "uk-ai-skills"}


def test_an_ended_programme_says_so_everywhere_and_cannot_be_applied_for(session, page_client_for):
    ent = sb.beijing_enterprise(session)
    c = page_client_for(ent)
    card = BeautifulSoup(c.get("/subsidy").text, "html.parser").select_one(".prog[data-code='beijing-compute']")
    assert "已过期" in card.text
    page = BeautifulSoup(c.get("/subsidy/programmes/beijing-compute").text, "html.parser")
    assert "已过期" in page.h1.text and not page.select("a[href*='programme_code=beijing-compute']")
    form = BeautifulSoup(c.get("/subsidy/apply").text, "html.parser")
    assert not form.select("option[value='beijing-compute']")  # only programmes open today are offered
    r = _post(c, "/subsidy/apply", FORM | {"programme_code": "beijing-compute", "idempotency_key": "bj"})
    assert r.status_code == 409 or r.status_code == 422
    assert "申领期" in r.text or "项目期" in r.text or "期限" in r.text


def test_a_programme_page_speaks_to_the_reader_with_its_sources(session, page_client_for):
    c = page_client_for(sb.beijing_enterprise(session))
    page = c.get("/subsidy/programmes/beijing-compute").text
    html = BeautifulSoup(page, "html.parser")
    sources = html.select("ol.sources li")
    assert sources and sources[0].a["href"].startswith("http") and "人工智能算力券实施方案" in sources[0].text
    assert "每个自然年度累计申领和兑付算力券金额不超过200万元" in html.select_one("ol.sources").text
    assert "具备独立法人资格" in page  # what the applicant confirms
    for internal in ("eligibility.", "approved_suppliers", "不在本文件内", "beijing-compute", "（11）", "CNY"):
        assert internal not in html.select_one("main, body").get_text(), internal
    canada = BeautifulSoup(c.get("/subsidy/programmes/canada-ai-compute").text, "html.parser").get_text()
    assert "C$300,000,000" in canada and "CA CAD" not in canada and "加拿大" in canada


def test_the_calculator_shows_the_profile_and_every_reason_without_digging(session, page_client_for):
    c = page_client_for(sb.wuhan_enterprise(session))
    calc = BeautifulSoup(c.get("/subsidy/calculator").text, "html.parser")
    assert "湖北" in calc.select_one(".profile-facts").text
    assert not calc.select("input[name='offering_id']")  # no numeric id asked for
    r = _post(
        c,
        "/subsidy/calculator",
        {k: FORM[k] for k in ("description", "kind", "contract_yuan")},
        headers={"HX-Request": "true"},
    )
    html = BeautifulSoup(r.text, "html.parser")
    wuhan = html.select_one(".qrow[data-code='wuhan-compute']")
    assert wuhan.select("ul.rules li") and not wuhan.find_parent("details")  # reasons in sight
    beijing = html.select_one(".qrow[data-code='beijing-compute']")
    assert "北京" in beijing.text and "（11）" not in beijing.text and not beijing.find_parent("details")
    assert html.select_one("details .qrow[data-code='canada-ai-compute']")  # abroad: last, folded once
    assert "CA" not in html.select_one(".qrow[data-code='canada-ai-compute'] ul.rules").text.replace("Canada", "")


def test_the_readme_tours_voucher_account_applies_and_is_approved(session, page_client_for):
    """README: hangzhou@demo.smeai.cn (杭芯视觉, 杭州) finds 杭州市算力券 first, applies and is approved."""
    from smeai.db import utcnow
    from smeai.subsidy import demo

    name, _, _, profile = next(e for e in demo.ENTERPRISES if e[1] == "hangzhou@demo.smeai.cn")
    sb.open_years(session, "hangzhou-compute", utcnow().year)  # the demo operator opens this year
    ent, op = builders.enterprise(session, name, profile=profile), builders.operator(session)
    c = page_client_for(ent)
    first = BeautifulSoup(c.get("/subsidy").text, "html.parser").select(".grid")[0]
    assert "/subsidy/programmes/hangzhou-compute" in {a["href"] for a in first.select(".prog h3 a")}
    purchase = {
        "description": "国产芯片训练算力 1 年",
        "kind": "compute",
        "contract_yuan": "500000",
        "flags": "domestic_chip",
    }
    quote = BeautifulSoup(_post(c, "/subsidy/calculator", purchase, headers={"HX-Request": "true"}).text, "html.parser")
    row = quote.select_one(".qrow[data-code='hangzhou-compute']")
    assert "15 万元" in row.text and row.select_one("a[href*='programme_code=hangzhou-compute']")
    app_id = _apply(
        c,
        programme_code="hangzhou-compute",
        supplier_name="阿里云",
        contract_no="TOUR-1",
        flags="domestic_chip",
        contract_yuan="500000",
        description=purchase["description"],
    )
    c.post(
        f"/subsidy/applications/{app_id}/documents",
        data={"csrf_token": c.csrf, "kind": "contract"},
        files={"file": ("合同.pdf", sb.PDF, "application/pdf")},
    )
    o = page_client_for(op)
    queue = BeautifulSoup(o.get("/subsidy/applications").text, "html.parser")
    assert "杭州市算力券" in queue.text and "hangzhou-compute" not in queue.select_one("table").text
    r = _post(o, f"/subsidy/applications/{app_id}/approve", {"amount_yuan": "150000.00", "idempotency_key": "t1"})
    assert r.status_code == 303, r.text
    assert service.get_application(session, op, app_id).state == "approved"


def test_an_operator_uploads_a_rule_file_and_sees_its_versions(session, page_client_for, tmp_path, monkeypatch):
    from smeai.subsidy import programmes

    monkeypatch.setattr(programmes, "operator_store", lambda: LocalStorage(tmp_path))
    op = builders.operator(session)
    o = page_client_for(op)
    text = (programmes.DATA / "chengdu-model.yaml").read_text(encoding="utf-8")

    def upload(body: str):
        return o.post(
            "/subsidy/programmes/upload",
            data={"csrf_token": o.csrf, "code": "chengdu-model"},
            files={"file": ("成都.yaml", body.encode(), "application/x-yaml")},
            follow_redirects=False,
        )

    bad = upload(text.replace("rate: 30%", "rate: 30%\nrate_mode: first"))
    assert bad.status_code == 422 and "rate_mode" in bad.text
    r = upload(text.replace("最高 100 万元", "最高 100 万元（运营方核对）"))
    assert r.status_code == 303, r.text
    page = BeautifulSoup(o.get(r.headers["location"]).text, "html.parser")
    versions = page.select("ul.versions li")
    assert len(versions) == 2 and "当前" in versions[0].text and "随版本发布" in versions[1].text
    old = o.get(versions[1].a["href"])
    assert old.status_code == 200 and old.text == text
    ent = page_client_for(sb.wuhan_enterprise(session))
    assert not BeautifulSoup(ent.get("/subsidy/programmes/chengdu-model").text, "html.parser").select("ul.versions")
    assert ent.get(versions[1].a["href"]).status_code == 403
