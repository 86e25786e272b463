"""The CLI answers bad input with `code: message` and field lines on stderr and exit 1, never a traceback."""

from __future__ import annotations

import sys

import pytest

from smeai import cli


def test_a_purchase_that_is_not_json_is_reported_not_a_traceback(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["smeai", "subsidy", "calculate", "--as", "x@y.cn", "--purchase", "{not json"])
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("invalid:") and "line 1, column 2" in err
    assert "Traceback" not in err
