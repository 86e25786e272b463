from __future__ import annotations

from smeai.assessment import instruments
from tests import builders
from tests.assessment.answers import best, worst

INST = instruments.get_instrument("smeai-ai-maturity")


def test_instruments_and_scoring(session, client_for):
    client = client_for(builders.provider(session))  # any signed-in user
    listed = client.get("/api/v1/assessments/instruments").json()["items"]
    assert {r["id"] for r in listed} == {"smeai-ai-maturity", "eu-dma"}
    dma = client.get("/api/v1/assessments/instruments/eu-dma").json()
    assert len(dma["dimensions"]) == 6
    r = client.post(
        "/api/v1/assessments/instruments/eu-dma/score",
        json={"instrument": "eu-dma", "answers": best(instruments.get_instrument("eu-dma"))},
    )
    assert r.status_code == 200 and r.json()["level"]["id"] == "advanced"
    assert client.get("/api/v1/assessments/instruments/nope").status_code == 404


def test_score_refuses_with_every_problem(session, client_for):
    client = client_for(builders.enterprise(session))
    answers = worst(INST)
    del answers["s_plan"]
    r = client.post(
        f"/api/v1/assessments/instruments/{INST.id}/score",
        json={"instrument": INST.id, "answers": answers | {"x": 1, "d_storage": "?"}},
    )
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "answers_invalid"
    assert {"answers.s_plan", "answers.x", "answers.d_storage"} <= set(body["fields"])


def test_flow_start_save_complete_compare(session, client_for):
    firm = builders.enterprise(session, profile={})
    api = client_for(firm)
    a = api.post("/api/v1/assessments", json={}).json()
    assert a["status"] == "draft" and a["instrument_version"] == "2026.1"
    r = api.patch(f"/api/v1/assessments/{a['id']}/answers", json={"answers": {"s_plan": "bogus"}})
    assert r.status_code == 422 and "answers.s_plan" in r.json()["fields"]
    assert api.patch(f"/api/v1/assessments/{a['id']}/answers", json={"answers": worst(INST)}).status_code == 200
    done = api.post(f"/api/v1/assessments/{a['id']}/complete").json()
    assert done["status"] == "completed" and done["result"]["overall"] == 0
    again = api.post("/api/v1/assessments", json={"from_assessment_id": a["id"]}).json()
    assert again["answers"] == done["answers"]
    api.patch(f"/api/v1/assessments/{again['id']}/answers", json={"answers": {"d_storage": "lake"}})
    api.post(f"/api/v1/assessments/{again['id']}/complete")
    c = api.get(f"/api/v1/assessments/{a['id']}/compare/{again['id']}").json()
    assert {d["dimension"]: d["change"] for d in c["dimensions"]}["data"] > 0
    assert [x["id"] for x in api.get("/api/v1/assessments").json()["items"]] == [again["id"], a["id"]]
    b = api.get(f"/api/v1/assessments/{a['id']}/benchmark").json()
    assert b["suppressed"] is True


def test_foreign_assessment_answers_exactly_like_a_missing_one(session, client_for):
    a, b = builders.enterprise(session), builders.enterprise(session)
    made = client_for(a).post("/api/v1/assessments/submit", json={"instrument": INST.id, "answers": worst(INST)})
    assert made.status_code == 201
    as_b = client_for(b)
    for suffix in ("", "/benchmark"):
        foreign = as_b.get(f"/api/v1/assessments/{made.json()['id']}{suffix}")
        missing = as_b.get(f"/api/v1/assessments/999999{suffix}")
        assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json())
    assert as_b.get("/api/v1/assessments").json()["items"] == []
    op = client_for(builders.operator(session))
    assert op.get(f"/api/v1/assessments/{made.json()['id']}").status_code == 200


def test_anonymous_cannot_list(client):
    assert client.get("/api/v1/assessments").status_code == 401
    assert client.get("/api/v1/assessments/instruments").status_code == 401


def test_a_stored_result_is_read_with_the_current_level_names(session, client_for):
    """Results keep level ids and ranks; names come from the current data file on read (no migration)."""
    from smeai.assessment import service

    firm = builders.enterprise(session, profile={})
    done = service.submit_answer_file(session, firm, {"instrument": INST.id, "answers": worst(INST)})
    done.result = done.result | {"level": {"id": "beginner", "name": "一级·起步", "rank": 0}}  # an old snapshot
    session.commit()
    body = client_for(firm).get(f"/api/v1/assessments/{done.id}").json()
    assert body["result"]["level"] == {"id": "beginner", "name": "L1 起步", "rank": 0}
    assert "专精特新" in body["result"]["levels_note"]
    assert body["result"]["overall"] == done.overall
