"""Every response names its request in X-Request-Id, every error page shows it as the reference to quote,
and an incoming X-Request-Id is adopted only from a trusted proxy, and only when short and plain."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from smeai.app import create_app
from smeai.errors import Forbidden
from smeai.i18n import N_

HTML = {"Accept": "text/html"}
OURS = re.compile(r"[0-9a-f]{16}")


def _app_with_failing_routes(settings):
    app = create_app(settings)

    @app.get("/forbidden-for-test")
    def forbidden() -> None:
        raise Forbidden(N_("You are not allowed to do this."))

    @app.get("/bug-for-test")
    def bug() -> None:
        raise RuntimeError("boom")

    return app


@pytest.mark.parametrize(
    ("path", "status"),
    [("/no-such-page", 404), ("/forbidden-for-test", 403), ("/catalog/offerings/abc", 422), ("/bug-for-test", 500)],
)
def test_each_error_page_shows_the_id_of_its_response(settings, session, path, status):
    client = TestClient(_app_with_failing_routes(settings), raise_server_exceptions=False)
    r = client.get(path, headers=HTML)
    assert r.status_code == status and r.headers["content-type"].startswith("text/html")
    request_id = r.headers["x-request-id"]
    assert OURS.fullmatch(request_id)
    assert request_id in r.text


def test_every_response_has_its_own_id(client):
    ids = {client.get(path).headers["x-request-id"] for path in ("/", "/", "/healthz", "/api/v1/taxonomy")}
    ids.add(client.get("/static/no-such-file.css").headers["x-request-id"])
    assert len(ids) == 5 and all(OURS.fullmatch(i) for i in ids)
    assert "x-request-id" in client.post("/login", data={}).headers  # a refused form too


def test_a_page_that_works_shows_no_reference(client):
    r = client.get("/")
    assert r.headers["x-request-id"] not in r.text


def test_an_id_from_anyone_else_is_ignored(client):
    r = client.get("/", headers={"X-Request-Id": "chosen-by-the-client"})
    assert r.headers["x-request-id"] != "chosen-by-the-client" and OURS.fullmatch(r.headers["x-request-id"])


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("nginx-7f3a9c01", True),
        ("a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6", True),  # nginx's $request_id: 32 hex digits
        ("x" * 33, False),  # too long for the audit log's column
        ("id with spaces", False),
        ("id;drop", False),
        ("<script>", False),
        ("", False),
    ],
)
def test_a_trusted_proxy_id_is_kept_when_short_and_plain(settings, session, incoming, kept):
    app = _app_with_failing_routes(settings.model_copy(update={"trusted_proxies": ["10.0.0.1/32"]}))
    via_proxy = TestClient(app, client=("10.0.0.1", 5000), raise_server_exceptions=False)
    r = via_proxy.get("/no-such-page", headers={**HTML, "X-Request-Id": incoming})
    if kept:
        assert r.headers["x-request-id"] == incoming and incoming in r.text
    else:
        assert r.headers["x-request-id"] != incoming and OURS.fullmatch(r.headers["x-request-id"])
    outsider = TestClient(app, client=("203.0.113.9", 5000))
    assert outsider.get("/", headers={"X-Request-Id": "nginx-7f3a9c01"}).headers["x-request-id"] != "nginx-7f3a9c01"


def test_the_proxy_id_names_the_500_and_its_envelope(settings, session):
    app = _app_with_failing_routes(settings.model_copy(update={"trusted_proxies": ["10.0.0.1/32"]}))
    via_proxy = TestClient(app, client=("10.0.0.1", 5000), raise_server_exceptions=False)
    r = via_proxy.get("/bug-for-test", headers={**HTML, "X-Request-Id": "lb-42"})
    assert r.status_code == 500 and r.headers["x-request-id"] == "lb-42" and "lb-42" in r.text
