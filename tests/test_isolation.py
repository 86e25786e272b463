"""Every /api/v1 route is either public or refuses an anonymous caller, and no role makes any route
fail with a server error. Each domain's own tests check what each role may see and change; this
inventory catches a route that was added without any authentication at all (Zulip's idea)."""

from __future__ import annotations

import re

import pytest

from smeai.auth.permissions import Role
from tests import builders

# Routes anyone may call, with the reason.
PUBLIC_ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/auth/token"): "the login itself",
    ("POST", "/api/v1/auth/register"): "signing up comes before any account",
    ("POST", "/api/v1/auth/verify-email"): "the emailed token is the authority",
    ("POST", "/api/v1/auth/verification"): "a new link for an account that cannot log in yet; same answer for anyone",
    ("POST", "/api/v1/auth/password-reset"): "a forgotten password; same answer for any address",
    ("POST", "/api/v1/auth/password-reset/confirm"): "the emailed single-use token is the authority",
    ("POST", "/api/v1/auth/email-change/confirm"): "the token emailed to the new address is the authority",
    ("POST", "/api/v1/invitations/accept"): "the emailed invitation token is the authority",
    ("GET", "/api/v1/privacy-notice"): "read before registering",
    ("GET", "/api/v1/taxonomy"): "controlled vocabularies are public",
    ("GET", "/api/v1/taxonomy/{kind}"): "controlled vocabularies are public",
}


def _public(method: str, path: str) -> bool:
    return (method, path) in PUBLIC_ROUTES


def api_routes(app) -> list[tuple[str, str]]:
    """From the OpenAPI document (FastAPI >= 0.16x includes routers lazily, so app.routes is not flat);
    tests/test_docs.py checks that every /api/v1 route is in it with a summary."""
    out = []
    for path, operations in app.openapi()["paths"].items():
        if path.startswith("/api/v1"):
            out.extend((method.upper(), path) for method in operations)
    return sorted(out)


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_private_route_refuses_an_anonymous_caller(app, client):
    private = [(m, p) for m, p in api_routes(app) if not _public(m, p)]
    assert private, "no private routes found"
    failures = []
    for method, path in private:
        r = client.request(method, _concrete(path), json={})
        if r.status_code != 401:
            failures.append(f"{method} {path} -> {r.status_code}")
    assert not failures, "routes reachable without authentication:\n" + "\n".join(failures)


@pytest.mark.parametrize("role", list(Role))
def test_no_route_fails_with_a_server_error_for_any_role(role, app, session, client_for):
    api = client_for(builders.of_role(session, role))
    failures = []
    for method, path in api_routes(app):
        if method == "DELETE":
            continue  # not destructive in an inventory sweep
        r = api.request(method, _concrete(path), json={})
        if r.status_code >= 500:
            failures.append(f"{method} {path} -> {r.status_code}: {r.text[:200]}")
    assert not failures, "\n".join(failures)


def test_public_routes_exist(app):
    routes = set(api_routes(app))
    missing = [f"{m} {p}" for (m, p) in PUBLIC_ROUTES if (m, p) not in routes]
    assert not missing, f"PUBLIC_ROUTES lists routes that no longer exist: {missing}"
