"""Need-to-offering ranking over a pool of interchange offering records (../catalog interchange format).

`Pool(records)` precomputes everything that does not depend on the need: segmented text as an
inverted index for BM25, one boolean column per industry code, region and deployment mode for the
hard constraints, a scenario matrix, prices and stage ranges. `Pool.match(need)` then costs a few
vectorised passes over the pool, so a 100k-offering pool answers in milliseconds.

The order blends, for offerings that pass the hard constraints (`Pool.allowed`):
  scenario fit   the need's scenarios, detected from its words (cues.py), against the offering's;
  text relevance segmented BM25 over name, tags, summary and description, query synonyms expanded;
  kind fit       "租几张 GPU 卡" wants compute, "请人讲讲课" training, whatever the scenarios;
  stage fit      the need's stage inside the offering's [min_stage, max_stage];
  price fit      the entry price against the budget (hard limit is twice the budget);
  evidence       published cases for the offering (log-scaled);
  specificity    an offering written for the need's industry before a one-for-everyone offering;
  directness     a solution before a component to build on (model, dataset, course, compute),
                 unless the need asks for that kind;
  embedding      where the pool has an Embedder: cosine of need and offering (embedding.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from smeai import taxonomy, text
from smeai.i18n import N_, _
from smeai.matching import cues
from smeai.matching.embedding import Embedder, offering_text
from smeai.text.bm25 import Bm25, encode

WEIGHTS = {
    "scenario": 0.42,
    "link": 0.10,
    "text": 0.30,
    "kind": 0.18,
    "stage": 0.06,
    "price": 0.05,
    "evidence": 0.04,
    "specific": 0.05,
    "direct": 0.08,
    "embedding": 0.30,  # only once the pool has embeddings
    # Within the budget: an offering over it never ranks above one within it of similar relevance
    # (their score would have to differ by more than this). Costs 0.003 nDCG@10 on the dev set.
    "within": 0.10,
}
# What an offering is about, against the need (not its price, stage or evidence): the relevance that
# the pages' floor reads. Tuned on the dev set (../shared/matching): at 0.2 no grade-2 offering and 4
# of 86 grade-1 offerings fall below it, while 89% of the unlabelled (grade 0) ones do.
RELEVANCE = {"scenario": 0.42, "link": 0.10, "text": 0.30, "kind": 0.18, "direct": 0.08}
RELEVANCE_FLOOR = 0.20
# ...and about the need's topic, not only its kind and business link: an offering must serve the need's
# scenarios (fit ≥ 0.1) or share its words (BM25 share of the best ≥ 0.3). An APS system in the same
# 生产制造 link otherwise passed for a visual-inspection need on its link alone. On the dev set, with the
# floor: grade-2 offerings below it 0.000 (as before), grade 1 0.070 (was 0.05), grade 0 0.878 (was 0.86).
TOPIC_SCENARIO_FLOOR, TOPIC_TEXT_FLOOR = 0.10, 0.30
# Stored needs keep their ranked list (their snapshot) until the need or the pool changes. Bump this when
# a change of the weights, floors or constraints should recompute every stored list on its next view.
RULES_VERSION = 2
COMPONENT_KINDS = frozenset({"model", "dataset", "training", "compute"})
CUE_SHARE = 0.6  # scenario detection: the cue file's share; the rest comes from the pool's vocabulary
BM25_K1, BM25_B = 1.2, 0.75
FIELD_REPEAT = {"name": 2, "tags": 2, "scenario_names": 1, "summary": 1, "description": 1}


# The need's text is embedded on this worker while the request reads cues, filters and scores BM25:
# the model runs in C without the GIL, so the two overlap on a second core.
_EMBEDDING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="smeai-need-embedding")


@dataclass(frozen=True)
class Need:
    text: str
    industry: str | None = None
    province_code: str | None = None
    stage: int | None = None
    budget_wan: float | None = None
    deployment: tuple[str, ...] = ()
    id: str | None = None

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> Need:
        return cls(
            text=str(rec.get("text") or ""),
            industry=rec.get("industry") or None,
            province_code=str(rec["province_code"]) if rec.get("province_code") else None,
            stage=rec.get("stage"),
            budget_wan=rec.get("budget_wan"),
            deployment=tuple(rec.get("deployment") or ()),
            id=rec.get("id"),
        )


@dataclass
class Match:
    id: str
    score: float
    reasons: list[str] = field(default_factory=list)
    relevance: float = 0.0  # RELEVANCE's share, 0..1 (Pool.shortlist)
    missed: list[str] = field(default_factory=list)  # why a near miss is not a match (Pool.shortlist)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "score": round(self.score, 4), "reasons": self.reasons}


def industry_covers(need_industry: str) -> set[str]:
    """The offering industry codes that cover a need's industry (interchange.md, hard constraints)."""
    codes = {"*", need_industry}
    if need_industry.startswith("C") and len(need_industry) > 1:
        codes.add("C")
        group = taxonomy.load().group_of_division(need_industry[1:])
        if group:
            codes.add(group.code)
    elif need_industry in taxonomy.load().groups:
        codes.add("C")
    return codes


def passes(offering: Mapping[str, Any], need: Need) -> bool:
    """The hard constraints for one pair, written plainly (the Pool applies them vectorised)."""
    if need.industry and not set(offering["industries"]) & industry_covers(need.industry):
        return False
    if need.province_code and not {"*", need.province_code} & set(offering["regions"]):
        return False
    if need.deployment and not set(need.deployment) & set(offering["deployment"]):
        return False
    return not (need.budget_wan is not None and offering["pricing"]["entry_price_wan"] > 2 * need.budget_wan)


def _offering_text(o: Mapping[str, Any]) -> dict[str, str]:
    tax = taxonomy.load()
    return {
        "name": o.get("name", ""),
        "tags": " ".join(o.get("tags") or ()),
        "scenario_names": " ".join(tax.scenarios[s].zh for s in o.get("scenarios", ()) if s in tax.scenarios),
        "summary": o.get("summary", ""),
        "description": o.get("description") or "",
    }


class Pool:
    def __init__(
        self,
        records: Iterable[Mapping[str, Any]],
        *,
        case_counts: Mapping[str, int] | None = None,
        embedder: Embedder | None = None,
    ):
        self.records = list(records)
        self.stamp: tuple | None = None  # the catalog state it was built from (pools.py)
        n = len(self.records)
        self.ids = [str(o["id"]) for o in self.records]
        self.scenario_codes = list(taxonomy.load().scenarios)
        scen_index = {c: i for i, c in enumerate(self.scenario_codes)}
        links = sorted({str(t.extra.get("link")) for t in taxonomy.load().scenarios.values()})
        self.scenario_link = np.array(
            [links.index(str(taxonomy.load().scenarios[c].extra.get("link"))) for c in self.scenario_codes]
        )
        self.scen = np.zeros((n, len(self.scenario_codes)), dtype=np.float32)
        self.n_links = len(links)
        self.kind = np.array([cues.KINDS.index(o["kind"]) if o["kind"] in cues.KINDS else -1 for o in self.records])
        self.price = np.array([float(o["pricing"]["entry_price_wan"]) for o in self.records], dtype=np.float64)
        self.min_stage = np.array([int(o.get("min_stage") or 0) for o in self.records])
        self.max_stage = np.array([int(4 if o.get("max_stage") is None else o["max_stage"]) for o in self.records])
        self.industry_cols: dict[str, np.ndarray] = {}
        self.region_cols: dict[str, np.ndarray] = {}
        self.deploy_cols: dict[str, np.ndarray] = {}
        for i, o in enumerate(self.records):
            for s in o.get("scenarios", ()):
                if s in scen_index:
                    self.scen[i, scen_index[s]] = 1.0
            for code in o["industries"]:
                self.industry_cols.setdefault(code, np.zeros(n, dtype=bool))[i] = True
            for code in o["regions"]:
                self.region_cols.setdefault(str(code), np.zeros(n, dtype=bool))[i] = True
            for mode in o["deployment"]:
                self.deploy_cols.setdefault(mode, np.zeros(n, dtype=bool))[i] = True
        # The scenario columns each offering has, padded with a slot past the last scenario (weight 0).
        width = max(1, int(self.scen.sum(axis=1).max())) if n else 1
        slots = np.full((n, width), len(self.scenario_codes), dtype=np.int32)
        for i, row in enumerate(self.scen):
            cols = np.flatnonzero(row)
            slots[i, : len(cols)] = cols
        self.scen_slots = [np.ascontiguousarray(slots[:, c]) for c in range(width)]  # one array per slot
        self.any_industry = self.industry_cols.get("*", np.zeros(n, dtype=bool))
        self.any_region = self.region_cols.get("*", np.zeros(n, dtype=bool))
        self.set_case_counts(case_counts or {})
        self._build_bm25()
        self.embedder: Embedder | None = None
        if embedder is not None:  # built at once; the app's pool adds them later (matching/pools.py)
            self.use_embeddings(embedder, embedder.passages(self.embedding_texts()))

    def embedding_texts(self) -> list[str]:
        """The distinct offering texts, in pool order: near-duplicate offerings share a vector."""
        return list(dict.fromkeys(offering_text(o) for o in self.records))

    def use_embeddings(self, embedder: Embedder, vectors: np.ndarray) -> None:
        """Switch the embedding signal on; `vectors` has one row per `embedding_texts()` entry. The
        embedder is set last, so a request ranking meanwhile sees either all of it or none."""
        texts = [offering_text(o) for o in self.records]
        where = {t: i for i, t in enumerate(dict.fromkeys(texts))}
        self.emb_vectors = vectors
        self.emb_row = np.array([where[t] for t in texts], dtype=np.int64)
        self.embedder = embedder

    def set_case_counts(self, counts: Mapping[str, int]) -> None:
        """Published cases per offering id. Set on every request (service.current_pool): unchanged
        counts are not laid out again (70 ms for 100k offerings)."""
        wanted = {str(k): int(v) for k, v in counts.items() if v}
        if getattr(self, "_case_counts", None) == wanted:
            return
        cases = np.zeros(len(self.ids), dtype=np.float64)
        if wanted:
            where = getattr(self, "_row_of", None)
            if where is None:
                where = self._row_of = {oid: i for i, oid in enumerate(self.ids)}
            for oid, n in wanted.items():
                if oid in where:
                    cases[where[oid]] = n
        self.cases, self._case_counts = cases, wanted

    # ---------------------------------------------------------------- text index
    def _build_bm25(self) -> None:
        """The pool's text as a text.bm25 index (the engine search uses too): each field's tokens
        repeated by FIELD_REPEAT; a field value many offerings share is segmented once."""
        vocab: dict[str, int] = {}
        cache: dict[str, list[str]] = {}  # synthetic and near-duplicate pools repeat their texts
        encoded = []
        for o in self.records:
            toks: list[str] = []
            for fname, value in _offering_text(o).items():
                part = cache.get(value)
                if part is None:
                    part = cache[value] = text.tokens(value)
                toks += part * FIELD_REPEAT[fname]
            encoded.append(encode(toks, vocab))
        self.index = index = Bm25(encoded, vocab, k1=BM25_K1, b=BM25_B)
        # What the pool itself says a word is about: P(scenario | word) over the offerings that use it,
        # times the word's idf. Lets a need's words point to scenarios the cue file does not list.
        self.term_scen = np.zeros((len(vocab), len(self.scenario_codes)), dtype=np.float32)
        for tid in range(len(vocab)):
            lo, hi = index.starts[tid], index.starts[tid + 1]
            if hi > lo:
                self.term_scen[tid] = index.idf[tid] * self.scen[index.docs[lo:hi]].mean(axis=0)

    def bm25(self, query_terms: Sequence[str], *, original: set[str] | None = None) -> np.ndarray:
        """BM25 for every offering; expanded synonyms count half as much as the need's own words."""
        return self.index.scores((t, 1.0 if original is None or t in original else 0.5) for t in query_terms)

    def pool_scenarios(self, query_terms: Sequence[str], original: set[str]) -> np.ndarray:
        vec = np.zeros(len(self.scenario_codes), dtype=np.float32)
        for t in dict.fromkeys(query_terms):
            tid = self.index.term_id(t)
            if tid is not None:
                vec += (1.0 if t in original else 0.5) * self.term_scen[tid]
        top = vec.max() if len(vec) else 0.0
        return vec / top if top > 0 else vec

    def need_scenarios(self, need: Need) -> tuple[np.ndarray, dict[str, float], list[str], list[str]]:
        """Scenario weights for a need (cue file blended with the pool's own vocabulary), kind cues,
        its tokens and their synonym expansion."""
        scen_w, kind_w = cues.detect(need.text)
        query = text.tokens(need.text)
        expanded = text.expand(query)
        cue_vec = np.array([scen_w.get(c, 0.0) for c in self.scenario_codes], dtype=np.float32)
        # Not renormalised: a need no cue word fires on keeps only the pool's (weaker) evidence, so kind
        # cues and text decide more of its order.
        vec = CUE_SHARE * cue_vec + (1 - CUE_SHARE) * self.pool_scenarios(expanded, set(query))
        return vec, kind_w, query, expanded

    # ---------------------------------------------------------------- constraints
    def allowed(self, need: Need) -> np.ndarray:
        n = len(self.records)
        mask = np.ones(n, dtype=bool)
        if need.industry:
            ok = np.zeros(n, dtype=bool)
            for code in industry_covers(need.industry):
                if code in self.industry_cols:
                    ok |= self.industry_cols[code]
            mask &= ok
        if need.province_code:
            mask &= self.any_region | self.region_cols.get(need.province_code, np.zeros(n, dtype=bool))
        if need.deployment:
            ok = np.zeros(n, dtype=bool)
            for mode in need.deployment:
                if mode in self.deploy_cols:
                    ok |= self.deploy_cols[mode]
            mask &= ok
        if need.budget_wan is not None:
            mask &= self.price <= 2 * float(need.budget_wan)
        return mask

    # ---------------------------------------------------------------- ranking
    def embed_need(self, need: Need) -> Future[np.ndarray] | None:
        """The need's vector, computed on another thread while the caller goes on (None: no embeddings)."""
        embedder = self.embedder
        return None if embedder is None else _EMBEDDING.submit(embedder.query, need.text)

    def features(
        self, need: Need, idx: np.ndarray, read: tuple | None = None, vector: Future[np.ndarray] | None = None
    ) -> dict[str, np.ndarray]:
        """Each signal for the offerings at idx; `read` is need_scenarios(need) and `vector`
        embed_need(need) when already started."""
        vec, kind_w, query, expanded = read or self.need_scenarios(need)
        link_vec = np.zeros(self.n_links, dtype=np.float32)
        np.maximum.at(link_vec, self.scenario_link, vec)
        # Each offering's few scenarios as slots (scen_slots), not the dense matrix: a gather of a few
        # columns instead of a pass over every scenario of every offering (30 ms at 100k offerings).
        slots = [column[idx] for column in self.scen_slots]
        scenario_fit = _slot_max(np.append(vec, np.float32(0)), slots)
        # Same business link, other scenario: an adjacent offering that may help in part.
        link_fit = _slot_max(np.append(link_vec[self.scenario_link], np.float32(0)), slots)
        kinds = self.kind[idx]
        kind_top = max(kind_w.values(), default=0.0)
        kind_fit = np.zeros(len(idx))
        for k, w in kind_w.items():
            kind_fit = np.maximum(kind_fit, np.where(kinds == cues.KINDS.index(k), w / kind_top, 0.0))
        # A need with no scenario cue at all leans on text and kind; one with a kind cue strong enough
        # (compute, training) is satisfied by that kind even without scenarios.
        bm = self.bm25(expanded, original=set(query))[idx]
        top = bm.max() if len(bm) else 0.0
        text_fit = bm / top if top > 0 else bm
        stage_fit = np.ones(len(idx))
        if need.stage is not None:
            gap = np.maximum(self.min_stage[idx] - need.stage, 0) + np.maximum(need.stage - self.max_stage[idx], 0)
            stage_fit = np.clip(1.0 - 0.4 * gap, 0.0, 1.0)
        price_fit = np.ones(len(idx))
        if need.budget_wan is not None:
            budget = max(float(need.budget_wan), 1e-9)
            over = np.clip((self.price[idx] - budget) / budget, 0.0, 1.0)
            price_fit = 1.0 - over
        within = np.zeros(len(idx)) if need.budget_wan is None else (self.price[idx] <= need.budget_wan) * 1.0
        # A component the SME must build on (model API, dataset, course, bare compute) answers a need only
        # in part, unless the need asks for that kind ("租几张 GPU 卡", "请人讲课").
        direct = np.ones(len(idx))
        for k in COMPONENT_KINDS - set(kind_w):
            direct[kinds == cues.KINDS.index(k)] = 0.0
        evidence = np.minimum(np.log1p(self.cases[idx]) / math.log(6), 1.0)
        specific = np.ones(len(idx))
        if need.industry:
            specific = np.where(self.any_industry[idx], 0.0, 1.0)
        out = {}
        embedder = self.embedder  # read once: the pool may gain embeddings while this runs
        if embedder is not None and len(idx):
            query = vector.result() if vector is not None else embedder.query(need.text)
            sim = (self.emb_vectors @ query)[self.emb_row[idx]]
            lo, hi = float(sim.min()), float(sim.max())
            out["embedding"] = (sim - lo) / (hi - lo) if hi > lo else np.zeros(len(idx))
        return out | {
            "scenario": scenario_fit,
            "link": link_fit,
            "text": text_fit,
            "kind": kind_fit,
            "stage": stage_fit,
            "price": price_fit,
            "within": within,
            "evidence": evidence,
            "specific": specific,
            "direct": direct,
        }

    @staticmethod
    def blend(feats: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
        """The weighted sum of the signals that `weights` names and `feats` has."""
        out = np.zeros(len(next(iter(feats.values()))), dtype=np.float64)
        for name, value in feats.items():
            if name in weights:
                out += weights[name] * value
        return out

    def match(self, need: Need, *, top: int = 10, reasons: bool = True) -> list[Match]:
        vector = self.embed_need(need)
        idx = np.flatnonzero(self.allowed(need))
        if not len(idx) or top <= 0:
            return []
        read = self.need_scenarios(need)
        feats = self.features(need, idx, read, vector)
        score = self.blend(feats, WEIGHTS)
        k = min(top, len(idx))
        best = np.argpartition(-score, k - 1)[:k]
        best = best[np.lexsort((idx[best], -score[best]))]  # score, then pool order: deterministic
        scen_w = {c: float(w) for c, w in zip(self.scenario_codes, read[0], strict=True) if w > 0}
        out = []
        for j in best:
            i = int(idx[j])
            why = explain(self.records[i], need, scen_w, int(self.cases[i])) if reasons else []
            out.append(Match(self.ids[i], float(score[j]), why))
        return out

    # ---------------------------------------------------------------- what the pages show
    def constraint_masks(self, need: Need) -> dict[str, np.ndarray]:
        """Each hard constraint on its own (`allowed` is their conjunction)."""
        n = len(self.records)
        everyone = np.ones(n, dtype=bool)
        masks = {"industry": everyone, "region": everyone, "deployment": everyone, "budget": everyone}
        if need.industry:
            ok = np.zeros(n, dtype=bool)
            for code in industry_covers(need.industry):
                if code in self.industry_cols:
                    ok |= self.industry_cols[code]
            masks["industry"] = ok
        if need.province_code:
            masks["region"] = self.any_region | self.region_cols.get(need.province_code, np.zeros(n, dtype=bool))
        if need.deployment:
            ok = np.zeros(n, dtype=bool)
            for mode in need.deployment:
                if mode in self.deploy_cols:
                    ok |= self.deploy_cols[mode]
            masks["deployment"] = ok
        if need.budget_wan is not None:
            masks["budget"] = self.price <= 2 * float(need.budget_wan)
        return masks

    def shortlist(
        self, need: Need, *, top: int = 10, floor: float = RELEVANCE_FLOOR, near: int = 5
    ) -> tuple[list[Match], list[Match]]:
        """The matches worth showing and, when fewer than `top` pass, the near misses.

        Matches pass every hard constraint and the relevance floor, best first (no padding: there may
        be fewer than `top`). Near misses are in the need's industry and above the floor but fail one or
        two other constraints (region, deployment, or a price over twice the budget: the most relevant
        offering is often from another province *and* in another mode); each says why in
        `missed`. They are a separate list, never mixed into the ranking. `smeai match` keeps its
        contract (top K, no floor): this is for the pages.
        """
        vector = self.embed_need(need)
        masks = self.constraint_masks(need)
        fails = (~masks["region"]).astype(int) + ~masks["deployment"] + ~masks["budget"]
        idx = np.flatnonzero(masks["industry"] & (fails <= 2))
        if not len(idx) or top <= 0:
            return [], []
        read = self.need_scenarios(need)
        feats = self.features(need, idx, read, vector)
        score = self.blend(feats, WEIGHTS)
        relevance = self.blend(feats, RELEVANCE) / sum(RELEVANCE.values())
        scen_w = {c: float(w) for c, w in zip(self.scenario_codes, read[0], strict=True) if w > 0}
        off_topic = (feats["scenario"] < TOPIC_SCENARIO_FLOOR) & (feats["text"] < TOPIC_TEXT_FLOOR)
        shown = (relevance >= floor) & ~off_topic
        passing = fails[idx] == 0

        def best(keep: np.ndarray, k: int) -> np.ndarray:
            """Positions (into idx) of the k best kept offerings: score, then pool order."""
            where = np.flatnonzero(keep)
            if len(where) > k:
                where = where[np.argpartition(-score[where], k - 1)[:k]]
                cut = score[where].min()  # ties at the cut: pool order decides, as a full sort would
                where = np.flatnonzero(keep & (score >= cut))
            return where[np.lexsort((idx[where], -score[where]))][:k]

        matches: list[Match] = []
        for j in best(shown & passing, top):
            i = int(idx[j])
            why = explain(self.records[i], need, scen_w, int(self.cases[i]))
            matches.append(Match(self.ids[i], float(score[j]), why, float(relevance[j])))
        misses: list[Match] = []
        for j in best(shown & ~passing, near) if len(matches) < top else ():
            i = int(idx[j])
            why = explain(self.records[i], need, scen_w, int(self.cases[i]))
            missed = missed_by(self.records[i], need, {k: bool(m[i]) for k, m in masks.items()})
            misses.append(Match(self.ids[i], float(score[j]), why, float(relevance[j]), missed))
        return matches, misses


def _slot_max(values: np.ndarray, slots: list[np.ndarray]) -> np.ndarray:
    """For each offering, the largest of `values` at its scenario slots."""
    out = values[slots[0]]
    for column in slots[1:]:
        np.maximum(out, values[column], out=out)
    return out


def missed_by(o: Mapping[str, Any], need: Need, passed: Mapping[str, bool]) -> list[str]:
    """Why an offering in the need's industry is not a match: 超出预算 by how much, 需云端部署, 不覆盖本省."""
    out = []
    if not passed.get("budget", True) and need.budget_wan is not None:
        over = float(o["pricing"]["entry_price_wan"]) - float(need.budget_wan)
        out.append(_("Over the budget by {over} wan yuan").format(over=_wan(round(over, 2))))
    if not passed.get("deployment", True):
        modes = [m for m in o["deployment"] if m in MODE_NAMES]
        names = "、".join(_(MODE_NAMES[m]) for m in modes) or "、".join(o["deployment"])
        out.append(_("Needs {modes} deployment").format(modes=names))
    if not passed.get("region", True):
        out.append(_("Does not serve your province"))
    return out


MODE_NAMES = {
    "saas": N_("cloud (SaaS)"),
    "private": N_("on-premises"),
    "appliance": N_("appliance"),
    "edge": N_("edge"),
    "api": N_("API"),
}


def _wan(value: float) -> str:
    return f"{value:g}"


def explain(o: Mapping[str, Any], need: Need, scen_w: Mapping[str, float], cases: int) -> list[str]:
    """Short reasons, in the current language (the match command sets Chinese)."""
    reasons = []
    industries = set(o["industries"])
    if need.industry and industries - {"*"} & industry_covers(need.industry):
        reasons.append(_("Industry: {name}").format(name=_industry_name(need.industry)))
    elif "*" in industries:
        reasons.append(_("Industry: any"))
    matched = [s for s in o.get("scenarios", ()) if scen_w.get(s, 0) >= 0.5]
    shown = matched or list(o.get("scenarios", ()))[:2]
    if shown:
        reasons.append(_("Scenario: {names}").format(names="、".join(taxonomy.name("scenarios", s) for s in shown)))
    if cases:
        reasons.append(_("{n} published case(s)").format(n=cases))
    price = float(o["pricing"]["entry_price_wan"])
    if price == 0:
        reasons.append(_("Free to start"))
    elif need.budget_wan is None:
        reasons.append(_("First year about {price} wan yuan").format(price=_wan(price)))
    elif price <= need.budget_wan:
        reasons.append(_("First year about {price} wan yuan, within budget").format(price=_wan(price)))
    else:
        reasons.append(
            _("First year about {price} wan yuan, above the budget of {budget} wan yuan").format(
                price=_wan(price), budget=_wan(float(need.budget_wan))
            )
        )
    if need.stage is not None:
        lo, hi = int(o.get("min_stage") or 0), int(4 if o.get("max_stage") is None else o["max_stage"])
        if lo <= need.stage <= hi:
            reasons.append(_("Suits your application stage"))
        elif need.stage < lo:
            reasons.append(_("Built for enterprises further along (stage {n} and up)").format(n=lo))
    return reasons


def _industry_name(code: str) -> str:
    if code.startswith("C") and len(code) > 1:
        return taxonomy.name("divisions", code[1:])
    if code in taxonomy.load().groups:
        return taxonomy.name("groups", code)
    return taxonomy.name("sections", code)
