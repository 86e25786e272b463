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
