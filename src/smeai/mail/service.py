"""Queue an email: render its template (zh_Hans or en) and add it to the outbox in the caller's transaction.

Templates are `templates/<name>.<lang>.txt`: a `Subject:` line, a blank line, then the plain-text body,
rendered by Jinja2 with the given params (a missing param is an error, not a blank).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import jinja2
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from smeai.db import utcnow
from smeai.mail.models import QUEUED_KEY, OutboxMessage

TEMPLATES = Path(__file__).parent / "templates"
LANGS = ("zh_Hans", "en")

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=False,  # plain text
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


def render(template: str, lang: str, params: Mapping[str, object]) -> tuple[str, str]:
    """(subject, body) of a template in a language (zh_Hans when the language has no template)."""
    lang = lang if lang in LANGS else LANGS[0]
    text = _env.get_template(f"{template}.{lang}.txt").render(**params)
    head, _, body = text.partition("\n\n")
    if not head.startswith("Subject:"):
        raise ValueError(f"mail template {template}.{lang}.txt must start with a Subject: line")
    return head.removeprefix("Subject:").strip(), body.strip() + "\n"


def queue(
    session: Session,
    *,
    to: str,
    template: str,
    lang: str,
    params: Mapping[str, object],
    category: str = "account",
) -> OutboxMessage:
    subject, body = render(template, lang, params)
    message = OutboxMessage(
        to_addr=to, subject=subject[:300], body=body, template=template, category=category, next_attempt_at=utcnow()
    )
    session.add(message)
    session.flush()
    session.info[QUEUED_KEY] = True
    return message


def sent_to(session: Session, address: str, *, template: str | None = None) -> list[OutboxMessage]:
    """Messages to an address, newest first (a user's own data; tests)."""
    query = select(OutboxMessage).where(func.lower(OutboxMessage.to_addr) == address.strip().lower())
    if template is not None:
        query = query.where(OutboxMessage.template == template)
    return list(session.scalars(query.order_by(OutboxMessage.id.desc())))


def count_since(session: Session, address: str, template: str, since: datetime) -> int:
    query = select(func.count()).where(
        func.lower(OutboxMessage.to_addr) == address.strip().lower(),
        OutboxMessage.template == template,
        OutboxMessage.created_at >= since,
    )
    return session.scalar(query) or 0


def erase_address(session: Session, address: str, replacement: str) -> int:
    """Personal-information erasure: messages to an address keep their record (when, which template, whether
    sent) but lose the address and the text."""
    result = session.execute(
        update(OutboxMessage)
        .where(func.lower(OutboxMessage.to_addr) == address.strip().lower())
        .values(to_addr=replacement, subject="", body="")
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def requeue_failed(session: Session) -> int:
    """Give messages that used up their tries a fresh start (`smeai mail retry`)."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.failed_at.is_not(None), OutboxMessage.sent_at.is_(None))
        .values(failed_at=None, attempts=0, next_attempt_at=utcnow(), claimed_until=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def list_messages(session: Session, *, unsent: bool = False, limit: int = 50) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if unsent:
        query = query.where(OutboxMessage.sent_at.is_(None))
    return list(session.scalars(query))
