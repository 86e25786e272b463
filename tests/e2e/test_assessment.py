"""A newcomer takes the self-diagnosis on a phone screen, sees the result page and downloads the PDF."""

from __future__ import annotations

import pytest

from tests import builders
from tests.e2e.helpers import shot

_shot = shot

pytestmark = pytest.mark.e2e


def _answer_step(page) -> None:
    """Answer every question on the page the way a hurried owner would: a middle option, a few ticks."""
    questions = page.locator(".asm-q")
    for i in range(questions.count()):
        q = questions.nth(i)
        radios, boxes, number = (
            q.locator("input[type=radio]"),
            q.locator("input[name^=q_][type=checkbox]"),
            q.locator("input[type=number]"),
        )
        if radios.count():
            radios.nth(min(2, radios.count() - 1)).check()
        elif boxes.count():
            boxes.nth(0).check()
            boxes.nth(1).check()
        elif number.count():
            number.fill("3")
            number.dispatch_event("change")


def test_newcomer_completes_the_questionnaire_and_gets_result_and_pdf(session, live_server, page, tmp_path):
    builders.enterprise(
        session,
        "赣江光电有限公司",
        email="boss@ganjiang.cn",
        profile={"mfg_division": "39", "province_code": "36", "city": "南昌"},
    )
    session.commit()
    page.goto(live_server + "/login")
    page.fill("#email", "boss@ganjiang.cn")
    page.fill("#password", builders.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/")

    page.goto(live_server + "/assessment")
    page.click("button[data-start=smeai-ai-maturity]")
    page.wait_for_url("**/step/1")
    step = 1
    while True:
        _answer_step(page)
        if step == 2:
            page.wait_for_selector("#save-status:has-text('已保存')")  # autosaved before leaving the step
            _shot(page, "assessment-step")
        finish = page.locator("button[value=finish]")
        if finish.count():
            finish.click()
            break
        page.click("button[value=next]")
        step += 1
        page.wait_for_url(f"**/step/{step}")
    assert step == 8
    page.wait_for_url("**/review")
    page.click("#finish")
    page.wait_for_selector("#radar canvas")
    assert page.locator("[data-overall]").inner_text()
    assert page.locator("[data-stage]").count() == 1
    assert page.locator("[data-rec]").count() >= 1
    _shot(page, "assessment-result")

    with page.expect_download() as download:
        page.click("#pdf")
    path = tmp_path / "report.pdf"
    download.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF") and path.stat().st_size > 20_000
