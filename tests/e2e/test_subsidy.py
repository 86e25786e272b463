"""The full voucher flow in a real browser: an enterprise calculates and applies, the centre approves, the
enterprise redeems with its documents, the centre verifies and pays. Each role sees only its side: a provider
and another enterprise see nothing of the claim."""

from __future__ import annotations

from datetime import date

import pytest

from tests import builders
from tests.e2e.helpers import login, shot
from tests.subsidy import builders as sb


def _shot(page, name: str) -> None:
    shot(page, name, prefix="subsidy-")


pytestmark = pytest.mark.e2e


def _login(browser, base: str, email: str):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    login(page, base, email)
    return page


def test_voucher_flow_with_each_role_on_its_own_side(session, live_server, browser, tmp_path):
    sb.wuhan_enterprise(session, "汉江智造科技有限公司", email="zhou@hanjiang.cn")  # opens this year's pool
    builders.enterprise(session, "另一家企业有限公司", profile=sb.WUHAN, email="other@else.cn")
    builders.operator(session, email="wang@centre.cn")
    builders.provider(session, email="sales@supplier.cn")
    session.commit()
    pdf = tmp_path / "文件.pdf"
    pdf.write_bytes(sb.PDF)

    # the enterprise: calculator, then apply for what it showed
    ent = _login(browser, live_server, "zhou@hanjiang.cn")
    ent.goto(live_server + "/subsidy/calculator")
    ent.fill("#f-description", "GPU 算力租用（质检模型训练）")
    ent.select_option("#f-kind", "compute")
    ent.fill("#f-contract_yuan", "300000")
    ent.click("form[action='/subsidy/calculator'] button[type=submit]")
    best = ent.locator(".qrow.best")
    assert best.get_attribute("data-code") == "wuhan-compute"
    assert [b.inner_text() for b in ent.locator(".quote-total b").all()] == ["30 万元", "15 万元", "15 万元"]
    _shot(ent, "calculator")
    best.locator("a.btn").click()
    assert ent.locator("#f-programme_code").input_value() == "wuhan-compute"
    ent.fill("#f-description", "GPU 算力租用（质检模型训练）")
    ent.select_option("#f-kind", "compute")
    ent.fill("#f-contract_yuan", "300000")
    ent.fill("#f-supplier_name", "武汉人工智能计算中心")
    ent.fill("#f-contract_no", "HJ-2026-001")
    ent.click("form[action='/subsidy/apply'] button[type=submit]")
    ent.wait_for_url("**/subsidy/applications/*")
    url = ent.url.split("?")[0]
    assert ent.locator(".state").first.inner_text() == "已提交"
    ent.select_option("#f-kind", "contract")
    ent.set_input_files("#f-file", str(pdf))
    ent.click("form[enctype='multipart/form-data'] button[type=submit]")
    assert ent.locator("table.data a", has_text="文件.pdf").count() == 1
    assert ent.locator("form[action$='/approve']").count() == 0  # no operator controls on its side
    _shot(ent, "submitted")

    # a provider and another enterprise: nothing to see
    for email in ("sales@supplier.cn", "other@else.cn"):
        outsider = _login(browser, live_server, email)
        assert outsider.goto(url).status == 404
        outsider.goto(live_server + "/subsidy/applications")
        assert outsider.locator("a[href='" + url.replace(live_server, "") + "']").count() == 0
        outsider.context.close()

    # the operator: the queue, then approve (the amount is reserved)
    op = _login(browser, live_server, "wang@centre.cn")
    op.goto(live_server + "/subsidy/applications?state=submitted")
    op.click(f"a[href='{url.replace(live_server, '')}'] >> nth=0")
    assert op.locator("form[action$='/withdraw']").count() == 0
    op.click("form[action$='/approve'] button[type=submit]")
    assert op.locator(".state").first.inner_text() == "已批准（已预留）"
    _shot(op, "approved")

    # the enterprise redeems with invoice, payment and delivery documents
    ent.goto(url)
    for kind in ("invoice", "payment", "delivery"):
        ent.select_option("#f-kind", kind)
        ent.set_input_files("#f-file", str(pdf))
        ent.click("form[enctype='multipart/form-data'] button[type=submit]")
    ent.click("form[action$='/redeem'] button[type=submit]")
    assert ent.locator(".state").first.inner_text() == "兑付核验中"

    # the operator verifies and pays; the dashboard shows the payout
    op.goto(url)
    op.click("form[action$='/verify'] button[type=submit]")
    assert op.locator(".state").first.inner_text() == "已兑付"
    op.goto(live_server + "/subsidy/dashboard")
    # the claim counts in the year it was made (today), not the year the contract was signed
    this_year = op.locator(f"table#pools tr[data-code='wuhan-compute'][data-year='{date.today().year}']")
    assert "15 万元" in this_year.inner_text()
    assert op.locator("#burn canvas").count() == 1  # ECharts drew the burn chart
    _shot(op, "dashboard")

    ent.goto(url)
    assert ent.locator(".state").first.inner_text() == "已兑付"
    assert ent.goto(live_server + "/subsidy/dashboard").status == 403
    ent.context.close()
    op.context.close()
