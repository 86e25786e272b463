"""Claim, run and record jobs. Every runner (one per worker or host) polls; a due job is claimed by one
conditional UPDATE of its row, which the database serialises (PostgreSQL: the row lock makes the losers
re-read the row and match nothing; SQLite: one writer at a time), so each job runs once per period however
many runners poll. A claim lasts `LEASE`: a runner killed mid-job leaves a claim that lapses."""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from smeai.config import Settings
from smeai.db import get_sessionmaker, utcnow
from smeai.jobs.models import JobRun
from smeai.jobs.registry import JOBS, Job

log = logging.getLogger("smeai.jobs")
LEASE = timedelta(minutes=30)  # longer than any job takes; a dead runner's claim lapses after it


def runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:120]


@dataclass(frozen=True)
class Outcome:
    name: str
    status: str  # ok | failed
    message: str


def _ensure_rows(session: Session) -> None:
    known = set(session.scalars(select(JobRun.name)))
    for job in JOBS:
        if job.name in known:
            continue
        session.add(JobRun(name=job.name))
        try:
            session.commit()
        except IntegrityError:  # another runner added it first
            session.rollback()


def claim(session: Session, job: Job, me: str, now: datetime) -> bool:
    """True when this runner now holds `job` (due and free); one UPDATE, so two runners cannot both win."""
    row = JobRun
    result = session.execute(
        update(row)
        .where(row.name == job.name)
        .where(or_(row.next_run_at.is_(None), row.next_run_at <= now))
        .where(or_(row.locked_until.is_(None), row.locked_until < now))
        .values(locked_by=me, locked_until=now + LEASE, last_started_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(getattr(result, "rowcount", 0) == 1)


def _finish(session: Session, job: Job, me: str, started: datetime, outcome: Outcome) -> None:
    session.execute(
        update(JobRun)
        .where(JobRun.name == job.name, JobRun.locked_by == me)
        .values(
            locked_by=None,
            locked_until=None,
            next_run_at=started + job.every,
            last_finished_at=utcnow(),
            last_status=outcome.status,
            last_message=outcome.message[:500],
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()


def run_job(job: Job, settings: Settings) -> Outcome:
    try:
        message = job.run(settings)
    except Exception as exc:  # one job's failure is recorded and logged; the loop goes on
        log.exception("job %s failed", job.name)
        return Outcome(job.name, "failed", f"{type(exc).__name__}: {exc}")
    log.info("job %s done: %s", job.name, message)
    return Outcome(job.name, "ok", message)


def run_due(settings: Settings, *, me: str | None = None, now: datetime | None = None) -> list[Outcome]:
    """Run every job that is due and that no other runner holds; return what this runner ran."""
    me = me or runner_id()
    factory = get_sessionmaker(settings.database_url)
    ran: list[Outcome] = []
    with factory() as session:
        _ensure_rows(session)
        for job in JOBS:
            started = now or utcnow()
            if not claim(session, job, me, started):
                continue
            outcome = run_job(job, settings)
            _finish(session, job, me, started, outcome)
            ran.append(outcome)
    return ran


def run_forever(settings: Settings, *, poll_seconds: float = 30.0, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    log.info("job runner started: %s", ", ".join(job.name for job in JOBS))
    while not stop.is_set():
        try:
            run_due(settings)
        except Exception:  # the database went away for a moment: try again at the next poll
            log.exception("job round failed")
        stop.wait(poll_seconds)


class JobState(BaseModel):
    """A job as `smeai jobs list` shows it (and --json prints it)."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    every_seconds: int
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_status: str | None
    last_message: str | None
    next_run_at: datetime | None  # None: due at the next poll
    running_on: str | None


def states(settings: Settings) -> list[JobState]:
    with get_sessionmaker(settings.database_url)() as session:
        rows = {r.name: r for r in session.scalars(select(JobRun))}
    now = utcnow()
    out = []
    for job in JOBS:
        r = rows.get(job.name)
        held = r is not None and r.locked_until is not None and r.locked_until >= now
        out.append(
            JobState(
                name=job.name,
                description=job.description,
                every_seconds=int(job.every.total_seconds()),
                last_started_at=r.last_started_at if r else None,
                last_finished_at=r.last_finished_at if r else None,
                last_status=r.last_status if r else None,
                last_message=r.last_message if r else None,
                next_run_at=r.next_run_at if r else None,
                running_on=r.locked_by if r is not None and held else None,
            )
        )
    return out
