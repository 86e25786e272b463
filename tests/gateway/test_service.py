"""Keys, wallets, 模型券 funding, the usage API and the CLI contract."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from smeai.auth.actor import Actor
from smeai.cli import app as cli_app
from smeai.errors import Conflict, Forbidden, NotFound
from smeai.gateway import flows, service
from smeai.gateway.ledger import split
from smeai.gateway.models import Key, Usage
from smeai.gateway.schemas import KeyIn
from smeai.subsidy import ledger as subsidy_ledger
from smeai.subsidy import service as subsidy
from smeai.subsidy.models import Application
from smeai.subsidy.programmes import DocKind, all_programmes
from smeai.subsidy.service import WrongState
from tests import builders
from tests.gateway.conftest import chat, setup_org
from tests.subsidy import builders as sb

SHANGHAI = {"province_code": "31", "city": "上海", "industry_section": "I", "mfg_division": None}


def _cli(monkeypatch, db_url: str, *args: str):
    from smeai.config import get_settings

    monkeypatch.setenv("SMEAI_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli_app, list(args))
    finally:
        get_settings.cache_clear()


def test_a_key_is_stored_hashed_and_shown_once(session):
    actor = builders.enterprise(session)
    key, secret = service.create_key(session, actor, KeyIn(name="k"))
    session.commit()
    assert secret.startswith("sk-smeai-") and secret not in key.key_hash and key.prefix in secret
    assert service.authenticate(session, secret).id == key.id
    assert service.list_keys(session, actor) == [key]


def test_an_enterprise_sees_only_its_own_keys_wallet_and_usage(session):
    a, b = builders.enterprise(session), builders.enterprise(session)
    key, _ = service.create_key(session, a, KeyIn(name="a"))
    session.commit()
    assert service.list_keys(session, b) == []
    with pytest.raises(NotFound):
        service.revoke_key(session, b, key.id)
    with pytest.raises(NotFound):
        service.get_wallet(session, b, org_id=a.org_id)
    with pytest.raises(Forbidden):
        service.fund_wallet(session, a, a.org_id, 100)
    with pytest.raises(Forbidden):
        service.list_upstreams(session, builders.provider(session))


def test_the_voucher_pays_its_rate_as_far_as_it_reaches():
    assert split(1000, 5000, 10_000) == (500, 500)
    assert split(1000, 5000, 200) == (800, 200)
    assert split(1001, 3000, 10_000) == (701, 300)
    assert split(1000, 0, 10_000) == (1000, 0)


def _approved_model_voucher(session, contract_fen: int = 10_000) -> tuple[Actor, Application]:
    actor = builders.enterprise(session, profile=SHANGHAI)
    data = sb.compute_purchase(contract_fen, programme_code="shanghai-model", kind="model", supplier_name="模型云")
    app = subsidy.submit_application(session, actor, data, today=sb.TODAY)
    sb.upload(session, actor, app.id, DocKind.CONTRACT)
    subsidy.approve_application(session, builders.operator(session), app.id)
    session.commit()
    return actor, app


def test_an_approved_model_voucher_pays_its_share_and_is_paid_out_at_period_end(app, session, scripted):
    actor, application = _approved_model_voucher(session)
    system = Actor.system()
    grant = flows.fund_from_voucher(session, system, application.id)
    session.commit()
    assert grant.funded_mf == application.approved_fen * 1000 == 5_000_000 and grant.rate_bp == 5000
    s = setup_org(session, scripted.base_url, fen=10)
    _key, secret = service.create_key(session, actor, KeyIn(name="v"))
    service.fund_wallet(session, system, actor.org_id, 100)  # the enterprise's half of the hold
    session.commit()
    c = TestClient(app, headers={"Authorization": f"Bearer {secret}"})
    assert c.post("/gateway/v1/chat/completions", json=chat("tokens=40")).status_code == 200
    assert s  # the upstream's owner
    [u] = session.scalars(select(Usage).where(Usage.org_id == actor.org_id)).all()
    assert u.voucher_mf == u.cost_mf // 2 and u.own_mf == u.cost_mf - u.voucher_mf
    closed = flows.close_voucher(session, system, grant.id)
    session.commit()
    assert closed.paid_fen == u.voucher_mf // 1000
    session.refresh(application)
    assert application.state == "paid" and application.paid_fen == closed.paid_fen
    assert subsidy_ledger.audit(session, all_programmes()).ok
    report = flows.audit(session, system)
    assert report.ok, report.problems
    wallet = service.get_wallet(session, actor)
    assert wallet.voucher_balance_mf == 0 and wallet.voucher_rate_bp == 0


def test_a_voucher_funds_once_and_only_a_model_voucher(session):
    _, application = _approved_model_voucher(session)
    flows.fund_from_voucher(session, Actor.system(), application.id)
    session.commit()
    with pytest.raises(Exception, match="already"):
        flows.fund_from_voucher(session, Actor.system(), application.id)
    session.rollback()
    compute = sb.wuhan_enterprise(session)
    other = sb.apply(session, compute, programme_code="wuhan-compute")
    with pytest.raises(Exception, match="模型券"):
        flows.fund_from_voucher(session, Actor.system(), other.id)


def test_the_usage_api_pages_records_of_the_organisation(app, session, scripted, client_for):
    s = setup_org(session, scripted.base_url)
    c = TestClient(app, headers={"Authorization": f"Bearer {s.secret}"})
    for _ in range(3):
        assert c.post("/gateway/v1/chat/completions", json=chat("tokens=3")).status_code == 200
    # entered clients: the request guard lets a GET's task finish (and close its session) on a live loop
    with client_for(s.actor) as api:
        r = api.get("/api/v1/gateway/usage", params={"limit": 2})
        daily = api.get("/api/v1/gateway/usage/daily").json()["items"]
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["limit"] == 2
    item = page["items"][0]
    for field in (
        "id",
        "key_id",
        "model",
        "prompt_tokens",
        "completion_tokens",
        "estimated",
        "cost_milli_fen",
        "voucher_milli_fen",
        "status",
    ):
        assert field in item
    assert item["key_id"] == s.key_id and item["completion_tokens"] == 3
    other = builders.enterprise(session)
    session.commit()
    with client_for(other) as api:
        assert api.get("/api/v1/gateway/usage").json()["total"] == 0
    assert daily[0]["calls"] == 3


def test_the_cli_contract(monkeypatch, db_url, session, scripted):
    org = builders.enterprise(session)
    session.commit()
    r = _cli(
        monkeypatch,
        db_url,
        "gateway",
        "upstream",
        "add",
        "--name",
        "local",
        "--base-url",
        scripted.base_url,
        "--model",
        "small=script",
        "--price-in",
        "0.8",
        "--price-out",
        "2",
        "--json",
    )
    assert r.exit_code == 0, r.output
    up = json.loads(r.output)
    assert up["routes"][0]["alias"] == "small" and up["routes"][0]["input_mf_per_1k"] == 800
    r = _cli(
        monkeypatch,
        db_url,
        "gateway",
        "key",
        "create",
        "--org",
        str(org.org_id),
        "--name",
        "cli",
        "--max-tokens",
        "64",
        "--concurrency",
        "2",
        "--json",
    )
    assert r.exit_code == 0, r.output
    created = json.loads(r.output)
    assert set(created) == {"id", "key"} and created["key"].startswith("sk-smeai-")
    r = _cli(monkeypatch, db_url, "gateway", "wallet", "fund", "--org", str(org.org_id), "--fen", "500", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["own_balance_mf"] == 500_000
    session.expire_all()
    key = session.get(Key, created["id"])
    assert key is not None and (key.max_tokens, key.concurrency) == (64, 2)
    r = _cli(monkeypatch, db_url, "gateway", "audit")
    assert r.exit_code == 0, r.output
    r = _cli(
        monkeypatch,
        db_url,
        "gateway",
        "upstream",
        "add",
        "--name",
        "bad",
        "--base-url",
        "ftp://x",
        "--model",
        "a=b",
        "--price-in",
        "-1",
        "--price-out",
        "1",
    )
    assert r.exit_code != 0


def test_the_audit_names_each_disagreement(monkeypatch, db_url, session, scripted):
    from sqlalchemy import update

    from smeai.gateway.models import Wallet

    s = setup_org(session, scripted.base_url)
    session.execute(update(Wallet).where(Wallet.org_id == s.org_id).values(own_balance_mf=Wallet.own_balance_mf + 7))
    session.commit()
    r = _cli(monkeypatch, db_url, "gateway", "audit")
    assert r.exit_code == 1
    assert f"wallet of organisation {s.org_id}: own balance" in r.output


def test_usage_exports_to_excel_with_the_voucher_share(app, session, scripted, client_for):
    from io import BytesIO

    from openpyxl import load_workbook

    s = setup_org(session, scripted.base_url)
    c = TestClient(app, headers={"Authorization": f"Bearer {s.secret}"})
    assert c.post("/gateway/v1/chat/completions", json=chat("tokens=3")).status_code == 200
    with client_for(s.actor) as api:
        r = api.get("/api/v1/gateway/usage/export")
    assert r.status_code == 200
    wb = load_workbook(BytesIO(r.content))
    by_day = list(wb["按日 By day"].values)
    assert by_day[1][3] == 1 and by_day[1][5] == 3


def test_a_mistyped_price_is_refused_where_it_is_typed(session):
    from pydantic import ValidationError

    from smeai.gateway.schemas import UpstreamIn

    base = {"name": "x", "base_url": "http://h/v1", "models": {"a": "b"}, "price_out": "1"}
    for bad in ("-1", "1e9", "0.0001", "abc", "NaN"):
        with pytest.raises(ValidationError):
            UpstreamIn.model_validate(base | {"price_in": bad})
    assert UpstreamIn.model_validate(base | {"price_in": "0.8"}).price_in == 800


def test_one_hold_covers_the_dearest_fallback(session, scripted):
    s = setup_org(session, scripted.base_url, price_in="1", price_out="1")
    service.add_upstream(
        session,
        Actor.system(),
        service.UpstreamIn.model_validate(
            {"name": "dear", "base_url": scripted.base_url, "models": {"m": "x"}, "price_in": "5", "price_out": "9"}
        ),
    )
    session.commit()
    key = service.authenticate(session, s.secret)
    ts = service.targets(session, key, "m")
    _, _, price_in, price_out = service.hold_bound(ts, [{"role": "user", "content": "hi"}], None, 10)
    assert (price_in, price_out) == (5000, 9000)


def test_a_new_price_applies_from_its_time_and_never_to_calls_already_held(monkeypatch, db_url, session, scripted):
    from datetime import timedelta

    from smeai.db import utcnow

    s = setup_org(session, scripted.base_url, price_in="1", price_out="1")
    route = service.list_upstreams(session, Actor.system())[-1].routes[0]
    key = service.authenticate(session, s.secret)
    hold = service.begin_call(
        session,
        key,
        "m",
        service.targets(session, key, "m"),
        messages=[],
        tools=None,
        max_tokens=10,
        idempotency_key=None,
        fingerprint="f",
    )
    session.commit()
    later = (utcnow() + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    r = _cli(
        monkeypatch,
        db_url,
        "gateway",
        "upstream",
        "price",
        "--route",
        str(route.id),
        "--price-in",
        "3",
        "--price-out",
        "4",
        "--from",
        later,
        "--json",
    )
    assert r.exit_code == 0, r.output
    r = _cli(
        monkeypatch,
        db_url,
        "gateway",
        "upstream",
        "price",
        "--route",
        str(route.id),
        "--price-in",
        "5",
        "--price-out",
        "6",
        "--json",
    )
    assert r.exit_code == 0, r.output
    session.expire_all()
    assert service.current_price(session, route.id).input_mf_per_1k == 5000
    assert service.current_price(session, route.id, utcnow() + timedelta(hours=2)).input_mf_per_1k == 3000
    assert (hold.input_mf_per_1k, hold.output_mf_per_1k) == (1000, 1000)
    r = _cli(
        monkeypatch,
        db_url,
        "gateway",
        "upstream",
        "price",
        "--route",
        str(route.id),
        "--price-in",
        "5",
        "--price-out",
        "6",
        "--from",
        "2000-01-01T00:00:00",
    )
    assert r.exit_code != 0


def test_a_funding_voucher_can_neither_be_withdrawn_nor_expire(session):
    from datetime import timedelta

    from smeai.subsidy.service import WrongState

    actor, application = _approved_model_voucher(session)
    flows.fund_from_voucher(session, Actor.system(), application.id)
    session.commit()
    session.refresh(application)
    assert application.state == "redeeming"
    with pytest.raises(WrongState):
        subsidy.withdraw_application(session, actor, application.id)
    session.rollback()
    later = application.redeem_by_on + timedelta(days=1)
    assert subsidy.expire_applications(session, Actor.system(), today=later) == []
    assert flows.audit(session, Actor.system()).ok


def test_a_voucher_that_funds_a_wallet_is_never_also_paid_through_invoices(session):
    """Issue 18: the 模型券 pays for calls as they are metered; the subsidy domain's own redemption (invoices,
    then the operator's verification and payout) would pay the same voucher a second time."""
    actor, application = _approved_model_voucher(session)
    op = builders.operator(session)
    grant = flows.fund_from_voucher(session, Actor.system(), application.id)
    session.commit()
    for act in (
        lambda: subsidy.verify_redemption(session, op, application.id),
        lambda: subsidy.return_redemption(session, op, application.id, reasons="发票抬头不符"),
    ):
        with pytest.raises(WrongState, match="model gateway"):
            act()
        session.rollback()
    session.expire_all()
    assert session.get(Application, application.id).state == "redeeming"
    payouts = subsidy.ledger_entries(session, Actor.system(), application_id=application.id)
    assert not [e for e in payouts if e.kind == "payout"]
    closed = flows.close_voucher(session, Actor.system(), grant.id)  # the metered path still closes it
    session.commit()
    assert closed.paid_fen == 0 and session.get(Application, application.id).state == "paid"
    assert actor  # the enterprise


def test_a_voucher_redeemed_through_invoices_never_funds_a_wallet_nor_settles_as_metered(session):
    actor, application = _approved_model_voucher(session)
    for kind in subsidy.get_programme("shanghai-model").documents.redeem:
        sb.upload(session, actor, application.id, kind)
    subsidy.submit_redemption(session, actor, application.id, today=sb.TODAY)
    session.commit()
    with pytest.raises(Conflict):
        flows.fund_from_voucher(session, Actor.system(), application.id)
    session.rollback()
    with pytest.raises(WrongState):
        subsidy.settle_metered(session, Actor.system(), application.id, paid_fen=1)
    session.rollback()
