"""Emailed links: signed, expiring tokens (HMAC-SHA256 with the secret key), and where they point.

A token is `base64url(json payload).base64url(signature)`; the payload names its purpose, so a reset
token is not an address-verification token. Single use where it matters comes from the payload: a reset
token quotes a digest of the password hash it replaces, so it stops working once the password changes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from smeai.errors import NotFound
from smeai.i18n import N_

LINK_INVALID = N_("This link is invalid or has expired.")
# session.info key: the base URL of the request this unit of work serves (auth.deps sets it), so that a
# notification queued deep in a service links back to the right site; the CLI leaves it empty.
BASE_URL_KEY = "smeai_base_url"


class LinkInvalid(NotFound):
    """An emailed link's token is unknown, altered, expired or already used."""

    code = "link_invalid"


@dataclass(frozen=True)
class Links:
    """What a service needs to make emailed links: the base URL, the signing key, their lifetime and the
    language of the email (the edge builds it from the settings and the request)."""

    base_url: str
    key: str
    hours: int
    lang: str

    def url(self, path: str, token: str) -> str:
        return f"{self.base_url.rstrip('/')}{path}?token={token}"

    def sign(self, purpose: str, **payload: object) -> str:
        return sign(self.key, purpose, payload, seconds=self.hours * 3600)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: str, body: str) -> str:
    return _b64(hmac.new(key.encode(), f"smeai-link:{body}".encode(), hashlib.sha256).digest())


def sign(key: str, purpose: str, payload: dict[str, object], *, seconds: int) -> str:
    body = _b64(json.dumps({"p": purpose, "exp": int(time.time()) + seconds, **payload}).encode())
    return f"{body}.{_mac(key, body)}"


def read(key: str, purpose: str, token: str) -> dict[str, object]:
    """The payload of a genuine, unexpired token of this purpose; otherwise Invalid (one message for all)."""
    body, _, mac = token.strip().partition(".")
    if not body or not hmac.compare_digest(mac, _mac(key, body)):
        raise LinkInvalid(LINK_INVALID, fields={"token": "invalid"})
    try:
        payload = json.loads(_unb64(body))
    except ValueError as exc:
        raise LinkInvalid(LINK_INVALID, fields={"token": "invalid"}) from exc
    if not isinstance(payload, dict) or payload.get("p") != purpose:
        raise LinkInvalid(LINK_INVALID, fields={"token": "invalid"})
    if int(payload.get("exp", 0)) < time.time():
        raise LinkInvalid(LINK_INVALID, fields={"token": "expired"})
    return payload
