"""The app's pool: a catalog change never makes a matching request wait for embeddings."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from smeai.matching import embedding, pools, service
from smeai.matching.schemas import NeedRecord
from tests import builders
from tests.matching.builders import offering

NEED = [{"text": "外观缺陷检测"}]


class GatedEmbedder:
    """Embeds passages only once the gate opens; its vectors favour texts holding `favourite`."""

    def __init__(self, favourite: str) -> None:
        self.favourite = favourite
        self.gate = threading.Event()
        self.started = threading.Event()
        self.embedded: list[str] = []

    def passages(self, texts):
        self.started.set()
        assert self.gate.wait(30), "the gate never opened"
        self.embedded += texts
        return np.stack([self._vec(0 if self.favourite in t else 1) for t in texts]).reshape(-1, embedding.DIM)

    def query(self, text):
        return self._vec(0)

    @staticmethod
    def _vec(axis: int) -> np.ndarray:
        v = np.zeros(embedding.DIM, dtype=np.float32)
        v[axis] = 1.0
        return v


@pytest.fixture
def gated(monkeypatch):
    fake = GatedEmbedder("乙方案")
    monkeypatch.setattr(pools, "EMBEDDINGS", True)
    monkeypatch.setattr(pools, "_embedder", lambda: fake)
    pools.reset()
    yield fake
    fake.gate.set()
    pools.wait_for_embeddings(30)
    pools.reset()


def _two_offerings(session):
    # Alike in every field the lexical signals read; only the embedding tells them apart.
    offering(session, "甲视觉", id="a", description="甲方案")
    offering(session, "乙视觉", id="b", description="乙方案")
    session.commit()


def test_a_request_during_the_embedding_build_answers_at_once_from_the_lexical_pool(session, client_for, gated):
    _two_offerings(session)
    api = client_for(builders.analyst(session))
    started = time.monotonic()
    r = api.post("/api/v1/match", json=NEED)
    assert r.status_code == 200, r.text
    assert time.monotonic() - started < 10  # the gate stays shut for 30 s
    assert gated.started.wait(10)  # the build is under way, in the background
    assert [m["id"] for m in r.json()[0]] == ["a", "b"]  # lexical tie: pool order
    gated.gate.set()
    assert pools.wait_for_embeddings(30)
    r = api.post("/api/v1/match", json=NEED)
    assert [m["id"] for m in r.json()[0]] == ["b", "a"]  # now the embedding decides


def test_a_changed_catalog_embeds_only_its_new_texts(session, gated):
    _two_offerings(session)
    gated.gate.set()
    service.current_pool(session)
    assert pools.wait_for_embeddings(30)
    offering(session, "丙视觉", id="c", description="丙方案")
    session.commit()
    pool = service.current_pool(session)
    assert pools.wait_for_embeddings(30)
    assert pool.embedder is gated and sum("丙方案" in t for t in gated.embedded) == 1
    assert len(gated.embedded) == 3  # a and b were embedded once, for the first pool


def test_a_change_that_keeps_every_text_keeps_the_embeddings_on(session, gated):
    _two_offerings(session)
    gated.gate.set()
    service.current_pool(session)
    assert pools.wait_for_embeddings(30)
    gated.gate.clear()  # any further embedding would now wait
    offering(session, "甲视觉", id="a", description="甲方案", pricing={"model": "subscription", "entry_price_wan": 9})
    session.commit()
    pool = service.current_pool(session)
    assert pool.price.tolist() == [9.0, 8.0] and pool.embedder is gated


def test_the_match_command_builds_with_embeddings_before_it_answers(session, gated):
    _two_offerings(session)
    gated.gate.set()
    with pools.synchronous():
        (found,) = service.match_records(session, [NeedRecord(**NEED[0])])
    assert [m.id for m in found] == ["b", "a"]


def test_the_embedding_job_embeds_only_texts_never_seen(session, tmp_path, monkeypatch):
    from tests import builders
    from tests.catalog import builders as cb

    embedded: list[str] = []

    class Model:
        def passage(self, texts):
            embedded.extend(texts)
            return np.ones((len(texts), embedding.DIM), dtype=np.float32)

    monkeypatch.setattr(embedding, "_model", Model)
    provider, op = builders.provider(session), builders.operator(session)
    cb.published(session, provider, op, name="布面瑕疵检测")
    cb.published(session, provider, op, name="能耗管家")
    session.commit()
    assert pools.embed_published(session, tmp_path, budget_s=60) == (2, 2, 0)
    assert pools.embed_published(session, tmp_path, budget_s=60) == (2, 0, 0)  # kept: nothing again
    cb.published(session, provider, op, name="排产智能体")
    session.commit()
    assert pools.embed_published(session, tmp_path, budget_s=60) == (3, 1, 0)
    assert len(embedded) == 3
