"""The rules of events: publishing, seats and the waiting list, cancellation and promotion, reminders,
check-in, feedback, and what each side may see."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from smeai.auth.models import Organisation, User
from smeai.db import utcnow
from smeai.errors import Conflict, Forbidden, NotFound
from smeai.events import service
from smeai.events.schemas import EventIn, FeedbackIn, RegistrationStatus
from smeai.mail import service as mail
from tests import builders
from tests.events.builders import event

R = RegistrationStatus


def test_only_operators_publish(session):
    with pytest.raises(Forbidden):
        event(session, builders.enterprise(session))
    ev = event(session, builders.operator(session), industries=["C"], provinces=["44"], stages=["1"])
    assert ev.status == "published" and ev.seats_taken == 0


def test_an_event_needs_a_place_or_a_link_and_an_end_after_its_start():
    now = utcnow()
    base = {"kind": "course", "title": "培训", "summary": "内容", "starts_at": now, "capacity": 5}
    with pytest.raises(ValidationError):
        EventIn(**base, ends_at=now + timedelta(hours=1))  # neither place nor link
    with pytest.raises(ValidationError):
        EventIn(**base, ends_at=now, place="中心")
    with pytest.raises(ValidationError):
        EventIn(**base, ends_at=now + timedelta(hours=1), place="中心", industries=["ZZ"])
    ok = EventIn(
        **base | {"kind": "matchmaking"}, ends_at=now + timedelta(hours=1), online_url="https://m.example.cn/x"
    )
    assert ok.slot_minutes == 20


def test_seats_then_waiting_list_then_promotion_in_order(session):
    op = builders.operator(session)
    ev = event(session, op, capacity=2)
    people = [builders.enterprise(session) for _ in range(5)]
    regs = [service.register(session, p, ev.id) for p in people]
    assert [r.status for r in regs] == ["registered", "registered", "waitlisted", "waitlisted", "waitlisted"]
    assert [r.waitlist_no for r in regs[2:]] == [1, 2, 3]
    session.refresh(ev)
    assert ev.seats_taken == 2

    # The third withdraws from the waiting list; then a seat is given up: the fourth (next in line) gets it.
    service.cancel_registration(session, people[2], regs[2].id)
    service.cancel_registration(session, people[0], regs[0].id)
    session.refresh(regs[3])
    session.refresh(regs[4])
    assert regs[3].status == "registered" and regs[3].promoted_at is not None
    assert regs[4].status == "waitlisted"
    session.refresh(ev)
    assert ev.seats_taken == 2
    sent = mail.sent_to(session, session.get(User, people[3].user_id).email)
    assert sent and sent[0].subject.startswith("候补转正")

    # With nobody waiting, a seat given up is free again.
    service.cancel_registration(session, people[4], regs[4].id)
    service.cancel_registration(session, people[1], regs[1].id)
    session.refresh(ev)
    assert ev.seats_taken == 1


def test_one_place_per_person_and_registering_again_after_cancelling(session):
    ev = event(session, builders.operator(session), capacity=1)
    ent = builders.enterprise(session)
    reg = service.register(session, ent, ev.id)
    with pytest.raises(Conflict):
        service.register(session, ent, ev.id)
    service.cancel_registration(session, ent, reg.id)
    again = service.register(session, ent, ev.id)
    assert again.id == reg.id and again.status == "registered"


def test_registration_closes_when_the_event_starts(session):
    op = builders.operator(session)
    ev = event(session, op, starts_at=utcnow() - timedelta(hours=1))
    with pytest.raises(service.EventClosed):
        service.register(session, builders.enterprise(session), ev.id)
    cancelled = event(session, op)
    service.cancel_event(session, op, cancelled.id)
    with pytest.raises(service.EventClosed):
        service.register(session, builders.enterprise(session), cancelled.id)


def test_who_may_register(session):
    ev = event(session, builders.operator(session))
    for actor in (builders.operator(session), builders.analyst(session), builders.admin(session)):
        with pytest.raises(Forbidden):
            service.register(session, actor, ev.id)
    assert service.register(session, builders.provider(session), ev.id).status == "registered"


def test_reminders_once_within_a_day_before(session):
    op = builders.operator(session)
    soon = event(session, op, starts_at=utcnow() + timedelta(hours=5))
    later = event(session, op, starts_at=utcnow() + timedelta(days=5))
    ent = builders.enterprise(session, email="remind@example.cn")
    service.register(session, ent, soon.id)
    service.register(session, ent, later.id)
    assert service.send_reminders(session, op) == 1
    assert service.send_reminders(session, op) == 0
    assert len(mail.sent_to(session, "remind@example.cn")) == 1


def test_check_in_by_ticket_and_feedback_after(session):
    op = builders.operator(session)
    start = utcnow() + timedelta(days=1)
    ev = event(session, op, starts_at=start)
    ent = builders.enterprise(session)
    reg = service.register(session, ent, ev.id)
    with pytest.raises(Forbidden):
        service.find_by_ticket(session, ent, reg.ticket)
    with pytest.raises(Conflict):  # not attended yet
        service.give_feedback(session, ent, reg.id, FeedbackIn(satisfaction=5), now=start + timedelta(hours=1))
    found = service.find_by_ticket(session, op, reg.ticket)
    service.check_in(session, op, found.id)
    first = reg.checked_in_at
    service.check_in(session, op, found.id)  # twice: nothing changes
    assert reg.checked_in_at == first
    with pytest.raises(Conflict):  # before the event
        service.give_feedback(session, ent, reg.id, FeedbackIn(satisfaction=5))
    service.give_feedback(session, ent, reg.id, FeedbackIn(satisfaction=4, comment="实用"), now=start)
    rep = service.report(session, op, ev.id)
    assert (rep.registered, rep.attended, rep.satisfaction, rep.comments) == (1, 1, 4.0, ["实用"])
    assert rep.by_org[0].attended == 1 and rep.by_org[0].people


def test_each_side_sees_only_its_registrations(session):
    op = builders.operator(session)
    ev = event(session, op)
    a, b = builders.enterprise(session), builders.enterprise(session)
    colleague = builders.enterprise(session, session.get(Organisation, a.org_id).name)
    reg_a = service.register(session, a, ev.id)
    service.register(session, b, ev.id)
    service.register(session, colleague, ev.id)
    assert {r.org_id for r in service.list_registrations(session, a)} == {a.org_id}
    assert len(service.list_registrations(session, a)) == 2  # the colleague's too
    assert len(service.list_registrations(session, op, event_id=ev.id)) == 3
    with pytest.raises(NotFound):
        service.get_registration(session, b, reg_a.id)
    with pytest.raises(NotFound):
        service.cancel_registration(session, b, reg_a.id)
    with pytest.raises(NotFound):
        service.get_registration(session, builders.provider(session), reg_a.id)
