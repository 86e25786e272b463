"""/api/v1/taxonomy: the controlled vocabularies, public."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from smeai import taxonomy
from smeai.errors import NotFound
from smeai.i18n import N_
from smeai.web.paging import Page, PageParams, page_of

router = APIRouter(prefix="/api/v1/taxonomy", tags=["taxonomy"])

Kind = Literal[
    "sections",
    "divisions",
    "intensity_classes",
    "groups",
    "links",
    "scenarios",
    "stages",
    "roles",
    "provinces",
]


@router.get("", summary="The names of the taxonomy's lists")
def list_kinds(paging: PageParams) -> Page[str]:
    return page_of(list(taxonomy.load().kinds()), paging)


@router.get("/{kind}", summary="One list of the taxonomy, each term with its code and zh/en names")
def read_kind(kind: Kind, paging: PageParams) -> Page[dict[str, object]]:
    terms = taxonomy.load().kinds().get(kind)
    if terms is None:
        raise NotFound(N_("No such taxonomy list."))
    return page_of(list(terms.values()), paging, lambda t: t.as_dict())
