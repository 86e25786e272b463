"""Database plumbing: declarative Base with a naming convention, engines, sessions."""

from __future__ import annotations

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
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
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


@lru_cache(maxsize=16)
def get_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


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
