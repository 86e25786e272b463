"""`smeai serve --workers N`: uvicorn workers, our request log instead of uvicorn's access log."""

from __future__ import annotations

from typer.testing import CliRunner

from smeai.cli import app
from smeai.config import get_settings


def _serve_kwargs(monkeypatch, *args: str, env: dict[str, str] | None = None) -> dict:
    import uvicorn

    seen: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kwargs: seen.update(kwargs))
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve", *args])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return seen


def test_serve_starts_the_workers_asked_for_or_set(monkeypatch):
    assert _serve_kwargs(monkeypatch, "--workers", "3")["workers"] == 3
    assert _serve_kwargs(monkeypatch, env={"SMEAI_WORKERS": "2"})["workers"] == 2
    assert _serve_kwargs(monkeypatch, "--reload")["workers"] is None  # reload runs one process


def test_serve_leaves_request_logging_to_the_app(monkeypatch):
    kwargs = _serve_kwargs(monkeypatch)
    assert kwargs["access_log"] is False  # uvicorn's line has the query string; ours has the route template
    assert kwargs["timeout_worker_healthcheck"] >= 30  # a worker importing the app on a busy host is not killed
