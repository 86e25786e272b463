"""Who sees which case, as SQL: the one rule behind every read of the library (service.py's lists and
gets, and the search index, which holds what the public sees). The public sees published cases; a
submitter also sees its own organisation's; reviewers see all."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_

from smeai.auth.actor import Actor
from smeai.auth.permissions import Permission
from smeai.cases.models import Case
from smeai.cases.schemas import CaseStatus


def visible_cases(actor: Actor | None) -> ColumnElement[bool]:
    alive = Case.deleted_at.is_(None)
    public = Case.status == CaseStatus.PUBLISHED
    if actor is None:
        return and_(alive, public)
    if actor.can(Permission.CASE_REVIEW):
        return alive
    own = Case.submitted_by_org_id == actor.org_id if actor.org_id is not None else false()
    return and_(alive, or_(public, own))
