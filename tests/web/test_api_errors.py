"""One error shape from every error source (datasette's test_error_shape idea): a domain error, pydantic on a
body, a query string and a path, an unknown route, a wrong method, a body too large or nested too deeply,
unreadable JSON and a bug all answer {"error", "message", "fields"} (a bug adds "request_id"), and the
status is one the OpenAPI document declares for that operation."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from smeai.web.openapi import ErrorOut, InternalErrorOut
from tests import builders

ENVELOPE = {"error", "message", "fields"}


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


# (name, method, path, request kwargs, status, error code, a field the envelope names or None)
SOURCES = [
    ("domain error (NotFound)", "GET", "/api/v1/needs/2147483000", {}, 404, "not_found", None),
    ("pydantic, body", "POST", "/api/v1/needs", {"json": {}}, 422, "invalid", "title"),
    ("pydantic, query", "GET", "/api/v1/needs?limit=0", {}, 422, "invalid", "limit"),
    ("pydantic, query bound", "GET", "/api/v1/needs?offset=-1", {}, 422, "invalid", "offset"),
    ("pydantic, path", "GET", "/api/v1/needs/abc", {}, 422, "invalid", "need_id"),
    ("pydantic, path bound", "GET", "/api/v1/needs/0", {}, 422, "invalid", "need_id"),
    (
        "unreadable JSON",
        "POST",
        "/api/v1/needs",
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
        422,
        "invalid",
        None,
    ),
    ("unknown route", "GET", "/api/v1/no-such-thing", {}, 404, "not_found", None),
    ("wrong method", "PATCH", "/api/v1/taxonomy", {}, 405, "method_not_allowed", None),
    (
        "body too large",
        "POST",
        "/api/v1/needs",
        {"content": b'{"title": "' + b"x" * 1_100_000 + b'"}', "headers": {"content-type": "application/json"}},
        413,
        "too_large",
        "body",
    ),
    (
        "JSON nested too deeply",
        "POST",
        "/api/v1/needs",
        {"content": _deep(200).encode(), "headers": {"content-type": "application/json"}},
        422,
        "invalid",
        "body",
    ),
]


@pytest.mark.parametrize(
    ("name", "method", "path", "kwargs", "status", "code", "field"), SOURCES, ids=[s[0] for s in SOURCES]
)
def test_every_error_source_answers_the_one_envelope(
    name, method, path, kwargs, status, code, field, app, session, client_for
):
    api = client_for(builders.enterprise(session))
    r = api.request(method, path, **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == ENVELOPE, body
    ErrorOut.model_validate(body)
    assert body["error"] == code and body["message"]
    if field is not None:
        assert field in body["fields"], body


def test_not_authenticated_and_forbidden_answer_the_envelope(client, session, client_for):
    r = client.get("/api/v1/me")
    assert r.status_code == 401 and set(r.json()) == ENVELOPE and r.json()["error"] == "not_authenticated"
    r = client_for(builders.enterprise(session)).get("/api/v1/subsidy/ledger")
    assert r.status_code == 403 and set(r.json()) == ENVELOPE and r.json()["error"] == "forbidden"


def test_a_bug_answers_the_envelope_with_a_request_id(app):
    @app.get("/api/v1/test-only-bug", include_in_schema=False)
    def bug() -> None:
        raise RuntimeError("a bug")

    r = TestClient(app, raise_server_exceptions=False).get("/api/v1/test-only-bug")
    assert r.status_code == 500
    body = r.json()
    assert set(body) == ENVELOPE | {"request_id"} and body["error"] == "internal"
    InternalErrorOut.model_validate(body)
    assert "a bug" not in r.text


def test_each_status_above_is_declared_for_its_operation(app):
    paths = app.openapi()["paths"]
    declared = {("GET", "/api/v1/needs/{need_id}"), ("POST", "/api/v1/needs"), ("GET", "/api/v1/needs")}
    for method, template in declared:
        responses = paths[template][method.lower()]["responses"]
        for status in (400, 401, 403, 404, 422, 500):
            ref = json.dumps(responses[str(status)])
            assert "ErrorOut" in ref, (method, template, status)
    assert "413" in paths["/api/v1/needs"]["post"]["responses"]
    assert "409" in paths["/api/v1/needs"]["post"]["responses"]
