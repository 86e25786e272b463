"""The catalog's change stamp: what tells every worker, cheaply, that its search index is behind.

Every ORM flush that creates, edits, publishes, withdraws or deletes an offering, or renames an
organisation (the provider name is indexed with each of its offerings), bumps the `change_stamps` row
named "catalog" in the same transaction and writes the new version into each changed offering's
`change_seq` (for a rename: into every offering of that provider). A worker keeps the (token, version)
its index was built at; before a search it reads the row (one primary-key lookup) and, when the version
moved, reads only the offerings with `change_seq` above its own version.

Why a counter and not `max(updated_at)`: two transactions that overlap can commit in the other order
than their clocks, so an index built between the two commits would never see the older-stamped edit.
The counter's row lock (PostgreSQL) or the single writer (SQLite) hands versions out in commit order.
A rename used to show only after one of the provider's offerings changed; it now bumps the stamp too.

Writes that bypass the ORM (`insert(Offering)` in a benchmark, raw SQL) bump nothing: call `bump()`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from smeai.catalog.models import ROLLBACK_HOOKS, STAMP_NAME, ChangeStamp, bump_stamp

__all__ = ["ChangeStamp", "Stamp", "bump", "on_rollback", "read"]
Stamp = tuple[str | None, int]  # (token, version); (None, 0) while no catalog write made the row
bump = bump_stamp  # for writes that bypass the ORM (the listener in models.py calls it on every flush)


def read(session: Session) -> Stamp:
    row = session.execute(select(ChangeStamp.token, ChangeStamp.version).where(ChangeStamp.name == STAMP_NAME)).first()
    return (None, 0) if row is None else (str(row[0]), int(row[1]))


def on_rollback(hook: Callable[[Session], None]) -> None:
    """Call `hook(session)` when a transaction that bumped the stamp rolls back (an index built from
    its uncommitted rows must be dropped)."""
    ROLLBACK_HOOKS.append(hook)
