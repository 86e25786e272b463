"""The consultant's workspace: assigned enterprises only, with their needs; a need written on behalf."""

from __future__ import annotations

import pytest

from smeai.auth import audit, consultants
from smeai.centre import service
from smeai.errors import NotFound
from smeai.matching.schemas import NeedIn
from tests import builders


def _assigned(session):
    op, adviser = builders.operator(session), builders.consultant(session)
    mine, other = builders.enterprise(session, profile={}), builders.enterprise(session)
    consultants.assign(session, op, mine.org_id, adviser.user_id)
    return op, adviser, mine, other


def test_a_consultant_sees_and_acts_for_assigned_enterprises_only(session):
    op, adviser, mine, other = _assigned(session)
    assert [f.org.id for f in service.workspace(session, adviser)] == [mine.org_id]
    with pytest.raises(NotFound):
        service.enterprise_file(session, adviser, other.org_id)
    with pytest.raises(NotFound):
        service.write_need(session, adviser, other.org_id, NeedIn(title="排产", text="想用 AI 做排产优化"))
    need = service.write_need(session, adviser, mine.org_id, NeedIn(title="排产", text="想用 AI 做排产优化"))
    assert (need.org_id, need.author_id) == (mine.org_id, adviser.user_id)
    f = service.enterprise_file(session, adviser, mine.org_id)
    assert [n.id for n in f.needs] == [need.id]
    [entry] = audit.list_entries(session, op, action="need.create")
    assert (entry.actor_id, entry.on_behalf_of, entry.org_id) == (adviser.user_id, mine.org_id, mine.org_id)


def test_workspace_pages(session, page_client_for):
    _op, adviser, mine, other = _assigned(session)
    session.commit()
    page = page_client_for(adviser)
    r = page.get("/centre")
    assert r.status_code == 200 and "测试企业" in r.text
    assert page.get(f"/centre/enterprises/{other.org_id}").status_code == 404
    r = page.post(
        f"/centre/enterprises/{mine.org_id}/needs",
        data={"title": "质检", "text": "想用视觉检测替代人工目检", "csrf_token": page.csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "质检" in page.get(f"/centre/enterprises/{mine.org_id}").text
    assert page_client_for(mine).get("/centre").status_code == 403
