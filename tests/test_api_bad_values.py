"""Every number and date the JSON API accepts, fed non-finite, huge, negative and out-of-period values.

Read from the OpenAPI document, so a new endpoint is covered the day it is added: for each operation,
each numeric or date property of its request body and each numeric or date query parameter gets every
bad value in turn, and each numeric path parameter (an id) gets -1, 0, 10^30 and letters. The answer
must be a client error that names the field (422 with `fields`), a 404 for an id in the address, or a
refusal that comes before validation (401/403/405/413); never a server error, never a success that
stored the value.
"""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from smeai.auth import service as auth_service
from smeai.auth.models import User
from tests import builders

BAD_NUMBERS: list[object] = [float("nan"), float("inf"), float("-inf"), 1e308, -1, 10**30, "1e999999999", "٢٠٢٦"]
BAD_DATES = ["0001-01-01", "9999-12-31", "2026-02-30", "yesterday"]
BAD_IDS: list[object] = [-1, 0, 10**30, "abc", "٢"]
# Numeric fields that are legitimately signed or unbounded in both directions would go here, with why.
SIGNED: set[str] = set()


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = spec["components"]["schemas"][name]
    return schema


def _leaf_kind(spec: dict, schema: dict) -> str | None:
    schema = _resolve(spec, schema)
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        kind = _leaf_kind(spec, option)
        if kind:
            return kind
    if schema.get("type") in ("number", "integer"):
        return "number"
    if schema.get("type") == "string" and schema.get("format") in ("date", "date-time"):
        return "date"
    return None


def _body_fields(spec: dict, schema: dict) -> dict[str, str]:
    """Top-level numeric/date properties of a JSON body (nested lists are covered by their own tests)."""
    schema = _resolve(spec, schema)
    fields = {}
    for name, prop in schema.get("properties", {}).items():
        kind = _leaf_kind(spec, prop)
        if kind and name not in SIGNED:
            fields[name] = kind
    return fields


def _cases(spec: dict):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            url = path
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    url = url.replace("{" + param["name"] + "}", "1")
            for param in op.get("parameters", []):
                if param["in"] == "path" and _leaf_kind(spec, param.get("schema", {})) == "number":
                    yield method, path, "path", param["name"], "id"
            for param in op.get("parameters", []):
                if param["in"] == "query":
                    kind = _leaf_kind(spec, param.get("schema", {}))
                    if kind and param["name"] not in SIGNED:
                        yield method, url, "query", param["name"], kind
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                for name, kind in _body_fields(spec, body["schema"]).items():
                    yield method, url, "body", name, kind


@pytest.fixture
def admin_client(app, session) -> TestClient:
    actor = builders.admin(session)
    secret, _ = auth_service.issue_token(session, session.get(User, actor.user_id), kind="api", lifetime=None)
    session.commit()
    # Server errors come back as responses, so that one run lists them all.
    return TestClient(app, headers={"Authorization": f"Bearer {secret}"}, raise_server_exceptions=False)


def test_every_api_number_and_date_refuses_bad_values(app, admin_client):
    spec = app.openapi()
    problems: list[str] = []
    checked = 0
    for method, url, where, name, kind in _cases(spec):
        for bad in {"number": BAD_NUMBERS, "date": BAD_DATES, "id": BAD_IDS}[kind]:
            if where == "path":
                target = url.replace("{" + name + "}", str(bad))
                for other in re.findall(r"{(\w+)}", target):
                    target = target.replace("{" + other + "}", "1")
                response = admin_client.request(method, target)
            elif where == "query":
                response = admin_client.request(method, url, params={name: str(bad)})
            else:
                # allow_nan: send NaN/Infinity as Python's json writes them, as a careless client would
                response = admin_client.request(
                    method, url, content=json.dumps({name: bad}), headers={"Content-Type": "application/json"}
                )
            checked += 1
            status = response.status_code
            label = f"{method.upper()} {url} {where} {name}={bad!r}: {status}"
            if where == "path" and status == 404:
                pass  # no such record: as good as a field error for an id in the address
            elif status >= 500 or status < 400:
                problems.append(label + " " + response.text[:160])
            elif status == 422 and response.headers.get("content-type", "").startswith("application/json"):
                fields = response.json().get("fields") or {}
                if not any(name in key for key in fields):
                    problems.append(label + f" without a field error for {name}: {fields}")
    assert checked > 50, "too few numeric and date inputs found in the OpenAPI document"
    assert not problems, f"{len(problems)} of {checked}:\n" + "\n".join(problems)
