"""Events' test data, made through the events service."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from smeai.auth.actor import Actor
from smeai.db import utcnow
from smeai.events import service
from smeai.events.models import Event
from smeai.events.schemas import EventIn, EventKind


def event(
    session: Session,
    operator: Actor,
    *,
    kind: EventKind = EventKind.COURSE,
    capacity: int = 10,
    starts_at: datetime | None = None,
    hours: int = 3,
    **overrides,
) -> Event:
    starts = starts_at or (utcnow() + timedelta(days=7)).replace(hour=1, minute=0, second=0, microsecond=0)
    data = {
        "kind": kind,
        "title": overrides.pop("title", "AI 素养培训：大模型入门"),
        "summary": "面向中小企业管理者的半天课程。",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=hours),
        "place": "赋能中心 3 楼报告厅",
        "capacity": capacity,
    } | overrides
    return service.publish_event(session, operator, EventIn(**data))
