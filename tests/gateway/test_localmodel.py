"""Against a real model server: llama.cpp (xllamacpp) serving SmolLM2-135M, the official `openai` client
streaming through the served gateway, and the checks the bounds rest on, for this model's tokenizer."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from sqlalchemy import select

from smeai.gateway import localmodel, service
from smeai.gateway.ledger import message_bytes
from smeai.gateway.models import Usage
from smeai.gateway.proxy import chunk_bound, estimate_completion
from tests.gateway.conftest import setup_org

TEXTS = [
    "hello world",
    "你好，世界！模型券补贴一半的调用费用。",
    "def f(x):\n    return x ** 2  # 平方",
    "🙂🚀 emoji and ümlauts, ÆØÅ",
    "   spaces   and\ttabs\n\n\n",
    "1234567890" * 5,
]


@pytest.fixture(scope="module")
def model_url() -> str:
    """One llama.cpp server for the module, also the one `local://smollm2` upstreams use in this process."""
    return localmodel.ensure_started()


def _tokenize(base: str, text: str) -> int:
    return len(httpx.post(f"{base}/tokenize", json={"content": text}, timeout=30).json()["tokens"])


def test_a_token_is_never_shorter_than_a_byte_for_this_tokenizer(model_url):
    for text in TEXTS:
        assert _tokenize(model_url, text) <= len(text.encode("utf-8")), text


def test_the_input_bound_covers_the_prompt_with_its_template(model_url):
    for text in TEXTS[:3]:
        messages = [{"role": "system", "content": "简短回答。"}, {"role": "user", "content": text}]
        r = httpx.post(
            f"{model_url}/v1/chat/completions",
            json={"model": "x", "messages": messages, "max_tokens": 1},
            timeout=120,
        )
        prompt = r.json()["usage"]["prompt_tokens"]
        assert prompt <= service.input_bound(messages, None, 64), (text, prompt, message_bytes(messages))
    messages = [{"role": "user", "content": "x"}]  # the default system prompt the template adds
    r = httpx.post(
        f"{model_url}/v1/chat/completions", json={"model": "x", "messages": messages, "max_tokens": 1}, timeout=120
    )
    assert r.json()["usage"]["prompt_tokens"] <= service.input_bound(messages, None, 64)


def test_the_estimate_of_streamed_text_is_never_below_the_models_count(model_url):
    for prompt in ("用中文说你好", "Count to five", "How many syllables in foxy? Answer like a poem."):
        body = {
            "model": "x",
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": 24,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        text, finish, usage, pieces = "", None, None, 0
        with httpx.stream("POST", f"{model_url}/v1/chat/completions", json=body, timeout=120) as r:
            for line in r.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                for c in chunk.get("choices") or []:
                    piece = (c.get("delta") or {}).get("content") or ""
                    text += piece
                    pieces += chunk_bound(piece) if piece else 0
                    finish = c.get("finish_reason") or finish
                usage = chunk.get("usage") or usage
        assert usage is not None
        estimate = estimate_completion(text, _tokenize(model_url, text), finish, 24, pieces)
        assert estimate >= usage["completion_tokens"], (text, estimate, usage)


def test_the_openai_client_streams_through_the_gateway(live, session, model_url):
    s = setup_org(session, "local://smollm2", models={"smollm2": "smollm2"}, price_in="1", price_out="2")
    client = openai.OpenAI(base_url=f"{live}/gateway/v1", api_key=s.secret, max_retries=0)
    stream = client.chat.completions.create(
        model="smollm2",
        messages=[{"role": "user", "content": "Say hello"}],
        max_tokens=12,
        stream=True,
    )
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assert "".join(pieces)
    assert [m.id for m in client.models.list()] == ["smollm2"]
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{live}/gateway/v1", api_key="sk-smeai-wrong", max_retries=0).models.list()
    session.expire_all()
    [u] = session.scalars(select(Usage).where(Usage.org_id == s.org_id)).all()
    assert not u.estimated and 0 < u.completion_tokens <= 12 and u.status == "ok"
    assert u.cost_mf > 0
    broke = setup_org(session, "local://smollm2", fen=0, models={"smollm2": "smollm2"}, price_in="1", price_out="2")
    with pytest.raises(openai.APIStatusError) as refused:
        openai.OpenAI(base_url=f"{live}/gateway/v1", api_key=broke.secret, max_retries=0).chat.completions.create(
            model="smollm2", messages=[{"role": "user", "content": "hi"}]
        )
    assert refused.value.status_code == 402 and refused.value.code == "insufficient_quota"


def test_upstream_check_verifies_the_bound_for_the_configured_model(session, model_url):
    from smeai.auth.actor import Actor
    from smeai.gateway import checks

    setup_org(session, model_url + "/v1", models={"smol": "smollm2"})
    name = service.list_upstreams(session, Actor.system())[-1].name
    report = checks.check_upstream(session, Actor.system(), name)
    assert report.ok and report.checked == len(checks.SAMPLES) + 3, (report.problems, report.skipped)
