"""The ranker over interchange records: hard constraints (exhaustively on the dev set), order, reasons."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from smeai.matching import cues, embedding
from smeai.matching.ranker import Need, Pool, industry_covers, passes
from tests.matching.builders import DEV, dev_lines, dev_needs


@pytest.fixture(scope="module")
def pool() -> Pool:
    return Pool(json.loads(line) for line in dev_lines())


def _qrels() -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for line in (DEV / "dev-qrels.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        need, offering, grade = line.split("\t")
        out.setdefault(need, {})[offering] = int(grade)
    return out


def test_industry_coverage_follows_the_interchange_rule():
    assert industry_covers("C33") == {"*", "C", "C33", "K1"}  # 金属制品业 is in group K1
    assert industry_covers("G") == {"*", "G"}


def test_every_returned_offering_passes_every_hard_constraint_on_the_dev_set(pool):
    """Exhaustive: each dev need, and each need again with every optional field dropped and tightened."""
    variants = []
    for rec in dev_needs():
        variants.append(rec)
        variants.append({"text": rec["text"]})  # no constraint at all
        variants.append(rec | {"budget_wan": 1, "deployment": ["api"]})
        variants.append(rec | {"province_code": "65", "industry": "C13"})
    for rec in variants:
        need = Need.from_record(rec)
        allowed = {pool.ids[i] for i, ok in enumerate(pool.allowed(need)) if ok}
        assert allowed == {o["id"] for o in pool.records if passes(o, need)}
        returned = [m.id for m in pool.match(need, top=len(pool.records))]
        assert set(returned) == allowed  # everything allowed is ranked, nothing else


def test_the_ranker_finds_the_labelled_offerings_on_the_dev_set(pool):
    qrels = _qrels()
    ndcgs = []
    for rec in dev_needs():
        ranked = [m.id for m in pool.match(Need.from_record(rec), top=10)]
        grades = qrels.get(rec["id"], {})
        dcg = sum((2 ** grades.get(o, 0) - 1) / math.log2(i + 2) for i, o in enumerate(ranked))
        ideal = sorted(grades.values(), reverse=True)[:10]
        ndcgs.append(dcg / sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal)))
    assert sum(ndcgs) / len(ndcgs) >= 0.85


def test_a_need_in_plain_words_is_read_as_its_scenario():
    scen, _kinds = cues.detect("出货前全靠老师傅拿眼睛挑，裂纹经常漏掉")
    assert max(scen, key=scen.get) == "quality_inspection"
    _scen, kinds = cues.detect("想租几张 GPU 卡训练自己的模型")
    assert "compute" in kinds


def test_reasons_are_chinese_and_name_industry_scenario_and_budget(pool):
    need = Need(text="螺栓厂，想自动挑出裂纹不良品", industry="C33", province_code="13", stage=1, budget_wan=30)
    best = pool.match(need, top=1)[0]
    assert best.reasons[0] == "适用行业：金属制品业"
    assert any(r.startswith("场景：") and "智能质检" in r for r in best.reasons)
    assert any("符合预算" in r for r in best.reasons)


def test_ties_and_empty_results_are_deterministic(pool):
    need = Need(text="无关的文字", province_code="65", budget_wan=0)
    assert [m.id for m in pool.match(need)] == [m.id for m in pool.match(need)]
    assert pool.match(Need(text="x", deployment=("appliance",), budget_wan=0)) == []


def test_embeddings_place_a_need_near_its_offering_and_are_cached(tmp_path):
    records = [
        json.loads(line)
        for line in dev_lines()
        if json.loads(line)["id"] in {"dev-o-005", "dev-o-088", "dev-o-117", "dev-o-121"}
    ]
    embedder = embedding.Embedder(tmp_path)
    pool = Pool(records, embedder=embedder)
    sim = pool.emb_vectors @ embedder.query("布面上跳纱破洞，验布工看不过来")
    assert records[int(sim.argmax())]["id"] == "dev-o-005"  # the 验布 system, not the copywriter
    assert len(embedding.VectorStore(tmp_path).refreshed()) == 4  # kept: a rebuilt pool embeds nothing again
    again = Pool(records, embedder=embedding.Embedder(tmp_path))
    assert (again.emb_vectors == pool.emb_vectors).all()


def test_an_unwritable_embedding_cache_only_costs_speed(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    vec = embedding.Embedder(blocked / "cache").passages(["瑕疵检测"])
    assert vec.shape == (1, embedding.DIM)


def test_the_vector_store_keeps_few_segments_and_every_vector(tmp_path):
    store = embedding.VectorStore(tmp_path)
    rng = np.random.default_rng(1)
    vectors = rng.random((40, embedding.DIM), dtype=np.float32)
    keys = [embedding.text_key(f"文本{i}") for i in range(40)]
    keys[5] = keys[5][:-1] + b"\x00"  # numpy's fixed bytes would lose a trailing NUL: rows of uint8 keep it
    for i in range(0, 40, 2):  # twenty small writes, as a pool embedded batch by batch
        store.add(keys[i : i + 2], vectors[i : i + 2])
    store.add(keys[:2], vectors[:2])  # another worker embedded the same texts
    assert len(list(tmp_path.glob("*.keys.npy"))) <= 6  # merged four of a size at a time
    again = embedding.VectorStore(tmp_path).refreshed()  # a new process
    assert len(again) == 40
    assert all((again.get(k) == v).all() for k, v in zip(keys, vectors, strict=True))
    assert again.merge(everything=True) == 40 and len(list(tmp_path.glob("*.keys.npy"))) == 1
