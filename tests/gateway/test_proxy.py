"""The data plane against the scripted upstream: auth, money, streams, faults, idempotency, fail-closed."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from datetime import timedelta
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from smeai.auth.actor import Actor
from smeai.config import Settings
from smeai.db import utcnow
from smeai.gateway import flows, service
from smeai.gateway.ledger import call_cost
from smeai.gateway.models import Hold, Usage
from tests import aio
from tests.gateway.conftest import chat, setup_org, sse


def _client(app, secret: str) -> TestClient:
    return TestClient(app, headers={"Authorization": f"Bearer {secret}"})


def _usage(session) -> list[Usage]:
    session.expire_all()
    return list(session.scalars(select(Usage).order_by(Usage.id)))


def _audit_ok(session) -> None:
    session.expire_all()
    report = flows.audit(session, Actor.system())
    assert report.ok, report.problems


def test_a_call_is_metered_at_the_upstreams_count_and_charged_once(app, session, scripted):
    s = setup_org(session, scripted.base_url)
    r = _client(app, s.secret).post("/gateway/v1/chat/completions", json=chat("tokens=5 call=a"))
    assert r.status_code == 200, r.text
    assert r.json()["model"] == "m"
    [u] = _usage(session)
    assert (u.prompt_tokens, u.completion_tokens, u.estimated, u.status) == (5, 5, False, "ok")
    assert u.cost_mf == call_cost(5, 5, 10_000, 20_000) == 150
    wallet = service.get_wallet(session, s.actor)
    assert wallet.own_balance_mf == 1000 * 1000 - 150 and wallet.own_held_mf == 0
    _audit_ok(session)


def test_errors_are_openais_shape_with_the_right_status(app, session, scripted):
    s = setup_org(session, scripted.base_url, fen=0)
    c = _client(app, s.secret)
    bad = TestClient(app, headers={"Authorization": "Bearer sk-smeai-nope"}).post(
        "/gateway/v1/chat/completions", json=chat()
    )
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_api_key"
    broke = c.post("/gateway/v1/chat/completions", json=chat())
    assert broke.status_code == 402 and broke.json()["error"]["code"] == "insufficient_quota"
    missing = c.post("/gateway/v1/chat/completions", json=chat(model="nope"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"
    invalid = c.post("/gateway/v1/chat/completions", json={"model": "m"})
    assert invalid.status_code == 400 and invalid.json()["error"]["type"] == "invalid_request_error"
    assert scripted.calls() == []  # nothing went upstream
    models = c.get("/gateway/v1/models").json()
    assert [m["id"] for m in models["data"]] == ["m"]


def test_a_revoked_or_expired_key_is_refused(app, session, scripted):
    s = setup_org(session, scripted.base_url, key={"expires_at": (utcnow() - timedelta(seconds=1)).isoformat()})
    assert _client(app, s.secret).post("/gateway/v1/chat/completions", json=chat()).status_code == 401
    s2 = setup_org(session, scripted.base_url)
    service.revoke_key(session, s2.actor, s2.key_id)
    session.commit()
    assert _client(app, s2.secret).post("/gateway/v1/chat/completions", json=chat()).status_code == 401


def test_the_keys_ceiling_is_injected_and_caps_max_tokens(app, session, scripted):
    s = setup_org(session, scripted.base_url, key={"max_tokens": 7})
    c = _client(app, s.secret)
    assert c.post("/gateway/v1/chat/completions", json=chat("tokens=50")).status_code == 200
    assert c.post("/gateway/v1/chat/completions", json=chat("tokens=50", max_tokens=1000)).status_code == 200
    assert [u.completion_tokens for u in _usage(session)] == [7, 7]
    holds = session.scalars(select(Hold)).all()
    assert {h.output_bound for h in holds} == {7}


def test_rate_limits_are_429_and_quota_is_402(app, session, scripted):
    s = setup_org(session, scripted.base_url, key={"rpm": 1})
    c = _client(app, s.secret)
    assert c.post("/gateway/v1/chat/completions", json=chat()).status_code == 200
    limited = c.post("/gateway/v1/chat/completions", json=chat())
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limit_exceeded"
    capped = setup_org(session, scripted.base_url, key={"monthly_cap_fen": 1})
    r = _client(app, capped.secret).post("/gateway/v1/chat/completions", json=chat())
    assert r.status_code == 402 and r.json()["error"]["code"] == "insufficient_quota"
    _audit_ok(session)


@pytest.mark.parametrize("where", ["end", "first", "choice", "timings"])
def test_stream_usage_is_found_wherever_the_provider_puts_it(app, session, scripted, where):
    s = setup_org(session, scripted.base_url)
    with _client(app, s.secret).stream(
        "POST", "/gateway/v1/chat/completions", json=chat(f"tokens=6 usage={where}", stream=True)
    ) as r:
        events = sse(list(r.iter_lines()))
    assert events[-1] == "[DONE]"
    text = "".join(
        (e["choices"][0]["delta"].get("content") or "") for e in events if isinstance(e, dict) and e["choices"]
    )
    assert text == "w0 w1 w2 w3 w4 w5 "
    assert all(e["choices"] for e in events if isinstance(e, dict))  # the usage chunk the caller did not ask for
    [u] = _usage(session)
    assert (u.completion_tokens, u.estimated, u.status, u.stream) == (6, False, "ok", True)
    _audit_ok(session)


def test_a_stream_without_usage_is_estimated_never_below_the_truth(app, session, scripted):
    s = setup_org(session, scripted.base_url)
    with _client(app, s.secret).stream(
        "POST", "/gateway/v1/chat/completions", json=chat("tokens=6 usage=none", stream=True)
    ) as r:
        events = sse(list(r.iter_lines()))
    assert events[-1] == "[DONE]"
    [u] = _usage(session)
    assert u.estimated and u.completion_tokens >= 6 and u.status == "ok"
    _audit_ok(session)


@pytest.mark.parametrize("script", ["done=0", "fail_after=3"])
def test_a_cut_stream_is_charged_for_what_came_and_never_ends_silently(app, session, scripted, script):
    s = setup_org(session, scripted.base_url)
    with _client(app, s.secret).stream(
        "POST", "/gateway/v1/chat/completions", json=chat(f"tokens=6 usage=none {script}", stream=True)
    ) as r:
        events = sse(list(r.iter_lines()))
    assert "[DONE]" not in events
    assert "error" in events[-1]
    [u] = _usage(session)
    assert u.status == "truncated" and u.estimated and u.completion_tokens >= scripted.calls()[0]["tokens"]
    _audit_ok(session)


def test_an_upstream_error_before_output_voids_the_hold_after_retries(app, session, scripted):
    s = setup_org(session, scripted.base_url, retries=2)
    r = _client(app, s.secret).post("/gateway/v1/chat/completions", json=chat(f"status=503 run={uuid4().hex}"))
    assert r.status_code == 502 and r.json()["error"]["type"] == "upstream_error"
    assert len(scripted.calls()) == 3  # one call and two retries
    assert _usage(session) == []
    assert [h.state for h in session.scalars(select(Hold))] == ["voided"]
    assert service.get_wallet(session, s.actor).own_held_mf == 0
    _audit_ok(session)


def test_retries_succeed_before_the_first_byte(app, session, scripted):
    s = setup_org(session, scripted.base_url, retries=2)
    with _client(app, s.secret).stream(
        "POST",
        "/gateway/v1/chat/completions",
        json=chat(f"status=503 fail_times=1 run={uuid4().hex} tokens=3", stream=True),
    ) as r:
        assert r.status_code == 200
        assert sse(list(r.iter_lines()))[-1] == "[DONE]"
    assert [u.completion_tokens for u in _usage(session)] == [3]


def test_a_fallback_serves_by_status_code(app, session, scripted):
    s = setup_org(session, scripted.base_url, models={"m": "status=503"}, retries=0, fallback_on=[503])
    service.add_upstream(
        session,
        Actor.system(),
        service.UpstreamIn.model_validate(
            {
                "name": "backup",
                "base_url": scripted.base_url,
                "models": {"m": "tokens=2"},
                "price_in": "1",
                "price_out": "1",
                "priority": 5,
            }
        ),
    )
    session.commit()
    r = _client(app, s.secret).post("/gateway/v1/chat/completions", json=chat("call=f"))
    assert r.status_code == 200, r.text
    [u] = _usage(session)
    assert u.completion_tokens == 2 and u.upstream_model == "tokens=2"
    _audit_ok(session)


def test_an_idempotency_key_makes_one_hold_and_one_upstream_call(app, session, scripted):
    s = setup_org(session, scripted.base_url)
    c = _client(app, s.secret)
    first = c.post("/gateway/v1/chat/completions", json=chat("tokens=4"), headers={"Idempotency-Key": "abc"})
    again = c.post("/gateway/v1/chat/completions", json=chat("tokens=4"), headers={"Idempotency-Key": "abc"})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert len(scripted.calls()) == 1 and len(_usage(session)) == 1
    other = c.post("/gateway/v1/chat/completions", json=chat("tokens=5"), headers={"Idempotency-Key": "abc"})
    assert other.status_code == 409


def test_the_sweeper_voids_holds_that_outlived_their_call(session, scripted):
    s = setup_org(session, scripted.base_url)
    key = service.authenticate(session, s.secret)
    ts = service.targets(session, key, "m")
    hold = service.begin_call(
        session,
        key,
        "m",
        ts,
        messages=[{"role": "user", "content": "x"}],
        tools=None,
        max_tokens=10,
        idempotency_key=None,
        fingerprint="f",
    )
    session.commit()
    assert service.sweep(session, Actor.system()) == 0
    assert service.sweep(session, Actor.system(), now=hold.expires_at + timedelta(seconds=1)) == 1
    session.commit()
    assert service.get_wallet(session, s.actor).own_held_mf == 0
    # the call's late settlement is recorded, charged nothing: the operator's loss
    from smeai.gateway.ledger import Metered

    u = service.settle_call(
        session, hold.id, Metered(prompt_tokens=3, completion_tokens=3, estimated=False, status="ok")
    )
    session.commit()
    assert u.cost_mf == 0 and u.loss_mf > 0
    _audit_ok(session)


def test_the_gateway_fails_closed_when_the_ledger_is_unreachable(session, scripted, tmp_path):
    from smeai.app import create_app

    s = setup_org(session, scripted.base_url)
    broken = Settings(
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none",
        var_dir=tmp_path / "var",
        secret_key="test-secret-key-not-for-production",
    )
    r = _client(create_app(broken), s.secret).post("/gateway/v1/chat/completions", json=chat())
    assert r.status_code == 503 and r.json()["error"]["code"] == "ledger_unavailable"
    assert scripted.calls() == []


@pytest.mark.parametrize("style", ["openai", "deepseek"])
@pytest.mark.parametrize("stream", [False, True])
def test_cached_input_is_charged_at_the_cached_price_and_held_at_the_full_one(app, session, scripted, style, stream):
    s = setup_org(session, scripted.base_url, price_in="10", price_out="20", price_cached_in="1")
    body = chat(f"tokens=4 cached=3 cache={style} call=c", stream=stream)
    r = _client(app, s.secret).post("/gateway/v1/chat/completions", json=body)
    assert r.status_code == 200, r.text
    [u] = _usage(session)
    assert (u.prompt_tokens, u.cached_tokens, u.completion_tokens, u.estimated) == (7, 3, 4, False)
    # 4 uncached input tokens at 10 fen, 3 cached at 1 fen, 4 output at 20 fen per 1,000
    assert u.cost_mf == call_cost(4, 4, 10_000, 20_000) + 3 == 40 + 3 + 80
    hold = session.get(Hold, u.hold_id)
    assert hold.amount_mf == call_cost(hold.input_bound, hold.output_bound, 10_000, 20_000)  # the full price
    assert hold.cached_input_mf_per_1k == 1000
    _audit_ok(session)


def test_without_a_cached_price_cached_input_is_charged_at_the_input_price(app, session, scripted):
    s = setup_org(session, scripted.base_url)
    r = _client(app, s.secret).post("/gateway/v1/chat/completions", json=chat("tokens=4 cached=3 call=d"))
    assert r.status_code == 200
    [u] = _usage(session)
    assert u.cached_tokens == 3 and u.cost_mf == call_cost(u.prompt_tokens, 4, 10_000, 20_000)
    _audit_ok(session)


def test_a_cached_price_above_the_input_price_is_refused():
    from pydantic import ValidationError

    from smeai.gateway.schemas import PriceIn

    with pytest.raises(ValidationError):
        PriceIn.model_validate({"price_in": "1", "price_out": "2", "price_cached_in": "1.5"})
    assert PriceIn.model_validate({"price_in": "1", "price_out": "2", "price_cached_in": "0.2"}).price_cached_in == 200


def test_the_data_plane_answers_before_the_router_inside_the_portals_middleware(app, session, scripted):
    """POST /gateway/v1/chat/completions is answered by gateway.api.DataPlane, not the router: the portal's
    middleware still runs around it (request id, security headers, the route's template in the metrics)
    and the route's other methods still reach the router."""
    from smeai.ops import metrics

    s = setup_org(session, scripted.base_url)
    before = metrics.REQUESTS.labels("POST", "/gateway/v1/chat/completions", "200")._value.get()
    r = _client(app, s.secret).post("/gateway/v1/chat/completions", json=chat("tokens=2"))
    assert r.status_code == 200 and r.headers["x-request-id"] and r.headers["x-content-type-options"] == "nosniff"
    assert metrics.REQUESTS.labels("POST", "/gateway/v1/chat/completions", "200")._value.get() == before + 1
    assert _client(app, s.secret).get("/gateway/v1/chat/completions").status_code == 405
    deep: list = []
    for _ in range(40):
        deep = [deep]
    too_deep = {"model": "m", "messages": [{"role": "user", "content": "x"}], "x": deep}
    refused = _client(app, s.secret).post("/gateway/v1/chat/completions", json=too_deep)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid"  # the body limits apply
    [u] = _usage(session)
    assert u.completion_tokens == 2


def test_an_upstream_is_called_through_the_proxy_the_environment_names(app, session, scripted, monkeypatch):
    """HTTP_PROXY is honoured (read once per upstream address, not on every call): the upstream's host does
    not resolve, the proxy (here the scripted upstream itself, which answers an absolute-form request) does."""
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{scripted.port}")
    s = setup_org(session, f"http://upstream-{uuid4().hex[:8]}.invalid/v1")
    for _ in range(2):
        r = _client(app, s.secret).post("/gateway/v1/chat/completions", json=chat("tokens=3 call=proxied"))
        assert r.status_code == 200, r.text
    assert [u.completion_tokens for u in _usage(session)] == [3, 3]


def _one_write_upstream(body: bytes) -> tuple[str, threading.Thread]:
    """An upstream that answers one request with BODY as an SSE stream sent in a single write."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        with server:
            conn, _ = server.accept()
            with conn:
                seen = b""
                while b"\r\n\r\n" not in seen:
                    seen += conn.recv(65536)
                head, _sep, rest = seen.partition(b"\r\n\r\n")
                length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:"))[15:])
                while len(rest) < length:
                    rest += conn.recv(65536)
                head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n"
                conn.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{port}/v1", thread


def test_chunks_the_upstream_sent_together_reach_the_client_in_one_write(app, session):
    """What one read from the upstream brought is relayed in one write to the client (each write costs the
    gateway a pass through every middleware and a system call), in order, [DONE] included."""
    chunks = [
        {"id": "c1", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
        *({"id": "c1", "choices": [{"index": 0, "delta": {"content": f"w{i} "}}]} for i in range(3)),
        {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {"id": "c1", "choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 3}},
    ]
    body = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
    base_url, upstream = _one_write_upstream(body)
    s = setup_org(session, base_url)
    request = json.dumps(chat("hi", stream=True)).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/gateway/v1/chat/completions",
        "raw_path": b"/gateway/v1/chat/completions",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(request)).encode()),
            (b"authorization", f"Bearer {s.secret}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[dict] = []
    asked = [{"type": "http.request", "body": request, "more_body": False}]

    async def receive() -> dict:
        if asked:
            return asked.pop()
        await asyncio.sleep(30)  # the client stays until the answer has ended
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    aio.run(app(scope, receive, send))
    upstream.join(5)

    assert sent[0]["status"] == 200
    writes = [m["body"] for m in sent if m["type"] == "http.response.body" and m.get("body")]
    assert len(writes) == 1
    relayed = sse(writes[0].decode().splitlines())
    assert relayed[-1] == "[DONE]" and [c["choices"] for c in relayed[:-1]] == [c["choices"] for c in chunks[:-1]]
    [u] = _usage(session)
    assert (u.prompt_tokens, u.completion_tokens, u.estimated, u.status) == (4, 3, False, "ok")
