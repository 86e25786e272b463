"""Pages: log in, log out, the organisation profile."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from smeai.auth import account_pages, registration, service
from smeai.auth.actor import Actor
from smeai.auth.deps import DEVICE_COOKIE, SESSION_COOKIE, OptionalActor, PageActor, set_device_cookie
from smeai.auth.schemas import ProfileIn, RevenueBand, SizeClass
from smeai.config import app_settings
from smeai.db import DbSession
from smeai.errors import Forbidden, Invalid, NotAuthenticated, Throttled
from smeai.i18n import N_, _
from smeai.inputs import RecordId
from smeai.web.client import client_address
from smeai.web.csrf import csrf_protect
from smeai.web.forms import parse_form
from smeai.web.render import render

router = APIRouter(include_in_schema=False)
router.include_router(account_pages.router)

SIZE_LABELS = {"micro": N_("Micro"), "small": N_("Small"), "medium": N_("Medium"), "large": N_("Large")}


def _safe_next(target: str | None) -> str:
    # only local paths: never redirect a login to another site
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login")
def login_form(request: Request, actor: OptionalActor, next: str | None = None) -> Response:
    if actor is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "auth/login.html", next=_safe_next(next), errors={}, email="")


@router.post("/login", dependencies=[Depends(csrf_protect)])
async def login(request: Request, session: DbSession) -> Response:
    form = await request.form()
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "/")))
    settings = app_settings(request)
    try:
        done = service.login(
            session,
            settings,
            email=email,
            password=password,
            address=client_address(request),
            kind="session",
            device_cookie_value=request.cookies.get(DEVICE_COOKIE),
        )
    except (NotAuthenticated, Throttled, Forbidden) as exc:
        status = 429 if isinstance(exc, Throttled) else 403 if isinstance(exc, Forbidden) else 401
        messages = [("error", _(exc.message))]
        unverified = exc.code == "email_unverified"
        return render(
            request,
            "auth/login.html",
            status,
            next=target,
            errors={},
            email=email,
            messages=messages,
            unverified=unverified,
        )
    session.commit()
    if registration.consent_needed(service.user_of_token(done.token)):  # a new privacy notice: ask again
        target = "/privacy?next=" + quote(target)
    response = RedirectResponse(target, status_code=303)
    set_device_cookie(response, settings, done.device_cookie)
    response.set_cookie(
        SESSION_COOKIE,
        done.secret,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )
    return response


@router.post("/logout", dependencies=[Depends(csrf_protect)])
def logout(request: Request, session: DbSession) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        service.revoke_token(session, secret)
        session.commit()
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _profile_context(session: Session, actor: Actor, org: object) -> dict[str, Any]:
    return {
        "org": org,
        "tokens": service.list_api_tokens(session, actor),
        "sizes": [(s.value, _(SIZE_LABELS[s.value])) for s in SizeClass],
        "bands": [(b.value, b.value + " " + _("hundred million yuan")) for b in RevenueBand],
    }


@router.get("/profile")
def profile(request: Request, session: DbSession, actor: PageActor, revoked: int | None = None) -> HTMLResponse:
    _user, org = service.me(session, actor)
    messages = [] if revoked is None else [("ok", _("API tokens revoked: %(n)d.") % {"n": revoked})]
    context = _profile_context(session, actor, org)
    return render(request, "auth/profile.html", values=org.__dict__, errors={}, messages=messages, **context)


@router.post("/profile/tokens/{token_id}/revoke", dependencies=[Depends(csrf_protect)])
def revoke_token(token_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    service.revoke_api_token(session, actor, token_id)
    session.commit()
    return RedirectResponse("/profile?revoked=1#tokens", status_code=303)


@router.post("/profile/tokens/revoke", dependencies=[Depends(csrf_protect)])
def revoke_all_tokens(session: DbSession, actor: PageActor) -> Response:
    revoked = service.revoke_api_tokens(session, actor)
    session.commit()
    return RedirectResponse(f"/profile?revoked={revoked}#tokens", status_code=303)


@router.post("/profile", dependencies=[Depends(csrf_protect)])
async def save_profile(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    _user, org = service.me(session, actor)
    form = dict(await request.form())
    try:
        service.update_profile(session, actor, org.id, parse_form(ProfileIn, form))
    except Invalid as exc:
        session.rollback()  # nothing is half-saved
        errors = exc.fields
        messages = [("error", _(exc.message))]
        return render(
            request,
            "auth/profile.html",
            422,
            values=form,
            errors=errors,
            messages=messages,
            **_profile_context(session, actor, org),
        )
    session.commit()
    return render(
        request,
        "auth/profile.html",
        values=org.__dict__,
        errors={},
        messages=[("ok", _("Profile saved."))],
        **_profile_context(session, actor, org),
    )
