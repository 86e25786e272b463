"""The header fits the screen: every role's sections, in either language, at desktop and phone widths (an
analyst's English header was once 1,518 pixels wide on a 1,280-pixel desktop, the log-out link off screen)."""

from __future__ import annotations

import pytest

from tests import builders
from tests.e2e.helpers import login, shot

pytestmark = pytest.mark.e2e

ROLES = ("enterprise", "provider", "operator", "analyst", "admin", "consultant")


def test_no_role_s_header_is_wider_than_the_screen(session, live_server, browser):
    people = {role: f"{role}@header.example" for role in ROLES}
    for role, email in people.items():
        if role == "enterprise":
            builders.enterprise(session, "宽度测试有限公司", email=email)
        else:
            getattr(builders, role)(session, email=email)
    session.commit()
    too_wide = []
    for width, height in ((1280, 800), (390, 844)):
        for lang, locale in (("en", "en-GB"), ("zh_Hans", "zh-CN")):
            context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
            page = context.new_page()
            page.set_default_timeout(15_000)
            for role, email in people.items():
                login(page, live_server, email)
                page.goto(f"{live_server}/?lang={lang}")
                wide = page.evaluate("document.documentElement.scrollWidth")
                logout = page.locator("header .userbox form button")
                box = logout.bounding_box() if width > 760 else None  # on a phone it sits in the closed menu
                shot(page, f"header-{role}-{lang}-{width}")
                if wide > width or (box is not None and box["x"] + box["width"] > width):
                    too_wide.append(f"{role} {lang} at {width}px: page {wide}px, log-out at {box}")
                context.clear_cookies()
            context.close()
    assert not too_wide
