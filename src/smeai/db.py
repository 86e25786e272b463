"""Database plumbing: declarative Base with a naming convention, engines, sessions."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request
from sqlalchemy import CursorResult, DateTime, Engine, Executable, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from smeai.config import app_settings, get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops tzinfo on its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def rows_matched(session: Session, statement: Executable, params: dict[str, Any] | None = None) -> int:
    """Run an UPDATE or DELETE and say how many rows it matched: the answer of a conditional write."""
    result = session.execute(statement, params)
    assert isinstance(result, CursorResult)  # DML answers a cursor; Session.execute is typed for any statement
    return result.rowcount


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers don't block the writer
    cursor.execute("PRAGMA busy_timeout=30000")  # concurrent writers wait instead of failing
    cursor.close()


# A pooled server connection is tested (SELECT 1) before reuse only once it has lain idle this long: that is
# when a server restart, a proxy's or firewall's idle timeout may have closed it unseen. Testing on every
# checkout (pool_pre_ping) cost a round trip per request, the server's CPU as much as a small query's. A
# connection that dies while in steady use fails the statement in flight (as it would mid-request anyway), and
# SQLAlchemy then drops every older connection of the pool, so the next requests start on fresh ones.
PING_AFTER_IDLE_SECONDS = 5.0
# Connections kept open per worker: above the pages a worker builds at once under load (a request holds
# one from its first query to its end; a concurrency of 32 over 2 workers holds about 16 each). Beyond the
# pool, overflow connections are opened and closed per request, and a PostgreSQL connection costs its
# server a process start (about 1-2 % of the load test's requests did before, at pool_size 10).
POOL_SIZE, POOL_OVERFLOW = 20, 10
_CHECKED_IN = "smeai.checked_in"


def _note_checkin(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
    record.info[_CHECKED_IN] = time.monotonic()


def _ping_if_idle(engine: Engine) -> None:
    def on_checkout(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _proxy: object) -> None:
        since = record.info.get(_CHECKED_IN)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return  # a new connection, or one in use moments ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("pooled connection is gone") from exc  # the pool opens another one

    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", on_checkout)


@lru_cache(maxsize=16)
def get_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
    _ping_if_idle(engine)
    return engine


@lru_cache(maxsize=16)
def get_sessionmaker(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """One unit of work for the CLI and jobs: commits on success, rolls back on any error."""
    session = get_sessionmaker(url or get_settings().database_url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _end(session: Session) -> None:
    # The request is over: its rows are let go first, so that the rollback does not expire each of them one
    # by one (about 0.3 ms on a page that loaded some twenty rows; a read that wrote nothing ends here).
    session.expunge_all()
    session.rollback()  # whatever the route did not commit explicitly is dropped (and rollback hooks run)
    session.close()


async def _request_session(request: Request) -> AsyncIterator[Session]:
    """The request's unit of work. Async, so that FastAPI does not hand it to the thread pool twice (a
    sync generator's start and end each take a thread hand-off, which under load cost more than the page's
    queries): making a Session does no I/O, so it starts on the event loop; the end talks to the database,
    so it runs in a thread, shielded so that a cancelled request (its client gone) still returns its
    connection."""
    session = get_sessionmaker(app_settings(request).database_url)()
    try:
        yield session
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_end, session)


DbSession = Annotated[Session, Depends(_request_session)]


def insert_ignore(session: Session, model: type, values: dict[str, object], unique: list[str]) -> None:
    """INSERT ... ON CONFLICT (UNIQUE) DO NOTHING on either backend: a row that must exist, made race-free."""
    insert = pg_insert(model) if session.get_bind().dialect.name == "postgresql" else sqlite_insert(model)
    session.execute(insert.values(**values).on_conflict_do_nothing(index_elements=unique))
