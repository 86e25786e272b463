"""A model trial in a real browser: an enterprise creates a trial from the 营销文案 template, runs it on two
candidates through the gateway (the real local model server behind it), rates five pairs blind, freezes the
report and downloads its PDF; the run's cost is in its gateway usage and its wallet."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from smeai.auth import service as auth_service
from smeai.auth.actor import Actor
from smeai.auth.models import User
from smeai.gateway import service as gateway
from smeai.gateway.models import Usage
from smeai.gateway.schemas import UpstreamIn
from smeai.trials.models import TrialAnswer
from tests import builders
from tests.e2e.helpers import login, shot

pytestmark = pytest.mark.e2e


def test_enterprise_runs_a_trial_rates_blind_and_downloads_the_report(session, app, live_server, browser, tmp_path):
    gateway.add_upstream(
        session,
        Actor.system(),
        UpstreamIn.model_validate(
            {
                "name": "local",
                "base_url": "local://smollm2",
                "models": {"smollm2": "smollm2"},
                "price_in": "1",
                "price_out": "3",
            }
        ),
    )
    owner = builders.enterprise(session, "冀南五金有限公司", email="li@jinan-hardware.cn")
    gateway.fund_wallet(session, Actor.system(), owner.org_id, 2000)  # 20 元
    session.commit()
    funded = gateway.get_wallet(session, owner)

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    login(page, live_server, "li@jinan-hardware.cn")
    page.goto(live_server + "/trials")
    page.fill("#f-title", "开工促销文案选型")
    # 营销文案: five inputs and a short system prompt, so ten calls to a 135M model on a shared CPU stay short
    page.select_option("#f-template_code", "marketing-copy")
    page.click("form[action='/trials'] button")
    page.wait_for_url("**/trials/*")
    trial_url = page.url.split("?")[0]
    for prompt in ("", "请用一句话回答。"):
        page.select_option("#f-model", "smollm2")
        if prompt:
            page.fill("#f-system_prompt", prompt)
        page.fill("#f-max_tokens", "12")
        page.click("#add-candidate button")
        page.wait_for_selector(".alert.ok")
    assert page.locator("table.data").first.locator("tbody tr").count() == 2
    shot(page, "trial-setup", prefix="trials-")
    page.click("#run-trial")
    # the page polls the run's progress (calls go one at a time, so latency is measured without queueing)
    page.wait_for_selector("#progress[data-state=done], #progress[data-state=failed]", timeout=900_000)
    assert page.locator("#progress").get_attribute("data-state") == "done", page.locator("#progress").inner_text()
    page.click("text=查看结果")
    page.wait_for_url("**/results")
    assert page.locator(".matrix tbody tr").count() == 5
    shot(page, "trial-results", prefix="trials-")

    page.goto(trial_url + "/vote")
    shot(page, "trial-vote-start", prefix="trials-")
    for n in range(5):
        page.click("#next-pair")  # draws a pair (a POST: opening the page draws nothing)
        page.wait_for_selector("#pick-left")
        assert page.locator("text=smollm2").count() == 0  # blind: no model names before the vote
        page.click(("#pick-left", "#pick-right", "#pick-tie")[n % 3])
        page.wait_for_selector("#revealed")
        assert page.locator("#revealed").is_visible()
        if n == 0:
            shot(page, "trial-vote-revealed", prefix="trials-")
    assert page.locator("#next-pair").count() == 0  # all five pairs rated: no button to a dead end
    page.goto(trial_url + "/results")
    assert "您已盲评 5 /" in page.locator("p:has-text('您已盲评')").inner_text()
    page.click("#freeze-report")
    page.wait_for_url("**/trials/shared/*")
    shot(page, "trial-report", prefix="trials-")
    with page.expect_download() as download:
        page.click("#report-pdf")
    path = tmp_path / "report.pdf"
    download.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")
    context.close()

    # the run's cost is the gateway's: usage records of this organisation, paid from its wallet
    session.expire_all()
    answers = list(session.scalars(select(TrialAnswer)))
    assert len(answers) == 10 and all(a.status == "ok" for a in answers)
    spent = sum(a.cost_milli_fen for a in answers)
    assert spent > 0
    billed = session.scalar(select(func.sum(Usage.cost_mf)).where(Usage.org_id == owner.org_id))
    assert billed == spent
    after = gateway.get_wallet(session, owner)
    assert funded.own_available_mf - after.own_available_mf == spent
    user = session.get(User, owner.user_id)
    secret, _ = auth_service.issue_token(session, user, kind="api", lifetime=None)
    session.commit()
    api = TestClient(app, headers={"Authorization": f"Bearer {secret}"})
    usage = api.get("/api/v1/gateway/usage", params={"limit": 200}).json()
    records = usage["items"] if isinstance(usage, dict) else usage
    assert sum(r["cost_milli_fen"] for r in records) == spent
