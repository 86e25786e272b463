"""Scenario lists (场景清单): a government department or a lead firm publishes open scenarios; providers
respond as to a challenge (揭榜); the publisher shortlists, selects one provider per scenario and records
the validation's result. The list, its scenarios and their outcomes are public; a response is seen by its
provider, the list's publisher and the centre's operators, never by competing providers.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from smeai.auth import audit
from smeai.auth.actor import Actor
from smeai.auth.models import Organisation
from smeai.auth.permissions import OrgKind, Permission
from smeai.calls.models import Scenario, ScenarioList, ScenarioResponse
from smeai.calls.schemas import OutcomeIn, ResponseIn, ResponseStatus, ScenarioListIn, ScenarioStatus
from smeai.db import utcnow
from smeai.errors import Conflict, Forbidden, Invalid, NotFound
from smeai.i18n import N_

R, SS = ResponseStatus, ScenarioStatus


class ScenarioClosed(Conflict):
    """The scenario no longer takes responses or decisions (deadline passed, or already decided)."""

    code = "scenario_closed"


def may_publish(session: Session, actor: Actor | None) -> bool:
    """A government department (its analysts) or a lead firm (龙头企业: an enterprise whose profile says
    large) may publish; the permission alone is not enough, since every enterprise member holds it."""
    if actor is None or not actor.can(Permission.SCENARIO_PUBLISH) or actor.org_id is None:
        return False
    if actor.org_kind is OrgKind.GOVERNMENT:
        return True
    org = session.get(Organisation, actor.org_id)
    return actor.org_kind is OrgKind.ENTERPRISE and org is not None and org.size_class == "large"


def require_publisher(session: Session, actor: Actor) -> None:
    if not may_publish(session, actor):
        raise Forbidden(N_("Only a government department or a lead firm publishes scenario lists."))


def publish_list(session: Session, actor: Actor, data: ScenarioListIn, *, today: date | None = None) -> ScenarioList:
    require_publisher(session, actor)
    today = today or utcnow().date()
    if data.deadline_on < today:
        raise Invalid(N_("The deadline has passed."), fields={"deadline_on": "in the past"})
    listing = ScenarioList(
        org_id=actor.org_id,
        author_id=actor.user_id,
        title=data.title,
        summary=data.summary,
        province_code=data.province_code,
        deadline_on=data.deadline_on,
        published_at=utcnow(),
        scenarios=[Scenario(status=str(SS.OPEN), **s.model_dump()) for s in data.scenarios],
    )
    session.add(listing)
    session.flush()
    return listing


def list_lists(session: Session) -> list[ScenarioList]:
    """Every published list, newest first: lists are public."""
    return list(
        session.scalars(select(ScenarioList).order_by(ScenarioList.published_at.desc(), ScenarioList.id.desc()))
    )


def own_lists(session: Session, actor: Actor) -> list[ScenarioList]:
    if actor.org_id is None or not actor.can(Permission.SCENARIO_PUBLISH):
        return []
    query = select(ScenarioList).where(ScenarioList.org_id == actor.org_id).order_by(ScenarioList.id.desc())
    return list(session.scalars(query))


def get_list(session: Session, list_id: int) -> ScenarioList:
    found = session.get(ScenarioList, list_id)
    if found is None:
        raise NotFound(N_("Scenario list not found."))
    return found


def get_scenario(session: Session, scenario_id: int) -> Scenario:
    found = session.get(Scenario, scenario_id)
    if found is None:
        raise NotFound(N_("Scenario not found."))
    return found


def is_publisher(actor: Actor | None, listing: ScenarioList) -> bool:
    return actor is not None and actor.org_id == listing.org_id and actor.can(Permission.SCENARIO_PUBLISH)


def open_for_responses(scenario: Scenario, today: date | None = None) -> bool:
    today = today or utcnow().date()
    return scenario.status == SS.OPEN and scenario.scenario_list.deadline_on >= today


def visible_responses(actor: Actor | None) -> ColumnElement[bool]:
    """The centre sees every response; a provider its own; a publisher those to its lists."""
    if actor is None:
        return false()
    if actor.can(Permission.ORG_READ_ANY):
        return true()
    if actor.org_id is None:
        return false()
    published = select(Scenario.id).join(ScenarioList).where(ScenarioList.org_id == actor.org_id)
    return or_(ScenarioResponse.org_id == actor.org_id, ScenarioResponse.scenario_id.in_(published))


def responses_by_scenario(session: Session, actor: Actor | None, listing: ScenarioList) -> dict[int, list]:
    ids = [s.id for s in listing.scenarios]
    query = select(ScenarioResponse).where(ScenarioResponse.scenario_id.in_(ids), visible_responses(actor))
    out: dict[int, list] = {i: [] for i in ids}
    for r in session.scalars(query.order_by(ScenarioResponse.id)):
        out[r.scenario_id].append(r)
    return out


def own_responses(session: Session, actor: Actor) -> list[ScenarioResponse]:
    if actor.org_id is None or not actor.can(Permission.PROPOSAL_SUBMIT):
        return []
    query = select(ScenarioResponse).where(ScenarioResponse.org_id == actor.org_id)
    return list(session.scalars(query.order_by(ScenarioResponse.id.desc())))


def respond(
    session: Session, actor: Actor, scenario_id: int, data: ResponseIn, *, today: date | None = None
) -> ScenarioResponse:
    """揭榜: a provider answers an open scenario, once."""
    actor.require(Permission.PROPOSAL_SUBMIT)
    scenario = get_scenario(session, scenario_id)
    if not open_for_responses(scenario, today):
        raise ScenarioClosed(N_("This scenario no longer takes responses."))
    taken = select(ScenarioResponse.id).where(
        ScenarioResponse.scenario_id == scenario.id, ScenarioResponse.org_id == actor.org_id
    )
    if session.scalar(taken) is not None:  # the unique key is the wall; this names the reason
        raise Conflict(N_("Your organisation has already responded to this scenario."))
    response = ScenarioResponse(
        scenario_id=scenario.id,
        org_id=actor.org_id,
        author_id=actor.user_id,
        approach=data.approach,
        status=str(R.SUBMITTED),
        created_at=utcnow(),
    )
    session.add(response)
    session.flush()
    return response


def get_response(session: Session, actor: Actor, response_id: int) -> ScenarioResponse:
    response = session.scalar(
        select(ScenarioResponse).where(ScenarioResponse.id == response_id, visible_responses(actor))
    )
    if response is None:
        raise NotFound(N_("Response not found."))
    return response


def _publishers_response(session: Session, actor: Actor, response_id: int) -> tuple[ScenarioResponse, Scenario]:
    response = get_response(session, actor, response_id)
    scenario = response.scenario
    if not is_publisher(actor, scenario.scenario_list):  # the centre reads, the publisher decides
        raise NotFound(N_("Response not found."))
    return response, scenario


def shortlist(session: Session, actor: Actor, response_id: int) -> ScenarioResponse:
    response, scenario = _publishers_response(session, actor, response_id)
    if scenario.status != SS.OPEN or response.status != R.SUBMITTED:
        raise ScenarioClosed(N_("Only a submitted response to an open scenario can be shortlisted."))
    response.status = str(R.SHORTLISTED)
    session.flush()
    return response


def select_response(session: Session, actor: Actor, response_id: int) -> Scenario:
    """The publisher chooses the provider who validates the scenario; the other responses are declined."""
    response, scenario = _publishers_response(session, actor, response_id)
    if scenario.status != SS.OPEN:
        raise ScenarioClosed(N_("This scenario is already decided."))
    for other in session.scalars(select(ScenarioResponse).where(ScenarioResponse.scenario_id == scenario.id)):
        other.status = str(R.SELECTED if other.id == response.id else R.DECLINED)
    scenario.status = str(SS.SELECTED)
    scenario.selected_response_id, scenario.selected_org_id = response.id, response.org_id
    scenario.decided_at = utcnow()
    session.flush()
    audit.record(session, actor, "scenario.select", scenario, {"status": "open"}, {"status": scenario.status})
    return scenario


def record_result(session: Session, actor: Actor, scenario_id: int, data: OutcomeIn) -> Scenario:
    """The validation's result, shown on the list's public page."""
    scenario = get_scenario(session, scenario_id)
    if not is_publisher(actor, scenario.scenario_list):
        raise NotFound(N_("Scenario not found."))
    if scenario.status not in (SS.SELECTED, SS.VALIDATED):
        raise ScenarioClosed(N_("Select a provider before recording the result."))
    scenario.result, scenario.status = data.result, str(SS.VALIDATED)
    session.flush()
    return scenario
