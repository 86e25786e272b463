from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from smeai.cli import app


@pytest.fixture
def cli_env(db_url, monkeypatch):
    from smeai.config import get_settings

    monkeypatch.setenv("SMEAI_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_user_create_makes_the_organisation_and_a_user_who_can_log_in(cli_env, session, settings):
    from smeai.auth import service

    result = CliRunner().invoke(
        app,
        [
            "user",
            "create",
            "--email",
            "ops@centre.cn",
            "--role",
            "operator",
            "--org",
            "佛山赋能中心",
            "--password",
            "a long password",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["role"] == "operator"
    user = service.authenticate(session, settings, email="ops@centre.cn", password="a long password", address="x")
    assert user.organisation.kind == "centre"


def test_user_create_refuses_a_short_password_and_stores_nothing(cli_env, session):
    from smeai.auth import service

    result = CliRunner().invoke(
        app, ["user", "create", "--email", "a@b.cn", "--role", "admin", "--org", "中心", "--password", "short"]
    )
    assert result.exit_code != 0
    assert service.find_user_by_email(session, "a@b.cn") is None
    assert service.find_organisation_by_name(session, "中心") is None  # the org is not half-created


def test_user_tokens_lists_and_revokes_without_showing_secrets(cli_env, session):
    from datetime import timedelta

    from smeai.auth import service
    from smeai.auth.models import User
    from tests import builders

    actor = builders.enterprise(session, email="cli-tokens@jia.cn")
    user = session.get(User, actor.user_id)
    one, _ = service.issue_token(session, user, kind="api", lifetime=timedelta(days=1), label="etl")
    two, _ = service.issue_token(session, user, kind="api", lifetime=timedelta(days=1))
    session.commit()
    listed = CliRunner().invoke(app, ["user", "tokens", "cli-tokens@jia.cn", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [r["label"] for r in rows] == [None, "etl"]
    assert one not in listed.output and two not in listed.output
    first_id = rows[1]["id"]
    r = CliRunner().invoke(app, ["user", "revoke-tokens", "cli-tokens@jia.cn", "--id", str(first_id), "--json"])
    assert (r.exit_code, json.loads(r.output)) == (0, {"revoked": 1})
    assert service.actor_for_token(session, one, kind="api") is None
    assert service.actor_for_token(session, two, kind="api") is not None
    r = CliRunner().invoke(app, ["user", "revoke-tokens", "cli-tokens@jia.cn", "--json"])
    assert json.loads(r.output) == {"revoked": 1}
    assert service.actor_for_token(session, two, kind="api") is None
