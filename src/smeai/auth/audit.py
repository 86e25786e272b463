"""The audit log: who did which privileged thing to what, when, and what it was before and after.

Append-only. `record()` adds an entry in the caller's transaction (so an action and its entry commit or
roll back together); nothing in the package updates or deletes one. The ORM refuses it (`_refuse`), and
the migration adds database triggers that refuse an UPDATE on both backends and a DELETE on PostgreSQL
(SQLite keeps DELETE for the test suite's table reset; PostgreSQL's TRUNCATE fires no row trigger).

Entries name their actor and target by id and type, not by foreign key: an account deleted under the
personal-information rules leaves its entries in place, pointing at an id nobody holds any more.
Who may read them: AUDIT_READ (operators, filtered by target), AUDIT_EXPORT (admins, CSV/XLSX).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import JSON, ColumnElement, Delete, Index, Integer, Select, String, Update, event, select
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from smeai.auth.actor import Actor
from smeai.auth.permissions import Permission
from smeai.db import Base, UTCDateTime, utcnow
from smeai.errors import Conflict
from smeai.i18n import N_
from smeai.web.middleware import REQUEST_ID

# The id of the request being served, for entries to quote (set by the web middleware; None in the CLI).
request_id: ContextVar[str | None] = REQUEST_ID


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)  # None: the system (CLI bootstrap, demo)
    on_behalf_of: Mapped[int | None] = mapped_column(Integer)  # the enterprise a consultant acted for
    action: Mapped[str] = mapped_column(String(60), index=True)  # "offering.review", "voucher.approve", ...
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the organisation the target belongs to
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        # "everything that happened to this record", newest first
        Index("ix_audit_log_target", "target_type", "target_id"),
    )


class _HasId(Protocol):
    id: int


Target = _HasId | tuple[str, int | str]


class AppendOnly(Conflict):
    """Something tried to change or delete an audit log entry; the log only grows."""

    code = "append_only"


def _target(target: Target) -> tuple[str, str, int | None]:
    """(type, id, organisation) of a mapped row or a (type, id) pair."""
    if isinstance(target, tuple):
        kind, ident = target
        return kind, str(ident), None
    table = getattr(target, "__tablename__", type(target).__name__.lower())
    org = target.id if table == "organisations" else getattr(target, "org_id", None)
    return table, str(target.id), org if isinstance(org, int) else None


def _plain(value: object) -> object:
    """A JSON value: dates as ISO text, enums as their value, containers walked."""
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


def snapshot(row: object, *fields: str) -> dict[str, Any]:
    """The named attributes of ROW as a JSON-ready dict, for `before=` / `after=`."""
    return {f: _plain(getattr(row, f)) for f in fields}


def record(
    session: Session,
    actor: Actor,
    action: str,
    target: Target,
    before: Mapping[str, object] | None = None,
    after: Mapping[str, object] | None = None,
    *,
    org_id: int | None = None,
) -> AuditEntry:
    """Add an entry for ACTOR doing ACTION to TARGET (a mapped row with an id, or a (type, id) pair).

    Call it after the change is flushed (so the target has its id) and before the caller commits.
    ORG_ID overrides the organisation read from the target (its `org_id`, or itself if it is one).
    """
    if not isinstance(target, tuple) and getattr(target, "id", None) is None:
        session.flush()
    kind, ident, org = _target(target)
    entry = AuditEntry(
        at=utcnow(),
        actor_id=actor.user_id,
        on_behalf_of=actor.on_behalf_of,
        action=action,
        target_type=kind,
        target_id=ident,
        org_id=org_id if org_id is not None else org,
        before=_plain(dict(before)) if before is not None else None,
        after=_plain(dict(after)) if after is not None else None,
        request_id=request_id.get(),
    )
    session.add(entry)
    session.flush()
    return entry


# --- reading ---------------------------------------------------------------------------------------------


def entries_query(
    actor: Actor,
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    action: str | None = None,
    org_id: int | None = None,
    actor_id: int | None = None,
) -> Select[AuditEntry]:
    """The entries ACTOR may read under the filters, newest first (a select for `page_select`)."""
    actor.require(Permission.AUDIT_READ)
    where: list[ColumnElement[bool]] = []
    if target_type:
        where.append(AuditEntry.target_type == target_type)
    if target_id:
        where.append(AuditEntry.target_id == target_id)
    if action:
        where.append(AuditEntry.action == action)
    if org_id is not None:
        where.append(AuditEntry.org_id == org_id)
    if actor_id is not None:
        where.append(AuditEntry.actor_id == actor_id)
    return select(AuditEntry).where(*where).order_by(AuditEntry.id.desc())


def list_entries(session: Session, actor: Actor, **filters: Any) -> list[AuditEntry]:
    return list(session.scalars(entries_query(actor, **filters)))


def target_types(session: Session, actor: Actor) -> list[str]:
    actor.require(Permission.AUDIT_READ)
    return list(session.scalars(select(AuditEntry.target_type).distinct().order_by(AuditEntry.target_type)))


# --- append-only -----------------------------------------------------------------------------------------


def _refuse(*_args: object) -> None:
    raise AppendOnly(N_("The audit log is append-only."))


event.listen(AuditEntry, "before_update", _refuse)
event.listen(AuditEntry, "before_delete", _refuse)


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk(state: ORMExecuteState) -> None:
    """`session.execute(update(AuditEntry)...)` or `delete(...)` bypasses the mapper events above."""
    statement = state.statement
    if isinstance(statement, Update | Delete) and getattr(statement.table, "name", None) == AuditEntry.__tablename__:
        _refuse()
