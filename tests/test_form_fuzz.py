"""Every form a demo user can reach, fed the values that broke the platform before: non-finite and huge
numbers, negative amounts, dates outside any plausible period, other scripts' digits, ids that are not
numbers. Each must come back as an error the user can read (4xx), never a server error and never a
success that stored the value.

The forms are found as a user finds them: log in as each demo account, follow the links from the home
page, read every `<form method="post">` with its fields and default values, then change one numeric or
date field at a time.
"""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup

from smeai.auth import service as auth_service
from smeai.auth.deps import SESSION_COOKIE
from smeai.auth.models import User
from smeai.demo import load_demo
from tests.conftest import PageClient

BAD_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e999999999", "1e308", "-1", "99999999999999999999999", "٢٠٢٦", "1x"]
BAD_DATES = ["0001-01-01", "9999-12-31", "2026-02-30", "yesterday", "٢٠٢٦-٠١-٠١"]
NUMERIC_NAME = re.compile(r"(_yuan|_wan|_fen|amount|price|budget|year|_id|^top$|quantity|count|^stage$|hours|tokens)$")
DATE_NAME = re.compile(r"(_on|_date|_at)$")
# Links not worth following for forms: downloads, logout, language switches.
SKIP_LINK = re.compile(r"\.(pdf|xlsx|csv|json|jsonl|png)(\?|$)|/logout|lang=|/static/|/docs|/api/")
MAX_PAGES = 120
PER_SHAPE = 2  # /catalog/offerings/17 and /catalog/offerings/18 hold the same forms: visit two of a kind


def _forms(html: str, page_url: str) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """(action, default values, kind of each fuzzable field: 'number' or 'date') for each POST form."""
    found = []
    for form in BeautifulSoup(html, "html.parser").find_all("form"):
        if (form.get("method") or "get").lower() != "post":
            continue
        action = urljoin(page_url, form.get("action") or form.get("hx-post") or page_url)
        values: dict[str, str] = {}
        kinds: dict[str, str] = {}
        for field in form.find_all(["input", "select", "textarea"]):
            name = field.get("name")
            if not name:
                continue
            kind = (field.get("type") or "").lower()
            if field.name == "select":
                option = field.find("option", selected=True) or field.find("option")
                values[name] = (option.get("value") if option else "") or ""
            elif field.name == "textarea":
                values[name] = field.text or "x"
            elif kind in ("checkbox", "radio"):
                if field.has_attr("checked"):
                    values[name] = field.get("value", "on")
                continue
            elif kind != "file":
                values[name] = field.get("value") or ""
            if kind == "number" or NUMERIC_NAME.search(name):
                kinds[name] = "number"
            elif kind == "date" or DATE_NAME.search(name):
                kinds[name] = "date"
        if kinds:
            found.append((action, values, kinds))
    return found


def _crawl(client) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    seen: set[str] = set()
    shapes: dict[str, int] = {}
    queue = deque(["/"])
    forms = []
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        shape = re.sub(r"\d+", "N", url.split("?")[0])
        if url in seen or shapes.get(shape, 0) >= PER_SHAPE:
            continue
        seen.add(url)
        shapes[shape] = shapes.get(shape, 0) + 1
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.headers.get("content-type", ""):
            continue
        forms.extend(_forms(response.text, url))
        for link in BeautifulSoup(response.text, "html.parser").find_all("a", href=True):
            target = urljoin(url, link["href"])
            parts = urlsplit(target)
            if parts.netloc not in ("", "testserver") or SKIP_LINK.search(target):
                continue
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if path not in seen:
                queue.append(path)
    return forms


@pytest.fixture
def demo_logins(settings, session):
    return load_demo(settings)


def _browser(app, session, email: str) -> PageClient:
    # Server errors come back as 500 pages (as a user sees them) so that one run lists them all.
    client = PageClient(app, raise_server_exceptions=False)
    user = auth_service.find_user_by_email(session, email)
    assert isinstance(user, User)
    secret, _ = auth_service.issue_token(session, user, kind="session", lifetime=None)
    session.commit()
    client.cookies.set(SESSION_COOKIE, secret)
    client.refresh_csrf("/")
    return client


def test_no_form_accepts_a_non_finite_huge_or_garbled_number_or_date(demo_logins, app, session):
    roles_done: set[str] = set()
    problems: list[str] = []
    accepted: list[str] = []
    fuzzed = 0
    for role, email, _org in demo_logins:
        if role in roles_done:  # one account per role: the forms are the same for its peers
            continue
        roles_done.add(role)
        client = _browser(app, session, email)
        for action, values, kinds in _crawl(client):
            for name, kind in kinds.items():
                for bad in BAD_NUMBERS if kind == "number" else BAD_DATES:
                    data = values | {name: bad, "csrf_token": client.csrf}
                    response = client.post(action, data=data, follow_redirects=False)
                    fuzzed += 1
                    if response.status_code >= 500:
                        problems.append(f"{role} POST {action} {name}={bad!r}: {response.status_code}")
                    elif response.status_code < 400:
                        accepted.append(f"{role} POST {action} {name}={bad!r}: {response.status_code}")
    assert fuzzed > 100, "the crawl found too few forms to mean anything"
    assert not problems, "\n".join(problems)
    assert not accepted, "\n".join(accepted)
