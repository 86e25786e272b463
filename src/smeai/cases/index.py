"""Search over published cases with the resource pool's engine (jieba + synonyms, BM25, facets)."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smeai import taxonomy, text
from smeai.cases.models import Case
from smeai.cases.visibility import visible_cases
from smeai.catalog.search import Engine

FACETS = ("industry", "scenario", "link", "province", "benchmark")


class CaseQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    q: str = Field(default="", max_length=200)
    industry: list[str] = Field(default_factory=list)  # section letters
    scenario: list[str] = Field(default_factory=list)
    link: list[str] = Field(default_factory=list)
    province: list[str] = Field(default_factory=list)
    benchmark: list[str] = Field(default_factory=list)  # "yes" for 标杆 only
    page: int = Field(default=1, ge=1, le=10_000)
    per_page: int = Field(default=20, ge=1, le=100)


@dataclass
class CaseResult:
    ids: list[int]
    total: int
    page: int
    per_page: int
    facets: dict[str, list[tuple[str, int]]]
    synonyms: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def _section(code: str) -> str:
    return code[:1]


def case_tokens(c: Case) -> list[str]:
    tax = taxonomy.load()
    scenario_names = " ".join(tax.scenarios[s].zh for s in c.scenarios if s in tax.scenarios)
    industry = (
        taxonomy.name("divisions", c.industry[1:]) if len(c.industry) > 1 else taxonomy.name("sections", c.industry)
    )
    return (
        text.tokens(c.title) * 3
        + text.tokens(" ".join([industry, scenario_names, " ".join(c.providers), c.enterprise_name or ""])) * 2
        + text.tokens(" ".join([c.problem, c.solution, c.effect]))
    )


class CaseIndex:
    def __init__(self, cases: list[Case]) -> None:
        link_of = {code: str(t.extra.get("link", "")) for code, t in taxonomy.load().scenarios.items()}
        self.engine = Engine(
            keys=[c.id for c in cases],
            token_lists=[case_tokens(c) for c in cases],
            facets={
                "industry": [[_section(c.industry)] for c in cases],
                "scenario": [c.scenarios for c in cases],
                "link": [{link_of.get(s, "") for s in c.scenarios} - {""} for c in cases],
                "province": [[c.province_code] for c in cases],
                "benchmark": [["yes"] if c.is_benchmark else [] for c in cases],
            },
            numbers={
                "published": [c.published_at.timestamp() if c.published_at else 0.0 for c in cases],
                "benchmark": [1.0 if c.is_benchmark else 0.0 for c in cases],
            },
        )

    def search(self, q: CaseQuery) -> CaseResult:
        e = self.engine
        terms, scores, hits = e.match(q.q)
        masks = {name: e.mask(name, getattr(q, name)) for name in FACETS if getattr(q, name)}
        selected, facets = e.narrow(hits, masks, FACETS)
        keys = [(scores, True), (e.numbers["benchmark"], True), (e.numbers["published"], True)]
        if not terms.groups:
            keys = keys[1:]
        start = (q.page - 1) * q.per_page
        order = e.order(selected, keys, start + q.per_page)[start:]
        return CaseResult(
            ids=[int(k) for k in e.keys[order]],
            total=int(np.count_nonzero(selected)),
            page=q.page,
            per_page=q.per_page,
            facets=facets,
            synonyms=terms.synonyms,
        )


_lock = threading.Lock()
_indexes: dict[str, tuple[tuple[Any, ...], CaseIndex]] = {}


def case_index(session: Session) -> CaseIndex:
    return case_index_stamped(session)[0]


def case_index_stamped(session: Session) -> tuple[CaseIndex, tuple[Any, ...]]:
    """The index of published cases and the stamp it was built at (the table's size and newest change,
    read on every call): what a cache of case search results is keyed by."""
    key = str(session.get_bind().engine.url)
    stamp = tuple(session.execute(select(func.count(Case.id), func.max(Case.updated_at))).one())
    cached = _indexes.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1], stamp
    with _lock:
        cases = list(session.scalars(select(Case).where(visible_cases(None)).order_by(Case.id)))
        index = CaseIndex(cases)
        _indexes[key] = (stamp, index)
        return index, stamp
