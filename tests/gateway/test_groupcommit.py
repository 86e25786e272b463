"""The data plane's group commit on SQLite (gateway/groupcommit.py): writes queued while a transaction runs
commit together, and money stays exactly as safe as with a transaction per write."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from smeai.gateway import groupcommit, ledger, service
from smeai.gateway.ledger import InsufficientQuota, Metered
from smeai.gateway.models import Hold, Key, Wallet
from tests import aio
from tests.gateway.conftest import setup_org


@pytest.fixture
def sqlite_url(db_url: str) -> str:
    if not db_url.startswith("sqlite"):
        pytest.skip("the group commit is SQLite's (PostgreSQL keeps a transaction per write)")
    return db_url


def _request(session, secret: str) -> ledger.HoldRequest:
    key = service.authenticate(session, secret)
    ts = service.targets(session, key, "m")
    messages = [{"role": "user", "content": "hi"}]
    return service.hold_request(
        key, "m", ts, messages=messages, tools=None, max_tokens=10, idempotency_key=None, fingerprint=""
    )


async def _behind_a_running_transaction(g: groupcommit.GroupCommit, writes: list[tuple[Any, ...]]) -> list[Any]:
    """WRITES queued while the group's thread is inside a transaction (a write that waits), so that they
    commit together in the next one; their results or exceptions, in order."""
    started, release = threading.Event(), threading.Event()

    def blocker(_conn: Connection) -> None:
        started.set()
        release.wait(10)

    first = asyncio.ensure_future(g.run(blocker))
    await asyncio.to_thread(started.wait, 10)
    tasks = [asyncio.ensure_future(g.run(*w)) for w in writes]
    for _ in range(5):
        await asyncio.sleep(0)  # every task has queued its write
    release.set()
    await first
    return await asyncio.gather(*tasks, return_exceptions=True)


def test_holds_queued_together_commit_in_one_transaction_and_a_refused_one_takes_nothing(sqlite_url, session):
    s = setup_org(session, "http://127.0.0.1:9/v1", fen=0, key={"concurrency": 10})
    req = _request(session, s.secret)
    ledger.fund_own(session, s.org_id, 3 * req.amount_mf, None, None)  # exactly three holds
    session.commit()
    g = groupcommit.GroupCommit(sqlite_url)
    now = ledger.utcnow()

    got = aio.run(_behind_a_running_transaction(g, [(ledger.hold, req, now)] * 5))

    assert g.transactions == 2  # the blocker's, then the five holds together
    held = [h for h in got if isinstance(h, ledger.Held)]
    assert len(held) == 3 and all(isinstance(e, InsufficientQuota) for e in got[3:])
    session.expire_all()
    wallet = session.scalar(select(Wallet).where(Wallet.org_id == s.org_id))
    assert wallet is not None and wallet.own_held_mf == wallet.own_balance_mf == 3 * req.amount_mf
    assert session.scalar(select(Key.in_flight).where(Key.id == s.key_id)) == 3  # the refused gave theirs back
    assert ledger.audit(session).ok

    used = Metered(prompt_tokens=2, completion_tokens=3, estimated=False, status="ok")
    settled = aio.run(_behind_a_running_transaction(g, [(ledger.settle, h, used) for h in held]))
    assert all(live for _usage_id, live in settled)
    session.expire_all()
    wallet = session.scalar(select(Wallet).where(Wallet.org_id == s.org_id))
    assert wallet is not None and wallet.own_held_mf == 0
    assert wallet.own_balance_mf == 3 * req.amount_mf - 3 * ledger.call_cost(
        2, 3, req.input_mf_per_1k, req.output_mf_per_1k
    )
    assert ledger.audit(session).ok


def test_a_write_that_breaks_the_transaction_fails_its_whole_batch_and_nothing_of_it_is_written(sqlite_url, session):
    s = setup_org(session, "http://127.0.0.1:9/v1", fen=100, key={"concurrency": 10})
    req = _request(session, s.secret)
    g = groupcommit.GroupCommit(sqlite_url)
    now = ledger.utcnow()

    def breaker(conn: Connection) -> None:
        conn.exec_driver_sql("ROLLBACK")  # the transaction is gone, the hold before this one with it

    got = aio.run(_behind_a_running_transaction(g, [(ledger.hold, req, now), (breaker,), (ledger.hold, req, now)]))

    assert all(isinstance(e, Exception) for e in got), got  # the first hold too: it was never committed
    session.expire_all()
    assert session.scalar(select(func.count(Hold.id)).where(Hold.org_id == s.org_id)) == 0
    wallet = session.scalar(select(Wallet).where(Wallet.org_id == s.org_id))
    assert wallet is not None and wallet.own_held_mf == 0
    assert session.scalar(select(Key.in_flight).where(Key.id == s.key_id)) == 0
    assert ledger.audit(session).ok


def test_an_unknown_key_is_refused_by_a_read_without_joining_the_group_commit(sqlite_url, app, session):
    """A bad key costs a read, not a write in the group commit; a good key is looked up once, then its calls go
    straight to their hold, whose transaction still checks the key (a key revoked since is refused there)."""
    from fastapi.testclient import TestClient

    from tests.gateway.conftest import chat

    s = setup_org(session, "http://127.0.0.1:9/v1", fen=0)
    g = groupcommit.group(sqlite_url)
    before = g.transactions
    bad = TestClient(app, headers={"Authorization": "Bearer sk-smeai-nope"})
    for _ in range(3):
        r = bad.post("/gateway/v1/chat/completions", json=chat())
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert g.transactions == before  # no write for a bad key
    good = TestClient(app, headers={"Authorization": f"Bearer {s.secret}"})
    assert good.post("/gateway/v1/chat/completions", json=chat()).status_code == 402  # its hold ran: no money
    assert g.transactions == before + 1
    service.revoke_key(session, s.actor, s.key_id)
    session.commit()
    r = good.post("/gateway/v1/chat/completions", json=chat())  # known live before: refused by its transaction
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
