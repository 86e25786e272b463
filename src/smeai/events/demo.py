"""Events' share of `smeai demo`, through the services: an upcoming AI-literacy course with registrations
(full, one on the waiting list), and a past matchmaking day with its one-to-one meetings (one opened an
engagement), check-ins and feedback. Idempotent: an event with the same title is kept as it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from smeai.auth import service as auth_service
from smeai.auth.actor import Actor
from smeai.catalog import service as catalog_service
from smeai.db import utcnow
from smeai.events import flows, meetings, service
from smeai.events.models import Event
from smeai.events.schemas import EventIn, EventKind, FeedbackIn, MeetingIn, SpeakerIn
from smeai.matching.models import Need

OPERATOR = "operator@demo.smeai.cn"
COURSE = "AI 素养培训：大模型在中小企业的第一步"
DAY = "佛山制造业 AI 供需对接日"


def _actor(session: Session, email: str) -> Actor | None:
    try:
        return auth_service.actor_for_email(session, email)
    except Exception:  # a demo account another domain did not make: that part of the demo is left out
        return None


def _at(days: int, hour_utc: int, minute: int = 0) -> datetime:
    day = utcnow().date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour_utc, minute, tzinfo=UTC)


def _find(session: Session, title: str) -> Event | None:
    return session.scalar(select(Event).where(Event.title == title))


def load(session: Session) -> None:
    op = _actor(session, OPERATOR)
    if op is None:
        return
    aliyun = _actor(session, "aliyun@demo.smeai.cn")
    ents = [_actor(session, f"{name}@demo.smeai.cn") for name in ("fastener", "optics", "beauty", "steel")]
    if _find(session, COURSE) is None:
        _course(session, op, aliyun, [a for a in ents if a is not None])
    cast = [aliyun, _actor(session, "heihu@demo.smeai.cn"), *ents[:3]]
    if _find(session, DAY) is None and all(a is not None for a in cast):
        _matchmaking_day(session, op, *[a for a in cast if a is not None])


def _course(session: Session, op: Actor, speaker: Actor | None, people: list[Actor]) -> None:
    starts = _at(7, 1, 30)  # 09:30 in China
    course = service.publish_event(
        session,
        op,
        EventIn(
            kind=EventKind.COURSE,
            title=COURSE,
            summary="面向企业负责人和骨干的半天课程：大模型能做什么、不能做什么，从哪个场景起步，数据要准备什么。",
            agenda="09:30 大模型能做什么、不能做什么\n10:30 同行案例：质检与排产\n11:30 动手：用本平台做一次自我诊断",
            starts_at=starts,
            ends_at=starts + timedelta(hours=3),
            place="广东省中小企业 AI 应用赋能中心 3 楼报告厅",
            capacity=3,
            industries=["C"],
            topics=["strategy", "talent", "data", "application"],
            speakers=[
                SpeakerIn(name="王敏", affiliation="华南理工大学", topic="中小企业用好大模型的三个前提"),
                *(
                    [SpeakerIn(name="阿里云", topic="百炼平台入门", provider_org_id=speaker.org_id)]
                    if speaker is not None
                    else []
                ),
            ],
        ),
    )
    for person in people:  # three seats: the fourth waits
        service.register(session, person, course.id)


def _matchmaking_day(
    session: Session, op: Actor, aliyun: Actor, heihu: Actor, fastener: Actor, optics: Actor, beauty: Actor
) -> None:
    starts = _at(-10, 6)  # 14:00 in China, ten days ago
    before = starts - timedelta(days=3)
    day = service.publish_event(
        session,
        op,
        EventIn(
            kind=EventKind.MATCHMAKING,
            title=DAY,
            summary="制造企业带着需求来，服务商带着方案来：每场一对一 20 分钟，谈得拢就转入落地跟进。",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            place="佛山市南海区 AI 应用赋能中心",
            capacity=40,
            industries=["C"],
            provinces=["44"],
            topics=["application"],
            slot_minutes=20,
        ),
    )
    people = [fastener, optics, beauty, aliyun, heihu]
    regs = {p.org_id: service.register(session, p, day.id, now=before) for p in people}
    slots = meetings.slots(day)
    scheduling = catalog_service.find_offering_by_ext_id(session, "demo-153")
    beauty_need = session.scalar(select(Need).where(Need.org_id == beauty.org_id, Need.title == "订单多了车间排不过来"))
    booked = meetings.book(
        session,
        beauty,
        day.id,
        MeetingIn(
            with_org_id=heihu.org_id,
            slot_at=slots[0],
            need_id=beauty_need.id if beauty_need else None,
            offering_id=scheduling.id if scheduling is not None and scheduling.provider_id == heihu.org_id else None,
            topic="旺季插单排产",
        ),
        now=before,
    )
    meetings.book(
        session,
        aliyun,
        day.id,
        MeetingIn(with_org_id=optics.org_id, slot_at=slots[1], topic="显微外观缺陷检测"),
        now=before,
    )
    meetings.book(
        session,
        fastener,
        day.id,
        MeetingIn(with_org_id=aliyun.org_id, slot_at=slots[2], topic="非标件设计方案生成"),
        now=before,
    )
    if booked.need_id is not None and booked.offering_id is not None:
        flows.open_engagement(session, beauty, booked.id)
    for i, p in enumerate(people):
        service.check_in(session, op, regs[p.org_id].id, now=starts + timedelta(minutes=5 + i))
    scores = {beauty.org_id: (5, "排产的事当场谈出了方案，下周上门"), optics.org_id: (4, "节奏紧凑，希望每场再长一点")}
    for p in (beauty, optics):
        score, comment = scores[p.org_id]
        service.give_feedback(
            session,
            p,
            regs[p.org_id].id,
            FeedbackIn(satisfaction=score, comment=comment),
            now=starts + timedelta(hours=3),
        )
