"""Offering prices are amounts: finite, bounded, exact, stored as integer fen (smeai.money).

A price of Infinity, 1e999 or 1e308 once broke search for every visitor, every need that ranked the
offering and the export other centres read; now it is a field error wherever it is typed, and no
stored value can break search, matching or the export.
"""

from __future__ import annotations

import json

import pytest

from smeai.auth.actor import Actor
from smeai.catalog import service
from smeai.catalog.index import OfferingQuery, price_band
from smeai.money import MAX_FEN
from tests import builders
from tests.catalog import builders as cb
from tests.catalog.test_api import NEW

NOT_PRICES = ["Infinity", "-Infinity", "NaN", "1e999", "1e308", "1e400", "-1", '"8"', "true", "null", "0.0000001"]


def _with_price(raw: str) -> str:
    """NEW as the JSON text a client sends, its price written verbatim (json.dumps cannot write 1e999)."""
    return json.dumps(NEW, ensure_ascii=False).replace('"entry_price_wan": 1.5', f'"entry_price_wan": {raw}')


def _strict_json(text: str) -> object:
    def refuse(constant: str) -> None:
        raise AssertionError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("raw", NOT_PRICES)
def test_api_refuses_a_price_that_is_no_amount(session, client_for, raw):
    api = client_for(builders.provider(session))
    r = api.post("/api/v1/offerings", content=_with_price(raw), headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert "pricing.entry_price_wan" in r.json()["fields"]
    assert api.get("/api/v1/catalog/mine").json()["items"] == []


def test_import_reports_each_price_that_is_no_amount_and_keeps_the_rest(session):
    lines = [cb.record(id="ok").replace('"entry_price_wan": 16', '"entry_price_wan": 0.1')]
    lines += [
        cb.record(id=f"bad-{n}").replace('"entry_price_wan": 16', f'"entry_price_wan": {raw}')
        for n, raw in enumerate(NOT_PRICES)
    ]
    report = service.import_records(session, Actor.system(), lines)
    assert report.created == 1
    assert {(p.line, p.field) for p in report.problems} == {
        (n, "pricing.entry_price_wan") for n in range(2, len(lines) + 1)
    }
    session.commit()
    session.expunge_all()
    offering = service.find_offering_by_ext_id(session, "ok")
    assert offering.entry_price_fen == 100_000  # 0.1 万元 exactly, not 99,999.99… fen


@pytest.mark.parametrize("raw", ["Infinity", "1e999", "1e308", "abc", "-3", "0.0000001"])
def test_listing_form_marks_a_price_that_is_no_amount(session, page_client_for, raw):
    browser = page_client_for(builders.provider(session))
    form = cb.LISTING_FORM | {"csrf_token": browser.csrf, "entry_price_wan": raw}
    r = browser.post("/catalog/provider/new", data=form)
    assert r.status_code == 422, r.text[:300]
    assert 'id="f-entry_price_wan"' in r.text and "has-error" in r.text


def test_prices_are_exact_in_every_direction(session, client_for):
    cb.imported(
        session,
        cb.record(id="a", pricing={"model": "one_off", "entry_price_wan": 0.1}),
        cb.record(id="b", pricing={"model": "one_off", "entry_price_wan": 1.234567}),
        cb.record(id="c", pricing={"model": "one_off", "entry_price_wan": 10_000_000}),  # MAX_WAN
    )
    session.commit()
    session.expunge_all()
    assert [service.find_offering_by_ext_id(session, i).entry_price_fen for i in "abc"] == [
        100_000,
        1_234_567,
        MAX_FEN,
    ]
    exported = [r["pricing"]["entry_price_wan"] for r in service.export_records(session, None)]
    assert exported == [0.1, 1.234567, 10_000_000]
    api = client_for(builders.enterprise(session))
    found = api.get("/api/v1/offerings", params={"sort": "price_asc"}).json()
    assert [o["entry_price_wan"] for o in found["items"]] == [0.1, 1.234567, 10_000_000]
    assert "entry_price_fen" not in found["items"][0]
    cheap = api.get("/api/v1/offerings", params={"max_price_wan": "1.234567"}).json()
    assert {o["ext_id"] for o in cheap["items"]} == {"a", "b"}


@pytest.mark.parametrize("fen", [0, -1, 1, 999_999, 1_000_000, 50_000_000, MAX_FEN, 10**18, float("inf"), float("nan")])
def test_every_stored_value_has_a_price_band(fen):
    assert price_band(fen) in {"free", "lt1", "1-5", "5-20", "20-50", "50+"}


def test_the_highest_price_keeps_search_matching_and_export_working(session, client, client_for):
    """The top of the range (where migration 0008 puts a stored Infinity) is an ordinary price."""
    profile = {"province_code": "44", "city": "广州", "size_class": "small", "revenue_band": "0-2"}
    firm = builders.enterprise(session, profile=profile)
    cb.imported(
        session, cb.record(id="top", industries=["*"], pricing={"model": "one_off", "entry_price_wan": 10_000_000})
    )
    session.commit()
    api = client_for(firm)
    for params in ({}, {"price_band": "50+"}, {"sort": "price_desc"}, {"max_price_wan": "10000000"}):
        r = api.get("/api/v1/offerings", params=params)
        assert r.status_code == 200 and r.json()["total"] == 1, (params, r.text)
    assert client.get("/catalog", params={"sort": "price_desc"}).status_code == 200
    exported = api.get("/api/v1/catalog/export").text
    assert [_strict_json(line)["pricing"]["entry_price_wan"] for line in exported.splitlines()] == [10_000_000]

    from smeai.auth.models import Organisation
    from smeai.matching import service as matching
    from smeai.matching.schemas import NeedIn

    offering = service.find_offering_by_ext_id(session, "top")
    org = session.get(Organisation, firm.org_id)
    matching.after_subsidy(session, org, offering)  # integer fen within PurchaseIn's bound: no overflow
    need = matching.create_need(session, firm, NeedIn(title="验布", text="布面瑕疵靠人工看，想自动检测。"))
    assert [o.ext_id for _m, o in matching.match_need(session, firm, need.id)] == ["top"]


@pytest.mark.parametrize("raw", ["Infinity", "1e999", "1e308", "-1", "abc"])
def test_search_refuses_a_price_limit_that_is_no_amount(session, client_for, client, raw):
    api = client_for(builders.enterprise(session))
    r = api.get("/api/v1/offerings", params={"max_price_wan": raw})
    assert r.status_code == 422 and "max_price_wan" in r.json()["fields"]
    assert client.get("/catalog", params={"max_price_wan": raw}).status_code == 200  # a hand-edited URL
    with pytest.raises(ValueError):
        OfferingQuery(max_price_wan=raw)
