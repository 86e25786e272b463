"""An in-memory search engine for Chinese text with facets: BM25 (smeai.text.bm25, the engine the
matching ranker uses too) over jieba tokens (smeai.text), synonym expansion, facet counts, filters,
sorting and paging, all as numpy array operations.

Used by the resource pool and the case library. The index is built from the database and rebuilt
when the table changes (a cheap `count, max(updated_at)` stamp per query); tokens of unchanged rows
are reused, so a rebuild after one edit costs array work, not segmentation.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from smeai import text
from smeai.text.bm25 import Bm25, Encoded, encode

__all__ = ["Engine", "QueryTerms", "encode", "query_terms"]
SYNONYM_BOOST = 0.7  # a synonym counts, but a little less than the query's own word


@dataclass
class QueryTerms:
    """The query as groups: each of the user's words with its synonyms (one group = one concept)."""

    groups: list[list[tuple[str, float]]] = field(default_factory=list)

    @property
    def words(self) -> list[str]:
        return [g[0][0] for g in self.groups]

    @property
    def synonyms(self) -> list[str]:
        return [t for g in self.groups for t, boost in g if boost < 1]


PART_BOOST = 0.5  # a piece of a longer query word (jieba's search mode emits 知识 inside 知识库)


def query_terms(query: str) -> QueryTerms:
    tokens = list(dict.fromkeys(text.tokens(query)))
    # a token inside a longer token of the query is not a concept of its own but a weaker form of it
    longer = {t: next((o for o in tokens if o != t and t in o), None) for t in tokens}
    groups: dict[str, list[tuple[str, float]]] = {}
    for token in tokens:
        if longer[token] is None:
            groups[token] = [(token, 1.0)] + [
                (syn.lower(), SYNONYM_BOOST) for syn in sorted(text.synonyms(token)) if syn.lower() != token
            ]
    for token in tokens:
        owner = longer[token]
        while owner is not None and longer.get(owner) is not None:
            owner = longer[owner]
        if owner is not None:
            groups[owner].append((token, PART_BOOST))
    return QueryTerms(list(groups.values()))


class Engine:
    """One immutable index: documents 0..n-1 carry a key (the row id), text (encoded tokens, as a
    text.bm25 index), facet values and numeric sort keys."""

    def __init__(
        self,
        keys: Sequence[int],
        token_lists: Sequence[Sequence[str]] | None,
        facets: dict[str, Sequence[Iterable[str]]],
        numbers: dict[str, Sequence[float]],
        *,
        encoded: Sequence[Encoded] | None = None,
        vocab: dict[str, int] | None = None,
    ) -> None:
        self.n = len(keys)
        self.keys = np.asarray(keys, dtype=np.int64)
        self.numbers = {name: np.asarray(values, dtype=np.float64) for name, values in numbers.items()}
        self.vocab = vocab if vocab is not None else {}
        if encoded is None:
            encoded = [encode(tokens, self.vocab) for tokens in token_lists or []]
        self.bm25 = Bm25(encoded, self.vocab)
        self.facets: dict[str, dict[str, np.ndarray]] = {}
        for name, values in facets.items():
            index: dict[str, list[int]] = defaultdict(list)
            for doc, vals in enumerate(values):
                for v in set(vals):
                    index[v].append(doc)
            self.facets[name] = {v: np.asarray(d, dtype=np.int32) for v, d in index.items()}

    @classmethod
    def from_parts(
        cls, keys: np.ndarray, numbers: dict[str, np.ndarray], bm25: Bm25, facets: dict[str, dict[str, np.ndarray]]
    ) -> Engine:
        """An engine over arrays built elsewhere (catalog/index.py's columns, updated row by row)."""
        self = cls.__new__(cls)
        self.n, self.keys, self.numbers = len(keys), keys, numbers
        self.vocab, self.bm25, self.facets = bm25.vocab, bm25, facets
        return self

    # --- text ---

    def text_scores(self, terms: QueryTerms) -> tuple[np.ndarray, np.ndarray]:
        """BM25 summed over concepts (a concept scores its best word or synonym), times the share of
        concepts a document matches; a hit matches at least a third of them (long sentences in the
        user's own words carry filler words that listings do not)."""
        scores, matched = self.bm25.group_scores(terms.groups)
        need = max(1, math.ceil(len(terms.groups) / 3))
        hits = matched >= need
        if terms.groups:
            scores *= matched / len(terms.groups)
        return scores, hits

    def match(self, query: str) -> tuple[QueryTerms, np.ndarray, np.ndarray]:
        """The query's concepts, each document's score and which documents match it; a query without
        words matches every document, unscored."""
        terms = query_terms(query) if query.strip() else QueryTerms()
        if not terms.groups:
            return terms, np.zeros(self.n, dtype=np.float32), np.ones(self.n, dtype=bool)
        scores, hits = self.text_scores(terms)
        return terms, scores, hits

    # --- facets and filters ---

    def mask(self, facet: str, values: Iterable[str]) -> np.ndarray:
        out = np.zeros(self.n, dtype=bool)
        index = self.facets[facet]
        for v in values:
            docs = index.get(v)
            if docs is not None:
                out[docs] = True
        return out

    def counts(self, facet: str, base: np.ndarray) -> dict[str, int]:
        return {v: int(np.count_nonzero(base[docs])) for v, docs in self.facets[facet].items()}

    def narrow(
        self,
        hits: np.ndarray,
        masks: dict[str, np.ndarray],
        facets: Sequence[str],
        count: Callable[[str, np.ndarray], dict[str, int]] | None = None,
    ) -> tuple[np.ndarray, dict[str, list[tuple[str, int]]]]:
        """The `hits` every mask keeps, and each facet's (value, count) pairs, most first; a facet counts
        as if its own filter were off (multi-select). `count` replaces `counts` for special facets."""
        count = count or self.counts
        selected = hits.copy()
        for m in masks.values():
            selected &= m
        out: dict[str, list[tuple[str, int]]] = {}
        for name in facets:
            base = hits.copy()
            for other, m in masks.items():
                if other != name:
                    base &= m
            out[name] = sorted(((v, n) for v, n in count(name, base).items() if n), key=lambda vn: (-vn[1], vn[0]))
        return selected, out

    # --- order ---

    def order(self, selected: np.ndarray, keys: list[tuple[np.ndarray, bool]], limit: int) -> np.ndarray:
        """Indices of `selected` documents, ordered by keys (first is primary; True = descending),
        the first `limit` only."""
        idx = np.flatnonzero(selected)
        if len(idx) == 0 or limit <= 0:
            return idx[:0]
        primary, primary_desc = keys[0]
        if len(idx) > 4 * limit:  # only the best `limit` need a full sort
            v = -primary[idx] if primary_desc else primary[idx]
            cut = np.partition(v, limit - 1)[limit - 1]
            idx = idx[v <= cut]
        columns = [(-k[idx] if desc else k[idx]) for k, desc in reversed(keys)]
        return idx[np.lexsort(columns)][:limit]
