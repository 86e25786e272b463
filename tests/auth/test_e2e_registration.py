"""In a real browser, against a real local SMTP server: an enterprise registers, verifies its address from
the email, the centre verifies the organisation, and the enterprise applies for a voucher; an organisation's
admin invites a colleague, who accepts, resets the password, and every older login of theirs ends."""

from __future__ import annotations

import pytest

from smeai.auth import service
from smeai.auth.schemas import credit_check_char
from tests import builders
from tests.e2e.helpers import login, shot
from tests.mail.smtp import urls
from tests.subsidy import builders as sb

pytestmark = pytest.mark.e2e


def _page(browser, width: int = 390):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def _code(serial: int) -> str:
    first = f"91420100{serial:09d}"
    return first + credit_check_char(first)


def test_register_verify_approve_and_apply(session, live_server, browser, smtp):
    sb.open_years(session, "wuhan-compute", sb.TODAY.year, sb.utcnow().year)
    builders.operator(session, email="wang@centre.cn")
    session.commit()
    code = _code(77)

    ent = _page(browser)
    ent.goto(live_server + "/login")
    ent.click("a[href='/register']")
    ent.fill("[name='name']", "周经理")
    ent.fill("[name='email']", "zhou@hanjiang.cn")
    ent.fill("[name='password']", "hanjiang-2026")
    ent.fill("[name='organisation.name']", "汉江智造科技有限公司")
    ent.fill("[name='organisation.credit_code']", code[:-1] + ("0" if code[-1] != "0" else "1"))  # a typo first
    ent.select_option("[name='organisation.kind']", "enterprise")
    ent.select_option("[name='organisation.province_code']", "42")
    ent.select_option("[name='organisation.industry']", "C39")
    ent.check("[name='consent']")
    ent.click("form[action='/register'] button[type=submit]")
    assert "校验码" in ent.locator(".field.has-error").inner_text()
    shot(ent, "register-error", prefix="auth-")
    ent.fill("[name='password']", "hanjiang-2026")
    ent.fill("[name='organisation.credit_code']", code)
    ent.click("form[action='/register'] button[type=submit]")
    assert ent.locator("h1").inner_text() == "请查收邮件"

    (message,) = smtp.wait_for("zhou@hanjiang.cn")
    (link,) = urls(message)
    ent.goto(link)
    assert "邮箱已验证" in ent.locator("main").inner_text()
    login(ent, live_server, "zhou@hanjiang.cn", "hanjiang-2026")
    ent.goto(live_server + "/organisation")
    assert "等待赋能中心审核" in ent.locator("main").inner_text()
    shot(ent, "organisation-pending", prefix="auth-")

    op = _page(browser, 1366)
    login(op, live_server, "wang@centre.cn")
    op.goto(live_server + "/verification")
    card = op.locator(".card", has_text="汉江智造科技有限公司")
    assert code in card.inner_text()
    shot(op, "verification-queue", prefix="auth-")
    card.locator("button[value='approve']").click()
    op.wait_for_url("**/verification")
    assert op.locator(".card", has_text="汉江智造科技有限公司").count() == 0
    smtp.wait_for("zhou@hanjiang.cn", 2)  # the result, by email

    # verified: the profile the vouchers need, then the application
    org = service.find_organisation_by_code(session, code)
    assert org is not None
    ent.goto(live_server + "/profile")
    ent.fill("#f-city", "武汉")
    ent.select_option("#f-size_class", "small")
    ent.select_option("#f-revenue_band", "0-2")
    ent.click("form[action='/profile'] button[type=submit]")
    ent.goto(live_server + "/subsidy/apply?programme=wuhan-compute")
    ent.select_option("#f-programme_code", "wuhan-compute")
    ent.fill("#f-description", "GPU 算力租用（质检模型训练）")
    ent.select_option("#f-kind", "compute")
    ent.fill("#f-contract_yuan", "300000")
    ent.fill("#f-supplier_name", "武汉人工智能计算中心")
    ent.fill("#f-contract_no", "HJ-2026-001")
    ent.click("form[action='/subsidy/apply'] button[type=submit]")
    ent.wait_for_url("**/subsidy/applications/*")
    assert ent.locator(".state").first.inner_text() == "已提交"
    shot(ent, "applied", prefix="auth-")


def test_invite_accept_reset_and_old_sessions_end(session, live_server, browser, smtp):
    builders.enterprise(session, "赣光电子有限公司", email="boss@ganguang.cn")
    session.commit()
    boss = _page(browser, 1366)
    login(boss, live_server, "boss@ganguang.cn")
    boss.goto(live_server + "/organisation")
    boss.fill("form[action='/organisation/invitations'] [name='email']", "li@ganguang.cn")
    boss.click("form[action='/organisation/invitations'] button[type=submit]")
    assert "邀请已发送" in boss.locator("main").inner_text()
    shot(boss, "members", prefix="auth-")

    (invitation,) = smtp.wait_for("li@ganguang.cn")
    (link,) = urls(invitation)
    li = _page(browser)
    li.goto(link)
    li.fill("[name='name']", "李工")
    li.fill("[name='password']", "ganguang-2026")
    li.check("[name='consent']")
    li.click("form[action='/invitations/accept'] button[type=submit]")
    assert "账号已创建" in li.locator("main").inner_text()
    login(li, live_server, "li@ganguang.cn", "ganguang-2026")
    li.goto(live_server + "/account")
    assert li.url.endswith("/account")
    shot(li, "account", prefix="auth-")

    other = _page(browser)  # another browser: the forgotten password
    other.goto(live_server + "/login")
    other.click("a[href='/forgot-password']")
    other.fill("#email", "li@ganguang.cn")
    other.click("form[action='/forgot-password'] button[type=submit]")
    assert "如果有账号使用该邮箱" in other.locator("main").inner_text()
    reset = smtp.wait_for("li@ganguang.cn", 2)[1]
    (link,) = urls(reset)
    other.goto(link)
    other.fill("[name='password']", "ganguang-2027")
    other.click("form[action='/reset-password'] button[type=submit]")
    assert "密码已修改" in other.locator("main").inner_text()

    li.goto(live_server + "/account")  # the old session has ended
    assert "/login" in li.url
    login(other, live_server, "li@ganguang.cn", "ganguang-2027")
    other.goto(live_server + "/account")
    assert other.url.endswith("/account")
