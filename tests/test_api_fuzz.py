"""schemathesis over the JSON API (bounded): no generated request may cause a server error, for an
anonymous caller or for a logged-in enterprise member."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from smeai.auth import service as auth_service
from smeai.auth.models import User
from tests import builders

BOUNDED = settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


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


def _sweep(api_schema, headers: dict[str, str] | None) -> list[str]:
    """Run every operation's generated cases; return the ones that ended in a server error.

    (schemathesis' own pytest integration does not work with this pytest, so hypothesis drives it.)"""
    failures: list[str] = []
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @BOUNDED
        @given(case=operation.as_strategy())
        def check(case) -> None:
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}")

        check()
    return failures


def test_no_server_error_for_a_logged_in_enterprise(api_schema, enterprise_headers):
    assert not _sweep(api_schema, enterprise_headers)


def test_no_server_error_for_an_anonymous_caller(api_schema, session):
    assert not _sweep(api_schema, None)
