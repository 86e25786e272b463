"""No work for nobody: reads (GET, HEAD) are bounded in time, dropped when their client goes, and expensive
pages wait for one of a few slots per kind instead of all computing at once.

Before this, an abandoned burst of 32 /survey requests put 32 page builds in one worker's thread pool at
once; each ran 32 times slower and all ran to the end for clients long gone, so the worker stayed busy for
8-13 s and /healthz waited behind them. Now, per worker:

- an expensive page (EXPENSIVE: the survey dashboard, a stored need, an assessment result, the catalog
  search) first waits for one of `slots` slots of its kind, so at most that many of a kind build at once and
  /healthz and cheap pages are never queued behind them;
- while it waits or runs, its client is watched: a request whose client has gone is not started, and one
  already running is marked (`abandoned(request)`, for long builds to check) and its response dropped;
- the whole request, waiting included, is bounded by SMEAI_REQUEST_TIMEOUT_SECONDS: past it the client gets
  a 503 page (or the API's error envelope) with Retry-After, instead of waiting without end.

A build already running in a thread cannot be stopped from outside (Python threads are not cancellable): it
keeps its slot until it returns, so the work left behind by an abandoned burst is at most `slots` builds per
kind. Writes (POST, ...) are never cut: a 503 while the transaction commits would tell the client a lie.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import weakref
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smeai.i18n import _
from smeai.web.render import render

log = logging.getLogger("smeai.guard")
ABANDONED = "smeai.abandoned"  # scope key: a threading.Event set when the client has gone or time ran out
RETRY_AFTER_SECONDS = 5
EXEMPT = ("/healthz", "/readyz", "/metrics", "/favicon.ico")
# Route kinds whose pages compute much per view; each kind has its own slots (per worker).
EXPENSIVE: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("survey", re.compile(r"^/survey(/report\.\w+)?$|^/api/v1/survey/waves/[^/]+/(indicators|index)$")),
    ("matching", re.compile(r"^/matching/needs/\d+$|^/api/v1/matching/needs/\d+/(matches|shortlist)$")),
    ("assessment", re.compile(r"^/assessment/(\d+|compare)$|^/assessment/\d+/report\.pdf$")),
    ("search", re.compile(r"^/catalog$|^/api/v1/offerings$")),
)


def kind_of(path: str) -> str | None:
    return next((kind for kind, pattern in EXPENSIVE if pattern.match(path)), None)


def abandoned(request: Request) -> bool:
    """True once nobody waits for this request's answer (its client went, or its time ran out): a long page
    build may check it between steps and stop early (raise ClientGone)."""
    event = request.scope.get(ABANDONED)
    return bool(event is not None and event.is_set())


class ClientGone(Exception):
    """Raised by a page build that found `abandoned(request)`; nobody will see what it answers."""


class RequestGuard:
    def __init__(self, app: ASGIApp, *, timeout_seconds: float, slots: int) -> None:
        self.app, self.timeout, self.slots = app, timeout_seconds, slots
        # One set of semaphores per event loop (a test client may run each request on a new loop).
        self._semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]] = (
            weakref.WeakKeyDictionary()
        )

    def _semaphore(self, kind: str) -> asyncio.Semaphore:
        per_loop = self._semaphores.setdefault(asyncio.get_running_loop(), {})
        return per_loop.setdefault(kind, asyncio.Semaphore(self.slots))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path or scope["method"] not in ("GET", "HEAD") or path in EXEMPT or path.startswith("/static/"):
            await self.app(scope, receive, send)
            return
        body: list[Message] = []  # a GET's (empty) body, read now so that only the watcher reads from here on
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                scope[ABANDONED] = _set_event()
                return
            body.append(message)
            if not message.get("more_body"):
                break
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        gone = asyncio.Event()
        abandoned_event = scope[ABANDONED] = threading.Event()
        cut = False  # once set, whatever the app still sends is dropped
        started = False
        answered = False  # the last body message went out: what still runs is clean-up (yield dependencies)

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        async def app_receive() -> Message:
            if body:
                return body.pop(0)
            await gone.wait()
            return {"type": "http.disconnect"}

        async def app_send(message: Message) -> None:
            nonlocal started, answered
            if cut:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                answered = True

        watcher = asyncio.ensure_future(watch())
        kind = kind_of(path)
        semaphore = self._semaphore(kind) if kind else None
        try:
            if semaphore is not None:
                waiting = asyncio.ensure_future(semaphore.acquire())
                outcome = await _first(waiting, gone, deadline - loop.time())
                if outcome != "done":
                    if not waiting.cancel() and not waiting.cancelled():  # acquired just as we gave up
                        semaphore.release()
                    abandoned_event.set()
                    if outcome == "timeout":
                        await self._busy(scope, send)
                    return

            async def run() -> None:
                try:
                    await self.app(scope, app_receive, app_send)
                finally:
                    if semaphore is not None:
                        semaphore.release()

            task = asyncio.ensure_future(run())
            outcome = await _first(task, gone, deadline - loop.time())
            if outcome == "done":
                await task  # its exception, if any, goes to the error handlers outside
                return
            if answered:
                # The client had its whole answer and then left: FastAPI closes yield dependencies (the
                # database session) after the response is sent, so the app is still running its clean-up.
                # Left to run on its own, a test client's per-request event loop would end and drop it,
                # leaving a transaction open that blocks the next TRUNCATE on PostgreSQL.
                await task
                return
            abandoned_event.set()
            if outcome == "timeout" and started:  # the answer is on its way: let it finish
                await task
                return
            cut = True
            task.add_done_callback(_log_late_failure)  # it runs on, holding its slot, answering nobody
            if outcome == "timeout":
                log.warning("request over its time bound: %s %s", scope["method"], path)
                await self._busy(scope, send)
        finally:
            watcher.cancel()

    async def _busy(self, scope: Scope, send: Send) -> None:
        """503 with Retry-After: the page, or the API's error envelope."""
        request = Request(scope)
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        message = _("The service is busy. Please try again in a few seconds.")
        response: Any
        if scope["path"].startswith("/api/"):
            body = {"error": "unavailable", "message": message, "fields": {}}
            response = JSONResponse(body, status_code=503, headers=headers)
        else:
            response = render(request, "error.html", 503, title=_("Busy"), message=message)
            response.headers.update(headers)
        await response(scope, _no_receive, send)


async def _first(waiting: asyncio.Future[Any], gone: asyncio.Event, timeout: float) -> str:
    """'done' when WAITING finished first, 'gone' when the client left first, else 'timeout'."""
    if waiting.done():
        return "done"
    left = asyncio.ensure_future(gone.wait())
    try:
        finished, _pending = await asyncio.wait(
            {waiting, left}, timeout=max(timeout, 0), return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        left.cancel()
    if waiting in finished:
        return "done"
    return "gone" if gone.is_set() else "timeout"


def _set_event() -> threading.Event:
    event = threading.Event()
    event.set()
    return event


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def _log_late_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("abandoned request failed", exc_info=task.exception())
