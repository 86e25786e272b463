"""The workspace API: assignment by operators, the consultant's own enterprises only."""

from __future__ import annotations

from tests import builders


def test_an_operator_assigns_and_the_consultant_lists_their_enterprises(session, client_for):
    op, adviser, other = builders.operator(session), builders.consultant(session), builders.consultant(session)
    ent = builders.enterprise(session, profile={})
    provider = builders.provider(session)
    session.commit()
    as_op = client_for(op)
    r = as_op.put(f"/api/v1/organisations/{ent.org_id}/consultant", json={"consultant_id": adviser.user_id})
    assert r.status_code == 200 and r.json() == {"org_id": ent.org_id, "consultant_id": adviser.user_id}
    assert as_op.put(f"/api/v1/organisations/{provider.org_id}/consultant", json={}).status_code == 404
    bad = as_op.put(f"/api/v1/organisations/{ent.org_id}/consultant", json={"consultant_id": op.user_id})
    assert bad.status_code == 422 and "consultant_id" in bad.json()["fields"]
    mine = client_for(adviser).get("/api/v1/centre/enterprises").json()
    assert [e["org_id"] for e in mine["items"]] == [ent.org_id] and mine["total"] == 1
    assert client_for(other).get("/api/v1/centre/enterprises").json()["items"] == []
    as_ent = client_for(ent)
    assert as_ent.get("/api/v1/centre/enterprises").status_code == 403
    assert as_ent.put(f"/api/v1/organisations/{ent.org_id}/consultant", json={}).status_code == 403
