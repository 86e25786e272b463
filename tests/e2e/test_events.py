"""Events in a real browser: an operator publishes a course and a matchmaking day; two enterprises register,
the second from the waiting list after the first cancels; a provider books a meeting with an enterprise,
which opens an engagement from it; the operator checks people in from the list and from a scanned ticket;
each role sees only its side."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from smeai.db import utcnow
from smeai.events.models import Registration
from smeai.events.pages import LOCAL
from smeai.matching import service as matching_service
from smeai.matching.schemas import NeedIn
from tests import builders
from tests.e2e.helpers import log_out, login, shot
from tests.matching.builders import offering

pytestmark = pytest.mark.e2e


def _shot(page, name: str) -> None:
    shot(page, name, prefix="events-")


def _publish(page, base: str, *, kind: str, title: str, capacity: int, days: int) -> str:
    start = (utcnow() + timedelta(days=days)).astimezone(LOCAL).replace(hour=9, minute=0, second=0, microsecond=0)
    page.goto(base + "/events/new")
    page.select_option("#f-kind", kind)
    page.fill("#f-title", title)
    page.fill("#f-summary", "面向制造企业的活动。")
    page.fill("#f-starts_at", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#f-ends_at", (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#f-place", "赋能中心报告厅")
    page.fill("#f-capacity", str(capacity))
    if kind == "matchmaking":
        page.fill("#f-slot_minutes", "30")
    page.fill("#f-experts", "王敏，华南理工大学，大模型入门")
    page.click("#event-form button[type=submit]")
    page.wait_for_url(lambda url: "/events/new" not in url)
    assert "活动已发布" in page.locator("main").inner_text()
    return page.url


def test_course_and_matchmaking_day_each_side_seeing_its_own(session, live_server, page):
    builders.operator(session, email="op@centre.cn")
    first = builders.enterprise(session, "永年紧固件有限公司", email="a@bolts.cn")
    builders.enterprise(session, "邻厂纺织有限公司", email="b@textile.cn")
    builders.provider(session, "杭州智瞳视觉科技有限公司", email="sales@zhitong.cn")
    offering(session, "杭州智瞳视觉科技有限公司", id="e2e-ev", name="瑕疵眼·工业外观缺陷检测云")
    matching_service.create_need(
        session, first, NeedIn(title="螺栓出货前外观全检", text="出货前全靠老师傅拿眼睛挑，裂纹经常漏掉。")
    )
    session.commit()

    # The operator publishes a course (one seat) and a matchmaking day.
    login(page, live_server, "op@centre.cn")
    course_url = _publish(page, live_server, kind="course", title="AI 素养培训", capacity=1, days=7)
    day_url = _publish(page, live_server, kind="matchmaking", title="紧固件行业供需对接日", capacity=10, days=9)
    _shot(page, "published")
    log_out(page)

    # The first enterprise takes the seat; the second joins the waiting list.
    login(page, live_server, "a@bolts.cn")
    page.goto(course_url)
    page.click("#register")
    assert "报名成功" in page.locator("#registration").inner_text()
    assert page.locator("#ticket svg").count() == 1
    log_out(page)
    login(page, live_server, "b@textile.cn")
    page.goto(course_url)
    page.click("#register")
    assert "候补第 1 位" in page.locator("main").inner_text()
    assert page.locator("#ticket").count() == 0
    log_out(page)

    # The first cancels: the second moves up from the waiting list and gets a ticket.
    login(page, live_server, "a@bolts.cn")
    page.goto(course_url)
    page.click("text=取消报名")
    assert "报名已取消" in page.locator("main").inner_text()
    page.goto(day_url)
    page.click("#register")
    log_out(page)
    login(page, live_server, "b@textile.cn")
    page.goto(course_url)
    assert "报名成功" in page.locator("#registration").inner_text()
    assert page.locator("#ticket svg").count() == 1
    _shot(page, "ticket")
    log_out(page)

    # The provider registers for the day and books a meeting with the first enterprise about its offering.
    login(page, live_server, "sales@zhitong.cn")
    page.goto(day_url)
    page.click("#register")
    page.goto(day_url + "/meetings")
    page.select_option("#f-with_org_id", label="永年紧固件有限公司")
    page.select_option("#f-slot", index=1)
    page.select_option("#f-offering_id", label="瑕疵眼·工业外观缺陷检测云")
    page.click("#book button[type=submit]")
    assert "已预约" in page.locator("main").inner_text()
    assert "永年紧固件有限公司" in page.locator("#schedule").inner_text()
    assert page.locator(".open-engagement").count() == 0  # the enterprise decides to follow up
    _shot(page, "meetings")
    log_out(page)

    # The other enterprise sees nothing of it.
    login(page, live_server, "b@textile.cn")
    page.goto(day_url + "/meetings")
    assert "永年紧固件有限公司" not in page.locator("main").inner_text()
    assert page.request.get(live_server + "/api/v1/events/registrations").json()["total"] == 1  # its own only
    log_out(page)

    # The enterprise sees the meeting in its schedule and opens an engagement from it.
    login(page, live_server, "a@bolts.cn")
    page.goto(day_url + "/meetings")
    assert "杭州智瞳视觉科技有限公司" in page.locator("#schedule").inner_text()
    page.goto(live_server + "/events")
    assert "紧固件行业供需对接日" in page.locator("#my-meetings").inner_text()
    _shot(page, "index")
    page.goto(day_url + "/meetings")
    page.select_option(".open-engagement select[name=need_id]", label="螺栓出货前外观全检")
    page.click("text=转入落地跟进")
    page.wait_for_url(lambda url: "/matching/engagements/" in url)
    assert "瑕疵眼·工业外观缺陷检测云" in page.locator("main").inner_text()
    _shot(page, "engagement")
    log_out(page)

    # The operator checks the course's attendee in from the list, and the day's from a scanned ticket.
    login(page, live_server, "op@centre.cn")
    page.goto(course_url)
    page.click("#registrations button:has-text('签到')")
    assert "已签到" in page.locator("main").inner_text()
    session.expire_all()
    ticket = session.scalar(
        select(Registration.ticket).where(Registration.user_id == first.user_id, Registration.status == "registered")
    )
    page.goto(f"{live_server}/events/checkin/{ticket}")
    assert "永年紧固件有限公司" in page.locator("#checkin").inner_text()
    page.click("#do-checkin")
    assert "已签到" in page.locator("main").inner_text()
    page.goto(course_url + "/report")
    assert "邻厂纺织有限公司" in page.locator("#by-org").inner_text()
    _shot(page, "report")
    log_out(page)

    # Only staff may open a ticket's check-in page.
    login(page, live_server, "b@textile.cn")
    assert page.request.get(f"{live_server}/events/checkin/{ticket}").status in (403, 404)
