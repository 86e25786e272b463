"""One paging envelope for every list endpoint under /api/v1 (polar's `ListResource`, by offset).

A list route takes `paging: PageParams` (query `limit`, 1..200, default 50, and `offset`, 0..MAX_OFFSET) and
returns `Page[ItemOut]`: `{"items": [...], "total": n, "limit": l, "offset": o}`. `total` counts every item the
caller may see under the route's filters, so a client pages until `offset + limit >= total`.

`paginate_select` runs a SQLAlchemy select once for the page and once for the count; `page_of` pages a list a
service has already built (a ranking, a vocabulary, a list that the service scopes in Python).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_OFFSET = 1_000_000  # far past any real list; a bigger one is a typing mistake, not a request for an empty page

T = TypeVar("T")
R = TypeVar("R")


class Paging(BaseModel):
    """Which slice of a list the caller asks for."""

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


def paging(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page (at most {MAX_LIMIT}).")] = (
        DEFAULT_LIMIT
    ),
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")] = 0,
) -> Paging:
    return Paging(limit=limit, offset=offset)


PageParams = Annotated[Paging, Depends(paging)]


class Page(BaseModel, Generic[T]):
    """A slice of a list: `items`, and `total`, the size of the whole list."""

    items: list[T]
    total: int = Field(ge=0)
    limit: int = Field(ge=0, le=MAX_LIMIT)
    offset: int = Field(ge=0, le=MAX_OFFSET)


def page_of(items: Sequence[Any], paging: Paging, convert: Callable[[Any], R] | None = None) -> Page[R]:
    """The slice PAGING asks for of ITEMS (already scoped and ordered), each passed through CONVERT."""
    window = items[paging.offset : paging.offset + paging.limit]
    out = [convert(i) for i in window] if convert is not None else list(window)
    return Page(items=out, total=len(items), limit=paging.limit, offset=paging.offset)


def paginate_select(session: Session, stmt: Select[Any], paging: Paging) -> tuple[list[Any], int]:
    """The rows of STMT in PAGING's slice, and the number of rows STMT selects in all.

    STMT must be ordered (a page of an unordered select is not stable from one call to the next)."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = list(session.scalars(stmt.limit(paging.limit).offset(paging.offset)))
    return rows, total


def page_select(
    session: Session, stmt: Select[Any], paging: Paging, convert: Callable[[Any], R] | None = None
) -> Page[R]:
    """`paginate_select` as a Page, each row passed through CONVERT."""
    rows, total = paginate_select(session, stmt, paging)
    items = [convert(r) for r in rows] if convert is not None else rows
    return Page(items=items, total=total, limit=paging.limit, offset=paging.offset)
