"""CSRF protection for cookie-authenticated requests: a per-browser random cookie, and an HMAC of
it that every form (hidden field) and HTMX request (X-CSRF-Token header) must send back."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request

from smeai.config import app_settings, secret_key
from smeai.errors import Forbidden
from smeai.i18n import N_

CSRF_COOKIE = "smeai_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def browser_seed(request: Request) -> str:
    """The browser's random CSRF cookie value, created on first sight (set by the middleware)."""
    seed = request.cookies.get(CSRF_COOKIE) or request.scope.get("smeai.csrf_seed")
    if not seed:
        seed = secrets.token_urlsafe(24)
        request.scope["smeai.csrf_seed"] = seed
    return seed


def csrf_token(request: Request) -> str:
    key = secret_key(app_settings(request)).encode()
    return hmac.new(key, browser_seed(request).encode(), hashlib.sha256).hexdigest()


def _valid(request: Request, sent: str | None) -> bool:
    seed = request.cookies.get(CSRF_COOKIE)
    if not seed or not sent:
        return False
    return hmac.compare_digest(csrf_token(request), sent)


async def csrf_protect(request: Request) -> None:
    """Dependency for every state-changing page route."""
    if request.method not in UNSAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not _valid(request, sent):
        raise Forbidden(N_("The form has expired. Please reload the page and try again."), reason="csrf")


def check_header(request: Request) -> None:
    """For the JSON API when the caller is authenticated by cookie rather than a bearer token."""
    if request.method in UNSAFE_METHODS and not _valid(request, request.headers.get(CSRF_HEADER)):
        raise Forbidden(N_("Missing or invalid CSRF token."), reason="csrf")
