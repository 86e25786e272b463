"""An in-memory search engine for Chinese text with facets: BM25 over jieba tokens (smeai.text),
synonym expansion, facet counts, filters, sorting and paging, all as numpy array operations.

Used by the resource pool and the case library. The index is built from the database and rebuilt
when the table changes (a cheap `count, max(updated_at)` stamp per query); tokens of unchanged rows
are reused, so a rebuild after one edit costs array work, not segmentation.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from smeai import text

K1, B = 1.2, 0.75
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


def query_terms(query: str) -> QueryTerms:
    seen: set[str] = set()
    groups = []
    for token in text.tokens(query):
        if token in seen:
            continue
        seen.add(token)
        group = [(token, 1.0)] + [
            (syn.lower(), SYNONYM_BOOST) for syn in sorted(text.synonyms(token)) if syn.lower() != token
        ]
        groups.append(group)
    return QueryTerms(groups)


class Engine:
    """One immutable index: documents 0..n-1 carry a key (the row id), text tokens, facet values
    and numeric sort keys."""

    def __init__(
        self,
        keys: Sequence[int],
        token_lists: Sequence[Sequence[str]],
        facets: dict[str, Sequence[Iterable[str]]],
        numbers: dict[str, Sequence[float]],
    ) -> None:
        self.n = len(keys)
        self.keys = np.asarray(keys, dtype=np.int64)
        self.numbers = {name: np.asarray(values, dtype=np.float64) for name, values in numbers.items()}
        self._build_text(token_lists)
        self.facets: dict[str, dict[str, np.ndarray]] = {}
        for name, values in facets.items():
            index: dict[str, list[int]] = defaultdict(list)
            for doc, vals in enumerate(values):
                for v in set(vals):
                    index[v].append(doc)
            self.facets[name] = {v: np.asarray(d, dtype=np.int32) for v, d in index.items()}

    def _build_text(self, token_lists: Sequence[Sequence[str]]) -> None:
        lengths = np.asarray([len(t) for t in token_lists], dtype=np.float32)
        avgdl = float(lengths.mean()) if self.n and lengths.sum() else 1.0
        postings: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
        for doc, tokens in enumerate(token_lists):
            counts: dict[str, int] = defaultdict(int)
            for t in tokens:
                counts[t] += 1
            for t, tf in counts.items():
                docs, tfs = postings[t]
                docs.append(doc)
                tfs.append(tf)
        norm = K1 * (1 - B + B * lengths / avgdl)
        self.postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, (docs, tfs) in postings.items():
            d = np.asarray(docs, dtype=np.int32)
            tf = np.asarray(tfs, dtype=np.float32)
            idf = math.log(1 + (self.n - len(d) + 0.5) / (len(d) + 0.5))
            self.postings[term] = (d, (idf * tf * (K1 + 1) / (tf + norm[d])).astype(np.float32))

    # --- text ---

    def text_scores(self, terms: QueryTerms) -> tuple[np.ndarray, np.ndarray]:
        """BM25 summed over concepts (a concept scores its best word or synonym), times the share of
        concepts a document matches; a hit matches at least half of them."""
        scores = np.zeros(self.n, dtype=np.float32)
        matched = np.zeros(self.n, dtype=np.int16)
        for group in terms.groups:
            best = np.zeros(self.n, dtype=np.float32)
            for term, boost in group:
                posting = self.postings.get(term)
                if posting is None:
                    continue
                docs, weights = posting
                best[docs] = np.maximum(best[docs], weights * boost)
            scores += best
            matched += best > 0
        need = max(1, math.ceil(len(terms.groups) / 2))
        hits = matched >= need
        if terms.groups:
            scores *= matched / len(terms.groups)
        return scores, hits

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
