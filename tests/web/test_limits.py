"""Bounds on request bodies (size per route, JSON depth) and framework errors in the one envelope."""

from __future__ import annotations

import json

import pytest

from smeai.web.limits import json_depth_exceeds
from tests import builders

MiB = 1024 * 1024


def _envelope(r, error: str) -> dict:
    body = r.json()
    assert set(body) == {"error", "message", "fields"}, body
    assert body["error"] == error, body
    return body


def test_a_json_body_over_the_default_limit_is_413_in_the_envelope(client):
    big = json.dumps({"email": "a@b.cn", "password": "x" * (2 * MiB)})
    r = client.post("/api/v1/auth/token", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert "body" in _envelope(r, "too_large")["fields"]


def test_a_chunked_body_without_a_length_is_counted_too(client):
    def chunks():
        for _ in range(40):
            yield b" " * 64 * 1024  # 2.5 MiB in all, no Content-Length

    r = client.post("/api/v1/auth/token", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    _envelope(r, "too_large")


def test_a_form_over_the_default_limit_is_a_413_page(page_client_for):
    browser = page_client_for(None)
    r = browser.post("/login", data={"email": "a@b.cn", "password": "x" * (2 * MiB), "csrf_token": browser.csrf})
    assert r.status_code == 413
    assert "text/html" in r.headers["content-type"]


def test_an_upload_route_takes_more_than_the_default_but_not_more_than_its_own_limit(session, client_for, settings):
    api = client_for(builders.analyst(session))
    url = "/api/v1/survey/waves/2025/imports"
    two_mib = b"a,b\n" + b"1,2\n" * (MiB // 2)
    r = api.post(url, files={"file": ("w.csv", two_mib, "text/csv")})
    assert r.status_code != 413, r.text  # the survey domain judges the file itself
    huge = b"0" * (settings.upload_max_bytes + 128 * 1024)
    r = api.post(url, files={"file": ("w.csv", huge, "text/csv")})
    assert r.status_code == 413
    _envelope(r, "too_large")


def test_a_smaller_configured_limit_applies(session, settings):
    from fastapi.testclient import TestClient

    from smeai.app import create_app

    small = create_app(settings.model_copy(update={"body_max_bytes": 100}))
    r = TestClient(small).post("/api/v1/auth/token", json={"email": "a@b.cn", "password": "p" * 200})
    assert r.status_code == 413


@pytest.mark.parametrize("depth", [33, 100_000])
def test_json_nested_too_deeply_is_refused_before_parsing(client, depth):
    body = "[" * depth + "]" * depth
    r = client.post("/api/v1/auth/token", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert _envelope(r, "invalid")["fields"] == {"body": "nested deeper than 32 levels"}


def test_a_body_without_a_content_type_is_scanned_too(client):
    # FastAPI parses a body without a content type as JSON: a depth its parser survives must not pass
    body = ("[" * 500 + "]" * 500).encode()
    for headers in ({"content-type": ""}, {}):
        r = client.post("/api/v1/auth/token", content=body, headers=headers)
        assert r.status_code == 422
        assert _envelope(r, "invalid")["fields"] == {"body": "nested deeper than 32 levels"}


def test_json_nesting_within_the_bound_reaches_validation(client):
    r = client.post("/api/v1/auth/token", json={"email": [[[[["a"]]]]], "password": "x"})
    assert r.status_code == 422
    assert "email" in _envelope(r, "invalid")["fields"]


def test_the_depth_scan_ignores_brackets_inside_strings():
    assert not json_depth_exceeds(json.dumps({"a": "[" * 100 + '\\"{' * 50}).encode(), 32)
    assert not json_depth_exceeds(b'{"a": [1]}\n' * 100, 2)  # JSON Lines: each line on its own
    assert json_depth_exceeds(b'{"a": "x", "b": ' + b"[" * 3 + b"]" * 3 + b"}", 3)


def test_the_depth_scan_is_linear_on_unterminated_strings():
    import time

    # every escaped quote could start a string that never ends: a naive pattern rescans from each one
    hostile = b'"' + b'\\"' * 20_000
    started = time.perf_counter()
    assert not json_depth_exceeds(hostile, 32)
    assert time.perf_counter() - started < 0.5


def test_unknown_api_route_is_404_in_the_envelope(client):
    r = client.get("/api/v1/no-such-thing")
    assert r.status_code == 404
    _envelope(r, "not_found")


def test_unknown_page_is_a_404_page(client):
    r = client.get("/no-such-page")
    assert r.status_code == 404
    assert "text/html" in r.headers["content-type"]


def test_wrong_method_is_405_in_the_envelope_with_allow(client):
    r = client.delete("/api/v1/me")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET"
    _envelope(r, "method_not_allowed")


def test_a_non_numeric_path_id_is_422_in_the_envelope(session, client_for):
    api = client_for(builders.operator(session))
    r = api.get("/api/v1/organisations/abc")
    assert r.status_code == 422
    assert "org_id" in _envelope(r, "invalid")["fields"]


def test_an_unreadable_body_is_400_or_422_in_the_envelope(client):
    r = client.post("/api/v1/auth/token", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    _envelope(r, "invalid")
