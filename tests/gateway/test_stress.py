"""Done-when of issue 18: 64 concurrent streaming calls through the served portal against a wallet that
covers about 8 holds, a third of the clients disconnecting mid-stream and the upstream killed once.

Settled total <= funded, every hold resolved, usage equal to the upstream's counts where it reported them
and never below them where estimated, and `smeai gateway audit` passes. Bounded: the calls are short
(20 tokens, 15 ms apart; a leaver's 100 ms apart); the calls give up after 90 s and the holds are waited for
at most as long as the server may retry a settlement.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import httpx
from sqlalchemy import func, select
from typer.testing import CliRunner

from smeai.auth.actor import Actor
from smeai.cli import app as cli_app
from smeai.db import get_sessionmaker
from smeai.gateway import flows, proxy
from smeai.gateway.models import Hold, Usage, Wallet
from tests.gateway.conftest import chat, setup_org

CALLS = 64
FUND_FEN = 16  # a hold here is about 2 fen: the wallet covers about 8 at once


MID_STREAM = threading.Semaphore(0)  # released by each client that has read its first token
LEFT = threading.Event()  # a client has gone away mid-stream
REPORTED = threading.Event()  # a client has read a whole stream that carried the upstream's usage


def _call(base: str, secret: str, i: int, outcomes: list[str], until: float) -> None:
    """One client: retries a 402 (the wallet is busy holding others' calls) until UNTIL, like an SDK user."""
    where = ("end", "none", "choice", "timings")[i % 4]
    leave = i % 3 == 0  # a third of the clients go away mid-stream
    # A leaver's stream is slower (2 s) so that the server notices the client gone before the upstream ends
    # the stream on its own: on a busy machine a 300 ms stream could finish first and count as "ok".
    delay = 0.1 if leave else 0.015
    body = chat(f"tokens=20 delay={delay} usage={where} call={i}", stream=True)
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(timeout=60) as client:
        while True:
            try:
                with client.stream("POST", f"{base}/gateway/v1/chat/completions", json=body, headers=headers) as r:
                    if r.status_code != 200:
                        r.read()
                        if r.status_code == 402 and time.monotonic() < until:
                            time.sleep(0.15 + (i % 7) * 0.02)
                            continue
                        outcomes.append(str(r.status_code))
                        return
                    seen = 0
                    for line in r.iter_lines():
                        if line.startswith("data: "):
                            seen += 1
                            if seen == 2:
                                MID_STREAM.release()
                            if leave and seen == 4:
                                outcomes.append("left")
                                LEFT.set()
                                return  # closing the response drops the connection
                    outcomes.append("read")
                    if where != "none":
                        REPORTED.set()
                    return
            except httpx.HTTPError as exc:
                outcomes.append(type(exc).__name__)
                return


def test_64_streams_with_disconnects_and_a_killed_upstream_never_overspend(
    live, session, scripted, db_url, monkeypatch
):
    s = setup_org(session, scripted.base_url, fen=FUND_FEN, retries=4, key={"concurrency": CALLS, "max_tokens": 32})
    outcomes: list[str] = []
    until = time.monotonic() + 10
    threads = [threading.Thread(target=_call, args=(live, s.secret, i, outcomes, until)) for i in range(CALLS)]

    sessions = get_sessionmaker(db_url)

    def killer() -> None:
        LEFT.wait(timeout=10)  # one client has left already, and one stream was read whole: each case is
        REPORTED.wait(timeout=10)  # seen at least once before the kill
        # ... and the server has settled that client's call as disconnected: killed earlier, the upstream
        # would cut the leaver's relay before the server noticed the client gone (it ended "truncated")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with sessions() as s2:
                if s2.scalar(select(func.count(Usage.id)).where(Usage.status == "disconnected")):
                    break
            time.sleep(0.05)
        while MID_STREAM.acquire(blocking=False):
            pass
        for _ in range(2):  # then two streams are mid-way (or the calls are slow to start: kill anyway)
            MID_STREAM.acquire(timeout=10)
        scripted.kill()
        time.sleep(0.3)
        scripted.start()

    kill = threading.Thread(target=killer)
    started = time.monotonic()
    for t in threads:
        t.start()
    kill.start()
    for t in [*threads, kill]:
        t.join(timeout=90)
    assert all(not t.is_alive() for t in threads), "calls did not finish in time"
    assert time.monotonic() - started < 90

    # every hold resolved: a disconnect is settled by the server as it notices it, and a settlement the ledger
    # refuses for a moment (a busy SQLite file, a deadlock victim) is retried for up to RESOLVE_PATIENCE_S;
    # on a loaded machine that is what takes time, so wait as long as the server may take (usually < 1 s)
    deadline = time.monotonic() + proxy.RESOLVE_PATIENCE_S + 10
    while time.monotonic() < deadline:
        session.expire_all()
        if not session.scalar(select(func.count(Hold.id)).where(Hold.state == "held")):
            break
        time.sleep(0.2)
    session.expire_all()
    holds = session.scalars(select(Hold).where(Hold.org_id == s.org_id)).all()
    assert holds and all(h.state in ("settled", "voided") for h in holds), Counter(h.state for h in holds)

    usage = session.scalars(select(Usage).where(Usage.org_id == s.org_id)).all()
    spent = sum(u.cost_mf for u in usage)
    assert spent <= FUND_FEN * 1000
    wallet = session.scalar(select(Wallet).where(Wallet.org_id == s.org_id))
    assert wallet is not None and wallet.own_balance_mf == FUND_FEN * 1000 - spent and wallet.own_held_mf == 0

    # the upstream's counts: equal where it reported them, never above ours where we estimated
    log: dict[str, list[dict]] = {}
    for entry in scripted.calls():
        log.setdefault(entry["call"], []).append(entry)
    exact = estimated = 0
    for u in usage:
        marker = str((u.response or {}).get("id") or "").removeprefix("chatcmpl-")
        served = [e for e in log.get(marker, []) if e["status"] == 200]
        if not served:
            continue  # the upstream was killed before it could log this call
        truth = served[-1]
        if u.estimated:
            estimated += 1
            assert u.completion_tokens >= truth["tokens"], (u.id, u.completion_tokens, truth)
        else:
            exact += 1
            assert (u.prompt_tokens, u.completion_tokens) == (
                truth["usage"]["prompt_tokens"],
                truth["usage"]["completion_tokens"],
            ), (u.id, truth)
    assert exact and estimated

    counts = Counter(outcomes)
    assert counts["402"] > 0, counts  # the wallet ran out: refused before any upstream call
    assert counts["left"] > 0 and counts["read"] > 0, counts
    assert "429" not in counts, counts  # quota is never a 429
    statuses = Counter(u.status for u in usage)
    assert statuses["disconnected"] > 0, (statuses, counts, spent)
    print("outcomes", dict(counts), "statuses", dict(statuses), "exact", exact, "estimated", estimated, spent)

    report = flows.audit(session, Actor.system())
    assert report.ok, report.problems
    from smeai.config import get_settings

    monkeypatch.setenv("SMEAI_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["gateway", "audit"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
