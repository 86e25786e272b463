"""Docs kept true by tests (datasette's idea): each failure names the missing item."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from smeai.config import Settings
from smeai.i18n_catalogs import extract_all, read_catalog

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_documented(field):
    assert f"`SMEAI_{field.upper()}`" in (DOCS / "configuration.md").read_text(encoding="utf-8")


def test_generated_docs_are_up_to_date():
    """docs/permissions.md, errors.md and cli.md embed generated tables; `make docs` refreshes them."""
    files = sorted(str(p) for p in DOCS.glob("*.md") if "[[[cog" in p.read_text(encoding="utf-8"))
    assert files
    result = subprocess.run(
        [sys.executable, "-m", "cogapp", "--check", *files],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"COLUMNS": "100", "NO_COLOR": "1", "PATH": "/usr/bin:/bin", "HOME": str(ROOT)},
    )
    assert result.returncode == 0, f"run `make docs`:\n{result.stdout}\n{result.stderr}"


def test_every_api_route_has_a_summary():
    from smeai.app import create_app

    missing = [
        f"{method.upper()} {path}"
        for path, ops in create_app().openapi()["paths"].items()
        for method, op in ops.items()
        if path.startswith("/api/v1") and not op.get("summary")
    ]
    assert not missing, f"routes without an OpenAPI summary: {missing}"


EXTRACTED = extract_all()  # one pass over the package serves every catalog's test


@pytest.mark.parametrize("catalog", sorted(EXTRACTED))
def test_every_msgid_is_translated_into_chinese(catalog):
    zh = read_catalog("zh_Hans", catalog)
    en = read_catalog("en", catalog)
    extracted = EXTRACTED[catalog]
    untranslated = [m for m in extracted if not (zh.get(m) and zh.get(m).string) or zh.get(m).fuzzy]
    assert not untranslated, f"{catalog}.po (zh_Hans) lacks: {untranslated[:20]} — run scripts/i18n.py {catalog}"
    assert not [m for m in extracted if en.get(m) is None], f"{catalog}.po (en) is behind: run scripts/i18n.py"


def test_every_scheduled_job_is_in_the_deployment_guide():
    """An operator learns from docs/deploy.md what runs on a schedule; a job missing there is a surprise."""
    from smeai.jobs.registry import JOBS

    guide = (DOCS / "deploy.md").read_text(encoding="utf-8")
    missing = [job.name for job in JOBS if f"| `{job.name}` |" not in guide]
    assert not missing, f"add to the jobs table in docs/deploy.md: {missing}"
