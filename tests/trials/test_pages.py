"""The trial pages in-process: create from a template, edit the test set (a bad upload names its rows and
changes nothing), add candidates, run in the background through the gateway with progress, the results
matrix, blind rating with names after the vote, a frozen report page and its PDF; another enterprise sees
nothing."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from smeai.trials import service
from smeai.trials.models import TrialVote
from tests import builders


def _csrf(client, extra=None):
    return {"csrf_token": client.csrf, **(extra or {})}


def _wait_done(client, trial_id: int, seconds: float = 600) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        html = client.get(f"/trials/{trial_id}/progress").text
        if 'data-state="done"' in html or 'data-state="failed"' in html:
            return html
        time.sleep(0.5)
    raise AssertionError("the run did not finish")


def test_trial_pages_from_template_to_shared_report(session, app, page_client_for, funded, local_gateway):
    app.state.trials_client_factory = lambda: TestClient(app)  # the gateway is this app: called in-process
    c = page_client_for(funded)
    assert "智能客服" in c.get("/trials").text
    r = c.post("/trials", data=_csrf(c, {"title": "客服选型", "template_code": "customer-service"}))
    assert r.status_code == 200 and "/trials/" in str(r.url)
    trial_id = int(str(r.url).rstrip("/").split("/")[-1].split("?")[0])
    page = c.get(f"/trials/{trial_id}").text
    assert "我今天下午三点付的款" in page
    # a bad upload: every bad row named, nothing changed
    bad = c.post(
        f"/trials/{trial_id}/rows/upload",
        data=_csrf(c),
        files={"file": ("set.csv", "input,checks\n问题一,regex:(\n,\n问题三,colour:red\n".encode(), "text/csv")},
    )
    assert bad.status_code == 422 and "row 2" in bad.text and "row 4" in bad.text
    assert len(service.rows_of(session, service.get_trial(session, funded, trial_id))) == 10
    ok = c.post(f"/trials/{trial_id}/rows", data=_csrf(c, {"rows": "Say yes.|yes\nSay no.|no"}))
    assert ok.status_code == 200
    for model in (local_gateway, f"{local_gateway}-b"):
        added = c.post(
            f"/trials/{trial_id}/candidates", data=_csrf(c, {"model": model, "temperature": "0", "max_tokens": "8"})
        )
        assert added.status_code == 200, added.text
    refused = c.post(f"/trials/{trial_id}/candidates", data=_csrf(c, {"model": "gpt-nope", "max_tokens": "8"}))
    assert refused.status_code == 422
    run = c.post(f"/trials/{trial_id}/run", data=_csrf(c))
    assert run.status_code == 200
    _wait_done(c, trial_id)
    results = c.get(f"/trials/{trial_id}/results").text
    assert "Say yes." in results and "smollm2-b" in results
    drawn = session.scalar(select(func.count()).select_from(TrialVote))
    start = c.get(f"/trials/{trial_id}/vote")  # a GET draws nothing (a link prefetcher must not)
    assert start.status_code == 200 and 'id="next-pair"' in start.text
    assert session.scalar(select(func.count()).select_from(TrialVote)) == drawn
    pair = c.post(f"/trials/{trial_id}/vote", data=_csrf(c))  # the button draws the pair
    assert pair.status_code == 200 and "smollm2" not in pair.text.split("<main>")[1]  # blind
    vote_id = int(str(pair.url).rstrip("/").split("/")[-1])
    assert c.get(f"/trials/{trial_id}/vote").url == pair.url  # back to the open pair, same order
    assert c.post(f"/trials/{trial_id}/vote", data=_csrf(c)).url == pair.url  # asking again draws no other
    shown = c.post(f"/trials/{trial_id}/vote/{vote_id}", data=_csrf(c, {"choice": "tie"}))
    assert "smollm2" in shown.text.split("<main>")[1]  # revealed after the vote
    assert session.scalar(select(func.count()).select_from(TrialVote)) == drawn + 1
    frozen = c.post(f"/trials/{trial_id}/reports", data=_csrf(c, {"days": "7"}))
    assert "/trials/shared/" in str(frozen.url)
    anonymous = TestClient(app)
    shared = anonymous.get(str(frozen.url).split("testserver")[1].split("?")[0])
    assert shared.status_code == 200 and "Say yes." in shared.text
    pdf = anonymous.get(str(frozen.url).split("testserver")[1].split("?")[0] + "/report.pdf")
    assert pdf.content.startswith(b"%PDF")
    other = page_client_for(builders.enterprise(session))
    assert other.get(f"/trials/{trial_id}").status_code == 404
    assert other.get(f"/trials/{trial_id}/results").status_code == 404
