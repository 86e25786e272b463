"""`smeai serve`: SIGTERM stops it in bounded time, and uvicorn does not rewrite the client address."""

from __future__ import annotations

from typer.testing import CliRunner

from smeai.cli import app
from smeai.config import get_settings


def test_serve_has_a_finite_graceful_shutdown_and_leaves_proxy_headers_to_the_app(monkeypatch):
    import uvicorn

    seen: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs))
    monkeypatch.setenv("SMEAI_SHUTDOWN_TIMEOUT_SECONDS", "7")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert seen["timeout_graceful_shutdown"] == 7
    # uvicorn's default believes X-Forwarded-For from 127.0.0.1: any local client could pick its address
    assert seen["proxy_headers"] is False
