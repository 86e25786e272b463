"""A scripted OpenAI-compatible upstream: the faults a real model cannot produce on demand.

A real HTTP server (uvicorn, in a subprocess so a test can kill it): `python -m tests.gateway.scripted
--port P --log FILE`. What it does is read from `key=value` words in the upstream model name and in the
last message's text (the message wins):

- tokens=N      stream N tokens ("w0 ", "w1 ", ...: one token each), default 8
- usage=end     where the usage object goes: end (OpenAI's final chunk), none, first (before the text),
                choice (inside the last choice, as Moonshot does), timings (llama.cpp's)
- done=0        end the stream without [DONE] (a cut stream)
- fail_after=K  after K tokens send an error event and close (a 5xx in the middle of a stream)
- status=S      answer status S at once; fail_times=M: only the first M calls with this `run=` id
- hang=SEC      wait before the first byte; delay=SEC between tokens (default 0.005)
- cached=K      K of the prompt's tokens came from the provider's cache: reported as OpenAI's
                `prompt_tokens_details.cached_tokens`, or with cache=deepseek as DeepSeek's
                `prompt_cache_hit_tokens` / `prompt_cache_miss_tokens`
- pad=K         each token's text carries K more characters (big chunks fill a slow reader's socket)

Each call is logged to FILE as one JSON line: marker (`call=` word), tokens written, usage reported.
Prompt tokens are the words of all messages plus 3.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

LOG: Path | None = None
_failures: Counter[str] = Counter()


def _params(body: dict) -> dict[str, str]:
    words = str(body.get("model", "")).replace(";", " ").split()
    messages = body.get("messages") or []
    if messages:
        words += str(messages[-1].get("content", "")).split()
    return dict(w.split("=", 1) for w in words if "=" in w)


def _prompt_tokens(body: dict) -> int:
    return sum(len(str(m.get("content", "")).split()) for m in body.get("messages") or []) + 3


def _log(entry: dict[str, Any]) -> None:
    if LOG is not None:
        with LOG.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


async def chat(request: Request) -> Response:
    body = await request.json()
    p = _params(body)
    marker = p.get("call", "")
    if "status" in p:
        run = p.get("run", "")
        _failures[run] += 1
        if "fail_times" not in p or _failures[run] <= int(p["fail_times"]):
            _log({"call": marker, "status": int(p["status"]), "tokens": 0, "reported": False})
            return JSONResponse({"error": {"message": "scripted failure"}}, status_code=int(p["status"]))
    n = min(int(p.get("tokens", 8)), int(body.get("max_tokens") or 10**9))
    prompt = _prompt_tokens(body)
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": n, "total_tokens": prompt + n}
    if "cached" in p:
        hit = min(int(p["cached"]), prompt)
        if p.get("cache") == "deepseek":
            usage |= {"prompt_cache_hit_tokens": hit, "prompt_cache_miss_tokens": prompt - hit}
        else:
            usage["prompt_tokens_details"] = {"cached_tokens": hit}
    where = p.get("usage", "end")
    cid = f"chatcmpl-{marker or 'x'}"
    if "hang" in p:
        await asyncio.sleep(float(p["hang"]))
    if not body.get("stream"):
        text = "".join(f"w{i} " for i in range(n))
        out: dict[str, Any] = {
            "id": cid,
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "length"}],
        }
        if where != "none":
            out["usage"] = usage
        _log({"call": marker, "status": 200, "tokens": n, "reported": where != "none", "usage": usage})
        return JSONResponse(out)
    delay = float(p.get("delay", 0.005))
    fail_after = int(p["fail_after"]) if "fail_after" in p else None
    pad = "x" * int(p.get("pad", 0))
    done = p.get("done", "1") != "0"

    def chunk(delta: dict, finish: str | None = None, **extra: Any) -> bytes:
        c = {
            "id": cid,
            "object": "chat.completion.chunk",
            "model": body.get("model"),
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, **extra.pop("choice", {})}],
            **extra,
        }
        return f"data: {json.dumps(c)}\n\n".encode()

    async def events():  # type: ignore[no-untyped-def]
        written = 0
        reported = False
        try:
            yield chunk({"role": "assistant", "content": ""})
            if where == "first":
                reported = True
                yield f"data: {json.dumps({'id': cid, 'choices': [], 'usage': usage})}\n\n".encode()
            for i in range(n):
                if fail_after is not None and i >= fail_after:
                    yield b'data: {"error": {"message": "scripted 500", "code": 500}}\n\n'
                    return
                await asyncio.sleep(delay)
                written += 1
                yield chunk({"content": f"w{i} {pad}"})
            if where == "choice":
                reported = True
                yield chunk({}, "length", choice={"usage": usage})
            elif where == "timings":
                reported = True
                timings = {"prompt_n": prompt, "cache_n": 0, "predicted_n": n}
                yield chunk({}, "length", timings=timings)
            else:
                yield chunk({}, "length")
            if where == "end":
                reported = True
                yield f"data: {json.dumps({'id': cid, 'choices': [], 'usage': usage})}\n\n".encode()
            if done:
                yield b"data: [DONE]\n\n"
        finally:
            _log({"call": marker, "status": 200, "tokens": written, "reported": reported, "usage": usage})

    return StreamingResponse(events(), media_type="text/event-stream")


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "at": time.time()})


app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/health", health)])


def main() -> None:
    import uvicorn

    global LOG
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path)
    args = parser.parse_args()
    LOG = args.log
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
