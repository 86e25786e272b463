"""社区食堂: modules with prices, a package's total and tiered plan, sent as a need."""

from __future__ import annotations

import pytest

from smeai.errors import Invalid, NotFound
from smeai.matching import engagements, menu
from smeai.matching.schemas import ModuleIn, PackageIn
from tests import builders
from tests.matching.builders import offering


def _menu(session):
    vendor = builders.provider(session, "花都智造")
    item = offering(session, "花都智造", id="menu-1")
    qc = menu.add_module(session, vendor, ModuleIn(offering_id=item.id, name="外观质检", price_fen=6_000_000))
    aps = menu.add_module(session, vendor, ModuleIn(offering_id=item.id, name="智能排产", price_fen=4_000_000))
    return vendor, item, qc, aps


def test_only_the_provider_prices_its_own_offering(session):
    _vendor, item, qc, _aps = _menu(session)
    with pytest.raises(NotFound):
        menu.add_module(session, builders.provider(session), ModuleIn(offering_id=item.id, name="x", price_fen=1))
    with pytest.raises(NotFound):
        menu.delete_module(session, builders.provider(session), qc.id)


def test_package_total_and_the_huadu_tiered_plan(session):
    _vendor, _item, qc, aps = _menu(session)
    firm = builders.enterprise(session, profile={"province_code": "44", "city": "广州"})
    quote = menu.compose_package(session, firm, PackageIn(module_ids=[qc.id, aps.id], programme="huadu-tiered"))
    assert quote.total_fen == 10_000_000
    # 首年免费、次年 50% 补贴、第三年 30% 托底
    assert [(y.year, y.pay_fen) for y in quote.plan] == [(1, 0), (2, 5_000_000), (3, 7_000_000)]
    elsewhere = builders.enterprise(session, profile={"province_code": "11", "city": "北京"})
    with pytest.raises(Invalid):
        menu.compose_package(session, elsewhere, PackageIn(module_ids=[qc.id], programme="huadu-tiered"))


def test_a_sent_package_becomes_a_need_and_notifies_the_provider(session):
    vendor, _item, qc, aps = _menu(session)
    firm = builders.enterprise(session, profile={"province_code": "44", "city": "广州"})
    need = menu.send_package(session, firm, PackageIn(module_ids=[qc.id, aps.id]))
    assert need.source == "package" and need.budget_fen == 10_000_000 and "外观质检" in need.text
    (e,) = engagements.list_engagements(session, vendor)
    assert e.need_id == need.id and e.state == "interest"


def test_a_package_of_many_long_or_costly_modules_is_a_field_error_or_a_need_never_a_crash(session):
    from smeai.money import MAX_FEN

    vendor, item, _qc, _aps = _menu(session)
    firm = builders.enterprise(session, profile={"industry_section": "C", "province_code": "44"})
    long = [
        menu.add_module(session, vendor, ModuleIn(offering_id=item.id, name=f"{i:03}" + "模" * 197, price_fen=1))
        for i in range(30)
    ]
    need = menu.send_package(session, firm, PackageIn(module_ids=[m.id for m in long]))
    assert len(need.text) == 5000 and need.budget_fen == 30
    costly = [
        menu.add_module(session, vendor, ModuleIn(offering_id=item.id, name=f"贵{i}", price_fen=MAX_FEN))
        for i in range(2)
    ]
    with pytest.raises(Invalid) as exc:
        menu.send_package(session, firm, PackageIn(module_ids=[m.id for m in costly]))
    assert "module_ids" in exc.value.fields
