"""Registrations and meeting bookings racing on one event, from threads with their own sessions, on each
backend: never more seats than the capacity, the waiting list numbered in one unbroken order, promotions
from its head, and never two meetings of one party in one slot."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from smeai.db import get_sessionmaker
from smeai.errors import SmeaiError
from smeai.events import meetings, service
from smeai.events.models import Event, Meeting, Registration
from smeai.events.schemas import EventKind, MeetingIn
from tests import builders
from tests.events.builders import event

CAPACITY = 5
PEOPLE = 14
WORKERS = 7


def _race(db_url, jobs, work) -> list[str]:
    """Run work(session, job) for every job from WORKERS threads at once; each job commits or rolls back."""
    maker = get_sessionmaker(db_url)
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(WORKERS)

    def worker(mine) -> None:
        start.wait()
        for job in mine:
            s = maker()
            try:
                work(s, job)
                s.commit()
                out = "ok"
            except SmeaiError as exc:
                s.rollback()
                out = type(exc).__name__
            finally:
                s.close()
            with lock:
                outcomes.append(out)

    threads = [threading.Thread(target=worker, args=(jobs[i::WORKERS],)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes


def test_concurrent_registrations_never_overbook_and_the_waiting_list_keeps_order(session, db_url):
    ev = event(session, builders.operator(session), capacity=CAPACITY)
    people = [builders.enterprise(session) for _ in range(PEOPLE)]
    session.commit()
    outcomes = _race(db_url, people, lambda s, p: service.register(s, p, ev.id))
    assert outcomes == ["ok"] * PEOPLE  # every request a definite answer: a seat or a number

    session.expire_all()
    regs = list(session.scalars(select(Registration).where(Registration.event_id == ev.id)))
    statuses = Counter(r.status for r in regs)
    assert statuses == {"registered": CAPACITY, "waitlisted": PEOPLE - CAPACITY}
    numbers = sorted(r.waitlist_no for r in regs if r.status == "waitlisted")
    assert numbers == list(range(1, PEOPLE - CAPACITY + 1))  # no number given twice, none skipped
    assert session.get(Event, ev.id).seats_taken == CAPACITY

    # Every seat holder cancels at once: the seats go to the head of the waiting list, in its order.
    holders = [r for r in regs if r.status == "registered"]
    by_user = {p.user_id: p for p in people}
    outcomes = _race(db_url, holders, lambda s, r: service.cancel_registration(s, by_user[r.user_id], r.id))
    assert outcomes == ["ok"] * CAPACITY
    session.expire_all()
    regs = list(session.scalars(select(Registration).where(Registration.event_id == ev.id)))
    promoted = sorted((r.waitlist_no or 0, r.promoted_at) for r in regs if r.promoted_at is not None)
    assert len(promoted) == CAPACITY
    still = sorted(r.waitlist_no for r in regs if r.status == "waitlisted")
    assert still == list(range(CAPACITY + 1, PEOPLE - CAPACITY + 1))  # the first CAPACITY numbers moved up
    assert session.get(Event, ev.id).seats_taken == CAPACITY


def test_concurrent_bookings_never_double_book_a_party(session, db_url):
    op = builders.operator(session)
    start = service.utcnow() + timedelta(days=3)
    ev = event(session, op, kind=EventKind.MATCHMAKING, capacity=50, starts_at=start, hours=1, slot_minutes=20)
    ents = [builders.enterprise(session) for _ in range(4)]
    provs = [builders.provider(session) for _ in range(3)]
    for a in ents + provs:
        service.register(session, a, ev.id)
    session.commit()
    slots = meetings.slots(ev)
    assert len(slots) == 3
    # Every enterprise asks every provider for the first two slots, all at once.
    jobs = [(e, p, at) for e in ents for p in provs for at in slots[:2]]
    outcomes = _race(
        db_url, jobs, lambda s, j: meetings.book(s, j[0], ev.id, MeetingIn(with_org_id=j[1].org_id, slot_at=j[2]))
    )
    assert set(outcomes) <= {"ok", "SlotTaken"}
    session.expire_all()
    booked = list(session.scalars(select(Meeting).where(Meeting.event_id == ev.id)))
    assert booked and outcomes.count("ok") == len(booked)
    for side in ("enterprise_org_id", "provider_org_id"):
        pairs = Counter((getattr(m, side), m.slot_key) for m in booked)
        assert max(pairs.values()) == 1
    assert len(booked) <= 2 * len(provs)  # each provider meets at most one enterprise per slot
