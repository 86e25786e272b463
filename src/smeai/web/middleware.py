"""Pure ASGI middleware: picks the language per request, sets the CSRF cookie once, adds security headers
and the request id."""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import Sequence
from contextvars import ContextVar
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smeai.i18n import normalise_lang, set_lang
from smeai.web.csrf import CSRF_COOKIE

LANG_COOKIE = "smeai_lang"
# Every response: no MIME sniffing, no framing by other sites, no full URLs leaked to other sites.
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    # No page needs a camera, a microphone, the location or payment; nothing embedded may ask either.
    (
        b"permissions-policy",
        b"camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
        b"accelerometer=(), gyroscope=(), magnetometer=()",
    ),
]
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
CSP_NONCE = "smeai.csp_nonce"  # scope key; render() puts it on the page's own inline scripts
# This request's id: the audit log quotes it (auth/audit.py) and the response's X-Request-Id names it.
REQUEST_ID: ContextVar[str | None] = ContextVar("smeai_request_id", default=None)
# An id a trusted proxy sent (nginx's $request_id, a load balancer's trace id) is kept, so one id follows the
# request through every log; it lands in logs, headers and the audit table (String(32)), so only short, plain ones.
INCOMING_ID = re.compile(r"[A-Za-z0-9._-]{1,32}")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def request_id_for(scope: Scope, proxies: Sequence[Network]) -> str:
    """The proxy's X-Request-Id when the direct peer is a trusted proxy and the id is short and plain;
    otherwise our own. Anyone else's header is ignored: a client must not choose what our logs call it."""
    client = scope.get("client")
    if proxies and client:
        try:
            peer = ipaddress.ip_address(str(client[0]).strip("[]"))
        except ValueError:
            peer = None
        if peer is not None and any(peer in net for net in proxies):
            for name, value in scope.get("headers", []):
                if name == b"x-request-id":
                    incoming = value.decode("latin-1").strip()
                    if INCOMING_ID.fullmatch(incoming):
                        return incoming
                    break
    return secrets.token_hex(8)


def content_security_policy(nonce: str) -> bytes:
    """Scripts only from the package (htmx, ECharts, Swagger UI) or inline with this response's nonce.
    Styles may be inline: the templates use style attributes, htmx injects its indicator style."""
    return (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; "
        "font-src 'self' data:; "
        "connect-src 'self'; "
        "object-src 'none'; "
        "base-uri 'self'; "
        "form-action 'self'; "
        "frame-ancestors 'none'"
    ).encode()


class LocaleAndCsrfMiddleware:
    def __init__(
        self, app: ASGIApp, *, default_lang: str, secure_cookies: bool, trusted_proxies: Sequence[Network] = ()
    ) -> None:
        self.app, self.default_lang, self.secure = app, default_lang, secure_cookies
        self.proxies = tuple(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookies = SimpleCookie()
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                cookies.load(value.decode("latin-1"))
        query = parse_qs(scope.get("query_string", b"").decode())
        asked = normalise_lang((query.get("lang") or [None])[0])
        lang = asked or normalise_lang(cookies[LANG_COOKIE].value if LANG_COOKIE in cookies else None)
        set_lang(lang or self.default_lang)
        has_csrf = CSRF_COOKIE in cookies
        nonce = scope[CSP_NONCE] = secrets.token_urlsafe(16)
        request_id = request_id_for(scope, self.proxies)
        REQUEST_ID.set(request_id)

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                headers.append((b"x-request-id", request_id.encode()))
                headers.append((b"content-security-policy", content_security_policy(nonce)))
                if self.secure:  # behind HTTPS (SMEAI_COOKIE_SECURE): browsers must not come back over HTTP
                    headers.append(HSTS)
                flags = "; Path=/; SameSite=Lax" + ("; Secure" if self.secure else "")
                if asked:
                    headers.append((b"set-cookie", f"{LANG_COOKIE}={asked}; Max-Age=31536000{flags}".encode()))
                seed = scope.get("smeai.csrf_seed")
                if not has_csrf and seed:
                    headers.append((b"set-cookie", f"{CSRF_COOKIE}={seed}; HttpOnly{flags}".encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookies)
