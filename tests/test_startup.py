"""Startup weight: the CLI and the portal import the analytics stack only where it is used
(benchmarks/startup.py times it)."""

import subprocess
import sys

import pytest

ANALYTICS = ("ibis", "duckdb", "pandas", "pyspark", "pyarrow", "openpyxl", "reportlab", "matplotlib", "jieba", "cn2an")
CHECK = (
    "import sys, importlib; importlib.import_module(sys.argv[1]);"
    "from smeai.domains import domain_modules;"
    "[domain_modules(k) for k in sys.argv[2:]];"
    f"print(' '.join(m for m in {ANALYTICS!r} if m in sys.modules))"
)


@pytest.mark.parametrize(
    ("module", "kinds"),
    [("smeai.cli", []), ("smeai.app", ["api", "pages"])],
    ids=["cli", "portal"],
)
def test_importing_the_cli_or_the_portal_loads_no_analytics_library(module, kinds):
    out = subprocess.run([sys.executable, "-c", CHECK, module, *kinds], capture_output=True, text=True, check=True)
    assert out.stdout.split() == []


def test_python_m_smeai_is_the_command():
    out = subprocess.run([sys.executable, "-m", "smeai", "--help"], capture_output=True, text=True, check=True)
    assert "smeai" in out.stdout and "serve" in out.stdout


def test_a_standalone_survey_command_starts_without_the_web_framework():
    """`smeai survey indicators FILE` on a large file counts its start in the user's wait (issue 16's
    1M-row target includes it): it needs neither FastAPI nor any other domain."""
    probe = "\n".join(
        [
            "import sys",
            "sys.argv = ['smeai', 'survey', 'indicators', '--help']",
            "from smeai import cli",
            "try:",
            "    cli.main()",
            "except SystemExit:",
            "    pass",
            "print('LOADED', *(m for m in ('fastapi', 'smeai.catalog', 'smeai.auth.models') if m in sys.modules))",
        ]
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "LOADED", out.stdout[-300:]
