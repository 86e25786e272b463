"""One structured line per request, with its id; no password or email address in the log."""

from __future__ import annotations

import io
import json

from smeai.ops import logs
from tests import builders
from tests.auth.test_registration import credit_code, registration


def _lines(buf: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buf.getvalue().splitlines() if line.strip()]


def test_each_request_logs_one_json_line_with_its_template_status_user_and_id(session, client_for):
    actor = builders.operator(session)
    api = client_for(actor)
    buf = io.StringIO()
    logs.configure(json=True, stream=buf)
    r = api.get(f"/api/v1/organisations/{actor.org_id}?secret=x")
    assert r.status_code == 200
    (line,) = [x for x in _lines(buf) if x["event"] == "request"]
    assert line["method"] == "GET"
    assert line["path"] == "/api/v1/organisations/{org_id}"  # the template: no id, no query string
    assert line["status"] == 200
    assert line["user_id"] == actor.user_id and line["org_id"] == actor.org_id
    assert line["request_id"] == r.headers["x-request-id"]
    assert line["duration_ms"] >= 0


def test_a_login_and_a_registration_leave_no_password_or_email_in_the_log(client, session):
    builders.enterprise(session, email="secret.person@firm.cn")
    session.commit()
    buf = io.StringIO()
    logs.configure(json=True, level="DEBUG", stream=buf)
    client.post("/api/v1/auth/token", json={"email": "secret.person@firm.cn", "password": "Hunter-2-wrong"})
    client.post("/api/v1/auth/token", json={"email": "secret.person@firm.cn", "password": builders.PASSWORD})
    reg = client.post("/api/v1/auth/register", json=registration("new.owner@firm.cn", credit_code(7)))
    assert reg.status_code == 201, reg.text
    text = buf.getvalue()
    assert text.count('"event": "request"') == 3
    for secret in ("secret.person", "new.owner", "firm.cn", "Hunter-2-wrong", builders.PASSWORD, "correct-horse-42"):
        assert secret not in text


def test_readable_lines_in_development_and_emails_masked_in_any_message():
    buf = io.StringIO()
    logs.configure(json=False, stream=buf)
    import logging

    logging.getLogger("smeai.mail").warning("mail 3 to someone@example.com not sent")
    out = buf.getvalue()
    assert "mail 3 to <email> not sent" in out and "someone@" not in out
    assert not out.lstrip().startswith("{")


def test_an_error_page_shows_the_request_id_of_its_header(app, session):
    from fastapi.testclient import TestClient

    @app.get("/boom-for-test")
    def boom() -> None:
        raise RuntimeError("bug")

    client = TestClient(app, raise_server_exceptions=False)
    r = client.get("/boom-for-test")
    assert r.status_code == 500
    request_id = r.headers["x-request-id"]
    assert request_id and request_id in r.text
