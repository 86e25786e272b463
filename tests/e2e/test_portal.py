"""A newcomer logs in and fills in the organisation profile, in a real browser, on a phone-sized screen."""

from __future__ import annotations

import pytest

from tests import builders
from tests.e2e.helpers import log_out, shot

_shot = shot

pytestmark = pytest.mark.e2e


def test_login_and_fill_in_the_profile(session, live_server, page):
    builders.enterprise(session, "赣光电子科技有限公司", email="chen@ganguang.cn")
    session.commit()

    page.goto(live_server + "/")
    assert "AI 应用赋能中心" in page.title()
    _shot(page, "home")
    page.click("text=登录开始使用")
    page.fill("#email", "chen@ganguang.cn")
    page.fill("#password", "wrong password")
    page.click("button[type=submit]")
    assert page.locator(".alert.error").inner_text().strip() == "邮箱或密码错误。"

    page.fill("#password", builders.PASSWORD)
    page.click("button[type=submit]")
    page.goto(live_server + "/profile")
    assert "赣光电子科技有限公司" in page.content()

    # A bad submission: field messages, nothing saved.
    page.select_option("#f-industry_section", "C")
    page.select_option("#f-province_code", "36")
    page.fill("#f-city", "")
    page.click("text=保存资料")
    assert page.locator(".field.has-error").count() >= 3
    assert page.locator(".field.has-error:has(#f-city) .error").inner_text() == "此项为必填项。"
    assert page.locator(".field.has-error:has(#f-mfg_division) .error").inner_text() == "制造业必须填写。"
    _shot(page, "profile-errors")

    page.select_option("#f-mfg_division", "39")
    page.fill("#f-city", "南昌")
    page.select_option("#f-size_class", "small")
    page.select_option("#f-revenue_band", "2-4")
    page.click("text=保存资料")
    assert page.locator(".alert.ok").inner_text().strip() == "资料已保存。"
    page.reload()
    assert page.locator("#f-city").input_value() == "南昌"
    assert page.locator("#f-mfg_division").input_value() == "39"
    _shot(page, "profile-saved")

    log_out(page)
    page.goto(live_server + "/profile")
    assert "/login" in page.url
