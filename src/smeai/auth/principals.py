"""Per-worker memory of who a session cookie or API token is, for at most PRINCIPAL_TTL_SECONDS.

Every logged-in request used to ask the database who its token belongs to (the token, its user and the
organisation: one query, about 0.4 ms of ORM rows plus the round trip) and, being sync, took a thread
hand-off for it. Under load the same few tokens ask again many times a second; a hit here needs neither,
so the auth dependency answers on the event loop.

What stays true with it:
- It keeps the *answer* of `service.find_token` (which already checked: token live and of this kind, user
  active), never a token that failed; each hit checks the token's expiry against the clock again.
- A change made by this worker takes effect here at once: a commit that wrote a user, an organisation or an
  access token (logout, revocation, role change, disabling, verification, ...), by the ORM or by a bulk
  UPDATE/DELETE, forgets every entry. A lookup that started before such a commit does not store what it read.
- A change made by another worker, host or `smeai` command reaches this worker within PRINCIPAL_TTL_SECONDS
  (docs/deploy.md, "Workers"), when each entry lapses.
- Keys are the token's SHA-256 (as stored in the database), never the secret itself.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Delete, Update, event
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from smeai.auth.actor import Actor, UserView
from smeai.auth.models import AccessToken, Organisation, User
from smeai.lru import Bounded

PRINCIPAL_TTL_SECONDS = 1.0
SIZE = 4096  # distinct live tokens seen within a second by one worker
# The tables an Actor is made of: a write to any of them may change who a token is, or whether it still works.
_TABLES = frozenset({AccessToken.__tablename__, User.__tablename__, Organisation.__tablename__})
_CLASSES = (AccessToken, User, Organisation)
_WROTE = "smeai.principals_wrote"  # session.info: this transaction wrote one of _TABLES


@dataclass(frozen=True)
class Principal:
    """What find_token answered, as plain values: shared between requests and threads."""

    actor: Actor
    token_id: int
    scope: str
    expires_at: datetime | None
    user: UserView  # what pages show of the user (request.state.user)
    stored_at: float  # time.monotonic()


_entries: Bounded[Principal] = Bounded(SIZE)
_generation = 0
_lock = threading.Lock()


def key(database_url: str, kind: str, secret: str) -> tuple[str, str, str]:
    return database_url, kind, hashlib.sha256(secret.encode()).hexdigest()


def generation() -> int:
    """Read before a lookup and given to `remember`: a write committed in between moves it."""
    return _generation


def recall(entry_key: tuple[str, str, str], now: datetime) -> Principal | None:
    found = _entries.get(entry_key)
    if found is None:
        return None
    if time.monotonic() - found.stored_at > PRINCIPAL_TTL_SECONDS or (
        found.expires_at is not None and found.expires_at <= now
    ):
        return None
    return found


def remember(entry_key: tuple[str, str, str], principal: Principal, since: int) -> None:
    with _lock:
        if since == _generation:  # nothing that could change it was committed since the lookup began
            _entries.put(entry_key, principal)


def forget_all() -> None:
    global _generation
    with _lock:
        _generation += 1
        _entries.clear()


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    if not session.info.get(_WROTE) and any(
        isinstance(obj, _CLASSES) for obj in (*session.new, *session.dirty, *session.deleted)
    ):
        session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _bulk_write(state: ORMExecuteState) -> None:
    statement = state.statement
    if isinstance(statement, Update | Delete) and getattr(statement.table, "name", None) in _TABLES:
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_WROTE, None):
        forget_all()


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    if not previous.nested:  # the whole transaction: nothing was written after all (a savepoint: maybe)
        session.info.pop(_WROTE, None)
