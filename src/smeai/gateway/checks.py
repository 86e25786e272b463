"""Verify, for a configured upstream, what the hold's bound rests on: that none of its tokens is shorter than
a byte (so UTF-8 bytes bound the input), and that the prompt it counts, template included, stays within
`service.input_bound` for sample messages. Run it when an upstream is added: `smeai gateway upstream check`.
A provider without a tokenizer endpoint is checked on the prompts alone."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from smeai.auth.actor import Actor
from smeai.auth.permissions import Permission
from smeai.errors import NotFound
from smeai.gateway import localmodel, service
from smeai.gateway.models import Route, Upstream
from smeai.i18n import N_

SAMPLES = (
    "hello world",
    "你好，世界！模型券补贴一半的调用费用。",
    "def f(x):\n    return x ** 2  # 平方",
    "🙂🚀 emoji, ümlauts, ÆØÅ, ①②③",
    "   spaces   and\ttabs\n\n\n",
    "1234567890" * 5,
)


@dataclass
class CheckReport:
    upstream: str
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_upstream(session: Session, actor: Actor, name: str, *, timeout: float = 120.0) -> CheckReport:
    actor.require(Permission.GATEWAY_MANAGE)
    up = session.scalar(select(Upstream).where(Upstream.name == name))
    if up is None:
        raise NotFound(N_("Upstream not found."))
    report = CheckReport(upstream=name)
    base = localmodel.ensure_started() if up.base_url.startswith("local://") else up.base_url.rstrip("/")
    headers = {"Authorization": f"Bearer {key}"} if (key := _secret(up.api_key_env)) else {}
    tokenize = up.tokenize_url or base.split("/v1")[0].rstrip("/") + "/tokenize"
    with httpx.Client(timeout=timeout, headers=headers) as client:
        for text in SAMPLES:
            try:
                r = client.post(tokenize, json={"content": text})
                tokens = r.json().get("tokens") if r.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                tokens = None
            if not isinstance(tokens, list):
                report.skipped.append("no tokenizer endpoint: bytes per token not checked")
                break
            report.checked += 1
            if len(tokens) > len(text.encode("utf-8")):
                report.problems.append(f"{len(tokens)} tokens for {len(text.encode())} bytes: {text!r}")
        for route in session.scalars(select(Route).where(Route.upstream_id == up.id)):
            for text in SAMPLES[:3]:
                messages = [{"role": "user", "content": text}]
                try:
                    r = client.post(
                        base + "/chat/completions",
                        json={"model": route.upstream_model, "messages": messages, "max_tokens": 1},
                    )
                    prompt = (r.json().get("usage") or {}).get("prompt_tokens")
                except (httpx.HTTPError, ValueError):
                    prompt = None
                if not isinstance(prompt, int):
                    report.skipped.append(f"{route.alias}: no usage in the answer")
                    break
                report.checked += 1
                bound = service.input_bound(messages, None, up.overhead_tokens)
                if prompt > bound:
                    report.problems.append(
                        f"{route.alias}: {prompt} prompt tokens over the bound {bound} (raise overhead_tokens)"
                    )
    return report


def _secret(env: str | None) -> str | None:
    import os

    return os.environ.get(env) if env else None
