"""A trial's run: every row to every candidate, then the judge, through the gateway's OpenAI-compatible HTTP
endpoint with the trial's own key, in a background thread with its own sessions (one commit per answer, so the
page shows progress as it goes).

Latency is measured fresh: calls go one at a time (the trial's key allows one), each streams, time to first
token is the first content byte, and each call carries its own Idempotency-Key (trial, run, row, candidate),
so no retry or replay of an earlier run answers from a store. llama.cpp servers keep a prompt cache per slot;
the request asks it off (`cache_prompt: false`, ignored by other upstreams) and the answer keeps the
`timings.cache_n` a llama.cpp upstream reports, so a reused prefix is visible rather than silently faster.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from smeai.db import session_scope
from smeai.trials import checks, gatewaylink, service
from smeai.trials.models import Trial, TrialCandidate, TrialJudgement, TrialRow
from smeai.trials.presets import JudgeMode

log = logging.getLogger(__name__)

# an httpx.Client, or Starlette's TestClient (in-process ASGI: the demo and the tests)
ClientFactory = Callable[[], Any]
CALL_TIMEOUT_S = 180.0
USAGE_WAIT_S = 3.0  # the gateway settles as the stream ends; its record may land a moment after the last byte


@dataclass
class Call:
    text: str = ""
    error: str = ""
    latency_ms: int = 0
    ttft_ms: int | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_n: int | None = None
    response_id: str | None = None


def chat(
    client: httpx.Client,
    base_url: str,
    api_key: str,
    *,
    model: str,
    messages: list[dict[str, str]],
    temperature: float,
    max_tokens: int,
    idempotency_key: str,
) -> Call:
    """One streamed chat completion through the gateway, timed from the request to the first content byte
    and to the end of the stream."""
    body = {
        "model": model,
        "messages": messages,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
        "cache_prompt": False,
    }
    headers = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": idempotency_key}
    url = base_url.rstrip("/") + "/gateway/v1/chat/completions"
    out = Call()
    parts: list[str] = []
    started = time.perf_counter()
    try:
        with client.stream("POST", url, json=body, headers=headers, timeout=CALL_TIMEOUT_S) as response:
            if response.status_code != 200:
                response.read()
                out.error = _error_text(response)
                out.latency_ms = _ms(started)
                return out
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                try:
                    chunk = json.loads(data)
                except ValueError:
                    continue
                _read_chunk(chunk, out, parts, started)
    except httpx.HTTPError as exc:
        out.error = f"{type(exc).__name__}: {exc}"
    out.latency_ms = _ms(started)
    out.text = "".join(parts)
    return out


def _read_chunk(chunk: dict[str, object], out: Call, parts: list[str], started: float) -> None:
    error = chunk.get("error")
    if isinstance(error, dict):
        out.error = str(error.get("message") or error)
        return
    out.response_id = out.response_id or (str(chunk["id"]) if chunk.get("id") else None)
    for choice in chunk.get("choices") or []:  # type: ignore[attr-defined]
        content = ((choice or {}).get("delta") or {}).get("content")
        if content:
            if out.ttft_ms is None:
                out.ttft_ms = _ms(started)
            parts.append(content)
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        out.prompt_tokens = int(usage.get("prompt_tokens") or 0)
        out.completion_tokens = int(usage.get("completion_tokens") or 0)
    timings = chunk.get("timings")
    if isinstance(timings, dict) and "cache_n" in timings:
        out.cache_n = int(timings["cache_n"])


def _error_text(response: httpx.Response) -> str:
    try:
        err = response.json().get("error") or {}
        return f"{response.status_code} {err.get('code') or err.get('type') or ''}: {err.get('message') or ''}".strip()
    except ValueError:
        return f"{response.status_code}"


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def idempotency_key(trial_id: int, run_no: int, *parts: object) -> str:
    return "trial-" + "-".join(str(p) for p in (trial_id, run_no, *parts))


def _usage(url: str, key_id: int | None, idem: str) -> tuple[int, int, int, bool, str | None] | None:
    """(cost mf, prompt, completion, estimated, record id) from the gateway's usage record, once settled."""
    if key_id is None:
        return None
    deadline = time.monotonic() + USAGE_WAIT_S
    while True:
        with session_scope(url) as session:
            usage = gatewaylink.usage_for(session, key_id, idem)
            if usage is not None:
                return usage.cost_mf, usage.prompt_tokens, usage.completion_tokens, usage.estimated, str(usage.id)
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)


def run(database_url: str, plan: service.RunPlan, base_url: str, client_factory: ClientFactory) -> None:
    """The whole run; never raises (a failure is recorded on the trial, and the page shows it)."""
    try:
        with client_factory() as client:
            _answer_all(database_url, plan, base_url, client)
            _judge_all(database_url, plan, base_url, client)
        with session_scope(database_url) as session:
            service.finish_run(session, plan.trial_id)
    except Exception as exc:  # the thread's last word: recorded, logged, never lost
        log.exception("trial %s run %s failed", plan.trial_id, plan.run_no)
        with session_scope(database_url) as session:
            service.finish_run(session, plan.trial_id, error=f"{type(exc).__name__}: {exc}")


def _snapshot(url: str, trial_id: int) -> tuple[Trial, list[TrialRow], list[TrialCandidate]]:
    with session_scope(url) as session:
        trial, rows, candidates = service.load_for_run(session, trial_id)
        session.expunge_all()  # plain objects the thread reads after the session closes
    return trial, rows, candidates


def _answer_all(url: str, plan: service.RunPlan, base_url: str, client: httpx.Client) -> None:
    trial, rows, candidates = _snapshot(url, plan.trial_id)
    for row in rows:
        for cand in candidates:
            idem = idempotency_key(trial.id, plan.run_no, row.id, cand.id)
            call = chat(
                client,
                base_url,
                plan.api_key,
                model=cand.model,
                messages=service.messages_for(cand, row),
                temperature=cand.temperature,
                max_tokens=cand.max_tokens,
                idempotency_key=idem,
            )
            metered = _usage(url, trial.gateway_key_id, idem)
            cost, prompt, completion, estimated, usage_id = metered or (
                0,
                call.prompt_tokens,
                call.completion_tokens,
                False,
                None,
            )
            with session_scope(url) as session:
                fresh, _, _ = service.load_for_run(session, trial.id)
                service.record_answer(
                    session,
                    fresh,
                    row,  # detached, read only
                    cand,
                    plan.run_no,
                    status="error" if call.error else "ok",
                    text=call.text,
                    error=call.error,
                    prompt_tokens=prompt,
                    completion_tokens=completion,
                    estimated=estimated,
                    cost_milli_fen=cost,
                    latency_ms=call.latency_ms,
                    ttft_ms=call.ttft_ms,
                    cache_n=call.cache_n,
                    usage_id=usage_id or call.response_id,
                )


def _judge_all(url: str, plan: service.RunPlan, base_url: str, client: httpx.Client) -> None:
    trial, rows, candidates = _snapshot(url, plan.trial_id)
    if trial.judge_mode == JudgeMode.NONE or not trial.judge_model:
        return
    with session_scope(url) as session:
        answers = {
            (a.row_id, a.candidate_id): (a.id, a.text, a.status)
            for a in service.answers_of(session, trial, plan.run_no)
        }

    def ask(messages: list[dict[str, str]], *parts: object) -> str:
        call = chat(
            client,
            base_url,
            plan.api_key,
            model=trial.judge_model or "",
            messages=messages,
            temperature=0.0,
            max_tokens=service.JUDGE_MAX_TOKENS,
            idempotency_key=idempotency_key(trial.id, plan.run_no, "judge", *parts),
        )
        return call.text

    for row in rows:
        if trial.judge_mode == JudgeMode.RUBRIC:
            for cand in candidates:
                answer_id, text, status = answers.get((row.id, cand.id), (None, "", "error"))
                if answer_id is None or status != "ok":
                    continue
                score = checks.parse_rubric_score(ask(service.judge_messages(trial, row, text, None), row.id, cand.id))
                with session_scope(url) as session:
                    service.record_judge_score(session, answer_id, score)
            continue
        for i, x in enumerate(candidates):
            for y in candidates[i + 1 :]:
                x_text, y_text = (
                    answers.get((row.id, x.id), (None, "", ""))[1],
                    answers.get((row.id, y.id), (None, "", ""))[1],
                )
                first = checks.parse_pairwise(
                    ask(service.judge_messages(trial, row, x_text, y_text), row.id, x.id, y.id)
                )
                second = checks.parse_pairwise(
                    ask(service.judge_messages(trial, row, y_text, x_text), row.id, y.id, x.id)
                )
                with session_scope(url) as session:
                    session.add(
                        TrialJudgement(
                            trial_id=trial.id,
                            run_no=plan.run_no,
                            row_id=row.id,
                            x_id=x.id,
                            y_id=y.id,
                            first=first,
                            second=second,
                            outcome=checks.aggregate_swap(first, second),
                        )
                    )


def run_in_background(
    database_url: str, plan: service.RunPlan, base_url: str, client_factory: ClientFactory | None = None
) -> threading.Thread:
    """Start the run on a daemon thread (the page polls the trial's progress)."""
    factory = client_factory or (lambda: httpx.Client(timeout=CALL_TIMEOUT_S))
    thread = threading.Thread(
        target=run, args=(database_url, plan, base_url, factory), name=f"trial-{plan.trial_id}", daemon=True
    )
    thread.start()
    return thread
