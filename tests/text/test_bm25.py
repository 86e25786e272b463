import math

import numpy as np
import pytest

from smeai.catalog.search import Engine
from smeai.matching.ranker import Pool
from smeai.text.bm25 import K1, B, Bm25, encode


def _index(docs: list[list[str]]) -> Bm25:
    vocab: dict[str, int] = {}
    return Bm25([encode(d, vocab) for d in docs], vocab)


def test_a_weight_is_bm25_worked_by_hand():
    index = _index([["质检", "质检", "视觉"], ["客服"], ["视觉", "排产", "排产", "排产"]])
    docs, weights = index.posting("质检")
    idf = math.log(1 + (3 - 1 + 0.5) / (1 + 0.5))
    tf, length, avg = 2, 3, 8 / 3
    expected = idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / avg))
    assert docs.tolist() == [0]
    assert weights[0] == pytest.approx(expected, rel=1e-6)
    assert index.posting("没有的词") is None


def test_summed_scores_count_a_repeated_term_once_and_weigh_synonyms():
    index = _index([["质检", "视觉"], ["目检"], ["客服"]])
    once = index.scores([("质检", 1.0)])
    assert index.scores([("质检", 1.0), ("质检", 1.0)]).tolist() == once.tolist()
    both = index.scores([("质检", 1.0), ("目检", 0.5)])
    assert both[1] == pytest.approx(0.5 * index.posting("目检")[1][0])
    assert both[2] == 0


def test_a_concept_scores_its_best_word_not_the_sum_of_its_synonyms():
    index = _index([["质检", "目检"], ["目检"], ["客服"]])
    scores, matched = index.group_scores([[("质检", 1.0), ("目检", 0.7)]])
    assert scores[0] == pytest.approx(index.posting("质检")[1][0])  # best of the two, not both
    assert matched.tolist() == [1, 1, 0]


def test_search_and_the_ranker_share_the_engine():
    record = {
        "id": "a",
        "name": "视觉质检",
        "kind": "saas",
        "summary": "产线外观缺陷检测",
        "industries": ["*"],
        "scenarios": [],
        "deployment": ["saas"],
        "regions": ["*"],
        "pricing": {"entry_price_wan": 1},
    }
    pool = Pool([record, record | {"id": "b", "name": "智能客服", "summary": "客服问答"}])
    engine = Engine([1, 2], [["视觉", "质检"], ["客服"]], {}, {})
    assert isinstance(pool.index, Bm25) and isinstance(engine.bm25, Bm25)
    assert np.argmax(pool.bm25(["质检"])) == 0
