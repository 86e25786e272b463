"""Search over the published pool: query, facets, filters, sorting, paging.

`search_offerings()` answers from an in-memory `PoolIndex` (see search.Engine), rebuilt when the
offerings table changes. Facets: kind, industry (section), scenario, link, deployment, pricing model,
price band. Filters on each, plus the enterprise's own province, stage and budget.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smeai import taxonomy, text
from smeai.auth.models import Organisation
from smeai.catalog.models import Offering
from smeai.catalog.schemas import ANY
from smeai.catalog.search import Engine
from smeai.catalog.visibility import visible_offerings
from smeai.i18n import N_
from smeai.money import Wan, wan_to_fen
from smeai.text.bm25 import encode

# Words a searcher uses for each kind, indexed with the offering (一体机, 算力, 培训 …).
KIND_WORDS = {
    "saas": "智能原生 SaaS 软件 应用",
    "platform": "开发平台 行业平台 平台",
    "agent": "智能体 Agent",
    "model": "大模型 模型 MaaS API",
    "appliance": "一体机 硬件",
    "service": "定制开发 咨询 集成 服务",
    "compute": "算力 GPU 服务器",
    "dataset": "数据集 数据",
    "training": "培训 课程",
}

WAN = 1_000_000  # fen in one 万元

# (code, lower bound in fen inclusive, upper bound exclusive, label msgid)
PRICE_BANDS: tuple[tuple[str, float, float, str], ...] = (
    ("free", 0, 0, N_("Free")),
    ("lt1", 0, 1 * WAN, N_("Under 10,000 yuan")),
    ("1-5", 1 * WAN, 5 * WAN, N_("10,000–50,000 yuan")),
    ("5-20", 5 * WAN, 20 * WAN, N_("50,000–200,000 yuan")),
    ("20-50", 20 * WAN, 50 * WAN, N_("200,000–500,000 yuan")),
    ("50+", 50 * WAN, math.inf, N_("500,000 yuan and more")),
)


def price_band(entry_price_fen: float) -> str:
    """Every value has a band, whatever is stored: nothing above 0 is free, the top band is open."""
    if not entry_price_fen > 0:
        return "free"
    for code, _lo, hi, _label in PRICE_BANDS[1:]:
        if entry_price_fen < hi:
            return code
    return PRICE_BANDS[-1][0]


class Sort(StrEnum):
    RELEVANCE = "relevance"
    NEWEST = "newest"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"


FACETS = ("kind", "industry", "scenario", "link", "deployment", "pricing", "price_band")


class OfferingQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    q: str = Field(default="", max_length=200)
    kind: list[str] = Field(default_factory=list)
    industry: list[str] = Field(default_factory=list)  # section letters, C + division, groups or *
    scenario: list[str] = Field(default_factory=list)
    link: list[str] = Field(default_factory=list)
    deployment: list[str] = Field(default_factory=list)
    pricing: list[str] = Field(default_factory=list)
    price_band: list[str] = Field(default_factory=list)
    region: str | None = None  # a province the offering must serve
    stage: int | None = Field(default=None, ge=0, le=4)  # the enterprise's application stage
    max_price_wan: Wan | None = None  # finite and bounded: a URL's Infinity is a field error
    sort: Sort | None = None  # default: relevance with a query, newest without
    page: int = Field(default=1, ge=1, le=10_000)
    per_page: int = Field(default=20, ge=1, le=100)


@dataclass
class SearchResult:
    ids: list[int]  # offering ids of the page, in order
    scores: list[float]
    total: int
    page: int
    per_page: int
    facets: dict[str, list[tuple[str, int]]]
    words: list[str] = field(default_factory=list)
    synonyms: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def _industry_values(code: str) -> set[str]:
    """Raw industry codes of offerings that cover `code` (interchange.md's coverage rule)."""
    tax = taxonomy.load()
    if code == ANY:
        return {ANY}
    out = {ANY, code}
    if code in tax.sections:
        if code == "C":
            out |= {f"C{d}" for d in tax.divisions} | set(tax.groups)
        return out
    if code in tax.groups:
        return out | {"C"} | {f"C{d}" for d in tax.groups[code].divisions}
    if code.startswith("C") and code[1:] in tax.divisions:
        group = tax.group_of_division(code[1:])
        return out | {"C"} | ({group.code} if group else set())
    return out


def _sections_of(codes: list[str]) -> set[str]:
    tax = taxonomy.load()
    out: set[str] = set()
    for c in codes:
        if c == ANY:
            out.add(ANY)
        elif c in tax.sections:
            out.add(c)
        else:  # C + division or a manufacturing group
            out.add("C")
    return out


class PoolIndex:
    def __init__(
        self, rows: list[dict[str, Any]], encoded: list[tuple[np.ndarray, np.ndarray]], vocab: dict[str, int]
    ) -> None:
        scenario_link = {code: str(t.extra.get("link", "")) for code, t in taxonomy.load().scenarios.items()}
        self.engine = Engine(
            keys=[r["id"] for r in rows],
            token_lists=None,
            encoded=encoded,
            vocab=vocab,
            facets={
                "kind": [[r["kind"]] for r in rows],
                "industry": [_sections_of(r["industries"]) for r in rows],
                "industry_raw": [r["industries"] for r in rows],
                "scenario": [r["scenarios"] for r in rows],
                "link": [{scenario_link.get(s, "") for s in r["scenarios"]} - {""} for r in rows],
                "deployment": [r["deployment"] for r in rows],
                "pricing": [[r["pricing_model"]] for r in rows],
                "price_band": [[price_band(r["entry_price_fen"])] for r in rows],
                "region": [r["regions"] for r in rows],
            },
            numbers={
                "price": [r["entry_price_fen"] for r in rows],  # fen as float64: exact below 2**53
                "published": [r["published_at"].timestamp() if r["published_at"] else 0.0 for r in rows],
                "min_stage": [r["min_stage"] for r in rows],
                "max_stage": [r["max_stage"] for r in rows],
            },
        )
        any_industry = self.engine.mask("industry", [ANY])
        # a section's count includes offerings for any industry, like its filter does
        self.section_cover = {s: self.engine.mask("industry", [s]) | any_industry for s in taxonomy.load().sections}

    def _filter_masks(self, q: OfferingQuery) -> dict[str, np.ndarray]:
        e = self.engine
        masks: dict[str, np.ndarray] = {}
        for name in ("kind", "scenario", "link", "deployment", "pricing", "price_band"):
            values = getattr(q, name)
            if values:
                masks[name] = e.mask(name, values)
        if q.industry:
            masks["industry"] = e.mask("industry_raw", set().union(*(_industry_values(c) for c in q.industry)))
        extra = np.ones(e.n, dtype=bool)
        if q.region:
            extra &= e.mask("region", [ANY, q.region])
        if q.stage is not None:
            extra &= (e.numbers["min_stage"] <= q.stage) & (e.numbers["max_stage"] >= q.stage)
        if q.max_price_wan is not None:
            extra &= e.numbers["price"] <= wan_to_fen(q.max_price_wan)
        masks["_extra"] = extra
        return masks

    def _count(self, name: str, base: np.ndarray) -> dict[str, int]:
        if name != "industry":
            return self.engine.counts(name, base)
        counts = {s: int(np.count_nonzero(base & cover)) for s, cover in self.section_cover.items()}
        any_docs = self.engine.facets["industry"].get(ANY, np.empty(0, np.int32))
        counts[ANY] = int(np.count_nonzero(base[any_docs]))
        return counts

    def search(self, q: OfferingQuery) -> SearchResult:
        e = self.engine
        terms, scores, hits = e.match(q.q)
        selected, facets = e.narrow(hits, self._filter_masks(q), FACETS, self._count)
        sort = q.sort or (Sort.RELEVANCE if terms.groups else Sort.NEWEST)
        keys = {
            Sort.RELEVANCE: [(scores, True), (e.numbers["published"], True)],
            Sort.NEWEST: [(e.numbers["published"], True), (e.keys.astype(np.float64), True)],
            Sort.PRICE_ASC: [(e.numbers["price"], False), (e.numbers["published"], True)],
            Sort.PRICE_DESC: [(e.numbers["price"], True), (e.numbers["published"], True)],
        }[sort]
        start = (q.page - 1) * q.per_page
        order = e.order(selected, keys, start + q.per_page)[start:]
        return SearchResult(
            ids=[int(k) for k in e.keys[order]],
            scores=[float(s) for s in scores[order]],
            total=int(np.count_nonzero(selected)),
            page=q.page,
            per_page=q.per_page,
            facets=facets,
            words=terms.words,
            synonyms=terms.synonyms,
        )


@lru_cache(maxsize=20_000)
def _shared_tokens(value: str) -> tuple[str, ...]:
    """Tokens of strings many offerings share (provider names, scenario names, kind words, tag sets)."""
    return tuple(text.tokens(value))


def offering_tokens(row: dict[str, Any]) -> list[str]:
    """Weighted tokens: the name counts three times, tags and provider twice, the rest once."""
    tax = taxonomy.load()
    scenario_names = " ".join(tax.scenarios[s].zh for s in row["scenarios"] if s in tax.scenarios)
    return (
        text.tokens(row["name"]) * 3
        + list(_shared_tokens(" ".join(row["tags"]))) * 2
        + list(_shared_tokens(row["provider_name"])) * 2
        + text.tokens(row["summary"])
        + text.tokens(row["description"] or "")
        + list(_shared_tokens(scenario_names))
        + list(_shared_tokens(KIND_WORDS.get(row["kind"], "")))
    )


_COLUMNS = (
    Offering.id,
    Offering.name,
    Offering.kind,
    Offering.summary,
    Offering.description,
    Offering.tags,
    Offering.industries,
    Offering.scenarios,
    Offering.deployment,
    Offering.regions,
    Offering.pricing_model,
    Offering.entry_price_fen,
    Offering.min_stage,
    Offering.max_stage,
    Offering.published_at,
    Offering.updated_at,
    Organisation.name.label("provider_name"),
)

_lock = threading.Lock()
_indexes: dict[str, tuple[tuple[Any, ...], PoolIndex]] = {}
# per database: the vocabulary (term -> id, only grows) and each row with its encoded tokens, by updated_at
_tokens: dict[
    str, tuple[dict[str, int], dict[int, tuple[datetime, dict[str, Any], tuple[np.ndarray, np.ndarray]]]]
] = {}


def _stamp(session: Session) -> tuple[Any, ...]:
    # New rows get the highest id and every change sets updated_at, so two index lookups (no count,
    # which is a full scan on SQLite) tell whether the pool changed.
    last_id = select(func.max(Offering.id)).scalar_subquery()
    last_change = select(func.max(Offering.updated_at)).scalar_subquery()
    return tuple(session.execute(select(last_id, last_change)).one())


def build_index(session: Session, *, cache_key: str | None = None) -> PoolIndex:
    """Read the published pool and index it. Rows unchanged since the last build (same updated_at)
    are neither read again nor segmented again: only (id, updated_at) of every row is read."""
    vocab, cache = _tokens.setdefault(cache_key, ({}, {})) if cache_key else ({}, {})
    current = session.execute(
        select(Offering.id, Offering.updated_at).where(visible_offerings(None)).order_by(Offering.id)
    ).all()
    stale = [oid for oid, changed in current if oid not in cache or cache[oid][0] != changed]
    for start in range(0, len(stale), 1000):
        query = (
            select(*_COLUMNS)
            .join(Organisation, Organisation.id == Offering.provider_id)
            .where(Offering.id.in_(stale[start : start + 1000]))
        )
        for r in session.execute(query):
            row = dict(r._mapping)
            cache[row["id"]] = (row["updated_at"], row, encode(offering_tokens(row), vocab))
    entries = [cache[oid] for oid, _changed in current]
    if len(cache) > len(current):  # forget rows no longer published (they are read again if they return)
        keep = {oid for oid, _changed in current}
        for oid in [k for k in cache if k not in keep]:
            del cache[oid]
    return PoolIndex([e[1] for e in entries], [e[2] for e in entries], vocab)


# Up to this many offerings a change is indexed before the next search answers (well under a second);
# above it the previous index keeps answering while a background thread rebuilds.
SYNC_REBUILD_MAX = 20_000
_rebuilding: set[str] = set()


_build_lock = threading.Lock()  # one build at a time: builds share the vocabulary and token cache


def _rebuild(bind: Any, key: str) -> None:
    try:
        with _build_lock, Session(bind=bind) as session:
            stamp = _stamp(session)
            index = build_index(session, cache_key=key)
            _indexes[key] = (stamp, index)  # one atomic assignment; readers keep the old index meanwhile
    finally:
        _rebuilding.discard(key)


def _database_key(session: Session) -> str:
    bind = session.get_bind()
    return str(bind.engine.url)


def pool_index(session: Session) -> PoolIndex:
    """The current index for this database, rebuilt when any offering changed."""
    key = _database_key(session)
    stamp = _stamp(session)
    cached = _indexes.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    if cached is not None and cached[1].engine.n > SYNC_REBUILD_MAX:
        with _lock:
            if key not in _rebuilding:
                _rebuilding.add(key)
                threading.Thread(target=_rebuild, args=(session.get_bind(), key), daemon=True).start()
        return cached[1]
    with _lock:
        cached = _indexes.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        with _build_lock:
            index = build_index(session, cache_key=key)
        _indexes[key] = (stamp, index)
        return index


def search_offerings(session: Session, query: OfferingQuery) -> SearchResult:
    return pool_index(session).search(query)
