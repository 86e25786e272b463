"""Provider self-service, operator review (遴选), visibility and soft delete."""

from __future__ import annotations

import pytest

from smeai.catalog import service
from smeai.catalog.index import OfferingQuery
from smeai.catalog.schemas import ReviewIn
from smeai.errors import Conflict, Forbidden, Invalid, NotFound
from tests import builders
from tests.catalog import builders as cb


def test_only_published_offerings_are_visible_to_enterprises_and_the_public(session):
    provider, op, firm = builders.provider(session), builders.operator(session), builders.enterprise(session)
    offering = cb.listed(session, provider)
    service.submit_offering(session, provider, offering.id)
    session.commit()
    session.expunge_all()
    for reader in (firm, None, builders.provider(session)):
        with pytest.raises(NotFound):
            service.get_offering(session, reader, offering.id)
    assert service.get_offering(session, provider, offering.id).status == "submitted"
    assert [o.id for o in service.list_review_queue(session, op)] == [offering.id]

    service.review_offering(session, op, offering.id, cb.approve())
    session.commit()
    session.expunge_all()
    assert service.get_offering(session, firm, offering.id).status == "published"
    assert service.get_offering(session, None, offering.id).published_at is not None


def test_approval_needs_the_whole_checklist_and_rejection_a_reason(session):
    provider, op = builders.provider(session), builders.operator(session)
    offering = cb.listed(session, provider)
    service.submit_offering(session, provider, offering.id)
    with pytest.raises(Invalid) as exc:
        service.review_offering(session, op, offering.id, ReviewIn(approve=True, checklist={"pricing_clear": True}))
    assert "provider_verified" in exc.value.fields["checklist"]
    with pytest.raises(Invalid):
        service.review_offering(session, op, offering.id, ReviewIn(approve=False))
    service.review_offering(session, op, offering.id, ReviewIn(approve=False, comment="价格说明不清"))
    session.commit()
    session.expunge_all()
    events = service.history(session, provider, offering.id)
    assert [e.action for e in events] == ["created", "submitted", "rejected"]
    assert events[-1].comment == "价格说明不清"
    # fix and resubmit
    service.update_offering(
        session, provider, offering.id, cb.fields(pricing={"model": "one_off", "entry_price_wan": 12})
    )
    assert service.submit_offering(session, provider, offering.id).status == "submitted"


def test_providers_cannot_review_and_cannot_touch_foreign_offerings(session):
    provider, other, op = builders.provider(session), builders.provider(session), builders.operator(session)
    offering = cb.listed(session, provider)
    service.submit_offering(session, provider, offering.id)
    with pytest.raises(Forbidden):
        service.review_offering(session, provider, offering.id, cb.approve())
    with pytest.raises(NotFound):  # not yet public: another provider cannot even see it
        service.submit_offering(session, other, offering.id)
    service.review_offering(session, op, offering.id, cb.approve())
    with pytest.raises(NotFound):  # public now, but still not theirs to change
        service.withdraw_offering(session, other, offering.id)
    with pytest.raises(Forbidden):
        service.create_offering(session, builders.enterprise(session), cb.fields())


def test_editing_a_published_offering_sends_it_back_to_review(session):
    provider, op = builders.provider(session), builders.operator(session)
    offering = cb.published(session, provider, op)
    service.update_offering(session, provider, offering.id, cb.fields(name="布面瑕疵检测 2.0"))
    assert offering.status == "submitted"
    with pytest.raises(Conflict):
        service.update_offering(session, provider, offering.id, cb.fields())
    service.withdraw_offering(session, provider, offering.id)
    assert offering.status == "withdrawn"


def test_soft_delete_hides_everywhere_but_keeps_history(session):
    provider, op = builders.provider(session), builders.operator(session)
    offering = cb.published(session, provider, op)
    service.delete_offering(session, provider, offering.id)
    session.commit()
    session.expunge_all()
    with pytest.raises(NotFound):
        service.get_offering(session, op, offering.id)
    assert service.published_offering_records(session) == []
    assert service.list_own_offerings(session, provider) == []
    row = service.find_offering_by_ext_id(session, offering.ext_id)
    assert row is not None and row.deleted_at is not None
    assert [e.action for e in row.events][-1] == "deleted"


def test_search_finds_a_listing_by_a_synonym_and_only_when_published(session):
    provider, op = builders.provider(session), builders.operator(session)
    offering = cb.listed(session, provider, name="织物外观检测仪", summary="自动发现布匹上的疵点。", tags=["验布"])
    session.commit()
    query = OfferingQuery(q="瑕疵检测")  # a synonym of 外观检测 / 验布, not the listing's words
    assert service.search_offerings(session, query)[1] == []
    service.submit_offering(session, provider, offering.id)
    service.review_offering(session, op, offering.id, cb.approve())
    session.commit()
    result, rows = service.search_offerings(session, query)
    assert [o.id for o in rows] == [offering.id]
    assert "外观检测" in result.synonyms


def test_search_ranks_filters_facets_and_pages(session):
    cb.imported(
        session,
        cb.record(
            id="a",
            name="智能排产云",
            summary="订单和产能一起算，自动排出生产计划。",
            kind="saas",
            scenarios=["production_scheduling"],
            industries=["C"],
            deployment=["saas"],
            pricing={"model": "subscription", "entry_price_wan": 6},
            regions=["44"],
        ),
        cb.record(
            id="b",
            name="注塑排单智能体",
            summary="按模具和交期排单。",
            kind="agent",
            scenarios=["production_scheduling"],
            industries=["C29"],
            deployment=["saas"],
            pricing={"model": "subscription", "entry_price_wan": 2},
        ),
        cb.record(
            id="c",
            name="客服机器人",
            summary="电商售后自动应答。",
            kind="saas",
            scenarios=["customer_service"],
            industries=["*"],
            deployment=["saas", "api"],
            pricing={"model": "per_call", "entry_price_wan": 0.5},
        ),
        cb.record(
            id="d",
            name="排产咨询服务",
            summary="上门梳理计划排程流程。",
            kind="service",
            scenarios=["production_scheduling"],
            industries=["F"],
            deployment=["private"],
            pricing={"model": "one_off", "entry_price_wan": 30},
        ),
    )
    session.commit()

    def ids(**q):
        result, rows = service.search_offerings(session, OfferingQuery(**q))
        return [o.ext_id for o in rows], result

    found, result = ids(q="排程")  # synonym of 排产 / 排单
    assert set(found) == {"a", "b", "d"}
    assert dict(result.facets["kind"]) == {"saas": 1, "agent": 1, "service": 1}
    assert ids(q="排程", kind=["agent"])[0] == ["b"]
    # industry coverage: C29 is covered by C and by C29; "*" covers everything
    assert set(ids(industry=["C29"])[0]) == {"a", "b", "c"}
    assert set(ids(region="11")[0]) == {"b", "c", "d"}  # "a" serves Guangdong only
    assert ids(sort="price_asc")[0] == ["c", "b", "a", "d"]
    assert ids(max_price_wan=5, sort="price_desc")[0] == ["b", "c"]
    assert ids(price_band=["lt1"])[0] == ["c"]
    page2, result = ids(sort="price_asc", per_page=3, page=2)
    assert page2 == ["d"] and result.total == 4 and result.pages == 2
    industry_facet = dict(ids(q="")[1].facets["industry"])
    assert industry_facet["C"] == 3 and industry_facet["*"] == 1  # C, C29 and any-industry


def test_index_follows_changes(session):
    provider, op = builders.provider(session), builders.operator(session)
    offering = cb.published(session, provider, op, name="能耗管家")
    session.commit()
    assert [o.id for o in service.search_offerings(session, OfferingQuery(q="能耗"))[1]] == [offering.id]
    service.withdraw_offering(session, provider, offering.id)
    session.commit()
    assert service.search_offerings(session, OfferingQuery(q="能耗"))[1] == []


def test_a_large_pool_keeps_answering_while_it_is_rebuilt(session, monkeypatch):
    import time

    from smeai.catalog import index

    monkeypatch.setattr(index, "SYNC_UPDATE_MAX", 0)
    provider, op = builders.provider(session), builders.operator(session)
    first, second = cb.published(session, provider, op, name="能耗管家"), cb.published(session, provider, op)
    session.commit()
    before = index.pool_index(session)
    assert before.engine.n == 2
    service.withdraw_offering(session, provider, first.id)
    session.commit()
    assert index.pool_index(session) is before  # the old index answers; a thread rebuilds
    deadline = time.monotonic() + 10
    while index.pool_index(session) is before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [o.id for o in service.search_offerings(session, OfferingQuery())[1]] == [second.id]
