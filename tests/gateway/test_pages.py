"""The gateway's pages: an enterprise's keys (shown once, revoked with a confirmation), usage with the cost
before and after its 模型券, the wallet and the Excel export; the operator's upstreams, prices, wallets and
losses. Each reader sees its own organisation only; operator pages refuse everyone else."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from bs4 import BeautifulSoup
from openpyxl import load_workbook

from smeai.auth.actor import Actor
from smeai.db import utcnow
from smeai.errors import NotAuthenticated
from smeai.gateway import ledger, service, views
from smeai.gateway.ledger import HoldRequest, Metered
from smeai.gateway.schemas import KeyIn, UpstreamIn
from smeai.i18n import set_lang
from tests import builders
from tests.gateway.conftest import approved_model_voucher

CHENGDU = {"province_code": "51", "city": "成都"}


def _post(client, path: str, data: dict | None = None):
    return client.post(path, data={"csrf_token": client.csrf, **(data or {})}, follow_redirects=False)


def _upstream(session) -> None:
    """A priced model route; its address is never called (the calls below are settled through the ledger)."""
    if not service.list_upstreams(session, Actor.system()):
        service.add_upstream(
            session,
            Actor.system(),
            UpstreamIn.model_validate(
                {"name": "local", "base_url": "http://127.0.0.1:9/v1", "models": {"smollm2": "smollm2"}}
                | {"price_in": "10", "price_out": "20"}
            ),
        )


def _call(session, key_id: int, prompt: int, completion: int, *, days_ago: int = 0) -> None:
    """One metered call, held and settled as the data plane does (estimated counts, like SmolLM2's)."""
    key = next(k for k in service.list_keys(session, Actor.system()) if k.id == key_id)
    targets = service.targets(session, key, "smollm2")
    messages = [{"role": "user", "content": "x" * prompt}]  # the hold covers the counts settled below
    bound_in, bound_out, price_in, price_out = service.hold_bound(targets, messages, None, max(completion, 1))
    at = utcnow() - timedelta(days=days_ago)
    hold = ledger.take_hold(
        session,
        HoldRequest(
            key=key,
            alias="smollm2",
            route_id=targets[0].route_id,
            input_bound=bound_in,
            output_bound=bound_out,
            input_mf_per_1k=price_in,
            output_mf_per_1k=price_out,
            lifetime=timedelta(minutes=5),
        ),
        now=at,
    )
    used = Metered(prompt, completion, estimated=True, status="ok", stream=True, upstream_id=targets[0].upstream_id)
    ledger.settle_hold(session, hold, used, now=at)


def _enterprise_with_key(session, name: str, key_name: str, *, fen: int = 10_000, profile=None) -> tuple[Actor, int]:
    _upstream(session)
    actor = builders.enterprise(session, name, profile=profile)
    key, _secret = service.create_key(session, actor, KeyIn(name=key_name))
    if fen:
        service.fund_wallet(session, Actor.system(), actor.org_id, fen)
    session.commit()
    return actor, key.id


def _voucher(session, actor: Actor, tmp_path) -> None:
    """An approved 成都 模型使用补贴 (30 %) funding ACTOR's wallet."""
    approved_model_voucher(session, actor, tmp_path)
    session.commit()


def test_a_key_is_shown_once_with_the_snippet_and_revoked_after_a_confirmation(session, page_client_for):
    actor, _ = _enterprise_with_key(session, "甲精密", "旧密钥")
    c = page_client_for(actor)
    created = _post(c, "/gateway/keys", {"name": "客服机器人", "max_tokens": "256", "concurrency": "2"})
    assert created.status_code == 200, created.text
    assert created.headers["cache-control"] == "no-store"
    soup = BeautifulSoup(created.text, "html.parser")
    secret = soup.select_one("#new-key")["value"]
    assert secret.startswith("sk-smeai-")
    assert f"export OPENAI_API_KEY={secret}" in soup.select_one("#env").get_text()
    assert "export OPENAI_BASE_URL=http://testserver/gateway/v1" in soup.select_one("#env").get_text()
    assert 'model="smollm2"' in soup.select_one("#snippet").get_text()
    assert service.authenticate(session, secret).name == "客服机器人"

    listing = c.get("/gateway/keys")
    assert secret not in listing.text  # never again
    assert secret[:13] in listing.text  # its prefix names it
    rows = BeautifulSoup(listing.text, "html.parser").select("table.data tbody tr")
    new = next(r for r in rows if "客服机器人" in r.get_text())
    button = new.select_one("form[action$='/revoke'] button")
    assert "客服机器人" in button["data-confirm"]  # app.js asks before it submits
    revoked = _post(c, new.select_one("form")["action"])
    assert revoked.status_code == 303
    assert "已撤销" in c.get("/gateway/keys").text
    with pytest.raises(NotAuthenticated):
        service.authenticate(session, secret)


def test_a_key_form_with_mistakes_names_the_fields_and_creates_nothing(session, page_client_for):
    actor, _ = _enterprise_with_key(session, "甲精密", "旧密钥")
    c = page_client_for(actor)
    r = _post(c, "/gateway/keys", {"name": "", "max_tokens": "0", "monthly_cap_yuan": "１e999"})
    assert r.status_code == 422
    soup = BeautifulSoup(r.text, "html.parser")
    assert {f.select_one("input")["name"] for f in soup.select(".field.has-error")} >= {"name", "max_tokens"}
    assert [k.name for k in service.list_keys(session, actor)] == ["旧密钥"]


def test_other_organisations_keys_usage_and_wallets_are_invisible(session, page_client_for):
    a, a_key = _enterprise_with_key(session, "甲精密", "甲的质检助手")
    b, b_key = _enterprise_with_key(session, "乙纺织", "乙的客服")
    _call(session, a_key, 40, 100)
    _call(session, b_key, 7, 9)
    session.commit()
    as_b = page_client_for(b)
    for path in ("/gateway", "/gateway/keys", "/gateway/usage", "/gateway/wallet"):
        page = as_b.get(path)
        assert page.status_code == 200, path
        assert "甲的质检助手" not in page.text and "甲精密" not in page.text, path
    usage = BeautifulSoup(as_b.get("/gateway/usage").text, "html.parser")
    assert [td.get_text(strip=True) for td in usage.select("#calls tbody tr td:nth-of-type(4)")] == ["7 / 9估算"]
    assert _post(as_b, f"/gateway/keys/{a_key}/revoke").status_code == 404  # foreign looks like missing
    assert service.list_keys(session, a)[0].revoked_at is None
    # an enterprise cannot look at another's usage by naming it
    assert "甲的质检助手" not in as_b.get(f"/gateway/usage?org={a.org_id}").text
    book = load_workbook(io.BytesIO(as_b.get(f"/gateway/usage.xlsx?org={a.org_id}").content))
    assert [row[1] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)] == ["乙的客服"]


def test_operator_pages_refuse_enterprises_and_providers(session, page_client_for):
    ent, _ = _enterprise_with_key(session, "甲精密", "k")
    provider = builders.provider(session)
    session.commit()
    for actor in (ent, provider):
        c = page_client_for(actor)
        for path in ("/gateway/upstreams", "/gateway/wallets", "/gateway/losses"):
            assert c.get(path).status_code == 403, path
        assert _post(c, "/gateway/wallets/fund", {"org_id": str(ent.org_id), "amount_yuan": "100"}).status_code == 403
        assert _post(c, "/gateway/prices", {"route_id": "1", "price_in": "1", "price_out": "1"}).status_code == 403
    p = page_client_for(provider)
    for path in ("/gateway/keys", "/gateway/usage", "/gateway/wallet", "/gateway/usage.xlsx"):
        assert p.get(path).status_code == 403, path
    assert p.get("/gateway").status_code == 200  # what the service is, without any figures


def test_usage_shows_each_call_before_and_after_the_voucher(session, page_client_for, tmp_path):
    actor, key_id = _enterprise_with_key(session, "蓉城智联", "客服知识库", profile=CHENGDU)
    _voucher(session, actor, tmp_path)
    _call(session, key_id, 1000, 1000)  # 10 + 20 fen at 10 / 20 fen per 1,000 tokens = 30,000 milli-fen
    _call(session, key_id, 500, 0, days_ago=1)  # 5 fen
    session.commit()
    today, _yesterday = sorted(service.list_usage(session, actor), key=lambda u: u.id)
    assert (today.cost_mf, today.voucher_mf, today.own_mf) == (30_000, 9_000, 21_000)  # the voucher's 30 %
    page = BeautifulSoup(page_client_for(actor).get("/gateway/usage").text, "html.parser")
    kpis = [b.get_text() for b in page.select(".kpis b")]
    assert kpis == ["2", "0.35 元", "0.105 元", "0.245 元"]
    calls = page.select("#calls tbody tr")
    money = [[td.get_text(strip=True) for td in row.select("td")][-3:] for row in calls]
    assert ["0.30 元", "0.09 元", "0.21 元"] in money and ["0.05 元", "0.015 元", "0.035 元"] in money
    by_day = page.find("h2", string="按日").find_next("table").select("tbody tr")
    assert len(by_day) == 2
    wallet = page_client_for(actor).get("/gateway/wallet").text
    assert "成都市模型使用补贴" in wallet and "30%" in wallet


def test_excel_export_has_every_call_and_the_sums_in_yuan(session, page_client_for, tmp_path):
    actor, key_id = _enterprise_with_key(session, "蓉城智联", "客服知识库", profile=CHENGDU)
    _voucher(session, actor, tmp_path)
    for n in (100, 200, 300):
        _call(session, key_id, n, n)
    session.commit()
    r = page_client_for(actor).get("/gateway/usage.xlsx")
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith("attachment;")
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["调用明细", "按日", "按模型", "按密钥"]
    header, *rows = list(book["调用明细"].iter_rows(values_only=True))
    assert header[:4] == ("时间（UTC）", "密钥", "模型", "输入 tokens")
    assert len(rows) == 3 and {row[1] for row in rows} == {"客服知识库"}
    usage = service.list_usage(session, actor)
    assert sorted(Decimal(str(row[-3])) for row in rows) == sorted(Decimal(u.cost_mf) / 100_000 for u in usage)
    [(model, calls, _p, _c, cost, voucher, own)] = list(book["按模型"].iter_rows(min_row=2, values_only=True))
    assert (model, calls) == ("smollm2", 3)
    assert Decimal(str(cost)) == Decimal(sum(u.cost_mf for u in usage)) / 100_000
    assert Decimal(str(voucher)) + Decimal(str(own)) == Decimal(str(cost))


def test_operator_sees_price_versions_sets_a_future_price_and_tops_up(session, page_client_for):
    ent, _key = _enterprise_with_key(session, "甲精密", "k")
    op = builders.operator(session)
    session.commit()
    c = page_client_for(op)
    page = c.get("/gateway/upstreams")
    assert page.status_code == 200 and "local" in page.text
    route = re.search(r'<option value="(\d+)"[^>]*>smollm2 · local', page.text)
    assert route
    later = (utcnow() + timedelta(days=10)).date().isoformat()
    price = {"route_id": route.group(1), "price_in": "8", "price_out": "15", "effective_on": later}
    r = _post(c, "/gateway/prices", price)
    assert r.status_code == 303, r.text
    rows = BeautifulSoup(c.get("/gateway/upstreams").text, "html.parser").select("section table tbody tr")
    assert [r.select("td")[2].get_text(strip=True) for r in rows] == ["8", "10"]  # newest first
    assert "已排期" in rows[0].get_text() and "当前" in rows[1].get_text()
    past = _post(
        c,
        "/gateway/prices",
        {"route_id": route.group(1), "price_in": "1", "price_out": "1"} | {"effective_on": "2020-01-01"},
    )
    assert past.status_code == 422
    far = _post(c, "/gateway/prices", price | {"effective_on": "9999-12-31"})
    assert far.status_code == 422 and "8" in far.text
    assert [v.input_mf_per_1k for v in views.price_versions(session, op)[int(route.group(1))]] == [8000, 10_000]
    # a cached-input price (DeepSeek's cache hits) is shown beside the others; one above the input price is refused
    dearer = _post(c, "/gateway/prices", price | {"price_cached_in": "9"})
    assert dearer.status_code == 422
    marked = BeautifulSoup(dearer.text, "html.parser").select_one(".field.has-error")
    assert marked and 'name="price_cached_in"' in str(marked) and "不能高于输入价" in marked.get_text()
    assert _post(c, "/gateway/prices", price | {"price_cached_in": "2.5"}).status_code == 303
    rows = BeautifulSoup(c.get("/gateway/upstreams").text, "html.parser").select("section table tbody tr")
    assert [r.select("td")[4].get_text(strip=True) for r in rows] == ["2.5", "同输入价", "同输入价"]

    funded = _post(c, "/gateway/wallets/fund", {"org_id": str(ent.org_id), "amount_yuan": "12.5", "note": "转账"})
    assert funded.status_code == 303
    assert service.get_wallet(session, ent).own_balance_mf == (10_000 + 1250) * 1000
    wallets = BeautifulSoup(c.get("/gateway/wallets").text, "html.parser")
    assert "甲精密" in wallets.select_one("table.data").get_text()
    bad = _post(c, "/gateway/wallets/fund", {"org_id": str(ent.org_id), "amount_yuan": "0.001"})
    assert bad.status_code == 422 and service.get_wallet(session, ent).own_balance_mf == 11_250_000


def test_operator_funds_a_wallet_from_an_approved_model_voucher(session, page_client_for, tmp_path):
    actor, _ = _enterprise_with_key(session, "蓉城智联", "k", profile=CHENGDU)
    app = approved_model_voucher(session, actor, tmp_path, contract_no="GW-2", fund=False)
    op = builders.operator(session)
    session.commit()
    c = page_client_for(op)
    pending = BeautifulSoup(c.get("/gateway/wallets").text, "html.parser")
    assert pending.select_one(f"form[action='/gateway/vouchers/{app.id}/fund']") is not None
    assert _post(c, f"/gateway/vouchers/{app.id}/fund").status_code == 303
    wallet = service.get_wallet(session, actor)
    assert (wallet.voucher_balance_mf, wallet.voucher_rate_bp) == (300_000 * 1000, 3000)
    assert _post(c, f"/gateway/vouchers/{app.id}/fund").status_code == 409  # once


def test_money_is_shown_in_yuan_with_the_decimals_it_needs():
    set_lang("zh_Hans")
    assert [views.yuan(v) for v in (0, 320, 100_000, 123_456_789, 2_000_000_000, -5_000)] == [
        "0.00 元",
        "0.0032 元",
        "1.00 元",
        "1,234.56789 元",
        "2 万元",
        "-0.05 元",
    ]
    set_lang("en")
    try:
        assert views.yuan(320) == "CNY 0.0032" and views.yuan(2_000_000_000) == "CNY 20,000.00"
    finally:
        set_lang("zh_Hans")
    assert views.fen_per_1k(80) == "0.08" and views.fen_per_1k(10_000) == "10"
    assert views.percent(3000) == "30%"
