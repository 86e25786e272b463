"""Who sees which offering, as SQL: the one rule behind every read of the pool (service.py's lists and
gets, and the search index, which holds what the public sees)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_

from smeai.auth.actor import Actor
from smeai.auth.permissions import Permission
from smeai.catalog.models import Offering
from smeai.catalog.schemas import OfferingStatus


def visible_offerings(actor: Actor | None) -> ColumnElement[bool]:
    """As SQL, so list and get cannot disagree. Deleted offerings are visible to nobody."""
    alive = Offering.deleted_at.is_(None)
    public = Offering.status == OfferingStatus.PUBLISHED
    if actor is None:
        return and_(alive, public)
    if actor.can(Permission.OFFERING_READ_ANY):
        return alive
    own = Offering.provider_id == actor.org_id if actor.can(Permission.OFFERING_WRITE_OWN) else false()
    return and_(alive, or_(public, own))
