"""Rendered page fragments remembered per everything they show: the survey dashboard's figures and the
catalog's search results were half of those pages' server time, the same HTML rendered again on every view.

A fragment is rendered from the context its caller names and nothing else: no request, no actor or user,
no CSRF token, in an environment whose undefined names raise. So whatever differs per visitor cannot end
up in a fragment shared between visitors, and a template change that starts to use it fails loudly
instead of leaking. The per-response values a fragment may carry are the Content-Security-Policy nonce
of its inline script and, where the caller asks for it (`forms`), the reader's CSRF token in its forms:
each is rendered as a mark and replaced with this response's value on the way out.

The caller's key holds what the output depends on: the data stamps the pages' own caches use (the
catalog's change stamp, the survey wave's version, read from the database on every request, so an edit
made through any worker shows at the next view), the language, the visitor's rights where they change
the output, and the query. Entries are bounded (least recently used go first) and read-only once stored.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import lru_cache
from typing import Any

from fastapi import Request
from jinja2 import Environment, Undefined
from jinja2.utils import missing
from markupsafe import Markup

from smeai.i18n import get_lang
from smeai.lru import Bounded
from smeai.web.csrf import csrf_token
from smeai.web.render import csp_nonce, templates

# The marks stand for the response's nonce and the reader's CSRF token in a stored fragment. They are Markup
# holding '<' and '>', which text rendered into a fragment never holds unescaped (autoescape writes &lt;):
# a need's text that quotes a mark stays text, and never becomes the reader's token on the way out.
NONCE_MARK = Markup("<smeai-fragment-csp-nonce>")
CSRF_MARK = Markup("<smeai-fragment-csrf-token>")  # in fragments that have forms


class _NameRequired(Undefined):
    """A name the caller did not pass (actor, user, csrf_token, request) raises when used, instead of
    rendering empty as on pages; a missing attribute or key of a passed value stays lenient as there."""

    __slots__ = ()

    def _check(self) -> None:
        if self._undefined_obj is missing:
            self._fail_with_undefined_error()

    def __str__(self) -> str:
        self._check()
        return super().__str__()

    def __iter__(self) -> Any:
        self._check()
        return super().__iter__()

    def __bool__(self) -> bool:
        self._check()
        return super().__bool__()

    def __len__(self) -> int:
        self._check()
        return super().__len__()


@lru_cache
def _environment() -> Environment:
    """The pages' environment (loader, globals, filters, gettext) with _NameRequired."""
    return templates().env.overlay(undefined=_NameRequired, cache_size=200)


class Fragments:
    """Up to `size` rendered fragments of one kind, by key."""

    def __init__(self, size: int) -> None:
        self._items: Bounded[str] = Bounded(size)
        self.hits = self.misses = 0  # for the tests and the benchmark's notes

    def render(
        self,
        request: Request,
        key: Hashable,
        template: str,
        context: Callable[[], dict[str, Any]],
        *,
        forms: bool = False,
    ) -> Markup:
        """TEMPLATE rendered with what CONTEXT() returns (called only when KEY is not stored yet) and the
        language; the same HTML for every request with this key, with this response's CSP nonce. With
        `forms`, the template may use `csrf_token`: stored as a mark, it is this reader's token on the way
        out, like the nonce (a need's page has a form in every match: rendering them apart would leave
        nothing to share)."""
        key = (template, get_lang(), key, forms)
        html = self._items.get(key)
        if html is None:
            self.misses += 1
            marks = {"lang": get_lang(), "csp_nonce": NONCE_MARK} | ({"csrf_token": CSRF_MARK} if forms else {})
            html = _environment().get_template(template).render({**context(), **marks})
            self._items.put(key, html)
        else:
            self.hits += 1
        out = html.replace(NONCE_MARK, csp_nonce(request))
        return Markup(out.replace(CSRF_MARK, csrf_token(request)) if forms else out)

    def clear(self) -> None:
        self._items.clear()
