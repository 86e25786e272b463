"""`smeai survey import / waves / template` on the same services, and the demo wave."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sqlalchemy import func, select
from typer.testing import CliRunner

from smeai.cli import app
from smeai.config import get_settings
from smeai.survey import demo, service
from smeai.survey.models import SurveyResponse
from tests import builders
from tests.survey import handmade
from tests.survey.calibration import problems


def test_import_command_reports_and_writes_the_error_file(session, db_url, tmp_path, monkeypatch):
    analyst = builders.analyst(session, email="ana@example.cn")
    session.commit()
    monkeypatch.setenv("SMEAI_DATABASE_URL", db_url)
    get_settings.cache_clear()
    path, errors = tmp_path / "s.csv", tmp_path / "errors.csv"
    path.write_text(handmade.csv_text(), encoding="utf-8")
    try:
        out = CliRunner().invoke(
            app,
            [
                "survey",
                "import",
                str(path),
                "--wave",
                "2025",
                "--as",
                "ana@example.cn",
                "--errors",
                str(errors),
                "--json",
            ],
        )
    finally:
        get_settings.cache_clear()
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["n_inserted"] == 8
    assert errors.read_text(encoding="utf-8-sig").count("\n") == 1 + len(handmade.expected_reasons())
    assert service.wave_stats(session, service.get_wave(session, analyst, "2025"))["n_responses"] == 8


def test_template_command_prints_the_questionnaire():
    out = CliRunner().invoke(app, ["survey", "template"])
    assert out.exit_code == 0 and "[多选题]" in out.stdout


def test_demo_loads_one_6000_firm_wave_once(session):
    demo.load(session)
    demo.load(session)
    assert session.scalar(select(func.count()).select_from(SurveyResponse)) == 6000
    figures = service.wave_indicators(session, builders.analyst(session), demo.WAVE, small_cell_min=10)
    assert figures["n_rejected"] == 12
    assert problems(figures) == []


def test_unreadable_files_are_clear_errors_in_every_command(session, db_url, tmp_path, monkeypatch):
    """check, indicators and import: a cell beyond csv's field limit or a broken workbook names the row or
    the file (smeai.cli.main prints the error), never a traceback."""
    from smeai.survey.codebook import UnreadableFile

    builders.analyst(session, email="ana@example.cn")
    session.commit()
    monkeypatch.setenv("SMEAI_DATABASE_URL", db_url)
    get_settings.cache_clear()
    lines = handmade.csv_text().splitlines()
    lines[2] += "," + "x" * 140_000
    big, broken = tmp_path / "big.csv", tmp_path / "broken.xlsx"
    big.write_text("\n".join(lines), encoding="utf-8")
    broken.write_bytes(b"PK\x03\x04 not a workbook")
    try:
        for path, fields in ((big, {"row 3"}), (broken, set())):
            for args in (
                ["check", str(path)],
                ["indicators", str(path), "--json"],
                ["import", str(path), "--wave", "2025", "--as", "ana@example.cn"],
            ):
                out = CliRunner().invoke(app, ["survey", *args])
                assert isinstance(out.exception, UnreadableFile), (args, out.exception)
                assert set(out.exception.fields) == fields
    finally:
        get_settings.cache_clear()
    assert session.scalar(select(func.count()).select_from(SurveyResponse)) == 0


def test_check_prints_every_reason_without_turning_the_valid_rows_into_python(tmp_path, monkeypatch):
    """`smeai survey check` names the same rows, counts and reasons as the validation the imports use, and
    leaves the valid rows in DuckDB: turning them into Python objects took 1.6 GB for a 1M-row file."""
    from smeai.survey import analysis, synth

    header, rows = synth.text_rows(synth.generate(400, 4), invalid=60, seed=4)
    path = tmp_path / "s.csv"
    path.write_text("\n".join(",".join(r) for r in [header, *rows]), encoding="utf-8")
    expected = analysis.validate_file(path, max_rows=None)
    assert expected.n_rejected == 60

    def no_rows(*args, **kwargs):
        raise AssertionError("check turned the valid rows into Python objects")

    monkeypatch.setattr(analysis, "_validated", no_rows)
    out = CliRunner().invoke(app, ["survey", "check", str(path), "--json"])
    assert out.exit_code == 0, out.output
    printed = json.loads(out.stdout)
    assert (printed["n_rows"], printed["n_valid"], printed["n_rejected"]) == (460, 400, 60)
    assert printed["reasons"] == [r.as_dict() for r in expected.reasons]


LEAN = (
    "import sys\n"
    "from smeai.cli import main\n"
    "try:\n"
    "    main()\n"
    "finally:\n"
    "    heavy = ('sqlalchemy', 'pandas', 'ibis', 'matplotlib', 'smeai.subsidy')\n"
    "    print('loaded:', *[m for m in heavy if m in sys.modules], file=sys.stderr)\n"
)


def test_indicators_of_a_file_start_without_the_database_pandas_or_ibis(tmp_path):
    path = tmp_path / "survey.csv"
    path.write_text(handmade.csv_text(), encoding="utf-8")
    argv = ["smeai", "survey", "indicators", str(path), "--json"]
    out = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.argv = {argv!r}\n" + LEAN],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "SMEAI_LANG": "en"},
    )
    assert json.loads(out.stdout) == handmade.EXPECTED
    assert out.stderr.strip().splitlines()[-1] == "loaded:"
