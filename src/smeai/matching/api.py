"""/api/v1: needs, matches, engagements, challenges and proposals, the module menu."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from smeai.auth.deps import CurrentActor
from smeai.db import DbSession
from smeai.inputs import RecordId
from smeai.matching import challenges, engagements, flows, menu, service
from smeai.matching.schemas import (
    MAX_NEEDS_PER_CALL,
    MAX_TOP,
    ChallengeIn,
    ChallengeOut,
    ChallengeStatus,
    EngagementEventOut,
    EngagementOut,
    EngagementState,
    InterestIn,
    MatchOut,
    ModuleIn,
    ModuleOut,
    NeedIn,
    NeedOut,
    NeedRecord,
    NeedStatus,
    OutcomeIn,
    PackageIn,
    PackageOut,
    ProposalIn,
    ProposalOut,
    ResponseIn,
    ShortlistOut,
    TransitionIn,
)
from smeai.web.paging import Page, PageParams, Paging, page_of, page_select

router = APIRouter(prefix="/api/v1", tags=["matching"])
Top = Annotated[int, Query(ge=1, le=MAX_TOP, description="How many offerings per need.")]
Needs = Annotated[
    list[NeedRecord], Body(max_length=MAX_NEEDS_PER_CALL, description=f"At most {MAX_NEEDS_PER_CALL} needs per call.")
]


class RankedOut(MatchOut):
    name: str
    provider: str


@router.post("/match", summary="Match interchange needs against the published pool (smeai match)")
def match(needs: Needs, session: DbSession, actor: CurrentActor, top: Top = 10) -> list[list[MatchOut]]:
    return [[MatchOut(**m.as_dict()) for m in ms] for ms in service.match_records(session, needs, top=top)]


@router.get("/needs", summary="Needs the caller may see")
def list_needs(
    session: DbSession, actor: CurrentActor, paging: PageParams, status: NeedStatus | None = None
) -> Page[NeedOut]:
    return page_of(service.list_needs(session, actor, status=status), paging, NeedOut.model_validate)


@router.post("/needs", status_code=201, summary="Describe a need; structure detected, top matches recommended")
def create_need(data: NeedIn, session: DbSession, actor: CurrentActor) -> NeedOut:
    need = service.create_need(session, actor, data)
    engagements.recommend(session, actor, need.id)  # the funnel's first stage
    session.commit()
    return NeedOut.model_validate(need)


@router.get("/needs/{need_id}", summary="One need")
def read_need(need_id: RecordId, session: DbSession, actor: CurrentActor) -> NeedOut:
    return NeedOut.model_validate(service.get_need(session, actor, need_id))


@router.put("/needs/{need_id}", summary="Edit a need (and confirm its scenarios)")
def update_need(need_id: RecordId, data: NeedIn, session: DbSession, actor: CurrentActor) -> NeedOut:
    need = service.update_need(session, actor, need_id, data)
    session.commit()
    return NeedOut.model_validate(need)


@router.get("/needs/{need_id}/matches", summary="Ranked offerings for a need, with reasons")
def need_matches(need_id: RecordId, session: DbSession, actor: CurrentActor, top: Top = 10) -> Page[RankedOut]:
    ranked = service.match_need(session, actor, need_id, top=top)
    return page_of(
        ranked, Paging(limit=top), lambda r: RankedOut(**r[0].as_dict(), name=r[1].name, provider=r[1].provider.name)
    )


@router.post("/needs/{need_id}/recommendations", summary="Record the current top matches as recommendations")
def recommend(need_id: RecordId, session: DbSession, actor: CurrentActor, top: Top = 10) -> Page[EngagementOut]:
    rows = engagements.recommend(session, actor, need_id, top=top)
    session.commit()
    return page_of(rows, Paging(limit=top), EngagementOut.model_validate)


@router.post("/needs/{need_id}/interest", status_code=201, summary="Show interest in an offering (notifies it)")
def express_interest(need_id: RecordId, data: InterestIn, session: DbSession, actor: CurrentActor) -> EngagementOut:
    e = engagements.express_interest(session, actor, need_id, data.offering_id, note=data.note)
    session.commit()
    return EngagementOut.model_validate(e)


@router.get("/engagements", summary="Engagements on the caller's side")
def list_engagements(
    session: DbSession,
    actor: CurrentActor,
    paging: PageParams,
    need_id: RecordId | None = None,
    state: EngagementState | None = None,
) -> Page[EngagementOut]:
    query = engagements.engagements_query(actor, need_id=need_id, state=state)
    return page_select(session, query, paging, EngagementOut.model_validate)


@router.get("/engagements/{engagement_id}", summary="One engagement")
def read_engagement(engagement_id: RecordId, session: DbSession, actor: CurrentActor) -> EngagementOut:
    return EngagementOut.model_validate(engagements.get_engagement(session, actor, engagement_id))


@router.get("/engagements/{engagement_id}/events", summary="Who moved an engagement, when, with what note")
def engagement_events(
    engagement_id: RecordId, session: DbSession, actor: CurrentActor, paging: PageParams
) -> Page[EngagementEventOut]:
    return page_of(engagements.history(session, actor, engagement_id), paging, EngagementEventOut.model_validate)


@router.post("/engagements/{engagement_id}/response", summary="The provider accepts or declines an interest")
def respond(engagement_id: RecordId, data: ResponseIn, session: DbSession, actor: CurrentActor) -> EngagementOut:
    e = engagements.respond(session, actor, engagement_id, data)
    session.commit()
    return EngagementOut.model_validate(e)


@router.post("/engagements/{engagement_id}/transitions", summary="Move an engagement one step, or close it")
def advance(engagement_id: RecordId, data: TransitionIn, session: DbSession, actor: CurrentActor) -> EngagementOut:
    e = engagements.advance(session, actor, engagement_id, data)
    session.commit()
    return EngagementOut.model_validate(e)


@router.post("/engagements/{engagement_id}/outcome", summary="Report cost, effect and satisfaction")
def report_outcome(engagement_id: RecordId, data: OutcomeIn, session: DbSession, actor: CurrentActor) -> EngagementOut:
    e = flows.report_outcome(session, actor, engagement_id, data)
    session.commit()
    return EngagementOut.model_validate(e)


@router.get("/matching/funnel", summary="Funnel figures: recommended vs realised, days per stage")
def funnel(session: DbSession, actor: CurrentActor) -> dict:
    return engagements.funnel(session, actor)


@router.get("/matching/pipeline", summary="A consultant's engagements (of the needs they wrote), latest change first")
def pipeline(
    session: DbSession, actor: CurrentActor, paging: PageParams, state: EngagementState | None = None
) -> Page[EngagementOut]:
    query = engagements.pipeline_query(actor, state=state)
    return page_select(session, query, paging, EngagementOut.model_validate)


@router.get("/challenges", summary="Challenges the caller may see (open ones, and its own)")
def list_challenges(
    session: DbSession, actor: CurrentActor, paging: PageParams, status: ChallengeStatus | None = None
) -> Page[ChallengeOut]:
    rows = challenges.list_challenges(session, actor, status=status)
    return page_of(rows, paging, ChallengeOut.model_validate)


@router.post("/challenges", status_code=201, summary="Publish a challenge (发榜)")
def publish_challenge(data: ChallengeIn, session: DbSession, actor: CurrentActor) -> ChallengeOut:
    c = challenges.publish_challenge(session, actor, data)
    session.commit()
    return ChallengeOut.model_validate(c)


@router.get("/challenges/{challenge_id}", summary="One challenge")
def read_challenge(challenge_id: RecordId, session: DbSession, actor: CurrentActor) -> ChallengeOut:
    return ChallengeOut.model_validate(challenges.get_challenge(session, actor, challenge_id))


@router.get("/challenges/{challenge_id}/proposals", summary="Proposals the caller may see on a challenge")
def list_proposals(
    challenge_id: RecordId, session: DbSession, actor: CurrentActor, paging: PageParams
) -> Page[ProposalOut]:
    return page_of(challenges.list_proposals(session, actor, challenge_id), paging, ProposalOut.model_validate)


@router.post("/challenges/{challenge_id}/proposals", status_code=201, summary="Submit a proposal (揭榜)")
def submit_proposal(challenge_id: RecordId, data: ProposalIn, session: DbSession, actor: CurrentActor) -> ProposalOut:
    p = challenges.submit_proposal(session, actor, challenge_id, data)
    session.commit()
    return ProposalOut.model_validate(p)


@router.post("/proposals/{proposal_id}/shortlist", summary="Shortlist a proposal on one's own challenge")
def shortlist(proposal_id: RecordId, session: DbSession, actor: CurrentActor) -> ProposalOut:
    p = challenges.shortlist_proposal(session, actor, proposal_id)
    session.commit()
    return ProposalOut.model_validate(p)


@router.post("/proposals/{proposal_id}/award", summary="Award a proposal; opens an engagement")
def award(proposal_id: RecordId, session: DbSession, actor: CurrentActor) -> ProposalOut:
    p = challenges.award_proposal(session, actor, proposal_id)
    session.commit()
    return ProposalOut.model_validate(p)


@router.get("/modules", summary="The module menu: priced modules of published offerings")
def list_modules(session: DbSession, actor: CurrentActor, paging: PageParams) -> Page[ModuleOut]:
    return page_of(menu.list_menu(session), paging, lambda row: ModuleOut.model_validate(row[0]))


@router.post("/modules", status_code=201, summary="Offer a module of one's own offering")
def add_module(data: ModuleIn, session: DbSession, actor: CurrentActor) -> ModuleOut:
    m = menu.add_module(session, actor, data)
    session.commit()
    return ModuleOut.model_validate(m)


@router.delete("/modules/{module_id}", status_code=204, summary="Withdraw a module")
def delete_module(module_id: RecordId, session: DbSession, actor: CurrentActor) -> None:
    menu.delete_module(session, actor, module_id)
    session.commit()


@router.post("/packages/quote", summary="Total and tiered plan of a package of modules")
def quote(data: PackageIn, session: DbSession, actor: CurrentActor) -> PackageOut:
    return menu.compose_package(session, actor, data)


@router.post("/packages", status_code=201, summary="Send a package as a need")
def send_package(data: Annotated[PackageIn, Body()], session: DbSession, actor: CurrentActor) -> NeedOut:
    need = menu.send_package(session, actor, data)
    session.commit()
    return NeedOut.model_validate(need)


# --- a need's list as its page shows it, fields confirmed, a consultant's introduction (issue 12) ---


@router.get("/needs/{need_id}/shortlist", summary="A need's list as its page shows it (floor, near misses)")
def need_shortlist(need_id: RecordId, session: DbSession, actor: CurrentActor) -> ShortlistOut:
    shortlist = service.shortlist_out(session, actor, need_id)
    session.commit()  # a recomputed snapshot is kept
    return shortlist


@router.post("/needs/{need_id}/fields/confirmation", summary="Confirm the fields read from the need's words")
def confirm_need_fields(need_id: RecordId, session: DbSession, actor: CurrentActor) -> NeedOut:
    need = service.confirm_fields(session, actor, need_id)
    session.commit()
    return NeedOut.model_validate(need)


@router.post("/needs/{need_id}/introductions", status_code=201, summary="A consultant introduces an offering")
def introduce(need_id: RecordId, data: InterestIn, session: DbSession, actor: CurrentActor) -> EngagementOut:
    e = engagements.introduce(session, actor, need_id, data.offering_id, note=data.note)
    session.commit()
    return EngagementOut.model_validate(e)
