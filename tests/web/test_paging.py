"""The paging kit: one envelope, a bounded limit, the same slice from a list and from a SQL select."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from smeai.auth.models import Organisation
from smeai.web.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, Paging, page_of, page_select, paginate_select
from tests import builders


def test_paging_is_bounded():
    assert Paging().limit == DEFAULT_LIMIT and Paging().offset == 0
    for bad in ({"limit": 0}, {"limit": MAX_LIMIT + 1}, {"offset": -1}, {"offset": 10**7}):
        with pytest.raises(ValidationError):
            Paging(**bad)


def test_a_page_of_a_list_slices_it_and_counts_the_whole():
    page = page_of(list(range(10)), Paging(limit=3, offset=6), lambda i: i * 10)
    assert page == Page(items=[60, 70, 80], total=10, limit=3, offset=6)
    assert page_of(list(range(10)), Paging(limit=3, offset=10)).items == []
    assert page_of(list(range(10)), Paging(limit=3, offset=10)).total == 10


def test_a_page_of_a_select_runs_the_slice_in_sql_and_counts_every_row(session):
    for i in range(5):
        builders.enterprise(session, name=f"分页企业{i}")
    session.flush()
    stmt = select(Organisation).where(Organisation.name.like("分页企业%")).order_by(Organisation.name)
    rows, total = paginate_select(session, stmt, Paging(limit=2, offset=1))
    assert total == 5 and [o.name for o in rows] == ["分页企业1", "分页企业2"]
    page = page_select(session, stmt, Paging(limit=2, offset=4), lambda o: o.name)
    assert page.model_dump() == {"items": ["分页企业4"], "total": 5, "limit": 2, "offset": 4}


def test_a_list_endpoint_pages(client):
    whole = client.get("/api/v1/taxonomy/provinces", params={"limit": MAX_LIMIT}).json()
    assert whole["total"] == len(whole["items"]) > 3 and whole["offset"] == 0
    page = client.get("/api/v1/taxonomy/provinces", params={"limit": 2, "offset": 1}).json()
    assert page == {"items": whole["items"][1:3], "total": whole["total"], "limit": 2, "offset": 1}
    assert client.get("/api/v1/taxonomy/provinces", params={"limit": MAX_LIMIT + 1}).status_code == 422
