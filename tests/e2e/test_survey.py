"""An analyst imports a survey in the browser, sees the chapter-4 charts drawn, filters by section."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from smeai.survey import demo
from tests import builders

pytestmark = pytest.mark.e2e
SHOTS = os.environ.get("SMEAI_SCREENSHOTS")


def test_analyst_sees_the_charts_and_filters_them(session, live_server, page):
    builders.analyst(session, email="ana@survey.cn")
    demo.load(session)
    session.commit()
    page.goto(live_server + "/login")
    page.fill("#email", "ana@survey.cn")
    page.fill("#password", builders.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/")
    page.goto(live_server + "/survey")
    assert page.locator("#kpi-n").inner_text() == "6000"
    page.wait_for_selector('.chart[data-key="links_by_group"] canvas')  # ECharts drew figure 5
    assert page.locator(".chart canvas").count() >= 11
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "survey-dashboard.png"), full_page=True)
    page.select_option("#f-section", "C")
    expect(page.locator("#kpi-n")).not_to_have_text("6000")  # no string eval: the page's CSP forbids it
    assert int(page.locator("#kpi-n").inner_text()) < 6000
    assert "section=C" in page.url
