"""Deliver the outbox by SMTP: claim due messages, send them, record the outcome, retry failures later.

A request never talks to the mail server. It queues mail in its transaction and, after its commit, wakes
this process's sender thread (`kick`); the thread also wakes every `retry_seconds` for retries and for
mail queued by other processes (the CLI, other `smeai serve` workers). A message is claimed by a
conditional UPDATE before it is sent, so processes sharing one database never send it twice; a sender
that dies mid-send leaves a claim that expires, and the message goes out again later (at least once).
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from smeai.config import Settings
from smeai.db import get_sessionmaker, utcnow
from smeai.mail.models import QUEUED_KEY, OutboxMessage

log = logging.getLogger("smeai.mail")

MAX_ATTEMPTS = 8
CLAIM = timedelta(minutes=5)
BATCH = 50
SMTP_TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    tls: bool
    user: str
    password: str
    sender: str
    retry_seconds: int

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            tls=settings.smtp_tls,
            user=settings.smtp_user,
            password=settings.smtp_password,
            sender=settings.smtp_from,
            retry_seconds=settings.mail_retry_seconds,
        )


def _claim(session: Session, message_id: int, now: datetime) -> bool:
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.sent_at.is_(None),
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        .values(claimed_until=now + CLAIM)
    )
    return bool(getattr(result, "rowcount", 0))


def _email(config: SmtpConfig, message: OutboxMessage) -> EmailMessage:
    email = EmailMessage()
    email["From"] = config.sender
    email["To"] = message.to_addr
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain="smeai")
    email.set_content(message.body)
    return email


def _connect(config: SmtpConfig) -> smtplib.SMTP:
    smtp = smtplib.SMTP(config.host, config.port, timeout=SMTP_TIMEOUT_SECONDS)
    if config.tls:
        smtp.starttls()
    if config.user:
        smtp.login(config.user, config.password)
    return smtp


def deliver_due(factory: sessionmaker[Session], config: SmtpConfig) -> tuple[int, int]:
    """Send what is due now; returns (sent, failed this round). Nothing is sent without a mail server."""
    if not config.host:
        return 0, 0
    sent = failed = 0
    with factory() as session:
        now = utcnow()
        due = session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.failed_at.is_(None),
                OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
            )
            .order_by(OutboxMessage.id)
            .limit(BATCH)
        ).all()
        claimed = [i for i in due if _claim(session, i, now)]
        session.commit()
        if not claimed:
            return 0, 0
        smtp: smtplib.SMTP | None = None
        for message_id in claimed:
            message = session.get(OutboxMessage, message_id)
            if message is None:
                continue
            try:
                smtp = smtp or _connect(config)
                smtp.send_message(_email(config, message))
            except (OSError, smtplib.SMTPException) as exc:  # the server's trouble, never the request's
                smtp = None
                failed += 1
                message.attempts += 1
                message.last_error = f"{type(exc).__name__}: {exc}"[:500]
                message.claimed_until = None
                if message.attempts >= MAX_ATTEMPTS:
                    message.failed_at = utcnow()
                else:
                    wait = config.retry_seconds * 2 ** (message.attempts - 1)
                    message.next_attempt_at = utcnow() + timedelta(seconds=wait)
                log.warning("mail %s to %s not sent (try %d): %s", message.id, message.to_addr, message.attempts, exc)
            else:
                sent += 1
                message.attempts += 1
                message.sent_at = utcnow()
                message.last_error = None
            session.commit()
        if smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                smtp.quit()
    return sent, failed


class Dispatcher:
    """One sender thread per database and mail server in this process, started on first use."""

    def __init__(self, database_url: str, config: SmtpConfig) -> None:
        self.factory = get_sessionmaker(database_url)
        self.config = config
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopping = False

    def kick(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="smeai-mail", daemon=True)
                self._thread.start()
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=SMTP_TIMEOUT_SECONDS)

    def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                while deliver_due(self.factory, self.config)[0] == BATCH:
                    pass
            except Exception:  # a database hiccup must not end the thread; the next round tries again
                log.exception("mail sender round failed")
            self._wake.wait(timeout=self.config.retry_seconds)


_dispatchers: dict[tuple[str, SmtpConfig], Dispatcher] = {}
_dispatchers_lock = threading.Lock()


def dispatcher(settings: Settings) -> Dispatcher:
    key = (settings.database_url, SmtpConfig.from_settings(settings))
    with _dispatchers_lock:
        found = _dispatchers.get(key)
        if found is None:
            found = _dispatchers[key] = Dispatcher(*key)
        return found


def stop_all() -> None:
    """End every sender thread of this process (tests, between servers that come and go)."""
    with _dispatchers_lock:
        found = list(_dispatchers.values())
        _dispatchers.clear()
    for one in found:
        one.stop()


def kick(settings: Settings, session: Session | None = None) -> None:
    """After a commit: wake the sender if this unit of work queued mail (or always, without a session)."""
    if session is not None and not session.info.pop(QUEUED_KEY, False):
        return
    if settings.smtp_host:
        dispatcher(settings).kick()


def ensure_running(settings: Settings) -> None:
    """Start this process's sender if it is not running yet (the first request after a start), so that mail
    queued while the server was down, or by the CLI, goes out without waiting for new mail."""
    if settings.smtp_host and not dispatcher(settings).running:
        dispatcher(settings).kick()


def send_now(settings: Settings) -> tuple[int, int]:
    """Deliver what is due in this thread (CLI commands, `smeai mail send`)."""
    return deliver_due(get_sessionmaker(settings.database_url), SmtpConfig.from_settings(settings))
