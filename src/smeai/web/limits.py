"""Bounds on what one request may send: body size (per route) and JSON nesting depth.

Every request body is counted as it is read; past the route's limit the read fails with 413 in the
error envelope. The default (SMEAI_BODY_MAX_BYTES, 1 MiB) fits any JSON or form; routes that take a
file declare it with `@upload_route` and may send up to SMEAI_UPLOAD_MAX_BYTES plus the multipart
framing. JSON bodies are also scanned for nesting depth before FastAPI or pydantic parse them: a
body of a million `[` would otherwise reach the parser's recursion limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

import anyio.to_thread
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smeai.i18n import N_

F = TypeVar("F", bound=Callable[..., object])
UPLOAD_ATTR = "smeai_upload_route"
MULTIPART_FRAMING_BYTES = 64 * 1024  # boundaries, part headers and the small form fields beside the file
# A string, or an unterminated one up to the end: every '"' starts a match, so one pass is linear on any
# input (a pattern that can fail after scanning far would rescan from each later quote: quadratic).
_STRING = re.compile(rb'"(?:[^"\\]++|\\.?)*+(?:"|\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")  # bytes.translate deletes these
SCAN_IN_THREAD_BYTES = 64 * 1024  # a larger body is scanned off the event loop


class RequestRefused(HTTPException):
    """A request refused before any route sees it; app.py answers it in the one error envelope."""

    def __init__(self, status_code: int, code: str, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status_code, detail=message)
        self.code, self.message, self.fields = code, message, fields or {}


def upload_route(endpoint: F) -> F:
    """Mark a route that takes a file: its body may be as large as SMEAI_UPLOAD_MAX_BYTES allows."""
    setattr(endpoint, UPLOAD_ATTR, True)
    return endpoint


def json_depth_exceeds(body: bytes, max_depth: int) -> bool:
    """True when brackets nest deeper than max_depth (strings skipped; JSON Lines counted line by line)."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    if brackets.count(b"[") + brackets.count(b"{") <= max_depth:
        return False
    depth = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth = max(depth - 1, 0)
    return False


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            kind = value.split(b";")[0].strip().lower()
            return not kind or kind.endswith(b"json") or kind in (b"application/x-ndjson", b"application/jsonl")
    return True  # no content type (or an empty one): FastAPI parses the body as JSON


class BodyLimitMiddleware:
    """Counts the body as the route reads it. The limit is looked up on the first read, when routing
    has put the route in the scope, so a route's own declaration (`@upload_route`) applies."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, upload_max_bytes: int, json_max_depth: int) -> None:
        self.app, self.max_bytes, self.json_max_depth = app, max_bytes, json_max_depth
        self.upload_max_bytes = max(upload_max_bytes + MULTIPART_FRAMING_BYTES, max_bytes)

    @staticmethod
    def is_upload(scope: Scope) -> bool:
        route = scope.get("route")
        endpoint = getattr(route, "endpoint", None) or scope.get("endpoint")
        return bool(getattr(endpoint, UPLOAD_ATTR, False))

    def limit_for(self, scope: Scope) -> int:
        return self.upload_max_bytes if self.is_upload(scope) else self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, is_json = _content_length(scope), _is_json(scope)
        state = {"limit": 0, "read": 0, "done": False}

        def too_large() -> RequestRefused:
            reason = f"at most {state['limit']} bytes"
            return RequestRefused(413, "too_large", N_("The request is too large."), fields={"body": reason})

        async def read_one() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["read"] += len(message.get("body", b""))
                if state["read"] > state["limit"]:
                    raise too_large()
            return message

        async def limited_receive() -> Message:
            if state["done"]:
                return await receive()  # the body is read; later calls wait for a disconnect
            if not state["limit"]:
                state["limit"] = self.limit_for(scope)
                if declared is not None and declared > state["limit"]:
                    raise too_large()  # refused before a byte of the body is read
            # An upload route reads its file itself and reports each bad line or row on its own (a catalog
            # line nested too deeply is that line's error, not the whole file's): it is streamed, size-bounded.
            if not is_json or self.is_upload(scope):
                message = await read_one()
                state["done"] = message["type"] != "http.request" or not message.get("more_body", False)
                return message
            # JSON: read it whole (it is bounded by the limit) and check the depth before any parser runs.
            chunks: list[bytes] = []
            while True:
                message = await read_one()
                if message["type"] != "http.request":
                    return message
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            state["done"] = True
            body = b"".join(chunks)
            if len(body) > SCAN_IN_THREAD_BYTES:
                too_deep = await anyio.to_thread.run_sync(json_depth_exceeds, body, self.json_max_depth)
            else:
                too_deep = json_depth_exceeds(body, self.json_max_depth)
            if too_deep:
                raise RequestRefused(
                    422,
                    "invalid",
                    N_("The JSON is nested too deeply."),
                    fields={"body": f"nested deeper than {self.json_max_depth} levels"},
                )
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, limited_receive, send)
