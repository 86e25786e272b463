"""/api/v1: the caller, API tokens, organisation profiles."""

from __future__ import annotations

from fastapi import APIRouter, Request

from smeai.auth import service
from smeai.auth.deps import CurrentActor, bearer_token
from smeai.auth.schemas import MeOut, OrganisationOut, ProfileIn, TokenIn, TokenOut, UserOut
from smeai.db import DbSession

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.get("/me", summary="The caller: user, roles, permissions and organisation")
def read_me(session: DbSession, actor: CurrentActor) -> MeOut:
    user, org = service.me(session, actor)
    return MeOut(
        user=UserOut.model_validate(user),
        roles=sorted(actor.roles),
        permissions=sorted(actor.permissions),
        organisation=OrganisationOut.model_validate(org),
    )


@router.post("/auth/token", status_code=201, summary="Exchange email and password for an API token")
def create_token(data: TokenIn, request: Request, session: DbSession) -> TokenOut:
    address = request.client.host if request.client else "unknown"
    secret, expires_at = service.login(
        session,
        request.app.state.settings,
        email=data.email,
        password=data.password,
        address=address,
        kind="api",
        label=data.label,
    )
    session.commit()
    return TokenOut(token=secret, expires_at=expires_at)


@router.delete("/auth/token", status_code=204, summary="Revoke the bearer token this request carries")
def revoke_token(request: Request, session: DbSession, actor: CurrentActor) -> None:
    service.revoke_token(session, bearer_token(request) or "")
    session.commit()


@router.get("/organisations", summary="Organisations the caller may see")
def list_organisations(session: DbSession, actor: CurrentActor) -> list[OrganisationOut]:
    return [OrganisationOut.model_validate(o) for o in service.list_organisations(session, actor)]


@router.get("/organisations/{org_id}", summary="One organisation and its profile")
def read_organisation(org_id: int, session: DbSession, actor: CurrentActor) -> OrganisationOut:
    return OrganisationOut.model_validate(service.get_organisation(session, actor, org_id))


@router.put("/organisations/{org_id}/profile", summary="Fill in or change an organisation's profile")
def update_profile(org_id: int, data: ProfileIn, session: DbSession, actor: CurrentActor) -> OrganisationOut:
    org = service.update_profile(session, actor, org_id, data)
    session.commit()
    return OrganisationOut.model_validate(org)
