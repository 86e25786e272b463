"""`smeai catalog import FILE.jsonl` and `smeai catalog export`: the interchange contract from the shell."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from smeai.cli import app
from tests.catalog import builders as cb
from tests.conftest import SHARED


@pytest.fixture
def cli_env(db_url, monkeypatch):
    from smeai.config import get_settings

    monkeypatch.setenv("SMEAI_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_import_twice_then_export_gives_exactly_the_valid_records(cli_env, session, tmp_path):
    source = tmp_path / "pool.jsonl"
    lines = [
        cb.record(id="c-1"),
        '{"id": "c-2", "name": "缺字段"}',
        cb.record(id="c-3", regions=["99"]),
        cb.record(id="c-4"),
    ]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    first = CliRunner().invoke(app, ["catalog", "import", str(source)])
    assert first.exit_code == 0, first.output
    assert "2 created" in first.output
    assert "line 2: kind: required field is missing" in first.output
    assert "line 3: regions:" in first.output
    second = CliRunner().invoke(app, ["catalog", "import", str(source), "--json"])
    report = json.loads(second.output)
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 2)
    exported = CliRunner().invoke(app, ["catalog", "export"])
    assert [json.loads(line)["id"] for line in exported.output.splitlines()] == ["c-1", "c-4"]
    strict = CliRunner().invoke(app, ["catalog", "import", str(source), "--strict"])
    assert strict.exit_code == 1


def test_dev_pool_imports_cleanly_and_exports_identically(cli_env, session, tmp_path):
    source = SHARED / "matching" / "dev-pool.jsonl"
    result = CliRunner().invoke(app, ["catalog", "import", str(source), "--strict"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "export.jsonl"
    assert CliRunner().invoke(app, ["catalog", "export", "--output", str(out)]).exit_code == 0
    defaults = {"min_stage": 0, "max_stage": 4, "tags": [], "voucher_eligible": []}
    original = [defaults | json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()]
    assert [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] == original


def test_search_from_the_shell_understands_synonyms(cli_env, session):
    cb.imported(session, cb.record(id="s-1", name="验布疵点检测一体机"))
    session.commit()
    result = CliRunner().invoke(app, ["catalog", "search", "挑次品", "--json"])
    assert result.exit_code == 0, result.output
    assert [o["ext_id"] for o in json.loads(result.output)] == ["s-1"]


def test_strict_import_commits_nothing_when_a_line_fails(cli_env, session, tmp_path):
    source = tmp_path / "pool.jsonl"
    source.write_text("\n".join([cb.record(id="s-1"), '{"id": "s-2"}', cb.record(id="s-3")]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["catalog", "import", str(source), "--strict"])
    assert result.exit_code == 1
    assert "imported nothing (--strict): 1 invalid line(s)" in result.output and "line 2: name:" in result.output
    assert CliRunner().invoke(app, ["catalog", "export"]).output == ""
    as_json = CliRunner().invoke(app, ["catalog", "import", str(source), "--strict", "--json"])
    report = json.loads(as_json.output)
    assert (as_json.exit_code, report["applied"], report["created"], report["invalid_lines"]) == (1, False, 0, 1)


def test_import_reads_the_file_line_by_line_and_lists_the_first_problems(cli_env, session, tmp_path):
    source = tmp_path / "broken.jsonl"
    source.write_bytes(b"{broken\n" * 250 + b"[" * 100_000 + b"\n" + cb.record(id="ok").encode() + b"\n")
    result = CliRunner().invoke(app, ["catalog", "import", str(source)])
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output and "251 invalid line(s)" in result.output
    assert result.output.count("\nline ") == 100
    assert "151 more problem(s); all problems: invalid_json 250, line_too_long 1" in result.output


def test_index_build_stores_the_search_index_once_per_change(cli_env, session):
    from tests import builders

    provider, op = builders.provider(session), builders.operator(session)
    cb.published(session, provider, op)
    session.commit()
    first = json.loads(CliRunner().invoke(app, ["catalog", "index", "build", "--json"]).output)
    assert first["rows"] == 1 and first["bytes"] > 0
    again = CliRunner().invoke(app, ["catalog", "index", "build"])
    assert again.exit_code == 0 and "already stored" in again.output
