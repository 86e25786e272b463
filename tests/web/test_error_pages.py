"""A browser always gets the branded error page, an API client always the JSON error envelope, for the
framework's own errors (no route, wrong method, a path or query that does not parse) as for domain errors."""

from __future__ import annotations

import pytest

from smeai.i18n import set_lang

HTML = {"Accept": "text/html,application/xhtml+xml"}
ENVELOPE = {"error", "message", "fields"}

PAGES = [  # (method, path, status) a person can reach by typing or following a stale link
    ("GET", "/no-such-page", 404),
    ("GET", "/catalog/offerings/abc", 422),
    ("GET", "/catalog/offerings/2147483000", 404),
    ("GET", "/static/no-such-file.css", 404),
    ("DELETE", "/catalog", 405),
    ("GET", "/cases/abc", 422),
]
API = [
    ("GET", "/api/v1/no-such-thing", 404),
    ("GET", "/api/v1/taxonomy/planets", 422),
    ("DELETE", "/api/v1/taxonomy", 405),
    ("GET", "/api", 404),
]


@pytest.mark.parametrize(("method", "path", "status"), PAGES)
def test_a_browser_gets_the_error_page_in_its_language(client, method, path, status):
    zh = client.request(method, path, headers=HTML)
    assert zh.status_code == status
    assert zh.headers["content-type"].startswith("text/html")
    assert "<h1>抱歉</h1>" in zh.text and "返回首页" in zh.text
    assert '"detail"' not in zh.text and "Not Found" not in zh.text
    en = client.request(method, path + "?lang=en", headers=HTML)
    assert en.status_code == status and "<h1>Sorry</h1>" in en.text and "抱歉" not in en.text
    set_lang("zh_Hans")


@pytest.mark.parametrize(("method", "path", "status"), API)
def test_an_api_client_gets_the_envelope_even_when_it_asks_for_html(client, method, path, status):
    r = client.request(method, path, headers=HTML)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/json")
    assert set(r.json()) == ENVELOPE


def test_a_wrong_method_keeps_its_allow_header_on_the_page(client):
    r = client.request("DELETE", "/catalog", headers=HTML)
    assert "GET" in r.headers["allow"]


def test_the_favicon_is_served(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert 'rel="icon"' in client.get("/").text


def test_switching_language_keeps_the_page_and_its_query(client):
    page = client.get("/catalog?q=%E8%B4%A8%E6%A3%80&sort=newest")  # ?q=质检
    assert 'href="/catalog?q=%E8%B4%A8%E6%A3%80&amp;sort=newest&amp;lang=en"' in page.text
    again = client.get("/catalog?q=%E8%B4%A8%E6%A3%80&lang=en")
    assert 'href="/catalog?q=%E8%B4%A8%E6%A3%80&amp;lang=zh_Hans"' in again.text  # lang= is replaced, not repeated
    set_lang("zh_Hans")
