"""`smeai org verify CREDIT_CODE --as OPERATOR_EMAIL`: the contract's command, with the result emailed."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from smeai.auth import service
from smeai.cli import app
from tests import builders
from tests.auth.test_registration import credit_code, registration


@pytest.fixture
def cli_env(settings, monkeypatch):
    from smeai.config import get_settings

    monkeypatch.setenv("SMEAI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SMEAI_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("SMEAI_SMTP_HOST", settings.smtp_host)
    monkeypatch.setenv("SMEAI_SMTP_PORT", str(settings.smtp_port))
    monkeypatch.setenv("SMEAI_SMTP_TLS", "false")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_org_verify_approves_a_waiting_organisation_and_emails_its_admin(client, smtp, session, cli_env):
    code = credit_code(31)
    assert client.post("/api/v1/auth/register", json=registration("cli@firm.cn", code)).status_code == 201
    builders.operator(session, email="ops@centre.cn")
    session.commit()
    refused = CliRunner().invoke(app, ["org", "verify", code, "--as", "cli@firm.cn"])
    assert refused.exit_code != 0 and getattr(refused.exception, "code", "") == "forbidden"
    result = CliRunner().invoke(app, ["org", "verify", code, "--as", "ops@centre.cn", "--json"])
    assert result.exit_code == 0, result.output
    assert '"verification": "verified"' in result.output
    session.expire_all()
    assert service.find_organisation_by_code(session, code).verification == "verified"
    assert len(smtp.wait_for("cli@firm.cn", 2)) == 2  # the link, then the result (sent by the command itself)
    again = CliRunner().invoke(app, ["org", "verify", code, "--as", "ops@centre.cn"])
    assert again.exit_code != 0  # already verified
    queue = CliRunner().invoke(app, ["org", "queue", "--as", "ops@centre.cn", "--json"])
    assert queue.exit_code == 0 and code not in queue.output
