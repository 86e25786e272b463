"""`smeai match` exactly as interchange.md specifies it, on the pool imported with `smeai catalog import`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from smeai.cli import app
from smeai.matching.ranker import Need, passes
from tests.matching.builders import DEV, dev_needs


@pytest.fixture
def cli_env(db_url, monkeypatch, session):
    from smeai.config import get_settings

    monkeypatch.setenv("SMEAI_DATABASE_URL", db_url)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["catalog", "import", str(DEV / "dev-pool.jsonl")])
    assert result.exit_code == 0, result.output
    yield
    get_settings.cache_clear()


def test_match_prints_one_array_per_need_line_within_the_hard_constraints(cli_env, tmp_path):
    pool = {o["id"]: o for o in map(json.loads, (DEV / "dev-pool.jsonl").read_text(encoding="utf-8").splitlines())}
    result = CliRunner().invoke(app, ["match", "--need", str(DEV / "dev-needs.jsonl"), "--top", "5", "--json"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    needs = dev_needs()
    assert len(lines) == len(needs)
    for need, line in zip(needs, lines, strict=True):
        rows = json.loads(line)
        assert 0 < len(rows) <= 5
        assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
        for row in rows:
            assert set(row) == {"id", "score", "reasons"}
            assert passes(pool[row["id"]], Need.from_record(need))
            assert row["reasons"] and all(any("\u4e00" <= ch <= "\u9fff" for ch in r) for r in row["reasons"])


def test_match_reads_a_single_json_object_too(cli_env, tmp_path):
    one = tmp_path / "need.json"
    one.write_text(json.dumps(dev_needs()[0], ensure_ascii=False, indent=2), encoding="utf-8")
    result = CliRunner().invoke(app, ["match", "--need", str(one), "--top", "3", "--json"])
    assert result.exit_code == 0, result.output
    (line,) = result.output.strip().splitlines()
    assert next(r["id"] for r in json.loads(line)) in {"dev-o-001", "dev-o-003", "dev-o-004"}


def test_a_bad_need_file_names_every_bad_line(cli_env, tmp_path):
    bad = tmp_path / "needs.jsonl"
    bad.write_text('{"text": "排产"}\n{"text": ""}\n{"text": "x", "province_code": "99"}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["match", "--need", str(bad), "--json"])
    assert result.exit_code != 0
    assert set(result.exception.fields) == {"line 2:text", "line 3:province_code"}  # cli.main() prints these


def test_numbers_for_codes_and_null_lists_are_read_leniently(cli_env, tmp_path):
    need = tmp_path / "need.json"
    need.write_text(
        '{"id": 7, "text": "验布机自动找布面瑕疵", "industry": "C17", "province_code": 33, "deployment": null}'
    )
    result = CliRunner().invoke(app, ["match", "--need", str(need), "--top", "3", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["id"] in {"dev-o-005", "dev-o-006", "dev-o-139"}


def test_a_deployment_mode_no_offering_has_matches_nothing_rather_than_failing(cli_env, tmp_path):
    need = tmp_path / "need.json"
    need.write_text('{"text": "验布", "deployment": ["cloud"]}\n{"text": "验布", "deployment": ["cloud", "edge"]}\n')
    result = CliRunner().invoke(app, ["match", "--need", str(need), "--json"])
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.output.strip().splitlines())
    assert first == [] and second


def test_bad_values_in_a_need_file_or_option_are_named(cli_env, tmp_path):
    need = tmp_path / "needs.jsonl"
    need.write_text(
        '{"text": "验布", "budget_wan": 1e999}\n{"text": "验布", "budget_wan": -1}\n'
        + json.dumps({"text": "长" * 5001})
        + "\n"
        + json.dumps({"text": "验布", "deployment": ["saas"] * 21})
        + "\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["match", "--need", str(need), "--json"])
    assert result.exit_code != 0
    assert set(result.exception.fields) == {
        "line 1:budget_wan",
        "line 2:budget_wan",
        "line 3:text",
        "line 4:deployment",
    }
    binary = tmp_path / "need.bin"
    binary.write_bytes(b'{"text": "\xff\xfe"}')
    result = CliRunner().invoke(app, ["match", "--need", str(binary)])
    assert result.exit_code != 0 and "file" in result.exception.fields
    for top in ("0", "101", "abc"):
        result = CliRunner().invoke(app, ["match", "--need", str(DEV / "dev-needs.jsonl"), "--top", top])
        assert result.exit_code == 2 and "--top" in result.output  # Typer's usage error names the option
