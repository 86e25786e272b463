"""Structured logs (structlog): one line per request, JSON in production, readable in development.

Every stdlib logger (smeai's own, uvicorn's, SQLAlchemy's) goes through the same formatter, so the whole
process writes one format. Nothing personal is logged: the request line carries the route template
(`/catalog/offerings/{offering_id}`), never the raw path's query string, a body or a header, and any email
address in any message is masked by `mask_personal_data`.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable, MutableMapping
from typing import Any, TextIO

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smeai.web.middleware import REQUEST_ID

log = structlog.get_logger("smeai.request")
# The stdlib logger behind `log`: asked first, so a level above INFO skips building the line (structlog
# runs its processors, the timestamp included, before the stdlib logger drops it).
_request_logger = logging.getLogger("smeai.request")
Observer = Callable[[str, str, int, float], None]  # method, route template, status, seconds (ops.metrics)

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# Keys whose values are never logged whatever the message (a caller passing a form or settings by mistake).
SECRET_KEYS = frozenset({"password", "new_password", "current_password", "token", "secret_key", "smtp_password"})


def _mask(value: object) -> object:
    return EMAIL.sub("<email>", value) if isinstance(value, str) else value


def mask_personal_data(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: email addresses become <email>; secret-named keys become ***."""
    for key in list(event):
        if key in SECRET_KEYS:
            event[key] = "***"
        else:
            event[key] = _mask(event[key])
    return event


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def configure(*, json: bool, level: str = "INFO", stream: TextIO | None = None) -> None:
    """Route structlog and the stdlib loggers to stderr in one format. Safe to call again (tests, workers)."""
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*_shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared_processors(), structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            mask_personal_data,  # last before rendering: it sees the formatted message and the traceback
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    handler.set_name("smeai")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "smeai"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()  # propagate to ours instead of uvicorn's own format
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # our request line replaces it (and has no query)


def route_template(scope: Scope) -> str:
    """The matched route's path template, or a fixed word for addresses no route matched (never the raw
    path: it may hold a token or an email in the query, and unmatched paths would flood the metrics)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return "(static)" if scope.get("path", "").startswith("/static/") else "(unmatched)"


def actor_ids(scope: Scope) -> tuple[int | None, int | None]:
    actor = (scope.get("state") or {}).get("actor")
    return getattr(actor, "user_id", None), getattr(actor, "org_id", None)


class RequestLogMiddleware:
    """Outermost middleware: times each request and logs one line when its response has been sent. The
    request id is the one LocaleAndCsrfMiddleware gave the response (X-Request-Id), so the log line, the
    response header, the error page and the audit log all quote the same id."""

    def __init__(self, app: ASGIApp, *, observe: Observer | None = None) -> None:
        self.app, self.observe = app, observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        request_id: str | None = None

        async def send_logged(message: Message) -> None:
            nonlocal status, request_id
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name == b"x-request-id":
                        request_id = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            duration = time.perf_counter() - started
            gone = scope.get("smeai.abandoned")  # web/guard.py: set when the client left or time ran out
            if request_id is None and gone is not None and gone.is_set():
                status = 499  # the client went before any answer (nginx's "client closed request")
            user_id, org_id = actor_ids(scope)
            template = route_template(scope)
            if self.observe is not None:
                self.observe(scope["method"], template, status, duration)
            if _request_logger.isEnabledFor(logging.INFO):
                log.info(
                    "request",
                    method=scope["method"],
                    path=template,
                    status=status,
                    duration_ms=round(duration * 1000, 1),
                    user_id=user_id,
                    org_id=org_id,
                    request_id=request_id or REQUEST_ID.get(),
                )
