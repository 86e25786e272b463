"""A message a redirect leaves (web/flash.py) shows once on the next page, and only if the portal signed it."""

from __future__ import annotations

from fastapi import Request
from fastapi.testclient import TestClient

from smeai.web.flash import FLASH_COOKIE, redirect_with_message


def test_the_message_shows_once_after_the_redirect(app):
    @app.post("/test-flash")
    def done(request: Request):
        return redirect_with_message(request, "/", "已提交审核。")

    client = TestClient(app)
    after = client.post("/test-flash")  # follows the 303 to the home page
    assert after.status_code == 200
    assert '<div class="alert ok" role="status">已提交审核。</div>' in after.text
    assert "已提交审核" not in client.get("/").text  # shown once


def test_a_forged_message_is_not_shown(client):
    client.cookies.set(FLASH_COOKIE, "WyJvayIsICJoYWNrZWQiXQ==.0000")
    assert "hacked" not in client.get("/").text
