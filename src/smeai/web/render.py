"""render(): one Jinja2 environment for every domain's templates, with locale, actor and CSRF."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader

from smeai import taxonomy
from smeai.i18n import LANGUAGES, colon, get_lang, gettext, label, ngettext
from smeai.web import flash
from smeai.web.confirm import confirm
from smeai.web.csrf import CSRF_FIELD, csrf_token
from smeai.web.middleware import CSP_NONCE, REQUEST_ID
from smeai.web.nav import NAV

PACKAGE = Path(__file__).resolve().parent.parent


def _fen_yuan(fen: int | None) -> str:
    """Money is integer fen; shown in 元, or 万元 from ten thousand up (English: CNY)."""
    if fen is None:
        return "—"
    yuan = fen / 100
    if get_lang() == "en":
        return f"CNY {yuan:,.0f}"
    if abs(yuan) >= 10_000:
        return f"{yuan / 10_000:,.2f}".rstrip("0").rstrip(".") + " 万元"
    return f"{yuan:,.2f}".rstrip("0").rstrip(".") + " 元"


def lang_href(request: Request, lang: str) -> str:
    """This page in another language: the same path and query (a search stays), `lang` set."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return f"{request.url.path}?{urlencode([*params, ('lang', lang)])}"


@lru_cache
def templates() -> Jinja2Templates:
    dirs = [PACKAGE / "web" / "templates", *sorted(PACKAGE.glob("*/templates"))]
    loader = ChoiceLoader([FileSystemLoader(str(d)) for d in dict.fromkeys(dirs)])
    tpl = Jinja2Templates(directory=str(PACKAGE / "web" / "templates"))
    tpl.env.loader = loader
    tpl.env.add_extension("jinja2.ext.i18n")
    tpl.env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    tpl.env.globals.update(
        nav=NAV,
        languages=LANGUAGES,
        taxonomy=taxonomy,
        tax=taxonomy.load,
        choices=taxonomy.choices,
        label=label,
        get_lang=get_lang,
        csrf_field=CSRF_FIELD,
        lang_href=lang_href,
        colon=colon,
        confirm=confirm,
    )
    tpl.env.filters["yuan"] = _fen_yuan
    return tpl


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def csp_nonce(request: Request) -> str:
    """The nonce of this response's Content-Security-Policy, for the page's own inline scripts. Scripts
    in fragments that htmx swaps in get the page's nonce from htmx (inlineScriptNonce in base.html)."""
    return str(request.scope.get(CSP_NONCE, ""))


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page (or an HTMX fragment). A whole page also shows, once, the message a redirect left (flash.py)."""
    flashed = None if is_htmx(request) else flash.take_message(request)
    if flashed:
        context["messages"] = [flashed, *(context.get("messages") or [])]
    context.setdefault("csp_nonce", csp_nonce(request))
    context.setdefault("actor", getattr(request.state, "actor", None))
    context.setdefault("user", getattr(request.state, "user", None))
    if status_code >= 400:  # error.html shows it: the reference a person quotes to the operators
        context.setdefault("request_id", REQUEST_ID.get())
    response = templates().TemplateResponse(
        request,
        template,
        {"lang": get_lang(), "csrf_token": csrf_token(request), **context},
        status_code=status_code,
    )
    response.headers["Vary"] = "HX-Request, Cookie"
    if not is_htmx(request):
        flash.clear(request, response)
    return response
