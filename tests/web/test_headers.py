"""Security headers on every response: a Content-Security-Policy with a per-response script nonce,
Permissions-Policy, HSTS behind HTTPS; the API docs served from the package, with no inline script."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from smeai.app import create_app

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "smeai"
TEMPLATES = sorted([*PACKAGE.glob("*/templates/**/*.html"), *PACKAGE.glob("web/templates/*.html")])


def _directives(response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {d.split()[0]: d.partition(" ")[2] for d in (p.strip() for p in policy.split(";")) if d}


def test_every_response_carries_a_script_policy_with_a_fresh_nonce(client):
    first, second = client.get("/"), client.get("/api/v1/taxonomy")
    for r in (first, second):
        csp = _directives(r)
        assert csp["script-src"].startswith("'self' 'nonce-")
        assert "unsafe-inline" not in csp["script-src"] and "unsafe-eval" not in csp["script-src"]
        assert csp["object-src"] == "'none'" and csp["frame-ancestors"] == "'none'"
        assert "camera=()" in r.headers["permissions-policy"]
    assert _directives(first)["script-src"] != _directives(second)["script-src"]


def test_the_page_gives_htmx_the_same_nonce_for_swapped_fragments(client):
    r = client.get("/")
    nonce = re.search(r"'nonce-([^']+)'", _directives(r)["script-src"]).group(1)
    assert f'"inlineScriptNonce":"{nonce}"' in r.text


def test_hsts_only_behind_https(settings):
    plain = TestClient(create_app(settings)).get("/")
    assert "strict-transport-security" not in plain.headers
    secure = TestClient(create_app(settings.model_copy(update={"cookie_secure": True}))).get("/")
    assert secure.headers["strict-transport-security"].startswith("max-age=31536000")


def test_every_inline_script_in_a_template_carries_the_nonce():
    problems = []
    for path in TEMPLATES:
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and 'nonce="{{ csp_nonce }}"' not in tag:
                problems.append(f"{path.relative_to(PACKAGE)}: {tag}")
        for handler in re.findall(r"\s(on[a-z]+|hx-on[:\w-]*)=", text):
            problems.append(f"{path.relative_to(PACKAGE)}: inline handler {handler}")
        if "javascript:" in text:
            problems.append(f"{path.relative_to(PACKAGE)}: javascript: URL")
    assert TEMPLATES and not problems, "\n".join(problems)


def test_api_docs_come_from_the_package_without_inline_script(client):
    r = client.get("/docs")
    assert r.status_code == 200
    assert "https://" not in r.text and "cdn" not in r.text.lower()
    scripts = re.findall(r"<script\b[^>]*>", r.text)
    assert scripts and all("src=" in s for s in scripts)
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', r.text):
        assert client.get(asset).status_code == 200, asset
    assert client.get("/redoc").status_code == 404  # it would load from a CDN
