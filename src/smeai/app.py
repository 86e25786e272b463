"""create_app(): the portal. Routers come from each domain's api.py and pages.py (see domains.py)."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from smeai import __version__
from smeai.auth.deps import LoginRequired, OptionalActor, optional_actor
from smeai.config import Settings, get_settings
from smeai.domains import domain_modules
from smeai.errors import NotFound, SmeaiError, fields_from_validation, http_status
from smeai.i18n import N_, _, set_catalog
from smeai.i18n_catalogs import catalog_name
from smeai.ops import health, logs, metrics
from smeai.web import openapi
from smeai.web.guard import ClientGone, RequestGuard
from smeai.web.limits import BodyLimitMiddleware, RequestRefused
from smeai.web.middleware import REQUEST_ID, LocaleAndCsrfMiddleware
from smeai.web.nav import entry
from smeai.web.render import render
from smeai.web.routes import by_prefix

log = logging.getLogger("smeai")
STATIC = Path(__file__).parent / "web" / "static"


def _wants_json(request: Request) -> bool:
    """API clients get the JSON error envelope; everyone else (a browser) gets the branded error page."""
    path = request.url.path
    return path == "/api" or path.startswith("/api/") or path in ("/healthz", "/readyz", "/metrics")


def _error_body(exc: SmeaiError) -> dict[str, object]:
    return {"error": exc.code, "message": _(exc.message), "fields": exc.fields}


# Errors raised by the framework itself (no route, wrong method, unreadable body): the same envelope.
HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", N_("The request could not be read.")),
    401: ("not_authenticated", N_("Please log in.")),
    403: ("forbidden", N_("You are not allowed to do this.")),
    404: ("not_found", N_("Nothing is found at this address.")),
    405: ("method_not_allowed", N_("This method is not allowed here.")),
    413: ("too_large", N_("The request is too large.")),
    422: ("invalid", N_("The request is invalid.")),
}


def _wording_of(module: str) -> Callable[[], Awaitable[None]]:
    """A dependency that makes the route's domain's catalog win for its request (smeai/i18n.py): async, so
    that it sets the context the endpoint (and its thread) runs in."""
    name = catalog_name(module.split(".")[1])

    async def wording() -> None:
        set_catalog(name)

    return wording


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    database_url = settings.database_url

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # What the worker has imported and built by now lives as long as it does: frozen out of the garbage
        # collector's sight, so a full collection (about 150-220 ms over the ~240,000 objects of a started
        # portal, one every few hundred requests, stalling every request in flight) walks only what came since
        gc.collect()
        gc.freeze()
        yield
        # a worker stopping in good order (a restart, a deploy) lets the claims of the survey imports it runs
        # lapse, so the survey-imports job resumes them within a minute instead of after the claim's lease
        from smeai.survey import uploads

        await run_in_threadpool(uploads.release_held, database_url)

    app = FastAPI(
        lifespan=lifespan,
        title="smeai API",
        version=__version__,
        description="AI application enablement centre for SMEs: accounts, taxonomy and every capability's API.",
        docs_url=None,  # served below from the package, not from a CDN
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.settings = settings
    # Innermost: a domain's own ASGI middleware (its api module's MIDDLEWARE: the gateway's data plane answers
    # its chat completions before the router), inside the portal's middleware below, given its domain's wording.
    for module in domain_modules("api"):
        for middleware in getattr(module, "MIDDLEWARE", ()):
            app.add_middleware(middleware, wording=_wording_of(module.__name__))
    # Then: reads bounded in time, dropped when their client goes, expensive pages in a few slots each.
    app.add_middleware(RequestGuard, timeout_seconds=settings.request_timeout_seconds, slots=settings.expensive_slots)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.body_max_bytes,
        upload_max_bytes=settings.upload_max_bytes,
        json_max_depth=settings.json_max_depth,
    )
    app.add_middleware(
        LocaleAndCsrfMiddleware,
        default_lang=settings.lang,
        secure_cookies=settings.cookie_secure,
        trusted_proxies=settings.proxy_networks,
    )
    logs.configure(json=settings.log_json, level=settings.log_level)
    # Outermost: times, logs and counts every request (refusals too) for the log and /metrics.
    app.add_middleware(logs.RequestLogMiddleware, observe=metrics.observe)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(SmeaiError)
    async def on_domain_error(request: Request, exc: SmeaiError) -> Response:
        if isinstance(exc, LoginRequired) and not _wants_json(request):
            return RedirectResponse(f"/login?next={quote(str(exc.params.get('next', '/')))}", status_code=303)
        status = http_status(exc)
        if _wants_json(request):
            return JSONResponse(_error_body(exc), status_code=status)
        return render(request, "error.html", status, title=_("Sorry"), message=_(exc.message))

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        if not _wants_json(request):  # a browser on a mistyped address (/catalog/offerings/abc): a page
            message = N_("This address is not valid. Check the link, or start again from the home page.")
            if request.method != "GET":
                message = N_("The request is invalid.")
            return render(request, "error.html", 422, title=_("Sorry"), message=_(message))
        fields = fields_from_validation(list(exc.errors()))
        body = {"error": "invalid", "message": _("The request is invalid."), "fields": fields}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code, message = HTTP_ERRORS.get(exc.status_code, ("error", N_("The request could not be handled.")))
        fields: dict[str, str] = {}
        if isinstance(exc, RequestRefused):
            code, message, fields = exc.code, exc.message, exc.fields
        headers = dict(exc.headers or {})  # 405 keeps its Allow header
        if _wants_json(request):
            body = {"error": code, "message": _(message), "fields": fields}
            return JSONResponse(body, status_code=exc.status_code, headers=headers)
        response = render(request, "error.html", exc.status_code, title=_("Sorry"), message=_(message))
        response.headers.update(headers)
        return response

    @app.exception_handler(ClientGone)
    async def on_client_gone(request: Request, exc: ClientGone) -> Response:
        return Response(status_code=499)  # nobody reads it: the guard drops it (nginx's "client closed request")

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def on_out_of_range(request: Request, exc: Exception) -> Response:
        # A number beyond the column's range (PostgreSQL raises DataError, SQLite's driver OverflowError):
        # the caller's input, not a bug.
        body = {"error": "invalid", "message": _("A value is out of range."), "fields": {}}
        if _wants_json(request):
            return JSONResponse(body, status_code=422)
        return render(request, "error.html", 422, title=_("Sorry"), message=_("A value is out of range."))

    @app.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception) -> Response:
        # The request's id (X-Request-Id, the request log line, the audit log); this response is sent
        # outside the middleware that adds the header, so it is added here.
        request_id = REQUEST_ID.get() or "-"
        log.exception("unhandled error, request %s", request_id, exc_info=exc)
        body = {"error": "internal", "message": _("Internal error."), "fields": {}, "request_id": request_id}
        if _wants_json(request):
            return JSONResponse(body, status_code=500, headers={"X-Request-Id": request_id})
        response = render(
            request,
            "error.html",
            500,
            title=_("Internal error"),
            message=_("Internal error."),
            request_id=request_id,
        )
        response.headers["X-Request-Id"] = request_id
        return response

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:
        return RedirectResponse("/static/favicon.svg", status_code=301)

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def api_docs(request: Request) -> HTMLResponse:
        # Swagger UI from web/static (vendored swagger-ui-dist), started by a file: no CDN, no inline script.
        return render(request, "swagger.html", openapi_url=app.openapi_url)

    @app.get("/", include_in_schema=False, response_class=HTMLResponse)
    def home(request: Request, actor: OptionalActor) -> HTMLResponse:
        return render(request, "home.html", active="home")

    @app.get("/coming/{domain}", include_in_schema=False, response_class=HTMLResponse)
    def coming(domain: str, request: Request, actor: OptionalActor) -> HTMLResponse:
        nav_entry = entry(domain)
        if nav_entry is None:
            raise NotFound(N_("Page not found."))
        return render(request, "coming.html", entry=nav_entry, active=domain)

    app.include_router(health.router)  # /healthz, /readyz
    app.include_router(metrics.router)  # /metrics
    for module in [*domain_modules("api"), *domain_modules("pages")]:  # each asked only for its addresses
        app.include_router(by_prefix(module.router), dependencies=[Depends(_wording_of(module.__name__))])
    openapi.install(app, auth_dependency=optional_actor)  # every error declared, auth schemes, tag descriptions
    return app
