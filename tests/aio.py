"""Run a coroutine to its end from a test, whatever runs in the test's thread.

`asyncio.run` refuses to start inside a thread whose event loop is running, and Playwright's sync API (the
browser tests' session fixture) keeps one running in the main thread for the rest of the session: a test
that called `asyncio.run` passed alone and failed after a browser test in the same worker. A thread of its
own has no loop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-asyncio") as pool:
        return pool.submit(asyncio.run, coro).result(timeout=timeout)
