"""Engagements (落地跟进): interest → introduced → meeting held → proposal → contract
signed → delivered → evaluated, or closed with a reason; each step records who, when and a note.

An engagement starts only when someone acts: the enterprise shows interest in an offering, or a
consultant introduces the two. A need's ranked list is its snapshot (service.snapshot), never a row
here. Sides: the enterprise (and a consultant acting for it) sees its engagements; the provider sees
them too (an engagement is its notification); operators see all. Anyone else gets *not found*.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from statistics import mean

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true
from sqlalchemy.orm import Session, selectinload

from smeai.auth import account as auth_account
from smeai.auth import audit
from smeai.auth.actor import Actor
from smeai.auth.models import User
from smeai.auth.permissions import Permission
from smeai.catalog.models import Offering
from smeai.db import utcnow
from smeai.errors import Conflict, Invalid, NotFound
from smeai.i18n import N_
from smeai.matching import service
from smeai.matching.models import Engagement, EngagementEvent, Need
from smeai.matching.schemas import (
    PIPELINE,
    REALISED,
    EngagementState,
    NeedStatus,
    OutcomeIn,
    ResponseIn,
    TransitionIn,
)

S = EngagementState


class WrongState(Conflict):
    code = "engagement_wrong_state"


def visible_engagements(actor: Actor) -> ColumnElement[bool]:
    if actor.can(Permission.ENGAGEMENT_READ_ANY):
        return true()
    if not actor.can(Permission.ENGAGEMENT_ACT) or actor.org_id is None:
        return false()
    return or_(
        Engagement.enterprise_org_id == actor.org_id,
        and_(Engagement.provider_org_id == actor.org_id, Engagement.provider_notified_at.is_not(None)),
    )


def get_engagement(session: Session, actor: Actor, engagement_id: int) -> Engagement:
    found = session.scalar(select(Engagement).where(Engagement.id == engagement_id, visible_engagements(actor)))
    if found is None:
        raise NotFound(N_("Engagement not found."))
    return found


def engagements_query(
    actor: Actor, *, need_id: int | None = None, state: EngagementState | None = None
) -> Select[Engagement]:
    """The engagements the actor may see, latest step first: the API pages it in the database (a centre's
    list grows with every need), the pages and commands take it whole through `list_engagements`."""
    query = select(Engagement).where(visible_engagements(actor))
    if need_id is not None:
        query = query.where(Engagement.need_id == need_id)
    if state is not None:
        query = query.where(Engagement.state == str(state))
    return query.order_by(Engagement.updated_at.desc(), Engagement.id.desc())


def list_engagements(
    session: Session, actor: Actor, *, need_id: int | None = None, state: EngagementState | None = None
) -> list[Engagement]:
    return list(session.scalars(engagements_query(actor, need_id=need_id, state=state)).unique())


def side_of(actor: Actor, engagement: Engagement) -> str | None:
    """Which side of the engagement the actor acts for: enterprise, provider or centre."""
    if actor.can(Permission.NEED_WRITE_ANY):
        return "centre"
    if actor.can(Permission.ENGAGEMENT_ACT) and actor.org_id == engagement.enterprise_org_id:
        return "enterprise"
    if actor.can(Permission.ENGAGEMENT_ACT) and actor.org_id == engagement.provider_org_id:
        return "provider"
    return None


def _move(session: Session, actor: Actor, e: Engagement, to: EngagementState, note: str | None) -> None:
    session.add(
        EngagementEvent(
            engagement=e, from_state=e.state, to_state=str(to), user_id=actor.user_id, note=note, at=utcnow()
        )
    )
    e.state = str(to)
    e.updated_at = utcnow()
    _tell_other_side(session, actor, e)


def _tell_other_side(session: Session, actor: Actor, e: Engagement) -> None:
    """The side that did not act hears of the step by email too (the engagement is its in-app notice)."""
    session.flush()
    name = e.offering.name if e.offering is not None else ""
    for org_id in sorted({e.enterprise_org_id, e.provider_org_id} - {actor.org_id}):
        path = f"/matching/engagements/{e.id}"
        auth_account.notify_event(session, "engagement.step", org_id=org_id, params={"name": name}, path=path)


def _new(
    session: Session, actor: Actor, need: Need, offering: Offering, state: EngagementState, note: str | None
) -> Engagement:
    """An engagement begun by an act (interest, introduction); score and reasons from the need's list."""
    # the list as it is now (reads no longer store it on the need), stored with the engagement's write
    listed = service.snapshot(session, need).get("matches", [])
    kept = next((m for m in listed if m.get("id") == offering.ext_id), None)
    e = Engagement(
        need_id=need.id,
        offering_id=offering.id,
        enterprise_org_id=need.org_id,
        provider_org_id=offering.provider_id,
        state=str(state),
        score=kept["score"] if kept else None,
        reasons=list(kept["reasons"]) if kept else [],
        provider_notified_at=utcnow(),
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    session.add(e)
    session.add(EngagementEvent(engagement=e, from_state=None, to_state=str(state), user_id=actor.user_id, note=note))
    if need.status == NeedStatus.OPEN:
        need.status = str(NeedStatus.MATCHED)
    session.flush()
    _tell_other_side(session, actor, e)
    return e


def recommend(session: Session, actor: Actor, need_id: int, *, top: int = 10) -> list[Engagement]:
    """Refresh the need's ranked list (its snapshot, service.snapshot) and return the engagements
    already started on offerings in it. Recommendations are not engagements: nothing is created here
    (POST /needs/{id}/recommendations and need creation call this)."""
    need = service.writable_need(session, actor, need_id)
    snap = service.snapshot(session, need, top=top)
    ids = [m["id"] for m in snap["matches"]]
    if not ids:
        return []
    query = (
        select(Engagement)
        .join(Offering, Offering.id == Engagement.offering_id)
        .where(Engagement.need_id == need.id, Offering.ext_id.in_(ids))
    )
    return list(session.scalars(query).unique())


def _published(session: Session, offering_id: int) -> Offering:
    offering = session.get(Offering, offering_id)
    if offering is None or offering.status != "published" or offering.deleted_at is not None:
        raise NotFound(N_("Offering not found."))
    return offering


def _existing(session: Session, need: Need, offering: Offering) -> None:
    found = session.scalar(
        select(Engagement).where(Engagement.need_id == need.id, Engagement.offering_id == offering.id)
    )
    if found is not None:
        raise WrongState(N_("Interest was already shown in this offering."), state=found.state)


def express_interest(
    session: Session, actor: Actor, need_id: int, offering_id: int, *, note: str | None = None
) -> Engagement:
    """The enterprise wants to talk to this provider: an engagement starts, the provider is notified
    and may respond."""
    need = service.writable_need(session, actor, need_id)
    offering = _published(session, offering_id)
    _existing(session, need, offering)
    return _new(session, actor, need, offering, S.INTEREST, note)


def introduce(session: Session, actor: Actor, need_id: int, offering_id: int, *, note: str | None = None) -> Engagement:
    """A centre consultant introduces the enterprise and the provider: the engagement starts at
    `introduced` (no interest to answer), both sides see it."""
    actor.require(Permission.NEED_WRITE_ANY)
    need = service.writable_need(session, actor, need_id)
    offering = _published(session, offering_id)
    _existing(session, need, offering)
    engagement = _new(session, actor, need, offering, S.INTRODUCED, note)
    audit.record(session, actor, "engagement.introduce", engagement, after={"need": need.title}, org_id=need.org_id)
    return engagement


def respond(session: Session, actor: Actor, engagement_id: int, data: ResponseIn) -> Engagement:
    """The provider answers an interest: accept (introduced) or decline (closed, the note is the reason)."""
    e = get_engagement(session, actor, engagement_id)
    if side_of(actor, e) not in ("provider", "centre"):
        raise NotFound(N_("Engagement not found."))
    if e.state != S.INTEREST:
        raise WrongState(N_("Only a fresh interest can be answered."), state=e.state)
    e.provider_response = data.note
    if data.accept:
        _move(session, actor, e, S.INTRODUCED, data.note)
    else:
        e.closed_reason = data.note
        _move(session, actor, e, S.CLOSED, data.note)
    session.flush()
    return e


def next_state(e: Engagement) -> EngagementState | None:
    if e.state == S.CLOSED or e.state == PIPELINE[-1]:
        return None
    return PIPELINE[PIPELINE.index(S(e.state)) + 1]


def advance(session: Session, actor: Actor, engagement_id: int, data: TransitionIn) -> Engagement:
    """One step along the pipeline, or closed with a reason, by either side."""
    e = get_engagement(session, actor, engagement_id)
    side = side_of(actor, e)
    if side is None:
        raise NotFound(N_("Engagement not found."))
    if data.to == S.CLOSED:
        if e.state in (S.CLOSED, S.EVALUATED):
            raise WrongState(N_("This engagement is already finished."), state=e.state)
        if not (data.note or "").strip():
            raise Invalid(N_("Say why the engagement is closed."), fields={"note": "required"})
        e.closed_reason = data.note
        _move(session, actor, e, S.CLOSED, data.note)
        session.flush()
        return e
    expected = next_state(e)
    if data.to != expected or data.to in (S.INTEREST, S.INTRODUCED, S.EVALUATED):
        # interest, the provider's answer and the outcome report have their own steps and rules
        raise WrongState(N_("This step is not possible now."), state=e.state, to=str(data.to))
    _move(session, actor, e, data.to, data.note)
    session.flush()
    return e


def report_outcome(session: Session, actor: Actor, engagement_id: int, data: OutcomeIn) -> Engagement:
    """The enterprise reports cost, measurable effect and satisfaction (flows.report_outcome also shares it
    as a case when asked)."""
    e = get_engagement(session, actor, engagement_id)
    if side_of(actor, e) not in ("enterprise", "centre"):
        raise NotFound(N_("Engagement not found."))
    if e.state != S.DELIVERED:
        raise WrongState(N_("Outcomes are reported after delivery."), state=e.state)
    e.outcome = {"cost_fen": data.cost_fen, "effect": data.effect, "satisfaction": data.satisfaction}
    _move(session, actor, e, S.EVALUATED, data.effect)
    session.flush()
    return e


def history(session: Session, actor: Actor, engagement_id: int) -> list[EngagementEvent]:
    return list(get_engagement(session, actor, engagement_id).events)


def event_authors(session: Session, e: Engagement) -> dict[int, str]:
    """Display names of the people who moved a (visible) engagement: the "who" of its history."""
    wanted = {ev.user_id for ev in e.events if ev.user_id is not None}
    if not wanted:
        return {}
    return {u.id: u.display_name for u in session.scalars(select(User).where(User.id.in_(wanted)))}


# --- dashboards -------------------------------------------------------------------------------


def pipeline_query(actor: Actor, *, state: EngagementState | None = None) -> Select[Engagement]:
    """The engagements of the needs a consultant wrote (in one state, if given), the latest change first:
    a select, so the API pages it in SQL."""
    actor.require(Permission.NEED_WRITE_ANY)
    query = select(Engagement).join(Need, Need.id == Engagement.need_id).where(Need.author_id == actor.user_id)
    if state is not None:
        query = query.where(Engagement.state == state)
    return query.order_by(Engagement.updated_at.desc(), Engagement.id.desc())


def pipeline(session: Session, actor: Actor) -> dict[str, list[Engagement]]:
    """A consultant's board: the engagements of the needs they wrote, by state."""
    board: dict[str, list[Engagement]] = {str(s): [] for s in EngagementState}
    for e in session.scalars(pipeline_query(actor)):
        board[e.state].append(e)
    return board


def funnel(session: Session, actor: Actor) -> dict:
    """Operators' figures. The funnel starts at the matched needs (needs whose list holds at least one
    match) and counts each need once per stage: the furthest any of its engagements reached. Also:
    realised (contract signed or later) vs matched, days per stage, realised share by scenario and
    industry (per engagement)."""
    actor.require(Permission.ENGAGEMENT_READ_ANY)
    rows = list(session.scalars(select(Engagement).options(selectinload(Engagement.events))).unique())
    snapshots = session.execute(select(Need.id, Need.snapshot)).all()
    matched = {need_id for need_id, snap in snapshots if snap and snap.get("matches")}
    furthest_of: dict[int, int] = {}
    durations: dict[str, list[float]] = defaultdict(list)
    by_scenario: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_industry: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for e in rows:
        states = [ev.to_state for ev in e.events if ev.to_state in set(PIPELINE)]
        furthest = max((PIPELINE.index(S(s)) for s in states), default=-1)
        if furthest >= 0:
            furthest_of[e.need_id] = max(furthest_of.get(e.need_id, -1), furthest)
        matched.add(e.need_id)  # an engagement on a need is a match, whatever its list says now
        for a, b in zip(e.events, e.events[1:], strict=False):
            durations[a.to_state].append((b.at - a.at).total_seconds() / 86400)
        realised = int(furthest >= 0 and PIPELINE[furthest] in REALISED)
        for key, table in (
            (e.need.scenarios[0] if e.need.scenarios else "-", by_scenario),
            (e.need.industry or "-", by_industry),
        ):
            table[key][0] += 1
            table[key][1] += realised
    reached = Counter(str(s) for f in furthest_of.values() for s in PIPELINE[: f + 1])
    realised_needs = reached[str(S.CONTRACT_SIGNED)]
    return {
        "stages": [{"state": "matched", "count": len(matched)}]
        + [{"state": str(s), "count": reached[str(s)]} for s in PIPELINE],
        "matched": len(matched),
        "realised": realised_needs,
        "closed": sum(1 for e in rows if e.state == S.CLOSED),
        "days_per_stage": {s: round(mean(v), 1) for s, v in durations.items() if s != S.CLOSED},
        "by_scenario": {k: {"engagements": v[0], "realised": v[1]} for k, v in sorted(by_scenario.items())},
        "by_industry": {k: {"engagements": v[0], "realised": v[1]} for k, v in sorted(by_industry.items())},
    }
