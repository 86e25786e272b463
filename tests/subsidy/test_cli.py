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
        "code: new-voucher\nname: {zh: 新券}\nissuer: {zh: 某市}\nvoucher: compute\nsource: x\nrate: 20%\n"
        "caps: {per_org_year: 100}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["subsidy", "programmes", "check", str(tmp_path)])
    assert result.exit_code == 1
    assert "new.yaml:caps.per_org_year" in result.output
