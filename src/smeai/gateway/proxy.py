"""The data plane: OpenAI-compatible chat completions through the centre, metered and paid as they go.

One call: authenticate the key (401), hold the worst case in the ledger together with the key's concurrency
slot and its per-minute window, shared by every worker, and commit (429 when a limit is used up, 402 when the
wallet cannot cover it, 503 when the ledger cannot be reached: fail closed), call the upstream (retries with
backoff and fallbacks by status code, all before the first byte reaches the client), then settle at the
actual cost in the transaction that writes the usage record. An upstream error before any output voids the
hold; a stream cut after output is charged for what was produced and ends with an error event instead of
`[DONE]` (never a silent truncation); a client that disconnects has its upstream call closed and is charged
what was produced. Usage comes from the upstream's final usage object (wherever in the stream it appears;
llama.cpp's `timings` count too); without one the gateway counts the text with the upstream's tokenizer,
bounded so it never counts below the truth, and marks the record `estimated`.

Database work runs in worker threads (sync SQLAlchemy, as everywhere in smeai); the upstream I/O is async.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import json
import logging
import os
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
import aiohttp.helpers as aiohttp_helpers
import anyio
from fastapi import Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy import Connection
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session
from starlette.types import Send
from yarl import URL

from smeai.config import app_settings
from smeai.db import get_engine, get_sessionmaker, utcnow
from smeai.errors import Conflict, Invalid, NotAuthenticated, NotFound, SmeaiError
from smeai.gateway import groupcommit, ledger, localmodel, service
from smeai.gateway.ledger import Held, HoldInFlight, InsufficientQuota, Metered, RateLimited, fingerprint
from smeai.i18n import _

log = logging.getLogger("smeai.gateway")
T = TypeVar("T")
LEDGER_DOWN = (OperationalError, InterfaceError, PoolTimeout)
RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
CONNECT_FAILED = 502  # a connection that failed counts as this status for retries and fallbacks


# --- errors in OpenAI's shape ----------------------------------------------------------------------------


def oai_error(
    status: int, message: str, type_: str, code: str | None = None, param: str | None = None, **headers: str
) -> JSONResponse:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers or None)


def error_response(exc: BaseException) -> JSONResponse:
    """A domain error (or an unreachable ledger) as OpenAI's error object with its status."""
    if isinstance(exc, LEDGER_DOWN):
        return oai_error(
            503, "The metering ledger is unavailable; no call was made.", "server_error", "ledger_unavailable"
        )
    assert isinstance(exc, SmeaiError)
    message = _(exc.message)
    if isinstance(exc, InsufficientQuota):
        return oai_error(402, message, "insufficient_quota", "insufficient_quota")
    if isinstance(exc, RateLimited):
        return oai_error(429, message, "requests", "rate_limit_exceeded", **{"Retry-After": "1"})
    if isinstance(exc, NotAuthenticated):
        return oai_error(401, message, "invalid_request_error", "invalid_api_key")
    if isinstance(exc, NotFound):
        return oai_error(404, message, "invalid_request_error", exc.code, "model")
    if isinstance(exc, Conflict):
        return oai_error(409, message, "invalid_request_error", exc.code)
    param = next(iter(exc.fields), None) if isinstance(exc, Invalid) else None
    return oai_error(400, message, "invalid_request_error", exc.code, param)


# --- one HTTP client per event loop ----------------------------------------------------------------------
#
# aiohttp, not httpx, for the upstream calls: relaying a short stream cost about 1.4 ms of CPU with httpx
# (its pool checks every idle connection with a poll on each request; anyio and h11 in every read) and
# 0.3 ms with aiohttp (a C parser), measured side by side on this machine: a fifth of the gateway's CPU.

UPSTREAM_ERRORS = (aiohttp.ClientError, OSError)  # OSError includes TimeoutError: a read or connect timeout
KEEPALIVE_S = 4.0  # below the usual servers' 5 s (uvicorn, llama.cpp), so an idle connection is not reused as
# the server closes it
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[aiohttp.ClientSession, asyncio.Task[None]]] = (
    weakref.WeakKeyDictionary()
)


def _client() -> aiohttp.ClientSession:
    """This event loop's client session (a worker's loop lives as long as the worker; a test client may run
    each request on a loop of its own): closed by a task that waits for the loop's end, when asyncio cancels
    what is left, so no session outlives its loop unclosed."""
    loop = asyncio.get_running_loop()
    found = _clients.get(loop)
    if found is None:
        connector = aiohttp.TCPConnector(limit=1000, keepalive_timeout=KEEPALIVE_S)
        client = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(None))

        async def close_at_loop_end() -> None:
            try:
                await asyncio.Event().wait()
            finally:
                await client.close()

        found = _clients[loop] = (client, loop.create_task(close_at_loop_end()))
    return found[0]


async def _line_batches(resp: aiohttp.ClientResponse) -> AsyncIterator[list[str]]:
    """The lines of a response's body as they arrive (without their line ends), those that one read brought
    together: relayed together, they cost the client's connection one write instead of one each."""
    rest = b""
    async for data in resp.content.iter_any():
        rest += data
        if b"\n" not in data:
            continue
        *lines, rest = rest.split(b"\n")
        yield [line.rstrip(b"\r").decode("utf-8", "replace") for line in lines]
    if rest:
        yield [rest.rstrip(b"\r").decode("utf-8", "replace")]


@functools.lru_cache(maxsize=256)
def _env_proxy(url: str) -> tuple[str | None, aiohttp.BasicAuth | None]:
    """The proxy the environment names for URL (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), read once per URL and
    process. Not aiohttp's trust_env, which read the environment again on every call, in two hops to a thread
    (the proxy and ~/.netrc): about 0.5 ms of CPU per call, a seventh of the gateway's; the netrc's credentials
    were never wanted (an upstream's key is its api_key_env)."""
    try:
        proxy, auth = aiohttp_helpers.get_env_proxy_for_url(URL(url))
    except LookupError:
        return None, None
    return str(proxy), auth


def _done_with(resp: aiohttp.ClientResponse) -> None:
    """Give the response's connection back to the pool when its body was read to the end; otherwise close
    it (the upstream sees its call end: a client that left stops the generation)."""
    if resp.content.at_eof():
        resp.release()
    else:
        resp.close()


# --- the call ----------------------------------------------------------------------------------------------


@dataclass
class Prepared:
    held: Held
    alias: str
    targets: list[service.Target]
    max_tokens: int
    include_usage: bool  # the caller asked for the usage chunk itself
    deadline_s: float  # the call is cut here: its hold outlives it by service.HOLD_MARGIN
    keep_response: bool  # an Idempotency-Key: the answer is kept for the retry (otherwise no text is stored)

    @property
    def input_bound(self) -> int:
        return self.held.input_bound


@dataclass
class Replayed:
    response: dict | None
    stream: bool


@dataclass
class StreamState:
    text: list[str] = field(default_factory=list)
    chunks: int = 0
    pieces_bound: int = 0  # Σ chunk_bound over the streamed pieces
    usage: dict | None = None
    finish_reason: str | None = None
    done: bool = False
    first_at: float | None = None
    id: str | None = None  # the upstream's completion id, kept on the record


def _max_tokens(body: dict, ceiling: int) -> int:
    asked = body.get("max_completion_tokens", body.get("max_tokens"))
    if asked is None:
        return ceiling  # the key's ceiling, injected: the hold needs a bound
    if isinstance(asked, bool) or not isinstance(asked, int) or asked < 1:
        raise Invalid("max_tokens must be a positive integer.", fields={"max_tokens": "a positive integer"})
    return min(asked, ceiling)


def _check_body(body: Any) -> dict:
    if not isinstance(body, dict):
        raise Invalid("The request body must be a JSON object.")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise Invalid("You must provide a model parameter.", fields={"model": "required"})
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise Invalid("messages must be a non-empty array.", fields={"messages": "required"})
    if body.get("n", 1) != 1:
        raise Invalid("Only n = 1 is supported.", fields={"n": "1"})
    if not isinstance(body.get("stream", False), bool):
        raise Invalid("stream must be true or false.", fields={"stream": "a boolean"})
    return body


def _prepare(
    conn: Connection, url: str, secret: str | None, body: Any, idem: str | None, *, at_once: bool = False
) -> Prepared | Replayed:
    """Authenticate, check the limits and take the hold, in the transaction of CONN (`_write`: committed
    before the upstream is called): Core statements (service.live_key, service.call_targets, ledger.hold),
    no ORM session. AT_ONCE: CONN is in autocommit, the reads before the hold write nothing and the hold is
    one statement or NotAtOnce (`ledger.hold`)."""
    now = utcnow()
    key, stamp = service.live_key(conn, secret, now)
    body = _check_body(body)
    alias = body["model"]
    ts = service.call_targets(conn, url, key, alias, stamp, now)
    max_tokens = _max_tokens(body, key.max_tokens)
    print_ = fingerprint(body)
    if idem is not None:
        found = service.replay(conn, key.id, idem)
        if found is not None:
            if found.fingerprint != print_:
                raise Conflict("This Idempotency-Key was used for a different request.", code="reused")
            if found.recorded:
                return Replayed(found.response, bool(body.get("stream")))
            if found.state == "held":
                raise HoldInFlight("A call with this Idempotency-Key is in progress; retry it.")
            raise Conflict("The call with this Idempotency-Key failed; send the request with a new key.")
    req = service.hold_request(
        key,
        alias,
        ts,
        messages=body["messages"],
        tools=body.get("tools"),
        max_tokens=max_tokens,
        idempotency_key=idem,
        fingerprint=print_,
    )
    held = ledger.hold(conn, req, now, at_once=at_once)
    opts = body.get("stream_options")
    return Prepared(
        held=held,
        alias=alias,
        targets=ts,
        max_tokens=max_tokens,
        include_usage=bool(isinstance(opts, dict) and opts.get("include_usage")),
        deadline_s=service.call_deadline(ts).total_seconds(),
        keep_response=idem is not None,
    )


async def _db(fn: Callable[..., T], *args: Any) -> T:
    return await anyio.to_thread.run_sync(fn, *args)


@functools.lru_cache(maxsize=64)
def _group_commits(url: str) -> bool:
    """Whether the ledger's writes on database URL go to the group commit: SQLite on a file. (An in-memory
    database is a database per connection; PostgreSQL commits concurrently: a transaction per write.) Cached:
    parsing the URL twice per call cost about 50 µs of its CPU."""
    u = make_url(url)
    return u.get_backend_name() == "sqlite" and u.database not in (None, "", ":memory:")


@functools.lru_cache(maxsize=64)
def _commits_alone(url: str) -> bool:
    """Whether a hold and a settlement on database URL are first tried as one statement in autocommit
    (PostgreSQL; see `_write`)."""
    return make_url(url).get_backend_name() == "postgresql"


def _in_transaction(url: str, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    with get_engine(url).begin() as conn:
        return fn(conn, *args)


def _alone(url: str, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    with get_engine(url).connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")  # reset when the connection goes back to the pool
        return fn(conn, *args, at_once=True)


async def _write(url: str, fn: Callable[..., T], *args: Any) -> T:
    """FN(connection, *ARGS) committed, in a worker thread: in SQLite's group commit, or in a transaction of
    its own (a call's hold, with the reads before it, and its settlement or void).

    On PostgreSQL a hold (`_prepare`) and a settlement are first tried in autocommit, each one statement
    that commits alone (`ledger.hold`, `ledger.settle` at_once): one round trip for the write instead of
    BEGIN, the statement and COMMIT, and the key's and wallet's rows, on which every call of a key queues,
    are no longer locked while the COMMIT waits for this process (a thread that must win the GIL back) to
    send it. Where one statement cannot decide alone (a capped key, a wallet that moved since it was read, a
    hold no longer held) nothing was written and the steps run in a transaction, as before."""
    if _group_commits(url):
        return await groupcommit.group(url).run(fn, *args)
    if fn in _AT_ONCE and _commits_alone(url):
        try:
            return await _db(_alone, url, fn, args)
        except ledger.NotAtOnce:
            pass
    return await _db(_in_transaction, url, fn, args)


def _settle(conn: Connection, held: Held, used: Metered, *, at_once: bool = False) -> None:
    ledger.settle(conn, held, used, at_once=at_once)


def _void(conn: Connection, held: Held, note: str) -> None:
    ledger.void(conn, held, note=note)


_AT_ONCE: frozenset[Callable[..., Any]] = frozenset({_prepare, _settle})  # `_write` tries these in autocommit


RESOLVE_PATIENCE_S = 60.0  # well inside service.HOLD_MARGIN: the sweeper never races a settlement still trying


async def _resolve(url: str, fn: Callable[..., None], held: Held, *args: Any) -> None:
    """Settle or void, shielded from the caller's cancellation (a disconnect must not lose the record). A
    ledger that refuses for a moment (a deadlock or a busy SQLite file under load, a full pool) is tried
    again with backoff for up to RESOLVE_PATIENCE_S, not given up after a few tries: a settlement left to the
    sweeper is voided, which gives back the money of tokens that were produced. Only a ledger down for that
    long leaves the hold to the sweeper."""
    with anyio.CancelScope(shield=True):
        give_up = time.monotonic() + RESOLVE_PATIENCE_S
        attempt = 0
        while True:
            try:
                await _write(url, fn, held, *args)
                return
            except LEDGER_DOWN as exc:
                attempt += 1
                if time.monotonic() >= give_up:
                    log.error("gateway: hold %s left to the sweeper after %d tries (%s)", held.id, attempt, exc)
                    return
                log.warning("gateway: ledger refused resolving a hold (try %d): %s", attempt, str(exc)[:200])
                await anyio.sleep(min(0.05 * 2**attempt, 2.0))


# --- upstreams ---------------------------------------------------------------------------------------------


async def _base_url(t: service.Target) -> str:
    if t.base_url.startswith("local://"):
        return await _db(localmodel.ensure_started)
    return t.base_url


def _headers(t: service.Target) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    secret = os.environ.get(t.api_key_env) if t.api_key_env else None
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    return headers


def _upstream_body(body: dict, t: service.Target, p: Prepared) -> dict:
    out = {k: v for k, v in body.items() if k not in ("max_completion_tokens", "user")}
    out["model"] = t.upstream_model
    out["max_tokens"] = p.max_tokens
    if body.get("stream"):
        opts = dict(body.get("stream_options") or {})
        opts["include_usage"] = True  # ask every upstream for its count; the estimate is the fallback
        out["stream_options"] = opts
    return out


class UpstreamFailed(Exception):
    def __init__(self, status: int, body: dict | None) -> None:
        super().__init__(status)
        self.status, self.body = status, body


async def _open(body: dict, p: Prepared, *, stream: bool) -> tuple[service.Target, aiohttp.ClientResponse]:
    """The first upstream answer that is a success, trying retries then fallbacks; raises UpstreamFailed
    with the last status. Nothing has reached the client yet, so every retry is safe. Not STREAM: the body is
    read here too (a failure reading it is retried like one of sending)."""
    client = _client()
    last: UpstreamFailed = UpstreamFailed(CONNECT_FAILED, None)
    for i, t in enumerate(p.targets):
        for attempt in range(t.retries + 1):
            if attempt:
                await anyio.sleep(min(0.1 * 2**attempt, 2.0))
            try:
                url = (await _base_url(t)).rstrip("/") + "/chat/completions"
                # connect: a pooled connection (30 s) and a new one's socket (5 s); read: between two bytes
                timeout = aiohttp.ClientTimeout(connect=35.0, sock_connect=5.0, sock_read=float(t.timeout_s))
                payload = json.dumps(_upstream_body(body, t, p), ensure_ascii=False, separators=(",", ":"))
                proxy, proxy_auth = _env_proxy(url)
                resp = await client.post(
                    url,
                    data=payload.encode(),
                    headers=_headers(t),
                    timeout=timeout,
                    proxy=proxy,
                    proxy_auth=proxy_auth,
                )
                if not stream and resp.status == 200:
                    await resp.read()  # kept on the response; the connection goes back to the pool at its end
            except UPSTREAM_ERRORS as exc:
                log.info("gateway: %s unreachable: %s", t.upstream_name, exc)
                last = UpstreamFailed(CONNECT_FAILED, None)
                continue
            if resp.status == 200:
                return t, resp
            try:
                raw = await resp.read()
                err = json.loads(raw) if raw else None
            except (ValueError, *UPSTREAM_ERRORS):
                err = None
            finally:
                _done_with(resp)
            last = UpstreamFailed(resp.status, err if isinstance(err, dict) else None)
            if resp.status not in RETRY_STATUS:
                break
        if last.status not in t.fallback_on or i == len(p.targets) - 1:
            break
    raise last


def _upstream_error(exc: UpstreamFailed) -> JSONResponse:
    if 400 <= exc.status < 500 and exc.status not in (401, 402, 403, 408, 429):
        inner = (exc.body or {}).get("error")
        message = inner.get("message") if isinstance(inner, dict) else None
        return oai_error(exc.status, str(message or "The upstream refused the request."), "invalid_request_error")
    return oai_error(502, "The model's provider failed; nothing was charged.", "upstream_error", "upstream_error")


# --- counting ----------------------------------------------------------------------------------------------

_tokenizer_down: dict[str, float] = {}  # url -> until when it is not tried again


def tokenize_url(t: service.Target, base: str) -> str:
    if t.tokenize_url:
        return t.tokenize_url
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}/tokenize"  # llama.cpp's


async def count_tokens(t: service.Target, text: str) -> int | None:
    """The upstream's own tokenizer count of TEXT, or None when it has none."""
    if not text:
        return 0
    url = tokenize_url(t, await _base_url(t))
    if _tokenizer_down.get(url, 0) > time.monotonic():
        return None
    try:
        with anyio.CancelScope(shield=True):
            payload = json.dumps({"content": text}, ensure_ascii=False).encode()
            headers = {"Content-Type": "application/json"}
            async with _client().post(url, data=payload, headers=headers, timeout=aiohttp.ClientTimeout(5.0)) as r:
                tokens = json.loads(await r.read()).get("tokens") if r.status == 200 else None
        if isinstance(tokens, list):
            return len(tokens)
    except (ValueError, AttributeError, *UPSTREAM_ERRORS):
        pass
    _tokenizer_down[url] = time.monotonic() + 60
    return None


def chunk_bound(piece: str) -> int:
    """Tokens a streamed piece can hold at most, as a streaming server sends them: an ASCII piece is one
    token (llama.cpp sends each token as it comes), a piece with other characters at most one per byte
    (a token holds at least one byte; a character split across tokens arrives whole in a later piece)."""
    return 1 if piece.isascii() else len(piece.encode("utf-8"))


def in_flight_margin(st: StreamState) -> int:
    """Tokens the upstream produced (and bills) but we never read, when a stream ends early (the client left,
    the upstream was cut): the piece it was writing and what sat unread in the socket while we relayed. We
    cannot see them, so a cut stream is charged a margin for them: at least three pieces, or a quarter of
    what was read (the stress test saw one unread token in 64 calls), never above the hold."""
    piece = max(1, st.pieces_bound // st.chunks) if st.chunks else 1
    return max(3 * piece, st.pieces_bound // 4)


def estimate_completion(
    text: str, tokenizer_count: int | None, finish_reason: str | None, max_tokens: int, pieces_bound: int = 0
) -> int:
    """Completion tokens for text the upstream did not count, never below the truth. A model may split text
    in ways its tokenizer would not (llama.cpp streamed '漢苏苏保世東繁' as 20 tokens, /tokenize says 18, and an
    ASCII line as 24 where /tokenize says 23), so the count is the larger of the tokenizer's count with every
    byte of a non-ASCII character counted as a token of its own, and the streamed pieces' bound
    (`chunk_bound`); plus the end-of-text token when the model stopped. Without a tokenizer, the UTF-8 bytes
    (a token holds at least one). Never above max_tokens, which the upstream obeys."""
    if tokenizer_count is None:
        n = len(text.encode("utf-8"))
    else:
        n = tokenizer_count + sum(len(ch.encode("utf-8")) for ch in text if ord(ch) >= 128)
    n = max(n, pieces_bound)
    if finish_reason == "stop":
        n += 1
    return min(n, max_tokens)


def _usage_of(chunk: dict) -> dict | None:
    """A usage object anywhere a provider puts it: top level (OpenAI, DashScope, DeepSeek), inside a choice
    (Moonshot), or llama.cpp's `timings`."""
    u = chunk.get("usage")
    if isinstance(u, dict) and isinstance(u.get("completion_tokens"), int):
        return u
    for c in chunk.get("choices") or []:
        if (
            isinstance(c, dict)
            and isinstance(c.get("usage"), dict)
            and isinstance(c["usage"].get("completion_tokens"), int)
        ):
            return c["usage"]
    tm = chunk.get("timings")
    if isinstance(tm, dict) and isinstance(tm.get("predicted_n"), int) and isinstance(tm.get("prompt_n"), int):
        return {"prompt_tokens": tm["prompt_n"] + int(tm.get("cache_n") or 0), "completion_tokens": tm["predicted_n"]}
    return None


def _tokens(u: dict, key: str) -> int:
    v = u.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else 0


def cached_tokens(u: dict) -> int:
    """Prompt tokens the provider served from its cache, wherever it reports them: OpenAI's (DashScope's,
    Ark's, 智谱's) `prompt_tokens_details.cached_tokens`, DeepSeek's `prompt_cache_hit_tokens`, Moonshot's
    top-level `cached_tokens`; never more than the prompt."""
    details = u.get("prompt_tokens_details")
    found = max(
        _tokens(details, "cached_tokens") if isinstance(details, dict) else 0,
        _tokens(u, "prompt_cache_hit_tokens"),
        _tokens(u, "cached_tokens"),
    )
    return min(found, _tokens(u, "prompt_tokens"))


# --- non-streaming -----------------------------------------------------------------------------------------


async def _complete(url: str, body: dict, p: Prepared, started: float) -> Response:
    try:
        t, resp = await _open(body, p, stream=False)
    except UpstreamFailed as exc:
        await _resolve(url, _void, p.held, f"upstream {exc.status}")
        return _upstream_error(exc)
    except BaseException:
        await _resolve(url, _void, p.held, "cancelled")
        raise
    try:
        data = json.loads(await resp.read())  # read by _open: the body is kept on the response
    except ValueError:
        await _resolve(url, _void, p.held, "unreadable answer")
        return oai_error(502, "The model's provider sent an unreadable answer; nothing was charged.", "upstream_error")
    usage = _usage_of(data) if isinstance(data, dict) else None
    text = ""
    finish = None
    for c in data.get("choices") or [] if isinstance(data, dict) else []:
        msg = c.get("message") or {}
        text += str(msg.get("content") or "") + str(msg.get("reasoning_content") or "")
        text += json.dumps(msg.get("tool_calls"), ensure_ascii=False) if msg.get("tool_calls") else ""
        finish = c.get("finish_reason")
    if isinstance(data, dict):
        data["model"] = p.alias
    elapsed = int((time.monotonic() - started) * 1000)

    async def settle() -> None:
        cached = 0
        if usage is not None:
            prompt, completion, estimated = _tokens(usage, "prompt_tokens"), _tokens(usage, "completion_tokens"), False
            cached = cached_tokens(usage)
        else:
            counted = await count_tokens(t, text)
            prompt, estimated = p.input_bound, True
            completion = estimate_completion(text, counted, finish, p.max_tokens)
        used = Metered(
            prompt_tokens=prompt,
            completion_tokens=completion,
            estimated=estimated,
            status="ok",
            upstream_id=t.upstream_id,
            upstream_model=t.upstream_model,
            latency_ms=elapsed,
            ttft_ms=elapsed,
            response=(data if p.keep_response else {"id": data.get("id")}) if isinstance(data, dict) else None,
            cached_tokens=cached,
        )
        await _resolve(url, _settle, p.held, used)

    return _Answer(data, settle)


class _ResolvedAtEnd:
    """A response whose hold is resolved once it has ended, however it ended: after its last byte was sent
    (the client does not wait for the ledger: the settlement, retried as `_resolve` does, runs while the
    client reads the answer), or once the client has gone (shielded: a disconnect never skips it)."""

    _on_end: Callable[[], Awaitable[None]]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)  # type: ignore[misc]
        finally:
            with anyio.CancelScope(shield=True):
                await self._on_end()


class _Answer(_ResolvedAtEnd, JSONResponse):
    def __init__(self, content: Any, on_end: Callable[[], Awaitable[None]]) -> None:
        super().__init__(content)
        self._on_end = on_end


# --- streaming ---------------------------------------------------------------------------------------------


def _event(data: dict | str) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"data: {payload}\n\n".encode()


def _read_chunk(line: str, st: StreamState, alias: str) -> dict | None:
    """One SSE line: the parsed chunk (model renamed to the alias), or None for comments and [DONE]."""
    if not line.startswith("data:"):
        return None
    payload = line[5:].strip()
    if payload == "[DONE]":
        st.done = True
        return None
    try:
        chunk = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(chunk, dict):
        return None
    u = _usage_of(chunk)
    if u is not None:
        st.usage = u
    if st.id is None and isinstance(chunk.get("id"), str):
        st.id = chunk["id"]
    for c in chunk.get("choices") or []:
        if not isinstance(c, dict):
            continue
        delta = c.get("delta") or {}
        piece = str(delta.get("content") or "") + str(delta.get("reasoning_content") or "")
        for call in delta.get("tool_calls") or []:
            if isinstance(call, dict):
                piece += json.dumps(call.get("function") or {}, ensure_ascii=False)
        if piece:
            st.text.append(piece)
            st.chunks += 1
            st.pieces_bound += chunk_bound(piece)
        if c.get("finish_reason"):
            st.finish_reason = c["finish_reason"]
    if "model" in chunk:
        chunk["model"] = alias
    return chunk


async def _stream(url: str, body: dict, p: Prepared, started: float) -> Response:
    try:
        t, resp = await _open(body, p, stream=True)
    except UpstreamFailed as exc:
        await _resolve(url, _void, p.held, f"upstream {exc.status}")
        return _upstream_error(exc)
    except BaseException:
        await _resolve(url, _void, p.held, "cancelled")
        raise
    st = StreamState()
    ended_as = ["disconnected"]  # how the relay ended (one that never ran: the client left before it began)

    async def relay() -> AsyncGenerator[bytes]:
        status = "truncated"
        try:
            async for lines in _line_batches(resp):
                events: list[bytes] = []
                late = False
                for line in lines:
                    if time.monotonic() - started > p.deadline_s:  # past this the hold could be swept: stop
                        late = True
                        break
                    chunk = _read_chunk(line, st, p.alias)
                    if st.done:
                        events.append(b"data: [DONE]\n\n")
                        break
                    if chunk is None:
                        continue
                    if not chunk.get("choices") and not p.include_usage:
                        continue  # the usage chunk the gateway asked for, not the caller
                    if st.first_at is None:
                        st.first_at = time.monotonic()
                    events.append(_event(chunk))
                if events:
                    yield _Last(b"".join(events)) if st.done else b"".join(events)
                if st.done:
                    status = "ok"  # the whole answer, [DONE] included, was handed on
                    break
                if late:
                    break
            if status != "ok":  # the upstream ended without [DONE]: say so, never a silent truncation
                yield _event({"error": {"message": "The model's stream was cut off.", "type": "upstream_error"}})
        except UPSTREAM_ERRORS:
            status = "truncated"
            yield _event({"error": {"message": "The model's stream was cut off.", "type": "upstream_error"}})
        except BaseException:  # the client went away (cancelled) or the generator was closed
            if status != "ok":  # not once the whole answer, [DONE] included, was handed on
                status = "disconnected"
            raise
        finally:
            ended_as[0] = status
            if status != "ok":
                _done_with(resp)  # the upstream stops generating

    gen = relay()

    async def settle() -> None:
        await gen.aclose()  # a relay left at a `yield` by the client's disconnect runs its clean-up now
        if ended_as[0] == "ok":
            await _drain(resp)
        _done_with(resp)
        await _finish(url, t, p, st, ended_as[0], started)

    return _Relay(gen, settle)


DRAIN_S = 1.0


async def _drain(resp: aiohttp.ClientResponse) -> None:
    """Read what the upstream sends after [DONE] (normally only the end of its response, at once), once the
    client has its answer: a response read to its end keeps its connection for the next call instead of
    closing it. An upstream that keeps its stream open after [DONE] is cut after DRAIN_S."""
    with anyio.move_on_after(DRAIN_S):
        try:
            async for _rest in resp.content.iter_any():
                pass
        except UPSTREAM_ERRORS:
            pass


class _Last(bytes):
    """The relay's last piece, [DONE] included: sent together with the response's end."""


class _Relay(_ResolvedAtEnd, StreamingResponse):
    """A stream resolved at its end (`_ResolvedAtEnd`). Starlette's StreamingResponse drops its body
    iterator where it stands when the client's disconnect cancels it: left suspended at a `yield` (the
    cancellation landed in `send`, e.g. a paused transport), the relay's clean-up would run only when the
    garbage collector finalised it, seconds or minutes later; never started (the client left while the
    upstream was answering), it would never run, and the hold waited for the sweeper, which voids it: the
    tokens produced were never charged. Here the relay is closed at once and the hold resolved with what it
    saw."""

    def __init__(self, content: AsyncIterator[bytes], on_end: Callable[[], Awaitable[None]]) -> None:
        super().__init__(content, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        self._on_end = on_end

    async def stream_response(self, send: Send) -> None:
        """Starlette's, except that the answer's last piece goes out with the response's end (`more_body`
        false): one write to the client instead of two, so the client's last byte does not wait for a second
        write of the event loop's."""
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        ended = False
        async for chunk in self.body_iterator:
            ended = isinstance(chunk, _Last)
            await send({"type": "http.response.body", "body": chunk, "more_body": not ended})
        if not ended:
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _finish(url: str, t: service.Target, p: Prepared, st: StreamState, status: str, started: float) -> None:
    text = "".join(st.text)
    cached = 0
    if st.usage is not None and (status == "ok" or st.done):
        prompt, completion, estimated = (
            _tokens(st.usage, "prompt_tokens"),
            _tokens(st.usage, "completion_tokens"),
            False,
        )
        cached = cached_tokens(st.usage)
    elif not text and st.usage is None and status != "ok":
        await _resolve(url, _void, p.held, f"no output ({status})")  # nothing produced: nothing charged
        return
    else:
        counted = await count_tokens(t, text)
        prompt, estimated = p.input_bound, True
        completion = estimate_completion(text, counted, st.finish_reason, p.max_tokens, st.pieces_bound)
        if status != "ok":
            completion = min(completion + in_flight_margin(st), p.max_tokens)
        if st.usage is not None:  # a count the upstream sent before it was cut: never charge below it
            completion = max(completion, _tokens(st.usage, "completion_tokens"))
            prompt = _tokens(st.usage, "prompt_tokens") or prompt
    now = time.monotonic()
    used = Metered(
        prompt_tokens=prompt,
        completion_tokens=completion,
        estimated=estimated,
        status=status,
        stream=True,
        upstream_id=t.upstream_id,
        upstream_model=t.upstream_model,
        latency_ms=int((now - started) * 1000),
        ttft_ms=int((st.first_at - started) * 1000) if st.first_at else None,
        response={"id": st.id, "finish_reason": st.finish_reason} | ({"content": text} if p.keep_response else {}),
        cached_tokens=cached,
    )
    await _resolve(url, _settle, p.held, used)


def _replay(r: Replayed, alias: str) -> Response:
    """The stored answer of a call made earlier with the same Idempotency-Key: no second hold, no second call."""
    data = r.response or {}
    if not r.stream:
        return JSONResponse(data)
    content = data.get("content")
    if content is None:  # stored from a non-streaming call
        choices = data.get("choices") or [{}]
        content = (choices[0].get("message") or {}).get("content") or ""
    chunk = {
        "id": "chatcmpl-replay",
        "object": "chat.completion.chunk",
        "model": alias,
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": content}, "finish_reason": None}],
    }
    end = {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": data.get("finish_reason") or "stop"}]}

    async def events() -> AsyncIterator[bytes]:
        yield _event(chunk)
        yield _event(end)
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


# --- the routes' bodies ------------------------------------------------------------------------------------


def _sessions(request: Request) -> Callable[[], Session]:
    return get_sessionmaker(app_settings(request).database_url)


def _bearer(request: Request) -> str | None:
    scheme, _sep, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


# Keys this worker has seen live (their hashes, bounded): on SQLite a key not among them is looked up read-only
# before its call joins the group commit (`_known_key`). The hold's own transaction checks every key again.
KNOWN_KEYS = 4096
_known_keys: collections.OrderedDict[str, None] = collections.OrderedDict()


def _check_key(url: str, secret: str | None) -> None:
    """Raise InvalidKey unless SECRET is a live key: one read, no transaction of the ledger's."""
    with get_engine(url).connect() as conn:
        service.live_key(conn, secret, utcnow())


async def _known_key(url: str, secret: str | None) -> None:
    """On SQLite, refuse an unknown, revoked or expired key with a read of its own instead of a write in the
    group commit (where a call's checks and hold are one write: a flood of bad keys would take turns at the
    database's write lock with the good calls). A key seen live before costs a dictionary look-up; its hold's
    transaction checks it again, so a key revoked since is still refused there."""
    if not _group_commits(url) or not secret:
        return
    digest = service.hash_key(secret)
    if digest in _known_keys:
        _known_keys.move_to_end(digest)
        return
    await _db(_check_key, url, secret)
    _known_keys[digest] = None
    if len(_known_keys) > KNOWN_KEYS:
        _known_keys.popitem(last=False)


async def chat_completions(request: Request) -> Response:
    started = time.monotonic()
    url = app_settings(request).database_url
    try:
        body = await request.json()
    except ValueError:
        body = None
    idem = request.headers.get("idempotency-key")
    if idem is not None and not 0 < len(idem) <= 100:
        return oai_error(400, "Idempotency-Key must be 1 to 100 characters.", "invalid_request_error")
    secret = _bearer(request)
    try:
        await _known_key(url, secret)
        prep = await _write(url, _prepare, url, secret, body, idem)
    except (SmeaiError, *LEDGER_DOWN) as exc:
        return error_response(exc)
    if isinstance(prep, Replayed):
        return _replay(prep, body["model"])
    if body.get("stream"):
        return await _stream(url, body, prep, started)
    return await _complete(url, body, prep, started)


def _models(sessions: Callable[[], Session], secret: str | None) -> list[str]:
    with sessions() as session:
        key = service.authenticate(session, secret)
        return service.list_models(session, key=key)


async def models(request: Request) -> Response:
    try:
        aliases = await _db(_models, _sessions(request), _bearer(request))
    except (SmeaiError, *LEDGER_DOWN) as exc:
        return error_response(exc)
    data = [{"id": a, "object": "model", "created": 0, "owned_by": "smeai"} for a in aliases]
    return JSONResponse({"object": "list", "data": data})
