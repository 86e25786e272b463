"""One row per scheduled job: when it runs next, who holds it now, and how its last run ended."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from smeai.db import Base, UTCDateTime


class JobRun(Base):
    """The lock row of a job: a runner claims it with one conditional UPDATE (due, and not held by a live
    runner), so of N runners polling at once exactly one runs the job; a runner that dies leaves a claim
    that lapses at `locked_until`."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(120))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[str | None] = mapped_column(String(12))  # ok | failed
    last_message: Mapped[str | None] = mapped_column(String(500))
