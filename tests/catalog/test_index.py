"""The search index kept current by the change stamp: only changed rows are read and segmented, a
provider rename is an edit too, a stored index is where a worker starts, and the answers are those of
an index built from scratch."""

from __future__ import annotations

import pytest

from smeai.auth.models import Organisation
from smeai.catalog import index, service, stamp
from smeai.catalog.index import OfferingQuery
from smeai.catalog.models import Offering
from tests import builders
from tests.catalog import builders as cb

QUERIES = [
    OfferingQuery(),
    OfferingQuery(q="质检"),
    OfferingQuery(q="能耗 管理", kind=["saas"]),
    OfferingQuery(q="检测", max_price_wan=20, sort="price_asc"),
    OfferingQuery(q="测试服务商"),
    OfferingQuery(region="44", stage=1),
]


def _answers(session) -> list[tuple]:
    out = []
    for q in QUERIES:
        r = index.search_offerings(session, q)
        out.append((r.total, r.ids, [round(s, 5) for s in r.scores], r.facets))
    return out


def _from_scratch(session, monkeypatch) -> list[tuple]:
    """The same queries against an index built from every row (nothing kept, nothing stored)."""
    with monkeypatch.context() as m:
        m.setattr(index, "_states", {})
        m.setattr(index, "_load_stored", lambda *a: None)
        return _answers(session)


def _pool(session):
    provider, op = builders.provider(session, "测试服务商甲"), builders.operator(session)
    made = [
        cb.published(session, provider, op, name="布面瑕疵检测", kind="appliance"),
        cb.published(session, provider, op, name="能耗管家", kind="saas", summary="工厂能耗管理与分析。"),
        cb.published(session, provider, op, name="质检大模型", kind="model", regions=["44"]),
    ]
    session.commit()
    return provider, op, made


def test_every_catalog_write_bumps_the_stamp_in_its_transaction(session):
    provider, _op, (first, *_rest) = _pool(session)
    token, version = stamp.read(session)
    assert token and version >= 3
    service.withdraw_offering(session, provider, first.id)
    session.commit()
    assert stamp.read(session) == (token, version + 1)
    assert session.get(Offering, first.id).change_seq == version + 1
    session.get(Organisation, provider.org_id).city = "苏州"  # not the name: the index does not change
    session.commit()
    assert stamp.read(session) == (token, version + 1)


def test_edits_are_applied_row_by_row_and_answer_as_a_fresh_build(session, monkeypatch):
    provider, op, (first, second, _third) = _pool(session)
    assert _answers(session) == _from_scratch(session, monkeypatch)
    segmented: list[int] = []
    real = index._document
    monkeypatch.setattr(index, "_document", lambda row, vocab: segmented.append(row["id"]) or real(row, vocab))

    service.withdraw_offering(session, provider, first.id)  # unpublish
    cheaper = cb.fields(name="能耗管家", pricing={"model": "one_off", "entry_price_wan": 3})
    service.update_offering(session, provider, second.id, cheaper)  # back to review
    service.review_offering(session, op, second.id, cb.approve())  # a price change, published again
    fourth = cb.published(session, provider, op, name="排产智能体", kind="agent")  # publish
    session.commit()
    after = _answers(session)
    assert sorted(set(segmented)) == sorted([second.id, fourth.id])  # the withdrawn one is dropped, others kept
    assert first.id not in after[0][1] and fourth.id in after[0][1]
    assert after == _from_scratch(session, monkeypatch)


def test_a_provider_rename_is_searchable_at_once(session):
    provider, _op, made = _pool(session)
    assert index.search_offerings(session, OfferingQuery(q="新名字科技")).total == 0
    session.get(Organisation, provider.org_id).name = "新名字科技有限公司"
    session.commit()
    assert sorted(index.search_offerings(session, OfferingQuery(q="新名字科技")).ids) == sorted(o.id for o in made)


def test_a_worker_starts_from_the_stored_index_and_reads_only_what_changed(session, monkeypatch):
    provider, op, (first, *_rest) = _pool(session)
    assert index.store(session, index.build(session)) > 0
    session.commit()
    service.withdraw_offering(session, provider, first.id)
    later = cb.published(session, provider, op, name="仓储盘点机器人")
    session.commit()
    monkeypatch.setattr(index, "_states", {})  # a new process
    segmented: list[int] = []
    real = index._document
    monkeypatch.setattr(index, "_document", lambda row, vocab: segmented.append(row["id"]) or real(row, vocab))
    with monkeypatch.context() as m:
        m.setattr(index, "_read_all", lambda *a: pytest.fail("the stored index was not used"))
        answers = _answers(session)
    assert segmented == [later.id]  # the withdrawn one is only dropped
    assert answers == _from_scratch(session, monkeypatch)


def test_a_stored_index_of_another_history_is_not_used(session, monkeypatch):
    _pool(session)
    index.store(session, index.build(session))
    session.commit()
    session.execute(
        stamp.ChangeStamp.__table__.update().values(token="another-database-000000000000000")  # type: ignore[attr-defined]
    )
    session.commit()
    monkeypatch.setattr(index, "_states", {})
    calls: list[int] = []
    real = index._read_all
    monkeypatch.setattr(index, "_read_all", lambda *a: calls.append(1) or real(*a))
    assert index.search_offerings(session, OfferingQuery()).total == 3
    assert calls == [1]


def test_a_search_inside_a_rolled_back_edit_leaves_no_trace(session):
    provider, op, made = _pool(session)
    extra = cb.published(session, provider, op, name="临时方案")
    assert extra.id in index.search_offerings(session, OfferingQuery()).ids  # its own uncommitted row
    session.rollback()
    assert sorted(index.search_offerings(session, OfferingQuery()).ids) == sorted(o.id for o in made)


def test_the_index_job_stores_it_and_a_second_run_writes_nothing(session, settings):
    from smeai.jobs import registry

    _pool(session)
    job = registry.by_name("catalog-index")
    assert job is not None
    assert "MiB stored" in job.run(settings)
    assert "already stored" in job.run(settings)
