"""Links to the pages of a paged result list (the resource pool, the case library)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.datastructures import QueryParams

MAX_LINKS = 50


def page_links(path: str, params: QueryParams, pages: int) -> list[tuple[int, str]]:
    """(page, url) for the first 50 result pages, every other parameter kept and encoded (C++ stays C++)."""
    base = [(k, v) for k, v in params.multi_items() if k != "page"]
    return [(p, f"{path}?{urlencode([*base, ('page', str(p))])}") for p in range(1, min(pages, MAX_LINKS) + 1)]
