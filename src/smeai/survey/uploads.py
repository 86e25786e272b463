"""Survey uploads imported in the background, with progress the page shows.

The request streams the file to a temporary file in 1 MiB blocks (never in memory whole), stores it in the
file store (smeai/storage.py) under `uploads/survey/`, records a `SurveyUpload` (queued) and answers at once;
a thread of the serving process then claims the upload and imports it: the file is checked by DuckDB from
disk (analysis.read_survey, through service.import_file), then written in one transaction, in batches of
rows, together with the upload's outcome. The wave and its rows become visible only when that transaction
commits; a failure leaves the upload record with its error and nothing else.

Recoverable: a claim is one conditional UPDATE (queued, or running with a lapsed claim), so exactly one of
several workers and the `survey-imports` job (jobs/registry.py) runs an upload; a runner that dies leaves a
claim that lapses after LEASE (renewed at each progress step), and the job takes the upload up again from
the stored file, or fails it after MAX_ATTEMPTS. A process that stops in good order (a restart, a deploy)
lets its claims lapse at once (`release_held`), so the job's next run, within a minute, resumes them.
The file is deleted once the upload is done or failed; the `storage-orphans` job keeps every file an
unfinished upload names (`stored_keys`).
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import UploadFile
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from smeai.auth import audit
from smeai.auth.actor import Actor
from smeai.auth.models import User
from smeai.auth.permissions import Permission
from smeai.auth.service import actor_for
from smeai.config import Settings
from smeai.db import get_sessionmaker, utcnow
from smeai.errors import Forbidden, Invalid, NotFound, SmeaiError
from smeai.i18n import N_
from smeai.storage import NotStored, Storage, storage_for
from smeai.survey import service
from smeai.survey.models import SurveyImport, SurveyUpload

log = logging.getLogger(__name__)

BLOCK = 1 << 20
PREFIX = "uploads/survey/"
ACTIVE = ("queued", "validating", "importing")
FINISHED = ("done", "failed")
LEASE = timedelta(minutes=10)  # renewed at every progress step; a dead runner's claim lapses after it
QUEUED_GRACE = timedelta(seconds=30)  # a queued upload older than this was not started by its worker
MAX_ATTEMPTS = 3
REASONS_KEPT = 300  # the page lists the first 300 reasons; the error file holds them all
PROGRESS_EVERY_S = 0.5  # at most two progress writes a second


# the uploads this process's runner threads hold now (upload id -> runner id), for release_held at shutdown
_held: dict[int, str] = {}
_held_lock = threading.Lock()


class LostClaim(Exception):
    """Another runner took the upload over (this runner's claim had lapsed): stop without writing."""


@asynccontextmanager
async def spooled(file: UploadFile, *, limit: int) -> AsyncIterator[Path]:
    """The upload as a file on disk (removed afterwards); Invalid past `limit` bytes."""
    suffix = Path(file.filename or "upload").suffix[:10]
    with tempfile.NamedTemporaryFile(prefix="smeai-upload-", suffix=suffix) as out:
        size = 0
        while block := await file.read(BLOCK):
            size += len(block)
            if size > limit:
                raise Invalid(N_("The file is too large."), fields={"file": f"at most {limit} bytes"})
            out.write(block)
        out.flush()
        yield Path(out.name)


# --- the request: store the file, record the upload ----------------------------------------------------


def queue(
    session: Session,
    actor: Actor,
    store: Storage,
    path: Path,
    *,
    wave_code: str,
    filename: str,
    wave_name: str | None = None,
) -> SurveyUpload:
    """Store the file at PATH and record its upload, queued (the caller commits, then starts `run`)."""
    actor.require(Permission.SURVEY_IMPORT)
    code = service.check_wave_code(wave_code)
    suffix = "".join(ch for ch in Path(filename).suffix.lower()[:10] if ch.isalnum() or ch == ".")
    key = f"{PREFIX}{uuid.uuid4().hex}{suffix}"
    store.put_file(key, path)  # before the row: a crash in between leaves an orphan the sweep removes
    upload = SurveyUpload(
        org_id=actor.org_id,
        uploaded_by=actor.user_id,
        wave_code=code,
        wave_name=(wave_name or "").strip()[:200] or None,
        filename=(filename or "upload")[:255],
        file_key=key,
        size_bytes=path.stat().st_size,
        state="queued",
        rows_done=0,
        already_imported=False,
        unmapped=[],
        reasons=[],
        n_reasons=0,
        error_message="",
        error_fields={},
        attempts=0,
    )
    session.add(upload)
    session.flush()
    audit.record(
        session,
        actor,
        "survey.upload",
        upload,
        after={"wave": code, "file": upload.filename, "bytes": upload.size_bytes},
    )
    return upload


async def receive(
    session: Session,
    actor: Actor,
    settings: Settings,
    file: UploadFile,
    *,
    wave_code: str,
    wave_name: str | None = None,
) -> SurveyUpload:
    """What the page and the API do with an uploaded file: spool it to disk, store and queue it, commit, and
    start importing it in the background. Invalid (too large, a bad wave) before anything is kept."""
    store = storage_for(settings)
    async with spooled(file, limit=settings.upload_max_bytes) as path:
        upload = await run_in_threadpool(
            queue,
            session,
            actor,
            store,
            path,
            wave_code=wave_code,
            filename=file.filename or "upload",
            wave_name=wave_name,
        )
    session.commit()
    start(settings.database_url, store, upload.id)
    return upload


def get_upload(session: Session, actor: Actor, upload_id: int) -> SurveyUpload:
    """An upload of the actor's own organisation, for those who may import (others: NotFound)."""
    actor.require(Permission.SURVEY_IMPORT)
    upload = session.get(SurveyUpload, upload_id)
    if upload is None or not (actor.is_system or upload.org_id == actor.org_id):
        raise NotFound(N_("Import not found."))
    return upload


def list_uploads(session: Session, actor: Actor, *, limit: int = 10) -> list[SurveyUpload]:
    """The organisation's latest uploads, newest first."""
    actor.require(Permission.SURVEY_IMPORT)
    query = select(SurveyUpload).order_by(SurveyUpload.id.desc()).limit(limit)
    if not actor.is_system:
        query = query.where(SurveyUpload.org_id == actor.org_id)
    return list(session.scalars(query))


def result_of(session: Session, upload: SurveyUpload) -> SurveyImport | None:
    return session.get(SurveyImport, upload.import_id) if upload.import_id is not None else None


def percent(upload: SurveyUpload) -> int:
    """How far the upload is, 0..100: checking the file is the first half, writing its rows the second."""
    if upload.state == "done":
        return 100
    if upload.state == "importing":
        total = upload.rows_total or 0
        return 50 + (49 * upload.rows_done // total if total else 0)
    return 5 if upload.state == "validating" else 0


def as_dict(session: Session, upload: SurveyUpload) -> dict[str, Any]:
    """The upload's state and outcome as the JSON progress endpoint answers it."""
    out: dict[str, Any] = {
        "id": upload.id,
        "wave": upload.wave_code,
        "filename": upload.filename,
        "state": upload.state,
        "finished": upload.state in FINISHED,
        "percent": percent(upload),
        "rows_done": upload.rows_done,
        "rows_total": upload.rows_total,
        "size_bytes": upload.size_bytes,
        "created_at": upload.created_at,
        "started_at": upload.started_at,
        "finished_at": upload.finished_at,
        "error": upload.error_message or None,
        "error_fields": upload.error_fields or {},
    }
    record = result_of(session, upload)
    if upload.state == "done":
        out["result"] = {
            "import_id": upload.import_id,
            "already_imported": upload.already_imported,
            "n_rows": record.n_rows if record else None,
            "n_inserted": record.n_inserted if record else None,
            "n_existing": record.n_existing if record else None,
            "n_rejected": record.n_rejected if record else None,
            "unmapped": upload.unmapped,
            "reasons": upload.reasons[:100],
            "n_reasons": upload.n_reasons,
            "errors_url": f"/api/v1/survey/imports/{upload.import_id}/errors.csv" if upload.import_id else None,
        }
    return out


def stored_keys(session: Session) -> set[str]:
    """Every stored file an unfinished upload still needs (for the orphan sweep; plumbing, no actor)."""
    return set(session.scalars(select(SurveyUpload.file_key).where(SurveyUpload.state.in_(ACTIVE))))


# --- the runner: claim, import, record the outcome -----------------------------------------------------


def runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:120]


def claim(session: Session, upload_id: int, me: str, now: datetime | None = None) -> bool:
    """True when this runner now holds the upload (queued, or running with a lapsed claim); one UPDATE, which
    the database serialises, so two runners cannot both win. Commits."""
    now = now or utcnow()
    u = SurveyUpload
    lapsed = and_(u.state.in_(("validating", "importing")), or_(u.claimed_until.is_(None), u.claimed_until < now))
    result = session.execute(
        update(u)
        .where(u.id == upload_id, or_(u.state == "queued", lapsed))
        .values(
            state="validating",
            claimed_by=me,
            claimed_until=now + LEASE,
            attempts=u.attempts + 1,
            started_at=now,
            rows_done=0,
            rows_total=None,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(getattr(result, "rowcount", 0) == 1)


def _mine(upload_id: int, me: str) -> Any:
    u = SurveyUpload
    return and_(u.id == upload_id, u.claimed_by == me, u.state.in_(ACTIVE))


def _reporter(factory: Callable[[], Session], upload_id: int, me: str, *, live_rows: bool) -> service.Progress:
    """A progress callback writing the upload's state in sessions of its own (visible at once), renewing the
    claim; LostClaim when another runner holds the upload now. Rows written inside the import's transaction
    are reported only where another session may write meanwhile (PostgreSQL: `live_rows`; SQLite has one
    writer at a time, so there the page shows the stage without a row count until the import commits)."""
    last_stage, last_at = [""], [0.0]

    def report(stage: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if stage == last_stage[0] and (not live_rows or done == 0 or now - last_at[0] < PROGRESS_EVERY_S):
            return
        last_stage[0], last_at[0] = stage, now
        values: dict[str, Any] = {"state": stage, "rows_done": done, "claimed_until": utcnow() + LEASE}
        if total is not None:
            values["rows_total"] = total
        with factory() as s:
            result = s.execute(
                update(SurveyUpload)
                .where(_mine(upload_id, me))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            s.commit()
        if getattr(result, "rowcount", 0) != 1:
            raise LostClaim(upload_id)

    return report


def _uploader(session: Session, upload: SurveyUpload) -> Actor:
    """The person who uploaded, as they are now (a person who lost the right to import cannot finish)."""
    user = session.get(User, upload.uploaded_by) if upload.uploaded_by is not None else None
    if user is None:
        if upload.org_id is None:  # uploaded by the system (CLI bootstrap, tests)
            return Actor.system()
        raise Forbidden(N_("The person who uploaded this file can no longer import survey files."))
    actor = actor_for(user)
    if not user.is_active or not actor.can(Permission.SURVEY_IMPORT):
        raise Forbidden(N_("The person who uploaded this file can no longer import survey files."))
    return actor


def run(database_url: str, store: Storage, upload_id: int, *, me: str | None = None) -> str | None:
    """Claim the upload and import it; the state it ended in, or None when another runner holds it."""
    me = me or runner_id()
    factory = get_sessionmaker(database_url)
    with factory() as session:
        if not claim(session, upload_id, me):
            return None
        upload = session.get(SurveyUpload, upload_id)
        assert upload is not None
        key, attempts = upload.file_key, upload.attempts
        live_rows = session.get_bind().dialect.name != "sqlite"
    if attempts > MAX_ATTEMPTS:
        return _fail(factory, store, upload_id, me, N_("The import stopped several times; upload the file again."))
    with _held_lock:
        _held[upload_id] = me
    try:
        return _import(factory, store, upload_id, me, key, live_rows=live_rows)
    finally:
        with _held_lock:
            if _held.get(upload_id) == me:
                del _held[upload_id]


def _import(
    factory: Callable[[], Session], store: Storage, upload_id: int, me: str, key: str, *, live_rows: bool
) -> str | None:
    """run()'s import under a claim it holds: the rows and `done` in one transaction, or the failure recorded."""
    try:
        with store.local_path(key) as path, factory() as session:
            upload = session.get(SurveyUpload, upload_id)
            assert upload is not None
            actor = _uploader(session, upload)
            outcome = service.import_file(
                session,
                actor,
                upload.wave_code,
                path,
                filename=upload.filename,
                wave_name=upload.wave_name,
                progress=_reporter(factory, upload_id, me, live_rows=live_rows),
            )
            record = outcome.record
            # the outcome in the import's own transaction, on the condition that the claim is still ours:
            # the wave, its rows and `done` commit together or not at all
            finished = session.execute(
                update(SurveyUpload)
                .where(_mine(upload_id, me))
                .values(
                    state="done",
                    import_id=record.id,
                    already_imported=outcome.already_imported,
                    rows_total=record.n_rows,
                    rows_done=record.n_inserted + record.n_existing,
                    unmapped=list(outcome.unmapped),
                    reasons=[r.as_dict() for r in outcome.reasons[:REASONS_KEPT]],
                    n_reasons=len(outcome.reasons),
                    claimed_by=None,
                    claimed_until=None,
                    finished_at=utcnow(),
                )
                .execution_options(synchronize_session=False)
            )
            if getattr(finished, "rowcount", 0) != 1:
                raise LostClaim(upload_id)
            session.commit()
    except LostClaim:
        log.warning("survey upload %s: taken over by another runner; this one stopped", upload_id)
        return None
    except NotStored:
        return _fail(factory, store, upload_id, me, N_("The uploaded file is no longer stored; upload it again."))
    except SmeaiError as exc:
        return _fail(factory, store, upload_id, me, exc.message, exc.fields)
    except Exception:
        log.exception("survey upload %s failed", upload_id)
        return _fail(
            factory, store, upload_id, me, N_("The import stopped on an unexpected error; nothing was imported.")
        )
    store.delete(key)
    log.info("survey upload %s imported", upload_id)
    return "done"


def release_held(database_url: str, *, wait_s: float = 3.0) -> int:
    """Let the claims of this process's runners lapse now (the process is stopping), so that the
    `survey-imports` job resumes their uploads at its next run instead of after LEASE; how many were released.
    The claim keeps its runner: should that runner still finish before the process ends, its import commits
    as usual, and once another runner claims the upload it stops without writing (LostClaim). Bounded by
    `wait_s`: on SQLite an import's open write transaction holds the database, and a stopping process must
    not wait for it (the claim then lapses after LEASE as for a process that died)."""
    with _held_lock:
        held = dict(_held)
    if not held:
        return 0
    released = [0]

    def release() -> None:
        with get_sessionmaker(database_url)() as session:
            for upload_id, me in held.items():
                result = session.execute(
                    update(SurveyUpload)
                    .where(_mine(upload_id, me))
                    .values(claimed_until=utcnow() - timedelta(seconds=1))
                    .execution_options(synchronize_session=False)
                )
                released[0] += getattr(result, "rowcount", 0)
            session.commit()

    thread = threading.Thread(target=release, name="survey-upload-release", daemon=True)
    thread.start()
    thread.join(wait_s)
    if thread.is_alive():
        log.warning("survey uploads: claims not released within %.0f s; they lapse after %s", wait_s, LEASE)
        return 0
    log.info("survey uploads: %d claim(s) released at shutdown", released[0])
    return released[0]


def _fail(
    factory: Callable[[], Session],
    store: Storage,
    upload_id: int,
    me: str,
    message: str,
    fields: dict[str, str] | None = None,
) -> str | None:
    """Record the failure (if the claim is still ours) and drop the stored file: nothing else is left."""
    with factory() as session:
        result = session.execute(
            update(SurveyUpload)
            .where(_mine(upload_id, me))
            .values(
                state="failed",
                error_message=message[:500],
                error_fields={str(k)[:100]: str(v)[:300] for k, v in list((fields or {}).items())[:50]},
                claimed_by=None,
                claimed_until=None,
                finished_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            session.rollback()
            return None
        upload = session.get(SurveyUpload, upload_id)
        assert upload is not None
        audit.record(
            session,
            Actor.system(),
            "survey.upload_failed",
            upload,
            after={"wave": upload.wave_code, "file": upload.filename, "error": message[:200]},
        )
        session.commit()
        key = upload.file_key
    store.delete(key)
    return "failed"


def start(database_url: str, store: Storage, upload_id: int) -> threading.Thread:
    """Import the upload on a daemon thread of this process (the page polls its progress); should the process
    die, the `survey-imports` job takes the upload up once the claim lapses."""
    thread = threading.Thread(
        target=_run_logged, args=(database_url, store, upload_id), name=f"survey-upload-{upload_id}", daemon=True
    )
    thread.start()
    return thread


def _run_logged(database_url: str, store: Storage, upload_id: int) -> None:
    try:
        run(database_url, store, upload_id)
    except Exception:  # the database went away: the claim lapses and the job takes the upload up
        log.exception("survey upload %s: runner stopped", upload_id)


def waiting(session: Session, now: datetime | None = None) -> list[int]:
    """Uploads no live runner holds: queued for longer than QUEUED_GRACE (the worker that received the file
    died or never started it), or running with a lapsed claim. Oldest first."""
    now = now or utcnow()
    u = SurveyUpload
    stale_queue = and_(u.state == "queued", u.created_at < now - QUEUED_GRACE)
    lapsed = and_(u.state.in_(("validating", "importing")), or_(u.claimed_until.is_(None), u.claimed_until < now))
    return list(session.scalars(select(u.id).where(or_(stale_queue, lapsed)).order_by(u.id)))


def take_up(database_url: str, store: Storage, *, budget_s: float = 240.0, now: datetime | None = None) -> str:
    """The `survey-imports` job: run every waiting upload (within the budget; the next run goes on)."""
    with get_sessionmaker(database_url)() as session:
        ids = waiting(session, now)
    started = time.monotonic()
    ended: dict[str, int] = {"done": 0, "failed": 0}
    for upload_id in ids:
        if time.monotonic() - started > budget_s:
            break
        state = run(database_url, store, upload_id)
        if state is not None:
            ended[state] += 1
    return f"{len(ids)} survey upload(s) waiting: {ended['done']} imported, {ended['failed']} failed"
