"""FastAPI dependencies that turn a request into an Actor (bearer token or session cookie)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from smeai.auth import principals, service
from smeai.auth.actor import Actor, UserView
from smeai.auth.links import BASE_URL_KEY, Links
from smeai.config import Settings, app_settings, secret_key
from smeai.db import DbSession
from smeai.errors import Forbidden, NotAuthenticated
from smeai.i18n import N_, get_lang
from smeai.mail import sender
from smeai.web import csrf

SESSION_COOKIE = "smeai_session"
DEVICE_COOKIE = "smeai_device"  # signed: this browser has logged in to this account (login throttling)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
USER_ROW_KEY = "smeai.user_row"  # session.info: the request's user row (and so its organisation), held


class LoginRequired(NotAuthenticated):
    """A page visitor who must log in first; app.py answers with a redirect to /login."""

    code = "login_required"


def set_device_cookie(response: Response, settings: Settings, value: str) -> None:
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=service.DEVICE_COOKIE_DAYS * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def optional_actor(request: Request, session: DbSession) -> Actor | None:
    """The acting user of this request, or None. Async: a token seen by this worker within the last second
    is answered from memory (auth/principals.py) on the event loop, without a query or a thread hand-off;
    only a token not in memory is looked up in the database, in a thread."""
    settings = app_settings(request)
    session.info[BASE_URL_KEY] = settings.public_url or str(request.base_url)  # for emailed notifications
    sender.ensure_running(settings)
    token = bearer_token(request)
    kind, secret = ("api", token) if token is not None else ("session", request.cookies.get(SESSION_COOKIE))
    principal = await _principal(session, settings.database_url, kind, secret) if secret else None
    if token is not None:
        if principal is None:
            raise NotAuthenticated(N_("Invalid or expired token."))
        request.state.token_id = principal.token_id
        if principal.scope == "read" and request.method not in SAFE_METHODS:
            raise Forbidden(N_("This token may only read."), reason="token_scope")
    elif principal is not None:
        request.state.session_id = principal.token_id  # "this session" in lists; kept on a password change
        if request.url.path.startswith("/api/"):
            csrf.check_header(request)  # cookie-authenticated API writes need the CSRF header
    actor = principal.actor if principal is not None else None
    request.state.actor = actor
    if principal is not None:
        # A plain snapshot, not the ORM row: an error page renders after the request session rolled back.
        request.state.user = principal.user
    return actor


async def _principal(session: Session, database_url: str, kind: str, secret: str) -> principals.Principal | None:
    key = principals.key(database_url, kind, secret)
    found = principals.recall(key, service.utcnow())
    if found is not None:
        return found
    since = principals.generation()
    found = await run_in_threadpool(_look_up, session, kind, secret)
    if found is not None:
        principals.remember(key, found, since)
    return found


def _look_up(session: Session, kind: str, secret: str) -> principals.Principal | None:
    found = service.find_token(session, secret, kind=kind)
    if found is None:
        return None
    actor, row, user = found
    # Held for the request: the session keeps rows weakly, and pages read the user and its organisation
    # again (`session.get`), which then finds them instead of asking the database once more.
    session.info[USER_ROW_KEY] = user
    return principals.Principal(
        actor=actor,
        token_id=row.id,
        scope=row.scope,
        expires_at=row.expires_at,
        user=UserView(id=user.id, email=user.email, display_name=user.display_name),
        stored_at=time.monotonic(),
    )


# These two only look at what optional_actor found: `async` so that FastAPI runs them on the event loop,
# not through the thread pool (a thread hand-off per request costs more than the check).
async def current_actor(actor: Annotated[Actor | None, Depends(optional_actor)]) -> Actor:
    if actor is None:
        raise NotAuthenticated(N_("Please log in."))
    return actor


async def page_actor(request: Request, actor: Annotated[Actor | None, Depends(optional_actor)]) -> Actor:
    if actor is None:
        raise LoginRequired(N_("Please log in."), next=request.url.path)
    return actor


OptionalActor = Annotated[Actor | None, Depends(optional_actor)]
CurrentActor = Annotated[Actor, Depends(current_actor)]
PageActor = Annotated[Actor, Depends(page_actor)]
CsrfChecked = Depends(csrf.csrf_protect)


def links_for(request: Request) -> Links:
    """Emailed links point at SMEAI_PUBLIC_URL, or else where this request came to; emails are written in
    the reader's current language."""
    settings = app_settings(request)
    base = settings.public_url or str(request.base_url)
    return Links(base_url=base, key=secret_key(settings), hours=settings.email_link_hours, lang=get_lang())


RequestLinks = Annotated[Links, Depends(links_for)]


def commit_and_mail(request: Request, session: Session) -> None:
    """Commit the unit of work, then wake this process's mail sender if it queued email (the request
    never waits for the mail server; docs/configuration.md, "Email")."""
    session.commit()
    sender.kick(app_settings(request), session)
