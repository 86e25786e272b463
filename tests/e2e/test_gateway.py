"""Model access in a real browser: an enterprise whose 模型券 the centre approved creates a key on its phone,
a Python `openai` client streams a completion through the served portal from the real local model
(llama.cpp serving SmolLM2, started by the `local://smollm2` upstream on first use), and the usage page
shows the call with the voucher's share."""

from __future__ import annotations

import time

import pytest
from openai import OpenAI

from smeai.auth.actor import Actor
from smeai.gateway import service
from smeai.gateway.models import Usage
from smeai.gateway.schemas import UpstreamIn
from smeai.gateway.views import yuan
from tests import builders
from tests.e2e.helpers import login, shot
from tests.gateway.conftest import approved_model_voucher

pytestmark = pytest.mark.e2e


def _voucher_enterprise(session, tmp_path) -> Actor:
    """蓉城智联 (成都) with an approved 成都 模型使用补贴 (30 %) funding its wallet, and 50 元 of its own."""
    system = Actor.system()
    service.add_upstream(
        session,
        system,
        UpstreamIn.model_validate(
            {"name": "local", "base_url": "local://smollm2", "models": {"smollm2": "smollm2"}}
            | {"price_in": "0.08", "price_out": "0.2"}
        ),
    )
    ent = builders.enterprise(
        session, "蓉城智联科技有限公司", profile={"province_code": "51", "city": "成都"}, email="he@rongcheng.cn"
    )
    approved_model_voucher(session, ent, tmp_path, description="大模型 API 调用（客服知识库问答）", contract_no="E2E-1")
    assert ent.org_id is not None
    service.fund_wallet(session, system, ent.org_id, 5000)
    session.commit()
    return ent


def _settled_call(session, ent: Actor) -> Usage:
    """The call's usage record: written as the stream ends, so allow the server a moment to commit it."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        session.expire_all()
        calls = service.list_usage(session, ent)
        if calls:
            [call] = calls
            return call
        time.sleep(0.1)
    raise AssertionError("no usage record for the streamed call")


def test_a_key_made_in_the_browser_streams_a_completion_and_the_usage_page_shows_the_voucher(
    session, live_server, page, tmp_path
):
    ent = _voucher_enterprise(session, tmp_path)
    login(page, live_server, "he@rongcheng.cn")

    page.goto(live_server + "/gateway/keys")
    page.fill("#f-name", "客服知识库问答")
    page.fill("#f-max_tokens", "24")
    page.click("form[action='/gateway/keys'] button[type=submit]")
    secret = page.locator("#new-key").input_value()
    assert secret.startswith("sk-smeai-")
    assert f"OPENAI_BASE_URL={live_server}/gateway/v1" in page.locator("#env").inner_text()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page.click("button[data-copy='#new-key']")
    page.wait_for_selector("button[data-copy='#new-key']:has-text('已复制')")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    shot(page, "key-created", prefix="gateway-")

    client = OpenAI(base_url=f"{live_server}/gateway/v1", api_key=secret, max_retries=0, timeout=180)
    assert [m.id for m in client.models.list()] == ["smollm2"]
    stream = client.chat.completions.create(
        model="smollm2", messages=[{"role": "user", "content": "用一句话介绍你自己"}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text.strip()

    call = _settled_call(session, ent)
    assert (call.model, call.status, call.stream) == ("smollm2", "ok", True)
    assert 0 < call.completion_tokens <= 24 and call.cost_mf > 0
    assert call.voucher_mf == call.cost_mf * 3 // 10 and call.own_mf == call.cost_mf - call.voucher_mf

    page.goto(live_server + "/gateway/usage")
    row = page.locator("#calls tbody tr").first
    cells = [c.inner_text().strip() for c in row.locator("td").all()]
    assert cells[1] == "客服知识库问答" and cells[2] == "smollm2" and ("估算" in cells[3]) == call.estimated
    assert cells[-3:] == [yuan(call.cost_mf), yuan(call.voucher_mf), yuan(call.own_mf)]  # the voucher's share
    shot(page, "usage", prefix="gateway-")
