"""Pages for self-registration and one's own account: sign up, verify the address, forgotten password,
accept an invitation, the privacy notice, the account page (password, email, sessions, notifications,
personal data, deletion), the organisation page (verification, licence, members) and the centre's
verification queue. Included by auth/pages.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from smeai.auth import account, members, registration, service
from smeai.auth.actor import Actor
from smeai.auth.deps import SESSION_COOKIE, OptionalActor, PageActor, RequestLinks, commit_and_mail
from smeai.auth.links import LINK_INVALID
from smeai.auth.permissions import OrgKind, Permission
from smeai.auth.schemas import OrgRole, PasswordResetIn, RegisterIn
from smeai.config import app_settings, secret_key
from smeai.db import DbSession
from smeai.errors import SmeaiError, fields_from_validation, http_status
from smeai.i18n import N_, _
from smeai.inputs import RecordId
from smeai.storage import storage_for
from smeai.taxonomy import choices
from smeai.web.client import client_address
from smeai.web.csrf import csrf_protect
from smeai.web.downloads import attachment
from smeai.web.limits import upload_route
from smeai.web.render import render

router = APIRouter(include_in_schema=False)
CSRF = [Depends(csrf_protect)]
ORG_FIELDS = ("name", "credit_code", "kind", "province_code", "industry")
KIND_LABELS = {"enterprise": N_("Enterprise (seeking AI solutions)"), "provider": N_("Solution provider")}
STATE_LABELS = {"pending": N_("Waiting for the centre"), "verified": N_("Verified"), "returned": N_("Returned")}
ORG_ROLE_LABELS = {"admin": N_("Organisation administrator"), "member": N_("Member")}
CATEGORY_LABELS = {
    "verification": N_("Organisation verification"),
    "engagement": N_("Engagement steps"),
    "voucher": N_("Voucher decisions"),
    "review": N_("Review outcomes"),
}


def _industries() -> list[tuple[str, str]]:
    sections = [(code, name) for code, name in choices("sections") if code != "C"]
    divisions = [(f"C{code}", _("Manufacturing") + " · " + name) for code, name in choices("divisions")]
    return divisions + sections


def _form_errors(exc: Exception) -> tuple[dict[str, str], str]:
    if isinstance(exc, ValidationError):
        return fields_from_validation([dict(e) for e in exc.errors()]), _("Please correct the marked fields.")
    assert isinstance(exc, SmeaiError)
    fields = {k: exc.message for k in exc.fields} or {}
    return fields, _(exc.message)


# --- sign up ---------------------------------------------------------------------------------


def _register_page(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("values", {})
    context.setdefault("errors", {})
    return render(
        request,
        "auth/register.html",
        status,
        kinds=[(k, _(v)) for k, v in KIND_LABELS.items()],
        industries=_industries(),
        provinces=choices("provinces"),
        notice=registration.privacy_notice(),
        **context,
    )


@router.get("/register")
def register_form(request: Request, actor: OptionalActor) -> Response:
    if actor is not None:
        return RedirectResponse("/", status_code=303)
    return _register_page(request)


@router.post("/register", dependencies=CSRF)
async def register(request: Request, session: DbSession, links: RequestLinks) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    if form.get("consent") != "yes":
        errors = {"consent": N_("Please read and accept the privacy notice.")}
        return _register_page(request, 422, values=form, errors=errors)
    data = {
        "email": form.get("email", ""),
        "password": form.get("password", ""),
        "name": form.get("name", ""),
        "phone": form.get("phone") or None,
        "privacy_version": registration.privacy_version(),
        "organisation": {k: form.get(f"organisation.{k}", "") for k in ORG_FIELDS},
    }
    try:
        user, status = registration.register(
            session,
            links,
            RegisterIn.model_validate(data),
            address=client_address(request),
            max_per_hour=app_settings(request).register_max_per_hour,
        )
    except (ValidationError, SmeaiError) as exc:
        session.rollback()
        errors, message = _form_errors(exc)
        code = 429 if getattr(exc, "code", "") == "throttled" else 422
        return _register_page(request, code, values=form, errors=errors, messages=[("error", message)])
    commit_and_mail(request, session)
    return render(request, "auth/registered.html", email=user.email, joining=status == "join_requested")


@router.get("/verify-email")
def verify_email(request: Request, session: DbSession, token: str = "") -> HTMLResponse:
    try:
        user = registration.verify_email(session, secret_key(app_settings(request)), token)
    except SmeaiError:
        return render(request, "auth/link_result.html", 400, ok=False, text=_(LINK_INVALID), resend=True)
    session.commit()
    if user.membership != "active":
        text = _("Your email is verified. The organisation's administrator has been asked to accept you.")
    else:
        text = _("Your email is verified. You can log in now.")
    return render(request, "auth/link_result.html", ok=True, text=text, login=True)


@router.post("/verify-email/resend", dependencies=CSRF)
async def resend_verification(request: Request, session: DbSession, links: RequestLinks) -> HTMLResponse:
    form = await request.form()
    limit = app_settings(request).register_max_per_hour
    registration.resend_verification(session, links, str(form.get("email", ""))[:200], max_per_hour=limit)
    commit_and_mail(request, session)
    text = _("If the account exists and is not verified yet, a new link is on its way.")
    return render(request, "auth/link_result.html", ok=True, text=text)


# --- forgotten password ----------------------------------------------------------------------


@router.get("/forgot-password")
def forgot_password_form(request: Request) -> HTMLResponse:
    return render(request, "auth/forgot.html", sent=False)


@router.post("/forgot-password", dependencies=CSRF)
async def forgot_password(request: Request, session: DbSession, links: RequestLinks) -> HTMLResponse:
    form = await request.form()
    limit = app_settings(request).register_max_per_hour
    registration.request_password_reset(session, links, str(form.get("email", ""))[:200], max_per_hour=limit)
    commit_and_mail(request, session)
    return render(request, "auth/forgot.html", sent=True)  # the same answer for any address


@router.get("/reset-password")
def reset_password_form(request: Request, token: str = "") -> HTMLResponse:
    return render(request, "auth/reset.html", token=token, errors={})


@router.post("/reset-password")
async def reset_password(request: Request, session: DbSession) -> Response:
    """The emailed link's path. A form (with its CSRF token) from the page, or JSON {token, password} from
    a script; the token itself is the authority, so JSON needs no CSRF token."""
    as_json = request.headers.get("content-type", "").startswith("application/json")
    if as_json:  # answers in the API's envelope, like POST /api/v1/auth/password-reset/confirm
        try:
            data = PasswordResetIn.model_validate(await request.json())
            registration.reset_password(session, secret_key(app_settings(request)), data.token, data.password)
        except ValidationError as exc:
            fields = fields_from_validation([dict(e) for e in exc.errors()])
            return JSONResponse({"error": "invalid", "message": _("The request is invalid."), "fields": fields}, 422)
        except SmeaiError as exc:
            session.rollback()
            body = {"error": exc.code, "message": _(exc.message), "fields": exc.fields}
            return JSONResponse(body, http_status(exc))
        session.commit()
        return JSONResponse({"detail": "Password changed. Every session and API token of the account has ended."})
    await csrf_protect(request)
    form = await request.form()
    token = str(form.get("token", ""))[:500]
    try:
        data = PasswordResetIn.model_validate({"token": token, "password": str(form.get("password", ""))})
        registration.reset_password(session, secret_key(app_settings(request)), data.token, data.password)
    except (ValidationError, SmeaiError) as exc:
        session.rollback()
        errors, message = _form_errors(exc)
        return render(request, "auth/reset.html", 422, token=token, errors=errors, messages=[("error", message)])
    session.commit()
    response = render(
        request,
        "auth/link_result.html",
        ok=True,
        text=_("Your password is changed, and every login and API token of the account has ended."),
        login=True,
    )
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/confirm-email")
def confirm_email(request: Request, session: DbSession, token: str = "") -> HTMLResponse:
    try:
        registration.confirm_email_change(session, secret_key(app_settings(request)), token)
    except SmeaiError as exc:
        return render(request, "auth/link_result.html", 400, ok=False, text=_(exc.message))
    session.commit()
    return render(request, "auth/link_result.html", ok=True, text=_("Your new email address is confirmed."))


# --- invitations -----------------------------------------------------------------------------


@router.get("/invitations/accept")
def invitation_form(request: Request, session: DbSession, token: str = "") -> HTMLResponse:
    try:
        invitation = members.open_invitation(session, token)
    except SmeaiError:
        return render(request, "auth/link_result.html", 400, ok=False, text=_(LINK_INVALID))
    org = members.organisation_of(session, invitation)
    return render(
        request,
        "auth/accept.html",
        token=token,
        invitation=invitation,
        org_name=org.name,
        errors={},
        notice=registration.privacy_notice(),
    )


@router.post("/invitations/accept", dependencies=CSRF)
async def accept_invitation(request: Request, session: DbSession) -> HTMLResponse:
    form = await request.form()
    token = str(form.get("token", ""))[:500]
    try:
        invitation = members.open_invitation(session, token)
        org = members.organisation_of(session, invitation)
        if form.get("consent") != "yes":
            raise registration.consent_missing()
        members.accept_invitation(
            session, token, name=str(form.get("name", ""))[:100], password=str(form.get("password", ""))[:200]
        )
    except SmeaiError as exc:
        session.rollback()
        if exc.fields.get("token"):
            return render(request, "auth/link_result.html", 400, ok=False, text=_(exc.message))
        errors, message = _form_errors(exc)
        return render(
            request,
            "auth/accept.html",
            422,
            token=token,
            invitation=invitation,
            org_name=org.name,
            errors=errors,
            messages=[("error", message)],
            notice=registration.privacy_notice(),
        )
    session.commit()
    text = _("Welcome! Your account is ready: log in with your email and the password you chose.")
    return render(request, "auth/link_result.html", ok=True, text=text, login=True)


# --- privacy ---------------------------------------------------------------------------------


@router.get("/privacy")
def privacy(request: Request, session: DbSession, actor: OptionalActor, next: str = "/") -> HTMLResponse:
    asked = actor is not None and account.needs_consent(session, actor)
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    return render(request, "auth/privacy.html", notice=registration.privacy_notice(), asked=asked, next=target)


@router.post("/privacy/consent", dependencies=CSRF)
async def give_consent(request: Request, session: DbSession, actor: PageActor) -> Response:
    form = await request.form()
    account.consent(session, actor, str(form.get("version", ""))[:20])
    session.commit()
    target = str(form.get("next", "/"))
    return RedirectResponse(target if target.startswith("/") and not target.startswith("//") else "/", 303)


# --- the account page ------------------------------------------------------------------------


def _account_page(request: Request, session: Session, actor: Actor, status: int = 200, **context: Any) -> HTMLResponse:
    user, org = service.me(session, actor)
    context.setdefault("errors", {})
    return render(
        request,
        "auth/account.html",
        status,
        me=user,
        org=org,
        sessions=account.list_sessions(session, actor),
        current_session=getattr(request.state, "session_id", None),
        categories=[(k, _(v)) for k, v in CATEGORY_LABELS.items()],
        **context,
    )


@router.get("/account")
def account_page(request: Request, session: DbSession, actor: PageActor, done: str = "") -> HTMLResponse:
    messages = {
        "password": [("ok", _("Password changed; your other sessions and tokens have ended."))],
        "email": [("ok", _("A confirmation link is on its way to the new address."))],
        "session": [("ok", _("The session has ended."))],
        "notifications": [("ok", _("Notification settings saved."))],
    }.get(done, [])
    return _account_page(request, session, actor, messages=messages)


def _account_error(request: Request, session: Session, actor: Actor, exc: Exception) -> HTMLResponse:
    session.rollback()
    errors, message = _form_errors(exc)
    return _account_page(request, session, actor, 422, errors=errors, messages=[("error", message)])


@router.post("/account/password", dependencies=CSRF)
async def change_password(request: Request, session: DbSession, actor: PageActor) -> Response:
    form = await request.form()
    keep = getattr(request.state, "session_id", None)
    try:
        registration.change_password(
            session,
            actor,
            str(form.get("current_password", ""))[:200],
            str(form.get("new_password", ""))[:200],
            keep_token=keep,
        )
    except SmeaiError as exc:
        return _account_error(request, session, actor, exc)
    session.commit()
    return RedirectResponse("/account?done=password", status_code=303)


@router.post("/account/email", dependencies=CSRF)
async def change_email(request: Request, session: DbSession, actor: PageActor, links: RequestLinks) -> Response:
    form = await request.form()
    email = str(form.get("email", "")).strip()[:200]
    try:
        if "@" not in email or "." not in email.partition("@")[2]:
            raise registration.invalid_email()
        registration.request_email_change(session, actor, links, email, str(form.get("password", ""))[:200])
    except SmeaiError as exc:
        return _account_error(request, session, actor, exc)
    commit_and_mail(request, session)
    return RedirectResponse("/account?done=email", status_code=303)


@router.post("/account/sessions/{session_id}/revoke", dependencies=CSRF)
def revoke_session(session_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    account.revoke_session(session, actor, session_id)
    session.commit()
    return RedirectResponse("/account?done=session#sessions", status_code=303)


@router.post("/account/notifications", dependencies=CSRF)
async def notifications(request: Request, session: DbSession, actor: PageActor) -> Response:
    form = await request.form()
    on = set(form.getlist("on"))
    account.set_notifications_off(session, actor, [c for c in CATEGORY_LABELS if c not in on])
    session.commit()
    return RedirectResponse("/account?done=notifications#notifications", status_code=303)


@router.get("/account/data")
def download_data(session: DbSession, actor: PageActor) -> JSONResponse:
    data = account.export_personal_data(session, actor)
    return JSONResponse(data, headers={"Content-Disposition": 'attachment; filename="smeai-personal-data.json"'})


@router.post("/account/delete", dependencies=CSRF)
async def delete_account(request: Request, session: DbSession, actor: PageActor) -> Response:
    form = await request.form()
    try:
        account.delete_account(session, actor, str(form.get("password", ""))[:200])
    except SmeaiError as exc:
        return _account_error(request, session, actor, exc)
    session.commit()
    response = render(request, "auth/link_result.html", ok=True, text=_("Your account is deleted."))
    response.delete_cookie(SESSION_COOKIE)
    return response


# --- the organisation page: verification, licence, members -----------------------------------


def _organisation_page(
    request: Request, session: Session, actor: Actor, status: int = 200, **context: Any
) -> HTMLResponse:
    _user, org = service.me(session, actor)
    admin = actor.can(Permission.ORG_MEMBERS_OWN)
    context.setdefault("errors", {})
    return render(
        request,
        "auth/organisation.html",
        status,
        org=org,
        state_label=_(STATE_LABELS.get(org.verification, org.verification)),
        is_admin=admin,
        can_upload=actor.can(Permission.ORG_WRITE_OWN) and org.kind != OrgKind.CENTRE,
        members=members.list_members(session, actor) if admin else [],
        invitations=members.list_invitations(session, actor) if admin else [],
        roles=[(r.value, _(ORG_ROLE_LABELS[r.value])) for r in OrgRole],
        role_labels={k: _(v) for k, v in ORG_ROLE_LABELS.items()},
        me_id=actor.user_id,
        **context,
    )


@router.get("/organisation")
def organisation_page(request: Request, session: DbSession, actor: PageActor, done: str = "") -> HTMLResponse:
    messages = {
        "licence": [("ok", _("Business licence uploaded. The centre will check it."))],
        "invited": [("ok", _("Invitation sent."))],
        "member": [("ok", _("Member updated."))],
    }.get(done, [])
    return _organisation_page(request, session, actor, messages=messages)


@router.post("/organisation/licence", dependencies=CSRF)
@upload_route
async def upload_licence(request: Request, session: DbSession, actor: PageActor) -> Response:
    form = await request.form()
    upload = form.get("file")
    content = await upload.read() if upload is not None and not isinstance(upload, str) else b""
    try:
        registration.upload_licence(session, actor, storage_for(app_settings(request)), content)
    except SmeaiError as exc:
        session.rollback()
        errors, message = _form_errors(exc)
        return _organisation_page(request, session, actor, 422, errors=errors, messages=[("error", message)])
    session.commit()
    return RedirectResponse("/organisation?done=licence", status_code=303)


@router.get("/organisation/licence/{org_id}")
def licence(org_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    name, body = registration.licence_file(session, actor, storage_for(app_settings(request)), org_id)
    return Response(body, media_type=registration.licence_type(name), headers=attachment(name))


@router.post("/organisation/invitations", dependencies=CSRF)
async def invite(request: Request, session: DbSession, actor: PageActor, links: RequestLinks) -> Response:
    form = await request.form()
    email = str(form.get("email", "")).strip()[:200]
    role = str(form.get("org_role", "member"))
    try:
        if "@" not in email or "." not in email.partition("@")[2]:
            raise registration.invalid_email()
        members.invite(session, actor, links, email, OrgRole(role) if role in ("admin", "member") else OrgRole.MEMBER)
    except SmeaiError as exc:
        session.rollback()
        errors, message = _form_errors(exc)
        return _organisation_page(request, session, actor, 422, errors=errors, messages=[("error", message)])
    commit_and_mail(request, session)
    return RedirectResponse("/organisation?done=invited#members", status_code=303)


@router.post("/organisation/members/{user_id}", dependencies=CSRF)
async def change_member(
    user_id: RecordId, request: Request, session: DbSession, actor: PageActor, links: RequestLinks
) -> Response:
    form = await request.form()
    action = str(form.get("action", ""))
    try:
        if action in ("admin", "member"):
            members.set_org_role(session, actor, user_id, OrgRole(action))
        elif action == "remove":
            members.remove_member(session, actor, user_id)
        elif action in ("accept", "refuse"):
            members.decide_join(session, actor, links, user_id, accept=action == "accept")
    except SmeaiError as exc:
        session.rollback()
        errors, message = _form_errors(exc)
        return _organisation_page(request, session, actor, 409, errors=errors, messages=[("error", message)])
    commit_and_mail(request, session)
    return RedirectResponse("/organisation?done=member#members", status_code=303)


# --- the centre's verification queue ---------------------------------------------------------


@router.get("/verification")
def verification_queue(request: Request, session: DbSession, actor: PageActor, state: str = "pending") -> HTMLResponse:
    state = state if state in STATE_LABELS else "pending"
    return render(
        request,
        "auth/verification.html",
        orgs=registration.verification_queue(session, actor, state=state),
        state=state,
        states=[(k, _(v)) for k, v in STATE_LABELS.items()],
        kind_labels={k: _(v) for k, v in KIND_LABELS.items()},
        errors={},
    )


@router.post("/verification/{org_id}", dependencies=CSRF)
async def decide_verification(
    org_id: RecordId, request: Request, session: DbSession, actor: PageActor, links: RequestLinks
) -> Response:
    form = await request.form()
    org = registration.organisation_for_review(session, actor, org_id)
    if form.get("action") == "approve":
        registration.approve_organisation(session, actor, links, org)
    else:
        registration.return_organisation(session, actor, links, org, str(form.get("reason", ""))[:1000])
    commit_and_mail(request, session)
    return RedirectResponse("/verification", status_code=303)
