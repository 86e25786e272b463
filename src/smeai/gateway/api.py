"""The gateway's two faces: the OpenAI-compatible data plane under /gateway/v1 (a gateway key as the bearer,
OpenAI's error shape; see proxy.py) and the management API under /api/v1/gateway (a user's token, smeai's
error shape and paging envelope)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from smeai.auth.deps import CurrentActor
from smeai.db import DbSession
from smeai.gateway import export, flows, proxy, service
from smeai.gateway.schemas import (
    AuditOut,
    FundIn,
    KeyCreated,
    KeyIn,
    KeyOut,
    LossOut,
    UpstreamIn,
    UpstreamOut,
    UsageDayOut,
    UsageOut,
    WalletOut,
)
from smeai.i18n import _
from smeai.inputs import CalendarDate, RecordId
from smeai.web.downloads import attachment
from smeai.web.limits import RequestRefused
from smeai.web.paging import Page, PageParams, page_of, page_select

log = logging.getLogger("smeai.gateway")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

router = APIRouter()
plane = APIRouter(prefix="/gateway/v1", include_in_schema=False)
api = APIRouter(prefix="/api/v1/gateway", tags=["gateway"])


@plane.post("/chat/completions")
async def chat_completions(request: Request) -> Response:
    return await proxy.chat_completions(request)


@plane.get("/models")
async def models(request: Request) -> Response:
    return await proxy.models(request)


CHAT_PATH = "/gateway/v1/chat/completions"
_chat_route = next(r for r in plane.routes if isinstance(r, APIRoute) and r.path == CHAT_PATH)


class DataPlane:
    """ASGI middleware, innermost: `POST /gateway/v1/chat/completions` answered here, before FastAPI's
    router, which tried the portal's ~350 routes in turn and wrapped the call in its exception, exit-stack,
    dependency and endpoint layers (about half a millisecond of a call's CPU). The portal's own middleware
    (request log and metrics, request id and security headers, body limits) still runs around it; the route's
    template is set for the log, and the gateway's wording chosen as the route's dependency does. Every other
    request, and the route's other methods, go on to the router."""

    def __init__(self, app: ASGIApp, wording: Callable[[], Awaitable[None]]) -> None:
        self.app, self.wording = app, wording  # wording: sets the domain's catalog (smeai.app._wording_of)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != CHAT_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        scope["route"] = _chat_route
        await self.wording()
        try:
            response = await proxy.chat_completions(Request(scope, receive, send))
        except RequestRefused as exc:  # the body limits (too large, nested too deeply): OpenAI's error shape
            response = proxy.oai_error(exc.status_code, _(exc.message), "invalid_request_error", exc.code)
        except Exception:
            log.exception("gateway: unhandled error")
            response = proxy.oai_error(500, "Internal error.", "server_error", "internal")
        await response(scope, receive, send)


MIDDLEWARE = (DataPlane,)  # installed by smeai.app, innermost


@api.get("/usage", summary="Calls through the gateway: tokens, cost and the voucher's share")
def list_usage(
    session: DbSession,
    actor: CurrentActor,
    paging: PageParams,
    day: CalendarDate | None = None,
    model: str | None = None,
    key_id: RecordId | None = None,
    org_id: RecordId | None = None,
) -> Page[UsageOut]:
    query = service.usage_query(actor, org_id=org_id, day=day, model=model, key_id=key_id)
    return page_select(session, query, paging, UsageOut.of)


@api.get("/usage/daily", summary="Usage summed by day, model and key, before and after the voucher")
def usage_daily(
    session: DbSession, actor: CurrentActor, paging: PageParams, org_id: RecordId | None = None
) -> Page[UsageDayOut]:
    return page_of(service.usage_by_day(session, actor, org_id=org_id), paging)


@api.get("/usage/export", summary="Usage as an Excel workbook: every call and the sums by day, model and key")
def usage_export(session: DbSession, actor: CurrentActor, org_id: RecordId | None = None) -> Response:
    body = export.usage_xlsx(session, actor, org_id=org_id)
    return Response(body, media_type=XLSX, headers=attachment("gateway-usage.xlsx"))


@api.get("/keys", summary="The organisation's gateway keys")
def list_keys(session: DbSession, actor: CurrentActor, paging: PageParams) -> Page[KeyOut]:
    return page_of(service.list_keys(session, actor), paging, KeyOut.model_validate)


@api.post("/keys", status_code=201, summary="Create a gateway key (its secret is shown this once)")
def create_key(data: KeyIn, session: DbSession, actor: CurrentActor, org_id: RecordId | None = None) -> KeyCreated:
    key, secret = service.create_key(session, actor, data, org_id=org_id)
    session.commit()
    return KeyCreated(id=key.id, key=secret)


@api.post("/keys/{key_id}/revoke", summary="Revoke a gateway key")
def revoke_key(key_id: RecordId, session: DbSession, actor: CurrentActor) -> KeyOut:
    key = service.revoke_key(session, actor, key_id)
    session.commit()
    return KeyOut.model_validate(key)


@api.get("/wallet", summary="The wallet: own and voucher balances, held and available")
def wallet(session: DbSession, actor: CurrentActor, org_id: RecordId | None = None) -> WalletOut:
    return service.get_wallet(session, actor, org_id=org_id)


@api.get("/wallets", summary="Every wallet (operators)")
def wallets(session: DbSession, actor: CurrentActor, paging: PageParams) -> Page[WalletOut]:
    return page_of(service.list_wallets(session, actor), paging)


@api.post("/wallets/{org_id}/fund", summary="Top up an enterprise's own part of its wallet (operators)")
def fund(org_id: RecordId, data: FundIn, session: DbSession, actor: CurrentActor) -> WalletOut:
    out = service.fund_wallet(session, actor, org_id, data.fen, note=data.note)
    session.commit()
    return out


@api.get("/upstreams", summary="Upstream providers, their models and prices (operators)")
def upstreams(session: DbSession, actor: CurrentActor, paging: PageParams) -> Page[UpstreamOut]:
    return page_of(service.list_upstreams(session, actor), paging)


@api.post("/upstreams", status_code=201, summary="Add or update an upstream with its models and prices")
def add_upstream(data: UpstreamIn, session: DbSession, actor: CurrentActor) -> UpstreamOut:
    out = service.add_upstream(session, actor, data)
    session.commit()
    return out


@api.get("/losses", summary="Calls whose cost passed their hold: the operator's loss")
def losses(session: DbSession, actor: CurrentActor, paging: PageParams) -> Page[LossOut]:
    return page_of(service.losses(session, actor), paging)


@api.get("/audit", summary="Check that wallets, holds, usage and the voucher ledger agree")
def audit(session: DbSession, actor: CurrentActor) -> AuditOut:
    report = flows.audit(session, actor)
    return AuditOut(ok=report.ok, checked=report.checked, problems=report.problems)


router.include_router(plane)
router.include_router(api)
