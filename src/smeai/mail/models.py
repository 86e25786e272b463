"""The outbox: every email, queued in the transaction of the change it reports, and what became of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from smeai.db import Base, UTCDateTime, utcnow

QUEUED_KEY = "smeai_mail_queued"  # session.info flag: this unit of work queued mail (wake the sender)


class OutboxMessage(Base):
    """One email. Unsent while sent_at and failed_at are empty; a sender claims it (claimed_until) before
    it talks to the mail server, so two processes never send it twice."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_addr: Mapped[str] = mapped_column(String(200), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    template: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(20))  # account (always sent) or a notification category
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
