"""A test that asks for `smtp` gets a real local SMTP server, and settings (so an app) that send through it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smeai.config import Settings
from tests.e2e.conftest import live_server  # noqa: F401 (the browser tests of registration use it; `browser` is in tests/conftest.py)
from tests.mail.smtp import Inbox, running_server, sending_settings


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    with running_server() as inbox:
        yield inbox


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    if "smtp" in request.fixturenames:
        return sending_settings(settings, request.getfixturevalue("smtp"))
    return settings
