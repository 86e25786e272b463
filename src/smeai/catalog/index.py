"""Search over the published pool: query, facets, filters, sorting, paging.

`search_offerings()` answers from an in-memory `PoolIndex` (see search.Engine), rebuilt when the
offerings table changes. Facets: kind, industry (section), scenario, link, deployment, pricing model,
price band. Filters on each, plus the enterprise's own province, stage and budget.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smeai import taxonomy, text
from smeai.auth.models import Organisation
from smeai.catalog import stamp
from smeai.catalog.models import Offering, SearchIndex
from smeai.catalog.schemas import ANY
from smeai.catalog.search import Engine
from smeai.catalog.visibility import visible_offerings
from smeai.db import utcnow
from smeai.i18n import N_
from smeai.money import Wan, wan_to_fen
from smeai.text.bm25 import Bm25, encode

log = logging.getLogger("smeai.catalog.index")

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
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
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


# ------------------------------------------------------------------ columns: what an index is built from

NUMBERS = ("price", "published", "min_stage", "max_stage")
FACET_FIELDS = ("kind", "industry", "industry_raw", "scenario", "link", "deployment", "pricing", "price_band", "region")


def _facet_values(row: dict[str, Any]) -> dict[str, list[str]]:
    scenario_link = _scenario_links()
    return {
        "kind": [row["kind"]],
        "industry": sorted(_sections_of(row["industries"])),
        "industry_raw": list(row["industries"]),
        "scenario": list(row["scenarios"]),
        "link": sorted({scenario_link.get(s, "") for s in row["scenarios"]} - {""}),
        "deployment": list(row["deployment"]),
        "pricing": [row["pricing_model"]],
        "price_band": [price_band(row["entry_price_fen"])],
        "region": list(row["regions"]),
    }


@lru_cache(maxsize=1)
def _scenario_links() -> dict[str, str]:
    return {code: str(t.extra.get("link", "")) for code, t in taxonomy.load().scenarios.items()}


def _numbers(row: dict[str, Any]) -> tuple[float, ...]:
    published = row["published_at"].timestamp() if row["published_at"] else 0.0
    # fen as float64: exact below 2**53
    return (float(row["entry_price_fen"]), published, float(row["min_stage"]), float(row["max_stage"]))


@dataclass
class Csr:
    """Lists laid end to end: document d owns values[offsets[d]:offsets[d + 1]] (and weights alike)."""

    offsets: np.ndarray  # int64, n + 1
    values: np.ndarray  # int32
    weights: np.ndarray | None = None  # float32, one per value (term frequencies), or none

    @classmethod
    def of(cls, lists: list[np.ndarray], weights: list[np.ndarray] | None = None) -> Csr:
        sizes = np.fromiter((len(x) for x in lists), np.int64, len(lists))
        offsets = np.concatenate([np.zeros(1, np.int64), np.cumsum(sizes)])
        values = np.concatenate(lists).astype(np.int32) if int(offsets[-1]) else np.zeros(0, np.int32)
        w = None
        if weights is not None:
            w = np.concatenate(weights).astype(np.float32) if int(offsets[-1]) else np.zeros(0, np.float32)
        return cls(offsets, values, w)

    def merged(self, keep: np.ndarray, other: Csr, order: np.ndarray) -> Csr:
        """The kept documents of self, then other's, reordered by `order`: array work, no Python loop."""
        sizes = np.diff(self.offsets)
        picked = np.repeat(keep, sizes)
        values = np.concatenate([self.values[picked], other.values])
        weights = None
        if self.weights is not None and other.weights is not None:
            weights = np.concatenate([self.weights[picked], other.weights])
        lens = np.concatenate([sizes[keep], np.diff(other.offsets)])
        starts = np.concatenate([np.zeros(1, np.int64), np.cumsum(lens)])[:-1]
        lens, starts = lens[order], starts[order]
        ends = np.cumsum(lens)
        gather = np.repeat(starts - (ends - lens), lens) + np.arange(int(ends[-1]) if len(ends) else 0)
        offsets = np.concatenate([np.zeros(1, np.int64), ends])
        return Csr(offsets, values[gather], None if weights is None else weights[gather])

    def inverted(self, names: list[str]) -> dict[str, np.ndarray]:
        """value name -> its documents, ascending (a facet's postings)."""
        n = len(self.offsets) - 1
        docs = np.repeat(np.arange(n, dtype=np.int32), np.diff(self.offsets))
        order = np.argsort(self.values, kind="stable")
        values, docs = self.values[order], docs[order]
        cuts = np.flatnonzero(np.diff(values)) + 1
        starts = np.concatenate([np.zeros(1, np.int64), cuts])
        ends = np.concatenate([cuts, [len(values)]])
        return {names[int(values[a])]: docs[a:b] for a, b in zip(starts, ends, strict=True) if b > a}


@dataclass
class Columns:
    """The published pool as arrays, one document per offering in id order (the order the index's ties
    fall back on): numbers, the encoded text and each facet's value ids. An update replaces the rows
    that changed with array work; the whole is what `save()` stores."""

    ids: np.ndarray  # int64
    numbers: dict[str, np.ndarray]  # float64 each
    text: Csr
    facets: dict[str, Csr]

    @classmethod
    def of(cls, docs: list[tuple[int, tuple[float, ...], tuple[np.ndarray, np.ndarray], list[np.ndarray]]]) -> Columns:
        docs = sorted(docs, key=lambda d: d[0])
        return cls(
            ids=np.fromiter((d[0] for d in docs), np.int64, len(docs)),
            numbers={
                name: np.fromiter((d[1][i] for d in docs), np.float64, len(docs)) for i, name in enumerate(NUMBERS)
            },
            text=Csr.of([d[2][0] for d in docs], [d[2][1] for d in docs]),
            facets={name: Csr.of([d[3][i] for d in docs]) for i, name in enumerate(FACET_FIELDS)},
        )

    @property
    def n(self) -> int:
        return len(self.ids)

    def replaced(self, drop: np.ndarray, new: Columns) -> Columns:
        """Without the documents of `drop` (ids), with those of `new`, still in id order."""
        keep = ~np.isin(self.ids, drop)
        ids = np.concatenate([self.ids[keep], new.ids])
        order = np.argsort(ids, kind="stable")
        return Columns(
            ids=ids[order],
            numbers={k: np.concatenate([v[keep], new.numbers[k]])[order] for k, v in self.numbers.items()},
            text=self.text.merged(keep, new.text, order),
            facets={k: v.merged(keep, new.facets[k], order) for k, v in self.facets.items()},
        )


@dataclass
class Vocabularies:
    """Term and facet-value ids. They only grow (an index built earlier stays valid against them)."""

    terms: dict[str, int] = field(default_factory=dict)
    facets: dict[str, dict[str, int]] = field(default_factory=lambda: {f: {} for f in FACET_FIELDS})

    def names(self, facet: str) -> list[str]:
        return list(self.facets[facet])  # dicts keep insertion order: position = id

    def facet_ids(self, facet: str, values: Iterable[str]) -> np.ndarray:
        ids = self.facets[facet]
        out = []
        for v in dict.fromkeys(values):  # a value once per document, as a facet counts documents
            i = ids.get(v)
            if i is None:
                i = ids[v] = len(ids)
            out.append(i)
        return np.asarray(out, dtype=np.int32)


def _document(
    row: dict[str, Any], vocab: Vocabularies
) -> tuple[int, tuple[float, ...], tuple[np.ndarray, np.ndarray], list[np.ndarray]]:
    values = _facet_values(row)
    return (
        int(row["id"]),
        _numbers(row),
        encode(offering_tokens(row), vocab.terms),
        [vocab.facet_ids(name, values[name]) for name in FACET_FIELDS],
    )


def index_of(columns: Columns, vocab: Vocabularies) -> PoolIndex:
    bm25 = Bm25.from_csr(columns.text.offsets, columns.text.values, columns.text.weights, vocab.terms)  # type: ignore[arg-type]
    facets = {name: columns.facets[name].inverted(vocab.names(name)) for name in FACET_FIELDS}
    return PoolIndex(Engine.from_parts(columns.ids, dict(columns.numbers), bm25, facets))


# ------------------------------------------------------------------ reading the database

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
    Organisation.name.label("provider_name"),
)
CHUNK = 2000  # rows read per query while building


def _read_all(session: Session, vocab: Vocabularies) -> Columns:
    query = (
        select(*_COLUMNS)
        .join(Organisation, Organisation.id == Offering.provider_id)
        .where(visible_offerings(None))
        .order_by(Offering.id)
        .execution_options(yield_per=CHUNK)
    )
    return Columns.of([_document(dict(r._mapping), vocab) for r in session.execute(query)])


def _read_changes(session: Session, since: int, vocab: Vocabularies) -> tuple[np.ndarray, Columns]:
    """Ids of the offerings changed after version `since` (whatever they are now) and the documents
    of those still published."""
    query = (
        select(*_COLUMNS, visible_offerings(None).label("visible"))
        .join(Organisation, Organisation.id == Offering.provider_id)
        .where(Offering.change_seq > since)
        .execution_options(yield_per=CHUNK)
    )
    changed, docs = [], []
    for r in session.execute(query):
        row = dict(r._mapping)
        changed.append(row["id"])
        if row["visible"]:
            docs.append(_document(row, vocab))
    return np.asarray(changed, dtype=np.int64), Columns.of(docs)


def _count_changes(session: Session, since: int) -> int:
    return int(session.scalar(select(func.count(Offering.id)).where(Offering.change_seq > since)) or 0)


# ------------------------------------------------------------------ the stored index

NAME = "catalog"
FORMAT_VERSION = "1"


@lru_cache(maxsize=1)
def format_key() -> str:
    """Changes whenever the stored documents would come out differently: this module's format, the
    segmenter's dictionary and stopwords, the synonyms and the taxonomy (scenario names and links)."""
    digest = hashlib.sha1(FORMAT_VERSION.encode())
    for path in sorted([*text.DATA.iterdir(), *taxonomy.DATA.iterdir()]):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    digest.update(json.dumps(KIND_WORDS, sort_keys=True, ensure_ascii=False).encode())
    return f"{FORMAT_VERSION}:{digest.hexdigest()[:30]}"


def _pack(columns: Columns, vocab: Vocabularies) -> bytes:
    arrays: dict[str, np.ndarray] = {"ids": columns.ids, "text_offsets": columns.text.offsets}
    arrays |= {"text_terms": columns.text.values, "text_tfs": columns.text.weights}  # type: ignore[dict-item]
    arrays |= {f"n_{k}": v for k, v in columns.numbers.items()}
    for name, csr in columns.facets.items():
        arrays[f"f_{name}_offsets"], arrays[f"f_{name}_values"] = csr.offsets, csr.values
    names = {"terms": list(vocab.terms), "facets": {f: vocab.names(f) for f in FACET_FIELDS}}
    arrays["vocab"] = np.frombuffer(json.dumps(names, ensure_ascii=False).encode(), dtype=np.uint8)
    out = io.BytesIO()
    np.savez(out, **arrays)  # type: ignore[arg-type]  # uncompressed: loading is a copy, not a decompression
    return out.getvalue()


def _unpack(data: bytes) -> tuple[Columns, Vocabularies]:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        names = json.loads(z["vocab"].tobytes().decode())
        vocab = Vocabularies(
            terms={t: i for i, t in enumerate(names["terms"])},
            facets={f: {v: i for i, v in enumerate(names["facets"][f])} for f in FACET_FIELDS},
        )
        columns = Columns(
            ids=z["ids"],
            numbers={k: z[f"n_{k}"] for k in NUMBERS},
            text=Csr(z["text_offsets"], z["text_terms"], z["text_tfs"]),
            facets={f: Csr(z[f"f_{f}_offsets"], z[f"f_{f}_values"]) for f in FACET_FIELDS},
        )
    return columns, vocab


def _load_stored(session: Session, token: str, version: int) -> State | None:
    row = session.execute(
        select(SearchIndex.version, SearchIndex.data).where(
            SearchIndex.name == NAME, SearchIndex.token == token, SearchIndex.format == format_key()
        )
    ).first()
    if row is None or row[0] > version:  # built against a later (since rolled back) history: unusable
        return None
    columns, vocab = _unpack(row[1])
    return State((token, int(row[0])), columns, vocab, None)


# ------------------------------------------------------------------ one index per database, kept current


@dataclass
class State:
    stamp: stamp.Stamp  # the change stamp the columns are current with
    columns: Columns
    vocab: Vocabularies
    index: PoolIndex | None  # built from columns on first use


def _current(session: Session, state: State | None, now: stamp.Stamp) -> State:
    """`state` brought up to the stamp `now` (read before any row): only rows changed since are read.
    A state of another history (token) is not used; a stored one is, when there is one."""
    token, version = now
    if state is not None and (state.stamp[0] != token or state.stamp[1] > version):
        state = None
    if state is None and token is not None:
        state = _load_stored(session, token, version)
    if state is None:
        vocab = Vocabularies()
        return State(now, _read_all(session, vocab), vocab, None)
    if state.stamp[1] == version:
        return state
    changed, fresh = _read_changes(session, state.stamp[1], state.vocab)
    return State(now, state.columns.replaced(changed, fresh), state.vocab, None)


def _indexed(state: State) -> State:
    if state.index is None:
        state.index = index_of(state.columns, state.vocab)
    return state


def build(session: Session) -> State:
    """The current index for this database, from the stored one and the rows changed since (or from
    every row when none is stored), with its stamp."""
    return _indexed(_current(session, None, stamp.read(session)))


def store(session: Session, state: State) -> int:
    """Keep `state` in the database for every worker to start from (the caller commits); bytes written."""
    token, version = state.stamp
    if token is None:  # no catalog write yet: nothing worth storing
        return 0
    data = _pack(state.columns, state.vocab)
    values = {"token": token, "version": version, "format": format_key(), "rows": state.columns.n}
    values |= {"built_at": utcnow(), "data": data}
    found = session.get(SearchIndex, NAME)
    if found is None:
        session.add(SearchIndex(name=NAME, **values))
    else:
        for k, v in values.items():
            setattr(found, k, v)
    session.flush()
    return len(data)


# Up to this many changed rows an update is applied before the search answers (well under a second);
# above it (an import) the previous index keeps answering while a background thread catches up.
SYNC_UPDATE_MAX = 2_000

_states: dict[str, State] = {}
_build_lock = threading.Lock()  # one build at a time: builds share the vocabularies
_lock = threading.Lock()
_updating: set[str] = set()


def _database_key(session: Session) -> str:
    return str(session.get_bind().engine.url)


def _update_in_background(bind: Any, key: str) -> None:
    try:
        with _build_lock, Session(bind=bind) as session:
            now = stamp.read(session)
            _states[key] = _indexed(_current(session, _states.get(key), now))
    except Exception:  # the previous index keeps answering; the next search tries again
        log.exception("catalog index update failed")
    finally:
        with _lock:
            _updating.discard(key)


def pool_index(session: Session) -> PoolIndex:
    """The index for this database as it is now: the change stamp is read on every call (one primary
    key lookup) and the rows changed since the last call are applied, so an edit made by any worker is
    in every worker's next search."""
    return pool_index_stamped(session)[0]


def pool_index_stamped(session: Session) -> tuple[PoolIndex, stamp.Stamp]:
    """`pool_index()` and the change stamp it is current with: the stamp now, or an older one while a
    background update catches up after an import. What a cache of search results is keyed by."""
    return _pool_index(session, stamp.read(session))


def current_stamp(session: Session) -> stamp.Stamp | None:
    """The catalog's change stamp now when the index is current with it (brought up to it if need be),
    None while a background update catches up: what a cache of rendered results, which also show the
    rows as they are now, is keyed by."""
    now = stamp.read(session)
    return now if _pool_index(session, now)[1] == now else None


def _pool_index(session: Session, now: stamp.Stamp) -> tuple[PoolIndex, stamp.Stamp]:
    key = _database_key(session)
    state = _states.get(key)
    if state is not None and state.stamp == now and state.index is not None:
        return state.index, state.stamp
    if (
        state is not None
        and state.index is not None
        and state.stamp[0] == now[0]
        and state.stamp[1] < now[1]
        and _count_changes(session, state.stamp[1]) > SYNC_UPDATE_MAX
    ):
        with _lock:
            if key not in _updating:
                _updating.add(key)
                threading.Thread(
                    target=_update_in_background, args=(session.get_bind(), key), name="smeai-index", daemon=True
                ).start()
        return state.index, state.stamp
    with _build_lock:
        state = _indexed(_current(session, _states.get(key), now))
        _states[key] = state  # one assignment: readers keep the previous index meanwhile
    return state.index, state.stamp  # type: ignore[return-value]


def _forget(session: Session) -> None:
    """A transaction that changed the catalog rolled back: an index built from its uncommitted rows
    (this session searched after its own flush) must not pass for current."""
    _states.pop(_database_key(session), None)


stamp.on_rollback(_forget)


def loaded(session: Session) -> bool:
    """Whether this process holds an index for this database (readiness)."""
    return _database_key(session) in _states


def search_offerings(session: Session, query: OfferingQuery) -> SearchResult:
    return pool_index(session).search(query)


@dataclass(frozen=True)
class StoredIndex:
    rows: int
    version: int
    bytes: int  # written now; 0 when the stored index was already current


def refresh_stored(session: Session) -> StoredIndex:
    """Bring the stored index up to the catalog now (from the stored one and the rows changed since):
    what the `catalog-index` job and `smeai catalog index build` do. Idempotent: an index already
    current is not written again. The caller commits."""
    now = stamp.read(session)
    found = session.execute(
        select(SearchIndex.version, SearchIndex.rows).where(
            SearchIndex.name == NAME, SearchIndex.token == now[0], SearchIndex.format == format_key()
        )
    ).first()
    if found is not None and found[0] == now[1]:
        return StoredIndex(int(found[1]), now[1], 0)
    state = _current(session, None, now)
    return StoredIndex(state.columns.n, state.stamp[1], store(session, state))
