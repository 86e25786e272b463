"""Every page every demo role can reach, in both languages, shows names, not the codes and ids the code uses
internally (tests/screens.py says what counts), and answers no 5xx and no JSON to a browser.

The demo is loaded once and each role crawls, in-process, what its pages link to from the home page and the
profile down: at most PAGES_PER_ROLE pages, PER_PATTERN of each kind (/catalog/offerings/{id}: two, not all).
The checks are about what the templates show, not about storage, so this runs on the first backend only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urldefrag, urlsplit

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from smeai.app import create_app
from smeai.auth import service as auth_service
from smeai.auth.deps import SESSION_COOKIE
from smeai.auth.models import User
from smeai.db import get_sessionmaker
from smeai.i18n import set_lang
from tests.conftest import BACKENDS
from tests.screens import PENDING, ROLES, demo_database, pattern, problems_on, unexpected

PAGES_PER_ROLE = 70
PER_PATTERN = 2
SKIP = re.compile(r"^/(static|docs|api|logout|login)\b|/(pdf|xlsx|csv|download|export|report)(\b|$)|\.(pdf|xlsx|csv)$")


def crawl(client: TestClient, start: list[str]) -> dict[str, list[str]]:
    """{url: problems} for the pages reachable from `start`."""
    seen: set[str] = set()
    per_pattern: dict[str, int] = {}
    queue = list(start)
    report: dict[str, list[str]] = {}
    while queue and len(report) < PAGES_PER_ROLE:
        url = queue.pop(0)
        key = pattern(url) + ("?" if "?" in url else "")
        if url in seen or per_pattern.get(key, 0) >= PER_PATTERN:
            continue
        seen.add(url)
        per_pattern[key] = per_pattern.get(key, 0) + 1
        found: list[str] = []
        for lang in ("zh_Hans", "en"):
            sep = "&" if "?" in url else "?"
            r = client.get(f"{url}{sep}lang={lang}", headers={"Accept": "text/html"}, follow_redirects=True)
            kind = r.headers.get("content-type", "")
            if "attachment" in r.headers.get("content-disposition", ""):
                break  # a download (the personal-data export, a report): not a page
            if r.status_code >= 500:
                found.append(f"{lang}: status {r.status_code}")
            elif "json" in kind:
                found.append(f"{lang}: JSON shown to a browser")
            elif "html" in kind:
                found += [f"{lang}: {p}" for p in problems_on(r.text, lang=lang)]
                if lang == "zh_Hans" and r.status_code == 200:
                    queue += _links(r.text)
        report[url] = found
    set_lang("zh_Hans")
    return report


def _links(html: str) -> list[str]:
    out = []
    for a in BeautifulSoup(html, "html.parser").select("main a[href], header a[href]"):
        href = urldefrag(str(a["href"]))[0]
        if href.startswith("/") and not SKIP.search(urlsplit(href).path) and "lang=" not in href:
            out.append(href)
    return out


def _client(app, session, email: str | None) -> TestClient:
    client = TestClient(app)
    if email is not None:
        user = session.query(User).filter_by(email=email).one()
        secret, _ = auth_service.issue_token(session, user, kind="session", lifetime=None)
        session.commit()
        client.cookies.set(SESSION_COOKIE, secret)
    return client


@pytest.fixture(scope="module")
def demo_app(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, object]]:
    if not db_url.startswith(BACKENDS[0][:6]):
        pytest.skip("screens are checked on the first backend only")
    with demo_database(db_url, tmp_path_factory.mktemp("var")) as settings:
        session = get_sessionmaker(db_url)()
        try:
            yield create_app(settings), session
        finally:
            session.close()


@pytest.mark.parametrize("role", list(ROLES))
def test_no_internal_identifier_on_any_page(demo_app, role):
    app, session = demo_app
    report = crawl(_client(app, session, ROLES[role]), ["/", "/profile"] if ROLES[role] else ["/"])
    assert len(report) >= 3, report
    bad = {url: sorted(set(unexpected(url, found))) for url, found in report.items()}
    bad = {url: found for url, found in bad.items() if found}
    assert not bad, "\n".join(f"{url}\n  " + "\n  ".join(found) for url, found in bad.items())


def test_the_checks_catch_what_the_issue_saw():
    """Each rule on the example issue 13 gave, so a loosened pattern fails here rather than silently."""
    page = """<main><p>应用阶段 3</p><table><tr><th>#</th><th>应用阶段</th></tr><tr><td>1</td><td>3</td></tr></table>
      <p>不可与下列项目叠加： beijing-compute</p><p>注册地在项目适用地区（11）</p><p>CA CAD</p>
      <p>300,000,000.00 CAD</p><p>eligibility.approved_suppliers</p><p>K7</p><p>quality_inspection</p></main>"""
    found = " ".join(problems_on(page, lang="zh_Hans"))
    for kind in (
        "id column",
        "bare code under '应用阶段'",
        "programme id",
        "code in brackets",
        "config key",
        "survey group code",
        "snake_case code",
        "currency code",
    ):
        assert kind in found, kind
    assert problems_on("<main><p>Please log in.</p></main>", lang="zh_Hans") == ["untranslated: 'Please log in.'"]
    assert problems_on("<main><p>L2 · 探索</p><p>更多 (15)</p><p>2026-12-06</p></main>", lang="zh_Hans") == []
    assert all(key[0].startswith("/") for key in PENDING)
