"""A client that leaves is charged what was produced, promptly, however it leaves (issue 18: holds of clients
that left mid-stream stayed 'held' until the sweeper voided them, which charged nothing for the tokens the
upstream had produced). Real sockets against the served portal; the garbage collector is off while a test
waits, so nothing is settled by a finaliser that happens to run."""

from __future__ import annotations

import gc
import json
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from smeai.gateway.models import Hold, Usage
from tests.gateway.conftest import chat, setup_org


@pytest.fixture
def no_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _send(base: str, secret: str, body: dict, rcvbuf: int | None = None) -> socket.socket:
    """A streaming request written on a raw socket (so the test decides when to read and when to leave)."""
    url = urlsplit(base)
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect((url.hostname, url.port))
    payload = json.dumps(body).encode()
    head = (
        f"POST /gateway/v1/chat/completions HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {secret}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    sock.sendall(head.encode() + payload)
    return sock


def _resolved(session, org_id: int, within: float) -> Hold:
    """The hold once resolved, or as it is after WITHIN seconds (the sweeper would take minutes)."""
    deadline = time.monotonic() + within
    while True:
        session.expire_all()
        [hold] = session.scalars(select(Hold).where(Hold.org_id == org_id)).all()
        if hold.state != "held" or time.monotonic() > deadline:
            return hold
        time.sleep(0.05)


def test_a_client_gone_before_the_first_byte_has_its_hold_resolved(live, session, scripted, no_gc):
    """The upstream is slow to answer; the client leaves meanwhile. The response is cancelled before its
    relay ever runs, so nothing in the relay can resolve the hold: the response must."""
    s = setup_org(session, scripted.base_url)
    sock = _send(live, s.secret, chat("tokens=5 hang=3.0 call=early", stream=True))
    deadline = time.monotonic() + 20
    while not session.scalars(select(Hold.state).where(Hold.org_id == s.org_id)).all():  # the hold is taken
        assert time.monotonic() < deadline, "no hold taken"
        time.sleep(0.05)
        session.expire_all()
    sock.close()  # while the upstream is still answering slowly
    hold = _resolved(session, s.org_id, within=10.0)
    assert hold.state != "held", "the hold of a client that left is still held"
    usage = session.scalar(select(Usage).where(Usage.hold_id == hold.id))
    # nothing was relayed: voided (nothing charged), or settled for what the upstream had produced
    assert hold.state == "voided" or (usage is not None and usage.status == "disconnected")


def test_a_client_that_stops_reading_then_leaves_is_charged_promptly(live, session, scripted, no_gc):
    """A slow reader fills its socket, the server's writes pause, and the client's disconnect cancels the
    response while it waits to write, not inside the relay: the relay is left at a `yield`."""
    s = setup_org(session, scripted.base_url, fen=100_000, key={"max_tokens": 4000})
    body = chat("tokens=3000 delay=0.002 pad=8000 call=slow", stream=True)
    sock = _send(live, s.secret, body, rcvbuf=4096)
    first = sock.recv(4096)
    assert b"200 OK" in first, first[:200]
    time.sleep(2.0)  # not reading: the socket's buffers fill and the server's transport pauses
    sock.close()
    hold = _resolved(session, s.org_id, within=10.0)
    assert hold.state == "settled", "the hold of a client that left is still held"
    usage = session.scalar(select(Usage).where(Usage.hold_id == hold.id))
    assert usage is not None and usage.status == "disconnected" and usage.cost_mf > 0
