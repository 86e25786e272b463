"""The OpenAPI document is valid OpenAPI 3.1, declares how to authenticate and what each tag is, and keeps
the API conventions: lists page in one envelope with a bounded limit, errors have one schema."""

from __future__ import annotations

from openapi_spec_validator import validate

from smeai.web.paging import MAX_LIMIT
from tests.test_isolation import PUBLIC_ROUTES

# A batch answer mirrors its input (one array per need, /work/shared/catalog/interchange.md): not a list to page.
NOT_PAGED = {("POST", "/api/v1/match"), ("POST", "/api/v1/subsidy/expire")}


def _operations(doc):
    for path, operations in doc["paths"].items():
        if path.startswith("/api/"):
            for method, operation in operations.items():
                yield method.upper(), path, operation


def _resolve(doc, schema):
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def test_the_document_is_valid_openapi(app):
    validate(app.openapi())


def test_every_tag_is_described(app):
    doc = app.openapi()
    described = {t["name"]: t.get("description") for t in doc.get("tags", [])}
    used = {tag for _m, _p, op in _operations(doc) for tag in op.get("tags", [])}
    assert used <= set(described), f"tags without a description: {used - set(described)}"
    assert all(described[t] for t in used)


def test_private_routes_declare_bearer_and_cookie_auth_and_public_ones_none(app):
    doc = app.openapi()
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    assert doc["components"]["securitySchemes"]["cookieAuth"]["in"] == "cookie"
    wrong = []
    for method, path, op in _operations(doc):
        public = (method, path) in PUBLIC_ROUTES
        if public == bool(op.get("security")):
            wrong.append(f"{method} {path}: security {op.get('security')}")
    assert not wrong, "\n".join(wrong)


def test_every_error_response_uses_the_one_error_schema(app):
    doc = app.openapi()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    wrong = []
    for method, path, op in _operations(doc):
        statuses = {int(s) for s in op["responses"] if s.isdigit()}
        if not {400, 404, 422, 500} <= statuses:
            wrong.append(f"{method} {path}: declares only {sorted(statuses)}")
        for status, response in op["responses"].items():
            if int(status) >= 400:
                ref = response["content"]["application/json"]["schema"]["$ref"]
                expected = "InternalErrorOut" if status == "500" else "ErrorOut"
                if not ref.endswith("/" + expected):
                    wrong.append(f"{method} {path} {status}: {ref}")
    assert not wrong, "\n".join(wrong)


def test_every_list_endpoint_pages_with_a_bounded_limit(app):
    doc = app.openapi()
    bare, unbounded = [], []
    for method, path, op in _operations(doc):
        ok = next((r for s, r in op["responses"].items() if s.startswith("2")), {})
        schema = ok.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            continue
        schema = _resolve(doc, schema)
        if schema.get("type") == "array" and (method, path) not in NOT_PAGED:
            bare.append(f"{method} {path}")
        if set(schema.get("properties", {})) == {"items", "total", "limit", "offset"}:
            params = {p["name"]: p["schema"] for p in op.get("parameters", []) if p["in"] == "query"}
            limit = params.get("limit") or params.get("top")
            if limit is None or limit.get("maximum", MAX_LIMIT + 1) > MAX_LIMIT:
                unbounded.append(f"{method} {path}")
            if "offset" in params and "maximum" not in params["offset"]:
                unbounded.append(f"{method} {path} offset")
    assert not bare, "list endpoints answering a bare array:\n" + "\n".join(bare)
    assert not unbounded, "pages without a bounded limit:\n" + "\n".join(unbounded)


def test_every_top_and_limit_parameter_is_bounded(app):
    loose = [
        f"{method} {path} {p['name']}"
        for method, path, op in _operations(app.openapi())
        for p in op.get("parameters", [])
        if p["name"] in {"top", "limit", "offset", "per_page", "page"} and "maximum" not in p["schema"]
    ]
    assert not loose, loose
