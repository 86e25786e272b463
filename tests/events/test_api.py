"""/api/v1/events and the /events pages: the same rules over HTTP, and each role on its own side."""

from __future__ import annotations

from datetime import timedelta

from smeai.db import utcnow
from smeai.events import service
from smeai.events.pages import LOCAL
from tests import builders
from tests.events.builders import event


def _event_json(**over) -> dict:
    start = utcnow() + timedelta(days=10)
    return {
        "kind": "seminar",
        "title": "制造业 AI 研讨会",
        "summary": "同行交流大模型落地经验。",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=3)).isoformat(),
        "online_url": "https://meeting.example.cn/123",
        "capacity": 1,
        "speakers": [{"name": "李工", "affiliation": "某研究院"}],
    } | over


def test_publish_register_and_the_waiting_list_over_the_api(session, client_for):
    op, a, b = builders.operator(session), builders.enterprise(session), builders.enterprise(session)
    ops, api_a, api_b = client_for(op), client_for(a), client_for(b)
    assert api_a.post("/api/v1/events", json=_event_json()).status_code == 403
    assert ops.post("/api/v1/events", json=_event_json(capacity=0)).status_code == 422
    r = ops.post("/api/v1/events", json=_event_json())
    assert r.status_code == 201, r.text
    event_id = r.json()["id"]
    page = api_a.get("/api/v1/events?upcoming=true").json()
    assert page["total"] == 1 and page["items"][0]["speakers"][0]["name"] == "李工"
    first = api_a.post(f"/api/v1/events/{event_id}/registrations").json()
    second = api_b.post(f"/api/v1/events/{event_id}/registrations").json()
    assert (first["status"], second["status"], second["waitlist_no"]) == ("registered", "waitlisted", 1)
    again = api_a.post(f"/api/v1/events/{event_id}/registrations")
    assert again.status_code == 409 and again.json()["error"] == "already_registered"

    # Each organisation sees its own registration; the operator all; another cannot cancel it.
    assert [x["id"] for x in api_b.get("/api/v1/events/registrations").json()["items"]] == [second["id"]]
    assert ops.get(f"/api/v1/events/registrations?event_id={event_id}").json()["total"] == 2
    assert api_b.post(f"/api/v1/events/registrations/{first['id']}/cancel").status_code == 404
    assert api_a.post(f"/api/v1/events/registrations/{first['id']}/checkin").status_code == 403
    assert api_a.post(f"/api/v1/events/registrations/{first['id']}/cancel").json()["status"] == "cancelled"
    moved = api_b.get("/api/v1/events/registrations").json()["items"][0]
    assert moved["status"] == "registered" and moved["waitlist_no"] is None
    assert ops.post(f"/api/v1/events/registrations/{second['id']}/checkin").json()["checked_in_at"]


def test_a_slot_taken_is_a_409_with_its_code(session, client_for):
    op, ent, prov, other = (
        builders.operator(session),
        builders.enterprise(session),
        builders.provider(session),
        builders.enterprise(session),
    )
    ev = event(session, op, kind="matchmaking", capacity=10, slot_minutes=20, hours=1)
    for a in (ent, prov, other):
        service.register(session, a, ev.id)
    session.commit()
    at = ev.starts_at.isoformat()
    first = client_for(ent).post(f"/api/v1/events/{ev.id}/meetings", json={"with_org_id": prov.org_id, "slot_at": at})
    assert first.status_code == 201, first.text
    clash = client_for(other).post(f"/api/v1/events/{ev.id}/meetings", json={"with_org_id": prov.org_id, "slot_at": at})
    assert clash.status_code == 409 and clash.json()["error"] == "slot_taken"
    assert client_for(other).get(f"/api/v1/events/{ev.id}/meetings").json()["total"] == 0
    assert client_for(prov).get(f"/api/v1/events/{ev.id}/meetings").json()["total"] == 1


def test_pages_each_role_on_its_side(session, page_client_for):
    op, ent, prov = builders.operator(session), builders.enterprise(session), builders.provider(session)
    ev = event(session, op, title="AI 素养培训")
    reg = service.register(session, ent, ev.id)
    session.commit()
    enterprise, operator = page_client_for(ent), page_client_for(op)
    assert enterprise.get("/events/new").status_code == 403
    page = enterprise.get(f"/events/{ev.id}")
    assert page.status_code == 200 and "<svg" in page.text and reg.ticket not in page.text.split("<svg")[0]
    assert 'id="registrations"' not in page.text  # the check-in list is the operator's
    assert enterprise.get(f"/events/checkin/{reg.ticket}").status_code == 403
    assert page_client_for(prov).get(f"/events/{ev.id}/report").status_code == 403
    staff = operator.get(f"/events/checkin/{reg.ticket}")
    assert staff.status_code == 200 and "do-checkin" in staff.text
    done = operator.post(
        f"/events/registrations/{reg.id}/checkin", data={"back": f"/events/{ev.id}"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert "签到" in operator.get(f"/events/{ev.id}/report").text


def test_the_publish_form_names_the_wrong_fields(session, page_client_for):
    operator = page_client_for(builders.operator(session))
    start = (utcnow() + timedelta(days=3)).astimezone(LOCAL)
    form = {
        "kind": "course",
        "title": "数据治理培训",
        "summary": "数据盘点与治理入门。",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": start.strftime("%Y-%m-%dT%H:%M"),  # not after the start
        "capacity": "abc",
        "place": "中心",
    }
    r = operator.post("/events/new", data=form)
    assert r.status_code == 422 and "has-error" in r.text
    ok = operator.post("/events/new", data=form | {"capacity": "20", "ends_at": "", "experts": "王敏，华工，数据治理"})
    assert ok.status_code == 422  # no end time
    end = (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    ok = operator.post(
        "/events/new",
        data=form | {"capacity": "20", "ends_at": end, "experts": "王敏，华工，数据治理"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    shown = operator.get(ok.headers["location"]).text
    assert "王敏" in shown and "数据治理培训" in shown
