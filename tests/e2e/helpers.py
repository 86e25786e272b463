"""What browser tests share: logging in through the form, and screenshots when asked for."""

from __future__ import annotations

import os

from tests import builders

SHOTS = os.environ.get("SMEAI_SCREENSHOTS")  # a folder: browser tests save screenshots there to look at them


def shot(page, name: str, *, prefix: str = "") -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{prefix}{name}.png"), full_page=True)


def login(page, base: str, email: str, password: str = builders.PASSWORD) -> None:
    """Log in through the login form and wait until the portal has let us in."""
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def log_out(page) -> None:
    """Log out through the header, as a person would: on a phone the button is inside the menu."""
    menu = page.locator("[data-menu]")
    if menu.is_visible():
        menu.click()
    page.click("text=退出")
