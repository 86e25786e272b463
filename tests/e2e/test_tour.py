"""The README's tour ("## A tour of the demo"), every account it names, in a real browser: at desktop width
(1366 px) in Chinese and English and on a phone (390 px) in Chinese. Each page must answer without a 5xx, as
a page (not JSON), with nothing untranslated and no internal identifier on screen (tests/screens.py); each
account walks its journey (search and open an offering, open a need, approve a listing and see the message).
On the phone every section is reachable through the menu; at 1366 px the English header fits the screen in at
most two lines (eleven sections no longer fit one: kept on one line, it pushed the log-out link off screen).
`SMEAI_SCREENSHOTS=<dir>` keeps a screenshot of every page in every pass, to look at.

The demo is loaded once per module, on the first backend only: this checks screens, not storage."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import uvicorn

from smeai.app import create_app
from smeai.demo import demo_password
from smeai.web.nav import NAV
from tests.conftest import BACKENDS
from tests.e2e.conftest import _free_port
from tests.e2e.helpers import SHOTS, shot
from tests.screens import demo_database, problems_on, unexpected

pytestmark = pytest.mark.e2e

# account: (email, the pages the README names for it)
TOUR = {
    "enterprise": (
        "fastener@demo.smeai.cn",
        ["/", "/profile", "/assessment", "/catalog", "/matching", "/subsidy", "/cases"],
    ),
    "enterprise-optics": ("optics@demo.smeai.cn", ["/assessment"]),
    "provider": ("aliyun@demo.smeai.cn", ["/catalog/provider", "/matching"]),
    "provider-heihu": ("heihu@demo.smeai.cn", ["/catalog/provider", "/matching"]),
    "operator": (
        "operator@demo.smeai.cn",
        ["/catalog/review", "/cases/review", "/matching", "/subsidy/applications", "/subsidy/dashboard"],
    ),
    "analyst": ("analyst@demo.smeai.cn", ["/survey"]),
    "admin": ("admin@demo.smeai.cn", ["/", "/catalog/review", "/survey"]),
}
PASSES = [(1366, "zh_Hans"), (390, "zh_Hans"), (1366, "en")]  # journeys in the Chinese passes; English: the pages


@pytest.fixture(scope="module")
def demo_server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    if not db_url.startswith(BACKENDS[0][:6]):
        pytest.skip("the tour is walked on the first backend only")
    with demo_database(db_url, tmp_path_factory.mktemp("var")) as settings:
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            assert time.monotonic() < deadline, "the test server did not start"
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}", demo_password(settings)
        finally:
            server.should_exit = True
            thread.join(timeout=10)


class Walk:
    """One account's pass at one width and language: visits pages, checks and photographs each."""

    def __init__(self, page, base: str, account: str, width: int, lang: str) -> None:
        self.page, self.base, self.lang = page, base, lang
        self.prefix = f"tour-{account}-{width}-{'zh' if lang == 'zh_Hans' else 'en'}-"
        self.problems: dict[str, list[str]] = {}

    def visit(self, path: str) -> None:
        sep = "&" if "?" in path else "?"
        response = self.page.goto(f"{self.base}{path}{sep}lang={self.lang}")
        self.check(path, response)

    def check(self, path: str, response=None) -> None:
        found = []
        if response is not None:
            if response.status >= 500:
                found.append(f"status {response.status}")
            if "html" not in response.headers.get("content-type", ""):
                found.append(f"not a page: {response.headers.get('content-type')}")
        found += problems_on(self.page.content(), lang=self.lang)
        found = unexpected(urlsplit(path).path, found)
        if found:
            self.problems[path] = sorted(set(found))
        name = "_".join(filter(None, re.split(r"[^\w]+", path))) or "home"  # /catalog?q=质检: catalog_q_质检
        shot(self.page, name, prefix=self.prefix)

    def follow(self, selector: str) -> bool:
        """Click the first link `selector` finds, if any, and check the page it opens."""
        link = self.page.locator(selector).first
        if link.count() == 0:
            return False
        with self.page.expect_navigation():
            link.click()
        url = urlsplit(self.page.url)
        self.check(url.path + (f"?{url.query}" if url.query else ""))
        return True


def _log_in(page, base: str, email: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    if "/privacy" in page.url:  # a new privacy notice is asked once, as for any user
        page.click("form[action='/privacy/consent'] button[type=submit]")
        page.wait_for_url(lambda url: "/privacy" not in url)


def _journey(walk: Walk, account: str, first_pass: bool) -> None:
    """What the README says each account does, beyond opening its pages."""
    page = walk.page
    if account == "enterprise":
        walk.visit("/catalog?q=质检")
        assert page.locator("article.hit").count() > 0, "searching 质检 finds nothing"
        walk.follow("article.hit h3 a")
        walk.visit("/matching")
        walk.follow("main a[href^='/matching/needs/']:not([href$='/new'])")
        walk.visit("/cases")
        walk.follow("main a[href^='/cases/']:not([href$='/new'])")
    elif account == "enterprise-optics":
        walk.follow("main a[href^='/assessment/']")
    elif account.startswith("provider"):
        walk.visit("/catalog/provider")
        walk.follow("main a[href$='/edit']")
    elif account == "operator":
        walk.visit("/catalog/review")
        if first_pass and walk.follow("main a[href*='#review-form']"):
            for box in page.locator("#review-form input[type=checkbox]").all():
                box.check()
            with page.expect_navigation():
                page.click("#review-form button[value=approve]")
            assert page.locator(".alert.ok").count() == 1, "no message after approving"
            walk.check("/catalog/review")
        walk.visit("/subsidy/applications")
        walk.follow("main a[href^='/subsidy/applications/']")
    elif account in ("analyst", "admin"):
        walk.visit("/survey")


@pytest.mark.parametrize("account", list(TOUR))
def test_the_readme_tour(demo_server, browser, account):
    base, password = demo_server
    email, pages = TOUR[account]
    problems: dict[str, dict[str, list[str]]] = {}
    for n, (width, lang) in enumerate(PASSES):
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.on("dialog", lambda dialog: dialog.accept())
        try:
            _log_in(page, base, email, password)
            walk = Walk(page, base, account, width, lang)
            for path in pages:
                walk.visit(path)
            if width < 500:
                _menu_reaches_every_section(page, walk.prefix)
            elif lang == "en":
                _header_fits(page)
            if lang == "zh_Hans":
                _journey(walk, account, first_pass=n == 0)
            if walk.problems:
                problems[f"{width}px {lang}"] = walk.problems
        finally:
            context.close()
    assert not problems, "\n".join(
        f"{where} {path}: {found}" for where, pages_ in problems.items() for path, found in pages_.items()
    )


def _menu_reaches_every_section(page, prefix: str) -> None:
    nav = page.locator("nav.main a")
    assert not nav.first.is_visible(), "the phone header should fold the sections into the menu"
    page.click("[data-menu]")
    assert nav.count() == len(NAV)
    for i in range(nav.count()):
        assert nav.nth(i).is_visible(), f"section {i} not reachable on the phone"
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{prefix}menu-open.png"))
    page.click("[data-menu]")


def _header_fits(page) -> None:
    tops = {round(box["y"]) for box in (a.bounding_box() for a in page.locator("nav.main a").all()) if box}
    assert len(tops) <= 2, f"the English navigation takes {len(tops)} rows at 1366 px: {sorted(tops)}"
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 1366, f"the page is {wide} px wide at 1366 px"
