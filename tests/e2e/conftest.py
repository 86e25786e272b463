"""Browser tests: the real app served by uvicorn on a free localhost port, driven by Debian's
headless Chromium through Playwright. They run on both database backends like every other test."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """Base URL of the app served in a background thread; stopped after the test."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")  # a phone screen
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    pg.on("dialog", lambda dialog: dialog.accept())  # data-confirm questions: the tests mean what they click
    yield pg
    context.close()
