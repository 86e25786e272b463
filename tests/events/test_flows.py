"""Matchmaking meetings and what events compose from other domains: the slot rules, an engagement opened
from a meeting, events a diagnosis recommends, and the follow-up of a course's attendees."""

from __future__ import annotations

from datetime import timedelta

import pytest

from smeai.assessment import instruments
from smeai.assessment import service as assessment_service
from smeai.assessment.schemas import AssessmentIn
from smeai.db import utcnow
from smeai.errors import Conflict, Forbidden, Invalid, NotFound
from smeai.events import flows, meetings, service
from smeai.events.schemas import EventKind, FeedbackIn, MeetingIn
from smeai.matching import engagements
from smeai.matching import service as matching_service
from smeai.matching.schemas import NeedIn
from tests import builders
from tests.assessment.answers import worst
from tests.events.builders import event
from tests.matching.builders import offering


@pytest.fixture
def day(session):
    op = builders.operator(session)
    ent = builders.enterprise(session, "甲制造有限公司")
    other_ent = builders.enterprise(session, "乙制造有限公司")
    prov = builders.provider(session, "丙智能科技")
    other_prov = builders.provider(session, "丁视觉")
    start = utcnow() + timedelta(days=5)
    ev = event(session, op, kind=EventKind.MATCHMAKING, capacity=20, starts_at=start, hours=2, slot_minutes=30)
    for a in (ent, other_ent, prov, other_prov):
        service.register(session, a, ev.id)
    return op, ev, ent, other_ent, prov, other_prov


def test_slots_cover_the_day(day):
    _op, ev, *_ = day
    slots = meetings.slots(ev)
    assert len(slots) == 4 and slots[1] - slots[0] == timedelta(minutes=30)


def test_no_party_in_two_meetings_at_once_and_a_cancelled_slot_is_free_again(session, day):
    _op, ev, ent, other_ent, prov, other_prov = day
    at = meetings.slots(ev)[0]
    m = meetings.book(session, ent, ev.id, MeetingIn(with_org_id=prov.org_id, slot_at=at))
    with pytest.raises(meetings.SlotTaken):  # the enterprise is busy
        meetings.book(session, ent, ev.id, MeetingIn(with_org_id=other_prov.org_id, slot_at=at))
    with pytest.raises(meetings.SlotTaken):  # the provider is busy
        meetings.book(session, other_ent, ev.id, MeetingIn(with_org_id=prov.org_id, slot_at=at))
    meetings.cancel(session, prov, m.id)
    assert meetings.book(session, other_ent, ev.id, MeetingIn(with_org_id=prov.org_id, slot_at=at)).id


def test_booking_rules(session, day):
    op, ev, ent, other_ent, prov, _other_prov = day
    at = meetings.slots(ev)[0]
    with pytest.raises(Invalid):  # two enterprises
        meetings.book(session, ent, ev.id, MeetingIn(with_org_id=other_ent.org_id, slot_at=at))
    with pytest.raises(Invalid):  # not one of the day's slots
        meetings.book(session, ent, ev.id, MeetingIn(with_org_id=prov.org_id, slot_at=at + timedelta(minutes=7)))
    stranger = builders.provider(session)
    with pytest.raises(Invalid):  # not registered
        meetings.book(session, ent, ev.id, MeetingIn(with_org_id=stranger.org_id, slot_at=at))
    with pytest.raises(Conflict):  # the booker is not registered
        meetings.book(session, stranger, ev.id, MeetingIn(with_org_id=ent.org_id, slot_at=at))
    foreign_need = matching_service.create_need(session, other_ent, NeedIn(title="别人的需求", text="别家的需求文字"))
    with pytest.raises(Invalid):  # a need of another enterprise
        meetings.book(session, ent, ev.id, MeetingIn(with_org_id=prov.org_id, slot_at=at, need_id=foreign_need.id))
    course = event(session, op)
    service.register(session, ent, course.id)
    with pytest.raises(Invalid):  # a course has no meetings
        meetings.book(session, ent, course.id, MeetingIn(with_org_id=prov.org_id, slot_at=at))


def test_each_side_sees_its_own_schedule(session, day):
    op, ev, ent, other_ent, prov, other_prov = day
    slots = meetings.slots(ev)
    m = meetings.book(session, prov, ev.id, MeetingIn(with_org_id=ent.org_id, slot_at=slots[0]))
    meetings.book(session, other_ent, ev.id, MeetingIn(with_org_id=other_prov.org_id, slot_at=slots[1]))
    assert [x.id for x in meetings.schedule(session, ent, ev.id)] == [m.id]
    assert [x.id for x in meetings.schedule(session, prov, ev.id)] == [m.id]
    assert len(meetings.schedule(session, op, ev.id)) == 2
    for outsider in (other_ent, other_prov, builders.analyst(session)):
        with pytest.raises(NotFound):
            meetings.get_meeting(session, outsider, m.id)
        with pytest.raises(NotFound):
            meetings.cancel(session, outsider, m.id)


def test_a_meeting_opens_an_engagement_through_matching(session, day):
    _op, ev, ent, _other_ent, prov, _other_prov = day
    qc = offering(session, "丙智能科技", id="ev-qc")
    need = matching_service.create_need(session, ent, NeedIn(title="外观检测", text="出货前外观全靠人眼挑。"))
    m = meetings.book(session, prov, ev.id, MeetingIn(with_org_id=ent.org_id, slot_at=meetings.slots(ev)[0]))
    m.offering_id = None
    with pytest.raises(NotFound):  # the provider's side does not open it: the enterprise decides
        flows.open_engagement(session, prov, m.id)
    with pytest.raises(Invalid):  # need and offering first
        flows.open_engagement(session, ent, m.id)
    flows.set_meeting_subject(session, ent, m.id, need_id=need.id, offering_id=qc.id)
    e = flows.open_engagement(session, ent, m.id)
    assert m.engagement_id == e.id and e.state == "interest" and e.provider_org_id == prov.org_id
    assert engagements.get_engagement(session, prov, e.id).id == e.id  # the provider's notification
    with pytest.raises(Conflict):
        flows.open_engagement(session, ent, m.id)
    with pytest.raises(Conflict):  # it opened an engagement: not cancelled from here
        meetings.cancel(session, ent, m.id)


def _diagnose(session, actor):
    inst = instruments.get_instrument(flows.INSTRUMENT)
    a = assessment_service.start_assessment(session, actor, AssessmentIn())
    assessment_service.save_answers(session, actor, a.id, worst(inst))
    return assessment_service.complete_assessment(session, actor, a.id)


def test_a_diagnosis_recommends_upcoming_events_on_its_gaps(session):
    op = builders.operator(session)
    ent = builders.enterprise(session, profile={"industry_section": "C", "province_code": "44"})
    assert flows.recommended_events(session, ent) == []  # no diagnosis yet
    _diagnose(session, ent)
    gaps, _stage = flows.diagnosis_gaps(session, ent)
    assert gaps
    on_gap = event(session, op, title="补短板课程", topics=[gaps[0]])
    event(session, op, title="别的主题", topics=["no-such-dimension"])
    event(session, op, title="别的省", topics=[gaps[0]], provinces=["11"])
    event(session, op, title="已结束", topics=[gaps[0]], starts_at=utcnow() - timedelta(days=3))
    got = flows.recommended_events(session, ent)
    assert [r.event.id for r in got] == [on_gap.id] and got[0].gaps == [gaps[0]]
    assert flows.recommended_events(session, builders.provider(session)) == []


def test_follow_up_counts_what_attendees_did_after_the_course(session):
    op = builders.operator(session)
    start = utcnow() - timedelta(hours=2)  # the course began two hours ago
    course = event(session, op, starts_at=start)
    came = builders.enterprise(session, "来了的企业", profile={})
    absent = builders.enterprise(session, "没来的企业")
    reg = service.register(session, came, course.id, now=start - timedelta(days=1))
    service.register(session, absent, course.id, now=start - timedelta(days=1))
    service.check_in(session, op, reg.id, now=start)
    service.give_feedback(session, came, reg.id, FeedbackIn(satisfaction=5))
    with pytest.raises(Forbidden):
        flows.follow_up(session, came, course.id)
    assert [(r.name, r.diagnosed, r.needs) for r in flows.follow_up(session, op, course.id)] == [
        ("来了的企业", False, 0)
    ]
    # Afterwards it diagnoses itself and posts a need; the one that did not come is not counted.
    _diagnose(session, came)
    matching_service.create_need(session, came, NeedIn(title="课后想做的事", text="想把订单预测做起来。"))
    matching_service.create_need(session, absent, NeedIn(title="没来也发了", text="想把排产做起来。"))
    rows = flows.follow_up(session, op, course.id)
    assert [(r.name, r.attended, r.diagnosed, r.needs, r.vouchers) for r in rows] == [("来了的企业", 1, True, 1, 0)]
