"""Pages under /gateway: an enterprise's keys (created, shown once, revoked), usage by day, model and key with
the cost before and after its 模型券, its wallet, and the Excel export; the operator's upstreams with their
price versions, every wallet (top-ups, funding from an approved 模型券) and the operator's losses.

Who sees what is the service's rule: an enterprise member (gateway:use) sees its own organisation's, an
operator (gateway:manage) everyone's; anyone else is refused by the service. These routes turn forms into
service calls and results into pages; views.py holds the read-only sums and names the pages show."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from smeai.auth.actor import Actor
from smeai.auth.deps import OptionalActor, PageActor
from smeai.auth.permissions import Permission
from smeai.db import DbSession, utcnow
from smeai.errors import Conflict, Invalid, NotFound, http_status
from smeai.gateway import flows, service, views
from smeai.gateway.schemas import KeyIn, PriceIn
from smeai.i18n import N_, _
from smeai.inputs import RecordId
from smeai.money import typed_fen
from smeai.web.csrf import csrf_protect
from smeai.web.downloads import attachment
from smeai.web.flash import redirect_with_message
from smeai.web.forms import parse_form
from smeai.web.render import render

router = APIRouter(include_in_schema=False)
CSRF = [Depends(csrf_protect)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DEFAULT_DAYS = 30  # the usage page opens on the last thirty days
PRICE_HORIZON = timedelta(days=366)  # a price dated further ahead is a typing mistake (9999-12-31), not a plan


def _ctx(request: Request, **extra: Any) -> dict[str, Any]:
    return {
        "active": "gateway",
        "yuan": views.yuan,
        "fen_per_1k": views.fen_per_1k,
        "percent": views.percent,
        "status_text": views.STATUS,
        "entry_kinds": views.ENTRY_KINDS,
        "base_url": str(request.base_url).rstrip("/") + "/gateway/v1",
        **extra,
    }


def _form(raw: Any) -> dict[str, str]:
    return {k: v for k, v in raw.items() if isinstance(v, str)}


# --- overview --------------------------------------------------------------------------------------------


@router.get("/gateway")
def index(request: Request, session: DbSession, actor: OptionalActor) -> HTMLResponse:
    """An enterprise's wallet and shortcuts; the operator's totals; for anyone else, what the service is."""
    extra: dict[str, Any] = {}
    if actor is not None and actor.can(Permission.GATEWAY_MANAGE):
        wallets = service.list_wallets(session, actor)
        extra = {
            "upstreams": service.list_upstreams(session, actor),
            "wallet_count": len(wallets),
            "held_mf": sum(w.own_held_mf + w.voucher_held_mf for w in wallets),
            "spent_mf": sum(w.spent_mf for w in wallets),
            "loss_mf": sum(line.loss_mf for line in views.losses_by_upstream(session, actor)),
        }
    elif actor is not None and actor.can(Permission.GATEWAY_USE):
        today = utcnow().date()
        month = views.usage_report(session, actor, day_from=today.replace(day=1), day_to=today)
        extra = {
            "wallet": service.get_wallet(session, actor),
            "keys": [k for k in service.list_keys(session, actor) if k.revoked_at is None],
            "month": month.total,
            "models": service.list_models(session, actor),
        }
    return render(request, "gateway/index.html", **_ctx(request, **extra))


# --- keys ------------------------------------------------------------------------------------------------


class KeyForm(BaseModel):
    """The key form: KeyIn's fields people set, with the monthly cap typed in 元."""

    name: str = Field(min_length=1, max_length=100)
    max_tokens: int = Field(1024, ge=1, le=131_072)
    concurrency: int = Field(4, ge=1, le=1000)
    monthly_cap_yuan: str | None = Field(None, max_length=50)


def _keys_page(request: Request, session: DbSession, actor: Actor, status: int = 200, **extra: Any) -> HTMLResponse:
    actor.require(Permission.GATEWAY_USE)
    keys = service.list_keys(session, actor, org_id=actor.org_id)
    extra.setdefault("values", {"max_tokens": "1024", "concurrency": "4"})
    extra.setdefault("errors", {})
    return render(
        request,
        "gateway/keys.html",
        status,
        **_ctx(request, keys=keys, models=service.list_models(session, actor), now=utcnow(), **extra),
    )


@router.get("/gateway/keys")
def keys(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    return _keys_page(request, session, actor)


@router.post("/gateway/keys", dependencies=CSRF)
async def create_key(request: Request, session: DbSession, actor: PageActor) -> Response:
    values = _form(await request.form())
    try:
        form = parse_form(KeyForm, values)
        try:
            cap_fen = typed_fen(form.monthly_cap_yuan, 100)
        except ValueError as exc:
            raise Invalid(N_("Please correct the marked fields."), fields={"monthly_cap_yuan": str(exc)}) from None
        data = KeyIn(
            name=form.name.strip(),
            max_tokens=form.max_tokens,
            concurrency=form.concurrency,
            monthly_cap_fen=cap_fen,
        )
        key, secret = service.create_key(session, actor, data)
        session.commit()
    except Invalid as exc:
        session.rollback()
        return _keys_page(
            request, session, actor, 422, values=values, errors=exc.fields, messages=[("error", _(exc.message))]
        )
    # The secret is on this one page and nowhere else: not in a redirect, a cookie or the log.
    models = service.list_models(session, actor, key=key)
    response = render(request, "gateway/key_created.html", **_ctx(request, key=key, secret=secret, models=models))
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/gateway/keys/{key_id}/revoke", dependencies=CSRF)
def revoke_key(key_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    key = service.revoke_key(session, actor, key_id)
    session.commit()
    text = _("Key “%(name)s” revoked: calls with it are refused from now on.") % {"name": key.name}
    return redirect_with_message(request, "/gateway/keys", text)


# --- usage -----------------------------------------------------------------------------------------------


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _period(day_from: str | None, day_to: str | None) -> tuple[date, date]:
    """The period asked for, or the last thirty days; a reversed one is put the right way round."""
    today = utcnow().date()
    end = _day(day_to) or today
    start = _day(day_from) or end - timedelta(days=DEFAULT_DAYS - 1)
    return (start, end) if start <= end else (end, start)


def _usage_org(session: DbSession, actor: Actor, org: int | None) -> tuple[int | None, str | None]:
    """An operator may look at one enterprise's usage (`?org=`); an enterprise always sees its own."""
    if actor.can(Permission.GATEWAY_MANAGE):
        if org is None:
            return None, None
        name = views.org_names(session, [org]).get(org)
        if name is None:
            raise NotFound(N_("Organisation not found."))
        return org, name
    actor.require(Permission.GATEWAY_USE)
    return actor.org_id, None


@router.get("/gateway/usage")
def usage(
    request: Request,
    session: DbSession,
    actor: PageActor,
    day_from: str | None = None,
    day_to: str | None = None,
    org: RecordId | None = None,
) -> HTMLResponse:
    org_id, org_name = _usage_org(session, actor, org)
    start, end = _period(day_from, day_to)
    report = views.usage_report(session, actor, org_id=org_id, day_from=start, day_to=end)
    calls = views.recent_calls(session, actor, org_id=org_id, day_from=start, day_to=end)
    manage = actor.can(Permission.GATEWAY_MANAGE)
    return render(
        request,
        "gateway/usage.html",
        **_ctx(
            request,
            report=report,
            calls=calls,
            day_from=start,
            day_to=end,
            org=org_id if manage else None,
            org_name=org_name,
            orgs=views.org_names(session, {c.org_id for c in calls}) if manage else {},
            manage=manage,
        ),
    )


@router.get("/gateway/usage.xlsx")
def usage_export(
    session: DbSession,
    actor: PageActor,
    day_from: str | None = None,
    day_to: str | None = None,
    org: RecordId | None = None,
) -> Response:
    org_id, _name = _usage_org(session, actor, org)
    start, end = _period(day_from, day_to)
    body = views.usage_xlsx(session, actor, org_id=org_id, day_from=start, day_to=end)
    return Response(body, media_type=XLSX, headers=attachment(f"gateway-usage-{start}-{end}.xlsx"))


# --- wallet ----------------------------------------------------------------------------------------------


@router.get("/gateway/wallet")
def wallet(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    actor.require(Permission.GATEWAY_USE)
    return render(
        request,
        "gateway/wallet.html",
        **_ctx(
            request,
            wallet=service.get_wallet(session, actor),
            grants=views.grants(session, actor),
            history=views.funding_history(session, actor),
            pname=views.programme_name,
        ),
    )


# --- the operator: upstreams and prices ------------------------------------------------------------------


class PriceForm(BaseModel):
    route_id: RecordId
    price_in: str = Field(max_length=20)
    price_out: str = Field(max_length=20)
    price_cached_in: str | None = Field(None, max_length=20)  # empty: cached input at the input price
    effective_on: date | None = None  # from the start of that day (UTC); empty or today: from now


def _upstreams_page(
    request: Request, session: DbSession, actor: Actor, status: int = 200, **extra: Any
) -> HTMLResponse:
    actor.require(Permission.GATEWAY_MANAGE)
    extra.setdefault("values", {})
    extra.setdefault("errors", {})
    return render(
        request,
        "gateway/upstreams.html",
        status,
        **_ctx(
            request,
            upstreams=service.list_upstreams(session, actor),
            versions=views.price_versions(session, actor),
            routes=views.route_labels(session, actor),
            today=utcnow().date(),
            **extra,
        ),
    )


@router.get("/gateway/upstreams")
def upstreams(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    return _upstreams_page(request, session, actor)


@router.post("/gateway/prices", dependencies=CSRF)
async def set_price(request: Request, session: DbSession, actor: PageActor) -> Response:
    values = _form(await request.form())
    try:
        actor.require(Permission.GATEWAY_MANAGE)
        form = parse_form(PriceForm, values)
        when, today = None, utcnow().date()
        if form.effective_on is not None and not today <= form.effective_on <= today + PRICE_HORIZON:
            why = N_("Not in the past.") if form.effective_on < today else N_("At most a year ahead.")
            raise Invalid(N_("Please correct the marked fields."), fields={"effective_on": why})
        if form.effective_on is not None and form.effective_on > today:
            when = datetime.combine(form.effective_on, time(), UTC)
        prices = {"price_in": form.price_in, "price_out": form.price_out, "price_cached_in": form.price_cached_in}
        data = parse_form(PriceIn, prices)  # an empty cached price is dropped: cached input at the input price
        service.set_price(session, actor, form.route_id, data.model_copy(update={"effective_from": when}))
        session.commit()
    except (Invalid, NotFound) as exc:
        session.rollback()
        return _upstreams_page(
            request,
            session,
            actor,
            http_status(exc),
            values=values,
            errors=exc.fields,
            messages=[("error", _(exc.message))],
        )
    return redirect_with_message(request, "/gateway/upstreams", _("Price saved: it applies from its date on."))


# --- the operator: wallets -------------------------------------------------------------------------------


class FundForm(BaseModel):
    org_id: RecordId
    amount_yuan: str = Field(max_length=50)
    note: str | None = Field(None, max_length=500)


def _wallets_page(request: Request, session: DbSession, actor: Actor, status: int = 200, **extra: Any) -> HTMLResponse:
    actor.require(Permission.GATEWAY_MANAGE)
    wallets = service.list_wallets(session, actor)
    pending = views.fundable_vouchers(session, actor)
    names = views.org_names(session, {w.org_id for w in wallets} | {a.org_id for a in pending})
    extra.setdefault("values", {})
    extra.setdefault("errors", {})
    return render(
        request,
        "gateway/wallets.html",
        status,
        **_ctx(
            request,
            wallets=sorted(wallets, key=lambda w: names.get(w.org_id, "")),
            names=names,
            pending=pending,
            pname=views.programme_name,
            enterprises=views.enterprise_choices(session, actor),
            **extra,
        ),
    )


@router.get("/gateway/wallets")
def wallets(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    return _wallets_page(request, session, actor)


@router.post("/gateway/wallets/fund", dependencies=CSRF)
async def fund(request: Request, session: DbSession, actor: PageActor) -> Response:
    values = _form(await request.form())
    try:
        actor.require(Permission.GATEWAY_MANAGE)
        form = parse_form(FundForm, values)
        try:
            fen = typed_fen(form.amount_yuan, 100)
        except ValueError as exc:
            raise Invalid(N_("Please correct the marked fields."), fields={"amount_yuan": str(exc)}) from None
        if not fen:
            raise Invalid(N_("Please correct the marked fields."), fields={"amount_yuan": "This field is required."})
        service.fund_wallet(session, actor, form.org_id, fen, note=(form.note or "").strip() or None)
        session.commit()
    except (Invalid, NotFound) as exc:
        session.rollback()
        return _wallets_page(
            request,
            session,
            actor,
            http_status(exc),
            values=values,
            errors=exc.fields,
            messages=[("error", _(exc.message))],
        )
    return redirect_with_message(request, "/gateway/wallets", _("Top-up recorded."))


@router.post("/gateway/vouchers/{application_id}/fund", dependencies=CSRF)
def fund_from_voucher(application_id: RecordId, request: Request, session: DbSession, actor: PageActor) -> Response:
    try:
        flows.fund_from_voucher(session, actor, application_id)
        session.commit()
    except (Invalid, Conflict) as exc:
        session.rollback()
        return _wallets_page(request, session, actor, 409, messages=[("error", _(exc.message))])
    return redirect_with_message(request, "/gateway/wallets", _("The voucher now pays its share of model calls."))


# --- the operator: losses --------------------------------------------------------------------------------


@router.get("/gateway/losses")
def losses(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    lines = views.losses_by_upstream(session, actor)
    return render(request, "gateway/losses.html", **_ctx(request, lines=lines))
