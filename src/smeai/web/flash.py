"""One-time messages shown on the page a form redirects to ("Offering submitted for review."): the
portal's one way to confirm that a submission or a decision went through (POST, redirect, GET).

The redirect carries the message in a short-lived cookie, signed with the app's secret so that nothing
but the portal can put words on its pages; `render()` shows it once and clears it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Literal

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from smeai.config import app_settings, secret_key

FLASH_COOKIE = "smeai_flash"
MAX_CHARS = 400  # a sentence or two; a cookie holds about 4 KB
Kind = Literal["ok", "info", "error"]


def _sign(request: Request, payload: str) -> str:
    key = secret_key(app_settings(request)).encode()
    return hmac.new(key, b"flash:" + payload.encode(), hashlib.sha256).hexdigest()[:32]


def redirect_with_message(request: Request, url: str, text: str, kind: Kind = "ok") -> RedirectResponse:
    """303 to `url`, whose page then shows `text` (already translated) as an alert of `kind`."""
    response = RedirectResponse(url, status_code=303)
    payload = base64.urlsafe_b64encode(json.dumps([kind, text[:MAX_CHARS]]).encode()).decode()
    secure = app_settings(request).cookie_secure
    value = f"{payload}.{_sign(request, payload)}"
    response.set_cookie(FLASH_COOKIE, value, max_age=120, path="/", httponly=True, samesite="lax", secure=secure)
    return response


def take_message(request: Request) -> tuple[str, str] | None:
    """The message a redirect left for this page, if its signature holds."""
    value = request.cookies.get(FLASH_COOKIE)
    if not value or "." not in value:
        return None
    payload, signature = value.rsplit(".", 1)
    if not hmac.compare_digest(_sign(request, payload), signature):
        return None
    try:
        kind, text = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except (ValueError, TypeError):
        return None
    if kind not in ("ok", "info", "error") or not isinstance(text, str):
        return None
    return kind, text


def clear(request: Request, response: Response) -> None:
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/")
