"""Waiting for a background survey import from a page client (test code)."""

from __future__ import annotations

import time

from bs4 import BeautifulSoup

FINISHED = ("done", "failed")


def state_of(html: str) -> str:
    block = BeautifulSoup(html, "html.parser").select_one("#upload")
    assert block is not None, "not an upload page"
    return str(block["data-state"])


def wait(web, res, *, timeout: float = 60.0):
    """The upload's page once its import has finished (RES: the answer to the upload, redirected to its page)."""
    assert res.status_code == 200, res.text
    url = str(res.url)
    assert "/survey/imports/" in url, url
    deadline = time.monotonic() + timeout
    page = res
    while state_of(page.text) not in FINISHED:
        assert time.monotonic() < deadline, f"the import did not finish in {timeout} s"
        time.sleep(0.05)
        page = web.get(url)
    return page
