"""Group commit of the data plane's ledger writes on SQLite: the holds, settlements and voids that one process
has waiting run by one thread, many in one transaction, each inside a savepoint of its own.

Why: SQLite lets one transaction write at a time. Each call used to commit its hold and its settlement in a
transaction of its own from a thread of the pool; eight calls arriving together made sixteen writers take
turns at the database's lock, and a writer that finds the lock taken does not queue for it but sleeps in
SQLite's busy handler (1, 2, 5, 10, 15, 20, 25 ms... between tries), so the last holds of a burst waited
40-60 ms for a lock that was free most of that time (`benchmarks/gateway.py`, concurrency 8, p95). Here the
writes that arrive while a transaction runs wait in a queue and go together into the next one: no polling,
one `BEGIN IMMEDIATE` and one commit (its `fsync`) for the lot.

Money is as safe as with a transaction per write: each write runs its same conditional statements in its own
savepoint, one after another on the one connection, so a write sees every write before it in the batch as
committed, exactly as if it had run after them; a write that raises (a refusal: the wallet, a limit, an
Idempotency-Key twin; or anything else) is rolled back to its savepoint alone and its caller gets the
exception; the others' results are handed back only once the commit has succeeded, and a failed commit is
every caller's failure (nothing of the batch was written). So a hold's caller calls the upstream only after
its hold is durable, as before. PostgreSQL commits concurrently and keeps a transaction per write (see
`proxy._write`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from sqlalchemy import Connection

from smeai.db import get_engine

T = TypeVar("T")
MAX_BATCH = 64  # writes per transaction: bounds how long the database's lock is held at once


@dataclass
class _Write:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


def _deliver(w: _Write, ok: bool, value: Any) -> None:
    """Hand a result to its caller's event loop (the caller may have its own loop: a test client's)."""

    def put() -> None:
        if w.future.done():
            return
        if ok:
            w.future.set_result(value)
        else:
            w.future.set_exception(value)

    with contextlib.suppress(RuntimeError):  # the caller's loop has closed: nobody is waiting
        w.loop.call_soon_threadsafe(put)


class GroupCommit:
    """The writes of one SQLite database (URL) in this process; `run` is the only entry."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._queue: list[_Write] = []
        self._draining = False
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-ledger")
        self.transactions = 0  # committed batches, for tests and curiosity

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """FN(connection, *ARGS) in the next transaction; its result once committed, or its exception. Not
        cancellable while it runs, as a write in a worker thread was not: a caller cancelled meanwhile still
        gets the result (a hold it must void), the cancellation landing at its next checkpoint."""
        loop = asyncio.get_running_loop()
        write = _Write(fn, args, loop, loop.create_future())
        with self._lock:
            self._queue.append(write)
            start = not self._draining
            self._draining = True
        if start:
            self._thread.submit(self._drain)
        with anyio.CancelScope(shield=True):
            result: T = await write.future
        return result

    def _drain(self) -> None:
        while True:
            with self._lock:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                if not batch:
                    self._draining = False
                    return
            try:
                results = self._commit(batch)
            except BaseException as exc:  # nothing of the batch was written: every caller's failure
                for w in batch:
                    _deliver(w, False, exc)
            else:
                for w, (ok, value) in zip(batch, results, strict=True):
                    _deliver(w, ok, value)

    def _commit(self, batch: list[_Write]) -> list[tuple[bool, Any]]:
        results: list[tuple[bool, Any]] = []
        with get_engine(self.url).connect() as conn:
            # IMMEDIATE: the database's write lock from the start (another process writing: busy_timeout)
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            for w in batch:
                results.append(_one(conn, w))
            conn.commit()
        self.transactions += 1
        return results


def _one(conn: Connection, w: _Write) -> tuple[bool, Any]:
    """One write in a savepoint: kept, or rolled back alone when it raises (a failed ROLLBACK TO means the
    transaction itself is broken: that fails the batch)."""
    conn.exec_driver_sql("SAVEPOINT gateway_write")
    try:
        value = w.fn(conn, *w.args)
    except Exception as exc:
        conn.exec_driver_sql("ROLLBACK TO gateway_write")
        conn.exec_driver_sql("RELEASE gateway_write")
        return False, exc
    conn.exec_driver_sql("RELEASE gateway_write")
    return True, value


_groups: dict[str, GroupCommit] = {}
_groups_lock = threading.Lock()


def group(url: str) -> GroupCommit:
    """The process's group commit for the SQLite database URL."""
    with _groups_lock:
        found = _groups.get(url)
        if found is None:
            found = _groups[url] = GroupCommit(url)
        return found
