"""schemathesis over the JSON API (bounded): no generated request may cause a server error, and every
response, success or error, must be one the OpenAPI document declares (status code, content type, schema),
for an anonymous caller and for a logged-in enterprise member."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode

from smeai.auth import service as auth_service
from smeai.auth.models import User
from tests import builders

BOUNDED = settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,  # an invalid request is refused (4xx), never accepted
    positive_data_acceptance,
]

# Operations whose validity JSON Schema cannot state: schema-valid bodies may be refused with 422 there,
# so positive_data_acceptance is left out for them (every other check runs).
SEMANTIC_422: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/auth/register"): "the credit code's GB 32100 check character and the password rule",
}


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


@pytest.fixture
def enterprise_headers(session) -> dict[str, str]:
    # Function-scoped fixtures are made once per operation, not per example: one user serves them all.
    actor = builders.enterprise(session, profile={})
    secret, _ = auth_service.issue_token(session, session.get(User, actor.user_id), kind="api", lifetime=None)
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


def _check_operation(operation, headers: dict[str, str] | None) -> list[str]:
    """Run one operation's generated cases through CHECKS; the first failure, if any."""
    found: list[str] = []
    semantic = (operation.method.upper(), operation.path) in SEMANTIC_422
    checks = [c for c in CHECKS if not (semantic and c is positive_data_acceptance)]

    # valid requests and invalid ones (the 422 envelope is checked too), in one bounded budget
    strategy = operation.as_strategy() | operation.as_strategy(GenerationMode.NEGATIVE)

    @BOUNDED
    @given(case=strategy)
    def check(case) -> None:
        if found:
            return  # one failure per operation is enough to report; keeps the sweep short
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except (AssertionError, FailureGroup) as exc:
            found.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {str(exc)[:600]}")

    check()
    return found


def _sweep(api_schema, headers: dict[str, str] | None) -> list[str]:
    """Every operation's failures. (schemathesis' own pytest integration does not work with this pytest, so
    hypothesis drives it.)"""
    return [line for result in api_schema.get_all_operations() for line in _check_operation(result.ok(), headers)]


def test_responses_conform_for_a_logged_in_enterprise(api_schema, enterprise_headers):
    failures = _sweep(api_schema, enterprise_headers)
    assert not failures, "\n\n".join(failures)


def test_responses_conform_for_an_anonymous_caller(api_schema, session):
    failures = _sweep(api_schema, None)
    assert not failures, "\n\n".join(failures)
