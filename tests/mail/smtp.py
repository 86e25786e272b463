"""A real SMTP server on a free localhost port (aiosmtpd) that keeps what it receives, for tests that
read the emails smeai sends. The `smtp` fixture of tests/mail and tests/auth (their conftest.py) runs one;
a test that asks for it gets settings (and so an app) that send through it."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from smeai.config import Settings
from smeai.mail import sender

URL = re.compile(r"https?://\S+")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """The aiosmtpd handler: every message received, in order."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[EmailMessage] = []
        self.refuse = False  # answer 451 (a failing server) while set

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        if self.refuse:
            return "451 Try again later"
        message = message_from_bytes(envelope.content, policy=policy.default)  # type: ignore[attr-defined]
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def wait_for(self, address: str, count: int = 1, timeout: float = 15.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.to(address)) < count:
            if time.monotonic() > deadline:
                got = [(m["To"], m["Subject"]) for m in self.messages]
                raise AssertionError(f"no email #{count} to {address} within {timeout}s; received {got}")
            time.sleep(0.05)
        return self.to(address)


def body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def urls(message: EmailMessage) -> list[str]:
    return URL.findall(body(message))


@contextmanager
def running_server() -> Iterator[Inbox]:
    port = free_port()
    inbox = Inbox(port)
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox
    finally:
        sender.stop_all()  # no sender thread outlives its server (it would retry into the next test's database)
        controller.stop()


def sending_settings(settings: Settings, inbox: Inbox) -> Settings:
    """Settings sending through the local server (no TLS, no login), retrying after 1 s."""
    return settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": inbox.port, "smtp_tls": False, "mail_retry_seconds": 1}
    )
