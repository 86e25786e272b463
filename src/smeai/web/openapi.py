"""The OpenAPI document: one error schema on every route, the two ways to authenticate, tag descriptions.

Every error a route under /api/ can answer (a domain error, a validation error, a refused body, a framework
404 or 405) has one shape, `ErrorOut`; a 500 adds the `request_id` to quote to the operators. Routes do not
list their errors one by one: `install` declares them all at once from what each route is (does it take a
body, does it authenticate the caller), and replaces FastAPI's own `HTTPValidationError` for 422.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field


class ErrorOut(BaseModel):
    """The one error envelope of the JSON API."""

    error: str = Field(description="Stable machine-readable code (docs/errors.md).")
    message: str = Field(description="A sentence for people, in the caller's language.")
    fields: dict[str, str] = Field(description="Field (dotted path) -> why it was refused; may be empty.")


class InternalErrorOut(ErrorOut):
    """A bug on our side: the envelope plus the id under which it was logged."""

    request_id: str = Field(description="Quote it to the operators; the log holds the details.")


ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "The request could not be handled (a domain error without a more specific status)",
    401: "Not authenticated: no, or an invalid or expired, token or session",
    403: "Forbidden: the caller's role or token scope does not allow this, or the CSRF header is missing",
    404: "Not found, or not visible to the caller (the two look alike)",
    409: "Conflict: wrong state, duplicate, or budget spent",
    413: "The request body is too large",
    422: "Invalid input; `fields` names each field and why",
    429: "Too many attempts; try again later",
    500: "Internal error; `request_id` identifies it in the log",
}
BODY_METHODS = {"POST", "PUT", "PATCH"}
WRITE_METHODS = BODY_METHODS | {"DELETE"}

TAGS: list[dict[str, str]] = [
    {"name": "accounts", "description": "The caller, API tokens and organisation profiles."},
    {"name": "taxonomy", "description": "Controlled vocabularies: industries, scenarios, stages, provinces (public)."},
    {"name": "assessment", "description": "Digital-maturity instruments, stored assessments, comparison, peers."},
    {"name": "catalog", "description": "The resource pool of AI offerings: search, self-service, review, import."},
    {"name": "matching", "description": "Needs, ranked matches, engagements, challenges (揭榜挂帅), module menu."},
    {"name": "subsidy", "description": "Programmes, calculator, applications and redemption, pools, ledger, audit."},
    {"name": "cases", "description": "The case library: search, submission (征集) and review, benchmarks (标杆)."},
    {"name": "survey", "description": "Survey waves, imports with their error files, indicators and the index."},
    {"name": "centre", "description": "Consultants (AI 转型顾问): assignments and the enterprises each one serves."},
    {"name": "gateway", "description": "Model access (MaaS): usage, keys, wallets, upstreams and prices, audit."},
    {"name": "events", "description": "Events and training: registration, waiting lists, check-in, meetings."},
]

SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token from POST /api/v1/auth/token (or `smeai token create`).",
    },
    "cookieAuth": {
        "type": "apiKey",
        "in": "cookie",
        "name": "smeai_session",
        "description": "The browser's login session; writes also need the X-CSRF-Token header.",
    },
}


def _calls(dependant: Dependant) -> set[Callable[..., Any]]:
    found: set[Callable[..., Any]] = set()
    for dep in dependant.dependencies:
        if dep.call is not None:
            found.add(dep.call)
        found |= _calls(dep)
    return found


def error_statuses(route: APIRoute, *, authenticates: bool) -> list[int]:
    """The statuses ROUTE can answer with an ErrorOut: all routes 400/404/422/500, and more by kind."""
    methods = route.methods or set()
    statuses = {400, 404, 422, 500}
    if authenticates:
        statuses |= {401, 403}
    if methods & WRITE_METHODS:
        statuses.add(409)
    if methods & BODY_METHODS:
        statuses.add(413)
    statuses |= {int(s) for s in route.responses if str(s).isdigit() and int(s) >= 400}  # declared on the route
    return sorted(statuses)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that can answer more than `error_statuses` finds (e.g. 429 on logging in)."""
    return {s: {"model": ErrorOut, "description": ERROR_DESCRIPTIONS[s]} for s in statuses}


def install(app: FastAPI, *, auth_dependency: Callable[..., Any]) -> None:
    """Make APP's OpenAPI document declare errors, security and tags (call after the routers are included)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=TAGS,
        )
        components = doc.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for model in (ErrorOut, InternalErrorOut):
            schemas[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components["securitySchemes"] = SECURITY_SCHEMES
        for context in iter_route_contexts(app.routes):  # included routers are flattened lazily since 0.16x
            route, path = context.original_route, getattr(context, "path_format", None) or context.path or ""
            if not isinstance(route, APIRoute) or not route.include_in_schema or not path.startswith("/api/"):
                continue
            authenticates = auth_dependency in _calls(route.dependant)
            for method in route.methods or ():
                operation = doc["paths"][path][method.lower()]
                responses = operation.setdefault("responses", {})
                for status in error_statuses(route, authenticates=authenticates):
                    name = "InternalErrorOut" if status == 500 else "ErrorOut"
                    responses[str(status)] = {
                        "description": ERROR_DESCRIPTIONS[status],
                        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
                    }
                operation["responses"] = dict(sorted(responses.items()))
                if authenticates:
                    operation["security"] = [{"bearerAuth": []}, {"cookieAuth": []}]
        refs = json.dumps(doc["paths"])
        if '"#/components/schemas/HTTPValidationError"' not in refs:  # FastAPI's 422 schemas, now unused
            schemas.pop("HTTPValidationError", None)
            schemas.pop("ValidationError", None)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
