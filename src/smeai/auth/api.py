"""/api/v1: the caller, API tokens, organisation profiles."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from smeai.auth import service
from smeai.auth.deps import DEVICE_COOKIE, CurrentActor, bearer_token, set_device_cookie
from smeai.auth.schemas import (
    MeOut,
    OrganisationOut,
    ProfileIn,
    RevokedOut,
    TokenIn,
    TokenInfoOut,
    TokenOut,
    UserOut,
)
from smeai.db import DbSession
from smeai.inputs import RecordId
from smeai.web.client import client_address
from smeai.web.openapi import error_responses
from smeai.web.paging import Page, PageParams, page_of

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


@router.post(
    "/auth/token",
    status_code=201,
    summary="Exchange email and password for an API token",
    responses=error_responses(401, 429),  # a wrong password; too many of them
)
def create_token(data: TokenIn, request: Request, response: Response, session: DbSession) -> TokenOut:
    settings = request.app.state.settings
    done = service.login(
        session,
        settings,
        email=data.email,
        password=data.password,
        address=client_address(request),
        kind="api",
        label=data.label,
        device_cookie_value=request.cookies.get(DEVICE_COOKIE),
        scope=data.scope,
        days=data.days,
    )
    session.commit()
    set_device_cookie(response, settings, done.device_cookie)
    return TokenOut(
        id=done.token.id,
        token=done.secret,
        scope=done.token.scope,
        label=done.token.label,
        expires_at=done.token.expires_at,
    )


@router.delete("/auth/token", status_code=204, summary="Revoke the bearer token this request carries")
def revoke_token(request: Request, session: DbSession, actor: CurrentActor) -> None:
    service.revoke_token(session, bearer_token(request) or "")
    session.commit()


@router.get("/auth/tokens", summary="The caller's live API tokens (never their secrets)")
def list_tokens(request: Request, session: DbSession, actor: CurrentActor, paging: PageParams) -> Page[TokenInfoOut]:
    current = getattr(request.state, "token_id", None)
    tokens = service.list_api_tokens(session, actor)
    return page_of(
        tokens, paging, lambda t: TokenInfoOut.model_validate(t).model_copy(update={"current": t.id == current})
    )


@router.delete("/auth/tokens/{token_id}", status_code=204, summary="Revoke one of the caller's API tokens")
def revoke_one_token(token_id: RecordId, session: DbSession, actor: CurrentActor) -> None:
    service.revoke_api_token(session, actor, token_id)
    session.commit()


@router.delete("/auth/tokens", summary="Revoke every API token of the caller")
def revoke_all_tokens(session: DbSession, actor: CurrentActor) -> RevokedOut:
    revoked = service.revoke_api_tokens(session, actor)
    session.commit()
    return RevokedOut(revoked=revoked)


@router.get("/organisations", summary="Organisations the caller may see")
def list_organisations(session: DbSession, actor: CurrentActor, paging: PageParams) -> Page[OrganisationOut]:
    return page_of(service.list_organisations(session, actor), paging, OrganisationOut.model_validate)


@router.get("/organisations/{org_id}", summary="One organisation and its profile")
def read_organisation(org_id: RecordId, session: DbSession, actor: CurrentActor) -> OrganisationOut:
    return OrganisationOut.model_validate(service.get_organisation(session, actor, org_id))


@router.put("/organisations/{org_id}/profile", summary="Fill in or change an organisation's profile")
def update_profile(org_id: RecordId, data: ProfileIn, session: DbSession, actor: CurrentActor) -> OrganisationOut:
    org = service.update_profile(session, actor, org_id, data)
    session.commit()
    return OrganisationOut.model_validate(org)
