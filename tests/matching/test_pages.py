"""The /matching pages: each role sees its side; forms report field errors; the menu quotes a plan."""

from __future__ import annotations

from bs4 import BeautifulSoup

from smeai.matching import engagements
from tests import builders
from tests.matching.builders import offering

PROFILE = {"industry_section": "C", "mfg_division": "33", "province_code": "44", "city": "广州"}


def test_an_enterprise_describes_a_need_and_shows_interest_the_provider_sees_it(session, page_client_for):
    firm = builders.enterprise(session, profile=PROFILE)
    vendor = builders.provider(session, "甲视觉")
    item = offering(session, "甲视觉", id="fit")
    session.commit()
    web = page_client_for(firm)
    r = web.post(
        "/matching/needs/new",
        data={
            "csrf_token": web.csrf,
            "title": "螺栓外观检测",
            "text": "出货前靠老师傅拿眼睛挑，裂纹经常漏掉。",
            "budget_wan": "30",
        },
        follow_redirects=True,
    )
    assert r.status_code == 200
    page = BeautifulSoup(r.text, "html.parser")
    assert "瑕疵眼" in page.select_one("#matches").text
    assert "适用行业：金属制品业" in page.select_one("#matches").text
    need_id = int(str(r.url).rsplit("/", 1)[1])
    r = web.post(
        f"/matching/needs/{need_id}/interest",
        data={"csrf_token": web.csrf, "offering_id": item.id},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "服务商已收到通知" in r.text
    (e,) = engagements.list_engagements(session, vendor)
    provider_page = page_client_for(vendor).get(f"/matching/engagements/{e.id}")
    assert provider_page.status_code == 200 and f'action="/matching/engagements/{e.id}/respond"' in provider_page.text
    # Outsiders get 404 (tests/matching/test_api.py); the page edge shares the services' scoping.


def test_a_need_without_text_comes_back_with_field_errors(session, page_client_for):
    web = page_client_for(builders.enterprise(session, profile=PROFILE))
    r = web.post("/matching/needs/new", data={"csrf_token": web.csrf, "title": "空"})
    assert r.status_code == 422 and "has-error" in r.text


def test_the_operator_sees_the_funnel(session, page_client_for):
    r = page_client_for(builders.operator(session)).get("/matching/funnel")
    assert r.status_code == 200 and BeautifulSoup(r.text, "html.parser").select("#stages tr")


def test_the_menu_quotes_the_huadu_plan(session, page_client_for):
    from smeai.matching import menu
    from smeai.matching.schemas import ModuleIn

    vendor = builders.provider(session, "花都智造")
    item = offering(session, "花都智造", id="menu-1")
    module = menu.add_module(session, vendor, ModuleIn(offering_id=item.id, name="外观质检", price_fen=6_000_000))
    session.commit()
    web = page_client_for(builders.enterprise(session, profile=PROFILE))
    r = web.post(
        "/matching/menu/quote",
        data={"csrf_token": web.csrf, "module_ids": [str(module.id)], "programme": "huadu-tiered"},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200
    cells = [td.text for td in BeautifulSoup(r.text, "html.parser").select("#plan td")]
    assert cells[:3] == ["第 1 年", "100%", "0 元"]


def test_a_need_is_edited_and_closed_from_its_page(session, page_client_for):
    firm = builders.enterprise(session, profile=PROFILE)
    web = page_client_for(firm)
    r = web.post(
        "/matching/needs/new",
        data={"csrf_token": web.csrf, "title": "排产", "text": "订单多了车间乱套，交期老拖"},
        follow_redirects=True,
    )
    need_id = int(str(r.url).rsplit("/", 1)[1])
    bad = web.post(
        f"/matching/needs/{need_id}/edit",
        data={"csrf_token": web.csrf, "title": "排产", "text": "x", "budget_wan": "很多"},
    )
    assert (
        bad.status_code == 422
        and "has-error" in BeautifulSoup(bad.text, "html.parser").select_one(".field:has(#f-budget_wan)")["class"]
    )
    web.post(
        f"/matching/needs/{need_id}/edit",
        data={"csrf_token": web.csrf, "title": "排产", "budget_wan": "12", "text": "仓库货位乱，拣货找不到货"},
    )
    from smeai.matching import service

    need = service.get_need(session, firm, need_id)
    session.refresh(need)
    assert (need.budget_fen, need.scenarios[0]) == (12_000_000, "warehouse_layout")  # re-detected
    web.post(f"/matching/needs/{need_id}/status", data={"csrf_token": web.csrf, "status": "closed"})
    session.refresh(need)
    assert need.status == "closed"


def test_challenge_published_proposed_and_awarded_through_the_pages(session, page_client_for):
    firm, vendor = builders.enterprise(session, profile=PROFILE), builders.provider(session)
    owner = page_client_for(firm)
    r = owner.post(
        "/matching/challenges",
        data={"csrf_token": owner.csrf, "title": "焊缝缺陷识别", "problem": "焊缝气孔靠人工看片", "budget_wan": "50"},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "焊缝气孔靠人工看片" in r.text
    challenge_id = int(str(r.url).rsplit("/", 1)[1])
    bad = owner.post("/matching/challenges", data={"csrf_token": owner.csrf, "title": "", "problem": ""})
    assert bad.status_code == 422
    for huge in ("9" * 400, "inf"):  # a field error, never a crash
        odd = owner.post(
            "/matching/challenges",
            data={"csrf_token": owner.csrf, "title": "大预算", "problem": "p", "budget_wan": huge},
        )
        assert odd.status_code == 422 and "budget" in odd.text
        odd_need = owner.post(
            "/matching/needs/new", data={"csrf_token": owner.csrf, "title": "t", "text": "x", "budget_wan": huge}
        )
        assert odd_need.status_code == 422
    proposer = page_client_for(vendor)
    r = proposer.post(
        f"/matching/challenges/{challenge_id}/proposals",
        data={"csrf_token": proposer.csrf, "summary": "小样本缺陷检测", "price_wan": "30"},
        follow_redirects=True,
    )
    assert "小样本缺陷检测" in BeautifulSoup(r.text, "html.parser").select_one("#proposals").text
    page = BeautifulSoup(owner.get(f"/matching/challenges/{challenge_id}").text, "html.parser")
    head = [th.text for th in page.select("#proposals th")]
    status = page.select("#proposals tr")[1].select("td")[2].text
    assert (head[0], status) == ("方案", "已提交")  # not 方案洽谈 (an engagement's stage) nor 提交时间 (a column)
    award = page.select_one("#proposals form[action$='/award']")["action"]
    r = owner.post(award, data={"csrf_token": owner.csrf}, follow_redirects=True)
    assert r.status_code == 200 and "/matching/engagements/" in str(r.url)
    rows = BeautifulSoup(owner.get("/matching").text, "html.parser").select("#engagements tr")
    assert "#" not in [th.text for th in rows[0].select("th")] and len(rows) == 2  # names, no id column
    assert rows[1].select("td")[0].text.strip() and not rows[1].select("td")[0].text.strip().isdigit()


def test_a_menu_package_is_sent_as_a_need_from_the_page(session, page_client_for):
    from smeai.matching import menu

    vendor = builders.provider(session, "花都智造")
    item = offering(session, "花都智造", id="menu-1")
    session.commit()
    provider_web = page_client_for(vendor)
    r = provider_web.post(
        "/matching/menu/modules",
        data={"csrf_token": provider_web.csrf, "offering_id": item.id, "name": "外观质检", "price_yuan": "60000"},
        follow_redirects=True,
    )
    assert "外观质检" in BeautifulSoup(r.text, "html.parser").select_one("#modules").text
    (module,) = [m for m, _o in menu.list_menu(session)]
    assert module.price_fen == 6_000_000
    web = page_client_for(builders.enterprise(session, profile=PROFILE))
    r = web.post(
        "/matching/menu/send", data={"csrf_token": web.csrf, "module_ids": [str(module.id)]}, follow_redirects=True
    )
    assert r.status_code == 200 and "/matching/needs/" in str(r.url) and "外观质检" in r.text


def _need_on_page(session, page_client_for):
    firm = builders.enterprise(session, profile=PROFILE)
    item = offering(session, "甲视觉", id="fit")
    session.commit()
    web = page_client_for(firm)
    r = web.post(
        "/matching/needs/new",
        data={"csrf_token": web.csrf, "title": "螺栓外观检测", "text": "裂纹经常漏掉"},
        follow_redirects=True,
    )
    return firm, item, web, int(str(r.url).rsplit("/", 1)[1])


def test_a_malformed_status_scenario_or_offering_is_a_422_not_a_500(session, page_client_for):
    firm, item, web, need_id = _need_on_page(session, page_client_for)
    for path, data in (
        ("status", {"status": "finished"}),
        ("status", {}),
        ("scenarios", {"scenarios": ["quality_inspection", "no_such_scenario"]}),
        ("scenarios", {"scenarios": ["quality_inspection"] * 21}),
        ("interest", {"offering_id": "abc"}),
        ("interest", {"offering_id": "1" + "0" * 30}),
        ("interest", {"offering_id": "-1"}),
        ("interest", {"offering_id": str(item.id), "note": "长" * 2001}),
        ("introduce", {"offering_id": "abc"}),
    ):
        r = web.post(f"/matching/needs/{need_id}/{path}", data={"csrf_token": web.csrf} | data)
        assert r.status_code == 422, (path, data, r.status_code)
    for path in (f"/matching/needs/{10**30}", "/matching/needs/abc", f"/matching/engagements/{-1}"):
        assert web.get(path).status_code == 422, path
    from smeai.matching import service

    need = service.get_need(session, firm, need_id)
    session.refresh(need)
    assert (need.status, need.scenarios_confirmed) == ("open", False)  # nothing half-applied
    assert engagements.list_engagements(session, firm, need_id=need_id) == []  # a list is not an engagement


def test_amount_boxes_take_whole_fen_and_refuse_what_is_not_an_amount(session, page_client_for):
    _firm, _item, web, need_id = _need_on_page(session, page_client_for)
    for typed in ("nan", "inf", "-1", "1e999999999", "1e16", "0.0000001", "12abc", "1" * 60):
        r = web.post(
            f"/matching/needs/{need_id}/edit",
            data={"csrf_token": web.csrf, "title": "t", "text": "x", "budget_wan": typed},
        )
        assert r.status_code == 422, typed
        assert "has-error" in BeautifulSoup(r.text, "html.parser").select_one(".field:has(#f-budget_wan)")["class"]
    ok = web.post(
        f"/matching/needs/{need_id}/edit",
        data={"csrf_token": web.csrf, "title": "t", "text": "x", "budget_wan": "0.000001"},  # one fen
        follow_redirects=False,
    )
    assert ok.status_code == 303
    vendor = builders.provider(session, "花都智造")
    item = offering(session, "花都智造", id="menu-1")
    session.commit()
    provider_web = page_client_for(vendor)
    for typed in ("0.001", "nan", "", "1e400"):  # 元: whole fen only
        r = provider_web.post(
            "/matching/menu/modules",
            data={"csrf_token": provider_web.csrf, "offering_id": item.id, "name": "质检", "price_yuan": typed},
        )
        assert r.status_code == 422, typed


def test_viewing_a_need_writes_nothing_even_when_its_list_is_computed_again(session, page_client_for):
    """A GET writes nothing (a link prefetcher or crawler must not change data): the list a view computes
    after a catalog change is kept by the worker, not stored on the need; the next write stores it."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from smeai.matching import service
    from smeai.matching.models import Need
    from smeai.matching.schemas import NeedIn

    firm = builders.enterprise(session, profile=PROFILE)
    builders.provider(session, "甲视觉")
    offering(session, "甲视觉", id="fit")
    need = service.create_need(session, firm, NeedIn(title="视觉检测", text="想用视觉检测代替人工目检外观缺陷"))
    session.commit()
    stored = need.snapshot
    builders.provider(session, "乙视觉")
    offering(session, "乙视觉", id="second", name="乙视觉·外观检测工位")  # the stored list is out of date now
    session.commit()
    web = page_client_for(firm)
    writes: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        pages = [web.get(f"/matching/needs/{need.id}") for _ in range(2)]
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert [p.status_code for p in pages] == [200, 200] and writes == []
    assert all("乙视觉·外观检测工位" in p.text for p in pages)  # the list computed again, shown
    session.expire_all()
    assert session.get(Need, need.id).snapshot == stored  # not written
