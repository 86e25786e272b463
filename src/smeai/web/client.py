"""The client's address, read through trusted reverse proxies only (SMEAI_TRUSTED_PROXIES).

X-Forwarded-For is anyone's to write. It is believed only when the direct peer is a trusted proxy,
and then only from the right: each trusted proxy appends the address it saw, so the right-most
address that is not a trusted proxy is the first one no trusted party vouches for beyond.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from fastapi import Request

from smeai.config import app_settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def _valid(address: str) -> bool:
    try:
        ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    return True


def forwarded_client(peer: str, forwarded_for: Sequence[str], proxies: Sequence[Network]) -> str:
    """The client address given the direct peer and every X-Forwarded-For header, in order."""
    if not proxies or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for header in forwarded_for for h in header.split(",") if h.strip()]
    nearest_trusted = peer
    for hop in reversed(hops):
        if not _valid(hop):
            return nearest_trusted  # a trusted proxy would not write this: stop at the last address we believe
        if not _trusted(hop, proxies):
            return hop.strip("[]")
        nearest_trusted = hop
    return nearest_trusted


def client_address(request: Request) -> str:
    peer = request.client.host if request.client else "unknown"
    settings = app_settings(request)
    return forwarded_client(peer, request.headers.getlist("x-forwarded-for"), settings.proxy_networks)[:64]
