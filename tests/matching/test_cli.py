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
    assert result.exit_code != 0  # read as the catalog reads an import: the line is named
    assert result.exception.fields == {"line 1": "not UTF-8 text (byte 11)"}
    for top in ("0", "101", "abc"):
        result = CliRunner().invoke(app, ["match", "--need", str(DEV / "dev-needs.jsonl"), "--top", top])
        assert result.exit_code == 2 and "--top" in result.output  # Typer's usage error names the option


# --- smeai need parse (../shared/matching/README.md, "Text-only needs") ---------------------------


def test_need_parse_fills_what_the_text_states_one_line_per_need_in_order(tmp_path):
    texts = (DEV / "text-needs-dev.jsonl").read_text(encoding="utf-8").splitlines()
    result = CliRunner().invoke(app, ["need", "parse", str(DEV / "text-needs-dev.jsonl"), "--json"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == len(texts)
    for given, line in zip(map(json.loads, texts), lines, strict=True):
        parsed = json.loads(line)
        assert parsed["id"] == given["id"] and parsed["text"] == given["text"]
        for field, found in parsed["extracted"].items():
            assert parsed[field] == found["value"] and found["evidence"] in given["text"]


def test_need_parse_keeps_given_fields_and_reads_a_single_object(tmp_path):
    one = tmp_path / "need.json"
    text = "我们是一家做汽车零部件的小厂，想用视觉检测代替人工目检，预算30万，希望本地部署"
    one.write_text(json.dumps({"id": "a", "text": text, "budget_wan": 12, "extra": 1}, indent=2), encoding="utf-8")
    result = CliRunner().invoke(app, ["need", "parse", str(one), "--json"])
    assert result.exit_code == 0, result.output
    (line,) = result.output.strip().splitlines()
    parsed = json.loads(line)
    assert parsed["budget_wan"] == 12 and "budget_wan" not in parsed["extracted"]  # given: kept as given
    assert parsed["deployment"] == ["private"]
    assert parsed["extracted"]["deployment"] == {"value": ["private"], "evidence": "希望本地部署"}
    assert parsed["extra"] == 1


def test_need_parse_output_feeds_match(cli_env, tmp_path):
    result = CliRunner().invoke(app, ["need", "parse", str(DEV / "text-needs-dev.jsonl"), "--json"])
    parsed = tmp_path / "parsed.jsonl"
    parsed.write_text(result.output, encoding="utf-8")
    result = CliRunner().invoke(app, ["match", "--need", str(parsed), "--top", "3", "--json"])
    assert result.exit_code == 0, result.output
    assert len(result.output.strip().splitlines()) == 30


def test_need_parse_names_each_bad_row(tmp_path):
    bad = tmp_path / "needs.jsonl"
    bad.write_text('{"id": "1", "text": "排产"}\n{"text": ""}\nnot json\n[1]\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["need", "parse", str(bad), "--json"])
    assert result.exit_code != 0 and result.output == ""  # nothing half-printed
    assert set(result.exception.fields) == {"line 3"}
    bad.write_text('{"id": "1", "text": "排产"}\n{"text": ""}\n[1]\n{"text": "x", "budget_wan": "inf"}\n')
    result = CliRunner().invoke(app, ["need", "parse", str(bad), "--json"])
    assert set(result.exception.fields) == {"line 2:text", "line 3:need", "line 4:budget_wan"}
    result = CliRunner().invoke(app, ["need", "parse", str(tmp_path / "absent.jsonl"), "--json"])
    assert result.exit_code == 2
