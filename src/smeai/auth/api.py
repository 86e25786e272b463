"""/api/v1: the caller, API tokens, organisation profiles."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse

from smeai.auth import account, members, registration, service
from smeai.auth.deps import (
    DEVICE_COOKIE,
    CurrentActor,
    RequestLinks,
    bearer_token,
    commit_and_mail,
    set_device_cookie,
)
from smeai.auth.schemas import (
    AcceptedOut,
    AcceptInvitationIn,
    ConsentIn,
    DeleteAccountIn,
    EmailChangeIn,
    EmailIn,
    InvitationIn,
    InvitationOut,
    JoinDecisionIn,
    LinkTokenIn,
    MemberOut,
    MemberRoleIn,
    MeOut,
    NotificationPrefsIn,
    OrganisationOut,
    PasswordChangeIn,
    PasswordResetIn,
    ProfileIn,
    RegisteredOut,
    RegisterIn,
    ReturnIn,
    RevokedOut,
    SessionOut,
    TokenIn,
    TokenInfoOut,
    TokenOut,
    UserOut,
    VerificationOut,
)
from smeai.config import app_settings, secret_key
from smeai.db import DbSession
from smeai.inputs import RecordId
from smeai.storage import storage_for
from smeai.web.client import client_address
from smeai.web.downloads import attachment
from smeai.web.limits import upload_route
from smeai.web.openapi import error_responses
from smeai.web.paging import Page, PageParams, page_of, page_select

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
    settings = app_settings(request)
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
    return page_select(session, service.organisations_query(actor), paging, OrganisationOut.model_validate)


@router.get("/organisations/{org_id}", summary="One organisation and its profile")
def read_organisation(org_id: RecordId, session: DbSession, actor: CurrentActor) -> OrganisationOut:
    return OrganisationOut.model_validate(service.get_organisation(session, actor, org_id))


@router.put("/organisations/{org_id}/profile", summary="Fill in or change an organisation's profile")
def update_profile(org_id: RecordId, data: ProfileIn, session: DbSession, actor: CurrentActor) -> OrganisationOut:
    org = service.update_profile(session, actor, org_id, data)
    session.commit()
    return OrganisationOut.model_validate(org)


# --- self-registration, address verification, password reset ---------------------------------


@router.post(
    "/auth/register",
    status_code=201,
    summary="Register an account and its organisation (emails a verification link)",
    responses=error_responses(409, 429),  # the email is taken; too many registrations from one address
)
def register(data: RegisterIn, request: Request, session: DbSession, links: RequestLinks) -> RegisteredOut:
    settings = app_settings(request)
    user, status = registration.register(
        session, links, data, address=client_address(request), max_per_hour=settings.register_max_per_hour
    )
    commit_and_mail(request, session)
    return RegisteredOut(user_id=user.id, email=user.email, organisation_id=user.org_id, status=status)


@router.post("/auth/verify-email", summary="Verify an email address with the token from the emailed link")
def verify_email(data: LinkTokenIn, request: Request, session: DbSession) -> UserOut:
    user = registration.verify_email(session, secret_key(app_settings(request)), data.token)
    session.commit()
    return UserOut.model_validate(user)


@router.post(
    "/auth/verification",
    status_code=202,
    summary="Email the verification link again (the same answer for any address)",
)
def resend_verification(data: EmailIn, request: Request, session: DbSession, links: RequestLinks) -> AcceptedOut:
    limit = app_settings(request).register_max_per_hour
    registration.resend_verification(session, links, data.email, max_per_hour=limit)
    commit_and_mail(request, session)
    return AcceptedOut(detail="If the account exists and is not verified yet, a link is on its way.")


@router.post(
    "/auth/password-reset",
    status_code=202,
    summary="Email a password-reset link (the same answer whether or not the account exists)",
)
def request_password_reset(data: EmailIn, request: Request, session: DbSession, links: RequestLinks) -> AcceptedOut:
    limit = app_settings(request).register_max_per_hour
    registration.request_password_reset(session, links, data.email, max_per_hour=limit)
    commit_and_mail(request, session)
    return AcceptedOut(detail="If an account has this address, a reset link is on its way.")


@router.post(
    "/auth/password-reset/confirm",
    summary="Set a new password with the emailed token; every session and API token of the user ends",
)
def confirm_password_reset(data: PasswordResetIn, request: Request, session: DbSession) -> AcceptedOut:
    registration.reset_password(session, secret_key(app_settings(request)), data.token, data.password)
    session.commit()
    return AcceptedOut(detail="Password changed. Every session and API token of the account has ended.")


@router.post("/auth/email-change/confirm", summary="Confirm a new email address with the emailed token")
def confirm_email_change(data: LinkTokenIn, request: Request, session: DbSession) -> UserOut:
    user = registration.confirm_email_change(session, secret_key(app_settings(request)), data.token)
    session.commit()
    return UserOut.model_validate(user)


@router.get("/privacy-notice", summary="The current privacy notice and its version")
def privacy_notice() -> dict[str, str]:
    return registration.privacy_notice()


# --- the caller's own account ----------------------------------------------------------------


@router.post("/me/password", summary="Change the caller's password; the caller's other sessions and tokens end")
def change_password(data: PasswordChangeIn, request: Request, session: DbSession, actor: CurrentActor) -> RevokedOut:
    keep = getattr(request.state, "token_id", None) or getattr(request.state, "session_id", None)
    revoked = registration.change_password(session, actor, data.current_password, data.new_password, keep_token=keep)
    session.commit()
    return RevokedOut(revoked=revoked)


@router.post("/me/email", status_code=202, summary="Change the caller's email: a link to confirm goes to the new one")
def change_email(
    data: EmailChangeIn, request: Request, session: DbSession, actor: CurrentActor, links: RequestLinks
) -> AcceptedOut:
    registration.request_email_change(session, actor, links, str(data.email), data.password)
    commit_and_mail(request, session)
    return AcceptedOut(detail="A confirmation link is on its way to the new address.")


@router.get("/auth/sessions", summary="The caller's live login sessions (never their secrets)")
def list_sessions(request: Request, session: DbSession, actor: CurrentActor, paging: PageParams) -> Page[SessionOut]:
    current = getattr(request.state, "session_id", None)
    rows = account.list_sessions(session, actor)
    return page_of(rows, paging, lambda t: SessionOut.model_validate(t).model_copy(update={"current": t.id == current}))


@router.delete("/auth/sessions/{session_id}", status_code=204, summary="End one of the caller's login sessions")
def revoke_session(session_id: RecordId, session: DbSession, actor: CurrentActor) -> None:
    account.revoke_session(session, actor, session_id)
    session.commit()


@router.post("/me/consent", summary="Consent to the current privacy notice")
def give_consent(data: ConsentIn, session: DbSession, actor: CurrentActor) -> UserOut:
    user = account.consent(session, actor, data.privacy_version)
    session.commit()
    return UserOut.model_validate(user)


@router.put("/me/notifications", summary="Notification categories the caller does not want by email")
def set_notifications(data: NotificationPrefsIn, session: DbSession, actor: CurrentActor) -> NotificationPrefsIn:
    user = account.set_notifications_off(session, actor, list(data.off))
    session.commit()
    return NotificationPrefsIn.model_validate({"off": user.mail_optout or []})


@router.get("/me/data", summary="The caller's personal data as JSON (a download)")
def export_personal_data(session: DbSession, actor: CurrentActor) -> JSONResponse:
    data = account.export_personal_data(session, actor)
    return JSONResponse(data, headers={"Content-Disposition": 'attachment; filename="smeai-personal-data.json"'})


@router.post(
    "/me/deletion",
    status_code=204,
    summary="Delete the caller's account: personal data erased, the organisation's records kept",
)
def delete_account(data: DeleteAccountIn, session: DbSession, actor: CurrentActor) -> None:
    account.delete_account(session, actor, data.password)
    session.commit()


# --- organisation members and invitations ----------------------------------------------------


@router.get("/organisation/members", summary="The caller's organisation's members (its admins)")
def list_members(session: DbSession, actor: CurrentActor, paging: PageParams) -> Page[MemberOut]:
    return page_of(members.list_members(session, actor), paging, MemberOut.model_validate)


@router.put("/organisation/members/{user_id}", summary="Set a member's role within the organisation")
def set_member_role(user_id: RecordId, data: MemberRoleIn, session: DbSession, actor: CurrentActor) -> MemberOut:
    user = members.set_org_role(session, actor, user_id, data.org_role)
    session.commit()
    return MemberOut.model_validate(user)


@router.delete("/organisation/members/{user_id}", status_code=204, summary="Remove a member from the organisation")
def remove_member(user_id: RecordId, session: DbSession, actor: CurrentActor) -> None:
    members.remove_member(session, actor, user_id)
    session.commit()


@router.post(
    "/organisation/members/{user_id}/decision",
    summary="Accept or refuse a person who registered with the organisation's credit code",
)
def decide_join(
    user_id: RecordId,
    data: JoinDecisionIn,
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    links: RequestLinks,
) -> MemberOut:
    user = members.decide_join(session, actor, links, user_id, accept=data.accept)
    commit_and_mail(request, session)
    return MemberOut.model_validate(user)


@router.get("/organisation/invitations", summary="The organisation's open invitations")
def list_invitations(session: DbSession, actor: CurrentActor, paging: PageParams) -> Page[InvitationOut]:
    return page_of(members.list_invitations(session, actor), paging, InvitationOut.model_validate)


@router.post(
    "/organisation/invitations",
    status_code=201,
    summary="Invite a colleague by email",
    responses=error_responses(409),
)
def invite(
    data: InvitationIn, request: Request, session: DbSession, actor: CurrentActor, links: RequestLinks
) -> InvitationOut:
    invitation = members.invite(session, actor, links, str(data.email), data.org_role)
    commit_and_mail(request, session)
    return InvitationOut.model_validate(invitation)


@router.delete("/organisation/invitations/{invitation_id}", status_code=204, summary="Withdraw an invitation")
def revoke_invitation(invitation_id: RecordId, session: DbSession, actor: CurrentActor) -> None:
    members.revoke_invitation(session, actor, invitation_id)
    session.commit()


@router.post(
    "/invitations/accept",
    status_code=201,
    summary="Accept an emailed invitation: a new account in the inviting organisation",
    responses=error_responses(409),
)
def accept_invitation(data: AcceptInvitationIn, session: DbSession) -> UserOut:
    user = members.accept_invitation(session, data.token, name=data.name, password=data.password)
    session.commit()
    return UserOut.model_validate(user)


# --- organisation verification ---------------------------------------------------------------


@router.get("/verification-queue", summary="Organisations waiting for verification (centre)")
def verification_queue(
    session: DbSession,
    actor: CurrentActor,
    paging: PageParams,
    state: Annotated[Literal["pending", "returned", "verified"], Query()] = "pending",
) -> Page[VerificationOut]:
    query = registration.verification_query(actor, state=state)
    return page_select(session, query, paging, VerificationOut.model_validate)


@router.post("/organisations/{org_id}/verification", summary="Verify an organisation (centre)")
def approve_organisation(
    org_id: RecordId, request: Request, session: DbSession, actor: CurrentActor, links: RequestLinks
) -> VerificationOut:
    org = registration.organisation_for_review(session, actor, org_id)
    registration.approve_organisation(session, actor, links, org)
    commit_and_mail(request, session)
    return VerificationOut.model_validate(org)


@router.post("/organisations/{org_id}/verification/return", summary="Return an organisation with a reason (centre)")
def return_organisation(
    org_id: RecordId,
    data: ReturnIn,
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    links: RequestLinks,
) -> VerificationOut:
    org = registration.organisation_for_review(session, actor, org_id)
    registration.return_organisation(session, actor, links, org, data.reason)
    commit_and_mail(request, session)
    return VerificationOut.model_validate(org)


@router.post("/organisation/licence", summary="Upload the caller's organisation's business licence (营业执照)")
@upload_route
async def upload_licence(
    request: Request, session: DbSession, actor: CurrentActor, file: Annotated[UploadFile, File()]
) -> VerificationOut:
    content = await file.read()
    org = registration.upload_licence(session, actor, storage_for(app_settings(request)), content)
    session.commit()
    return VerificationOut.model_validate(org)


@router.get("/organisations/{org_id}/licence", summary="An organisation's business licence file")
def read_licence(org_id: RecordId, request: Request, session: DbSession, actor: CurrentActor) -> Response:
    name, body = registration.licence_file(session, actor, storage_for(app_settings(request)), org_id)
    return Response(body, media_type=registration.licence_type(name), headers=attachment(name))
