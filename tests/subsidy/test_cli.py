from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from smeai.cli import app
from smeai.subsidy import programmes


def test_programmes_check_passes_the_shipped_files():
    result = CliRunner().invoke(app, ["subsidy", "programmes", "check", str(programmes.DATA)])
    assert result.exit_code == 0, result.output
    assert "beijing-compute" in result.output


def test_programmes_check_names_file_and_field_of_each_problem(tmp_path: Path):
    shutil.copy(programmes.DATA / "huadu-tiered.yaml", tmp_path / "ok.yaml")
    (tmp_path / "new.yaml").write_text(
        "code: new-voucher\nname: {zh: 新券}\nissuer: {zh: 某市}\nvoucher: compute\nrate: 20%\n"
        "caps: {per_org_year_fen: 100}\nsources: [{id: s, title: t, issuer: i, url: 'https://example.org'}]\n"
        "clauses: [{rules: [rate], source: s, quote: 补贴20%}]\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["subsidy", "programmes", "check", str(tmp_path)])
    assert result.exit_code == 1
    assert "new.yaml:caps.per_org_year_fen: no clause" in result.output  # a rule with neither source nor assumption
    assert "new.yaml:redeem_within_days" in result.output  # a default that decides needs one too


def _cli(monkeypatch, db_url: str, *args: str):
    from smeai.config import get_settings

    monkeypatch.setenv("SMEAI_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        get_settings.cache_clear()


def test_operator_commands_calculate_approve_audit_and_export(session, db_url, monkeypatch, tmp_path: Path):
    import json

    from openpyxl import load_workbook

    from tests import builders
    from tests.subsidy import builders as sb

    ent = sb.wuhan_enterprise(session, email="cli-ent@example.cn")
    builders.operator(session, email="cli-op@example.cn")
    application = sb.apply(
        session, ent, 30 * sb.WAN, programme_code="wuhan-compute", signed_on=None, starts_on=None, ends_on=None
    )
    session.commit()
    purchase = json.dumps({"description": "GPU", "kind": "compute", "contract_fen": 30 * sb.WAN})
    quote = _cli(
        monkeypatch, db_url, "subsidy", "calculate", "--as", "cli-ent@example.cn", "--purchase", purchase, "--json"
    )
    assert quote.exit_code == 0, quote.output
    assert json.loads(quote.output)["best"] == ["wuhan-compute"]
    approved = _cli(monkeypatch, db_url, "subsidy", "approve", "--as", "cli-op@example.cn", str(application.id))
    assert approved.exit_code == 0, approved.output
    audit = _cli(monkeypatch, db_url, "subsidy", "audit", "--json")
    assert audit.exit_code == 0 and json.loads(audit.output)["ok"] is True
    out = tmp_path / "subsidy.xlsx"
    assert _cli(monkeypatch, db_url, "subsidy", "export", "--as", "cli-op@example.cn", str(out)).exit_code == 0
    assert load_workbook(out).sheetnames[2].endswith("Ledger")
    refused = _cli(monkeypatch, db_url, "subsidy", "export", "--as", "cli-ent@example.cn", str(out))
    assert refused.exit_code != 0


def test_cli_amounts_and_years_use_the_apis_limits(session, db_url, monkeypatch, capsys):
    import sys

    import pytest

    from smeai import cli
    from smeai.config import get_settings
    from tests import builders

    builders.operator(session, email="cli-op2@example.cn")
    session.commit()
    monkeypatch.setenv("SMEAI_DATABASE_URL", db_url)
    get_settings.cache_clear()
    cases = (
        (["approve", "--as", "cli-op2@example.cn", "1", "--amount-fen", "99999999999999999999"], "amount_fen"),
        (["approve", "--as", "cli-op2@example.cn", "1", "--amount-fen", "-5"], "amount_fen"),
        (["budget", "--as", "cli-op2@example.cn", "wuhan-compute", "99999999999999999999"], "budget_fen"),
        (["budget", "--as", "cli-op2@example.cn", "wuhan-compute", "100", "--year", "99999"], "year"),
    )
    try:
        for args, field in cases:
            monkeypatch.setattr(sys, "argv", ["smeai", "subsidy", *args])
            with pytest.raises(SystemExit) as stop:
                cli.main()
            err = capsys.readouterr().err
            assert stop.value.code == 1 and err.startswith("invalid:") and field in err, (args, err)
    finally:
        get_settings.cache_clear()


def test_expire_acts_as_of_today_or_an_earlier_day_never_a_later_one():
    from datetime import date

    import pytest

    from smeai.errors import Invalid
    from smeai.subsidy.cli import expiry_day

    today = date(2026, 12, 6)
    assert expiry_day(None, today) is None
    assert expiry_day("2026-12-06", today) == today
    assert expiry_day("2025-01-31", today) == date(2025, 1, 31)  # a catch-up run
    for bad in ("2026-12-07", "9999-12-31", "1999-12-31", "2026-13-01", "２０２６-12-01", "yesterday", ""):
        with pytest.raises(Invalid) as caught:
            expiry_day(bad, today)
        assert "today" in caught.value.fields, bad
