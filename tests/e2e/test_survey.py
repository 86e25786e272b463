"""An analyst imports a survey in the browser, sees the chapter-4 charts drawn, filters by section."""

from __future__ import annotations

import os
import threading

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


@pytest.mark.parametrize(("width", "locale"), [(390, "zh-CN"), (1280, "en-US")])
def test_a_large_upload_shows_its_progress_and_then_its_result_by_itself(
    session, live_server, browser, monkeypatch, tmp_path, width, locale
):
    from smeai.survey import uploads
    from tests.e2e.helpers import login, shot
    from tests.survey import handmade

    builders.analyst(session, email="up@survey.cn")
    session.commit()
    release = threading.Event()
    real = uploads._reporter

    def held(factory, upload_id, me, *, live_rows):
        report = real(factory, upload_id, me, live_rows=live_rows)

        def hold_while_writing(stage, done, total):
            report(stage, done, total)
            if stage == "importing" and done == 0:
                release.wait(30)  # the page must show "writing" until the test lets the import go on

        return hold_while_writing

    monkeypatch.setattr(uploads, "_reporter", held)
    context = browser.new_context(viewport={"width": width, "height": 900}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        login(page, live_server, "up@survey.cn")
        page.goto(live_server + "/survey/import?lang=" + ("zh_Hans" if locale == "zh-CN" else "en"))  # kept
        page.fill("#wave", "2031")
        data = tmp_path / "survey.csv"
        data.write_text(handmade.csv_text(), encoding="utf-8")
        page.set_input_files("#file", str(data))
        page.click("form.card button.btn")
        page.wait_for_url(lambda url: "/survey/imports/" in url)
        writing = "正在写入数据" if locale == "zh-CN" else "Writing the rows"
        expect(page.locator("#upload-state")).to_have_text(writing)  # the page polled its way here
        assert page.locator("progress#upload-progress").is_visible()
        box = page.locator("#upload").bounding_box()  # fits the screen (the English header at 1280 px does
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width  # not: another matter)
        shot(page, f"survey-upload-running-{width}")
        other = context.new_page()  # the wave is not there while its rows are being written
        other.goto(live_server + "/survey?wave=2031")
        assert other.locator("#kpi-n").count() == 0
        other.close()
        release.set()
        expect(page.locator("#upload")).to_have_attribute("data-state", "done")  # updated by itself
        assert page.locator("#reasons tr").count() == 1 + len(handmade.expected_reasons())
        box = page.locator("#reasons").bounding_box()  # on a phone each reason is a card, not a wide table
        assert box is not None and box["x"] + box["width"] <= width
        done = "已导入" if locale == "zh-CN" else "Imported"
        expect(page.locator("#upload-state")).to_have_text(done)
        shot(page, f"survey-upload-done-{width}")
        page.click("#import-result a[href^='/survey?wave=']")
        assert page.locator("#kpi-n").inner_text() == "8"
    finally:
        release.set()
        context.close()
