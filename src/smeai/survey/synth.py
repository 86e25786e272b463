"""A synthetic survey whose chapter-4 figures land on the report's values (indicators.md).

The report publishes margins, not microdata, so the generator works by quotas, not by luck: every
published share is turned into an exact count (largest remainder) and the rows that receive it are
chosen with weights that carry the plausible joint structure (young firms invest more intensely,
adoption rises with revenue, labour-intensive groups use AI in supply chain and sales, advanced
stages go with higher intensity). Means the report gives (intensity by age, pilot uplifts) are met
by calibration: the tail of high intensities is stretched per age band, and pilot-city locations
are swapped between adopters until the investment ratios hold. Whatever the seed, every figure is
within the tolerances of indicators.md; the seed only changes which firm gets what.

`--invalid K` adds K rows that each break codebook rules (every kind in turn) on top of the N
valid ones. Pilot batches of the cities here are illustrative, not the official lists.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from smeai import taxonomy
from smeai.survey.codebook import BARRIER_COLUMNS, COLUMNS, LINK_COLUMNS, LINKS, SCENARIO_COLUMNS

SURVEY_YEAR = 2025

# --- the report's values (indicators.md "calibration") and this generator's own assumptions ------

MFG_SHARE = 0.8609
REVENUE_SHARES = {"0-2": 0.540, "2-4": 0.229, "4-6": 0.096, "6-8": 0.044, "8+": 0.091}
REVENUE_RANGES = {
    "0-2": (300, 19_800),
    "2-4": (20_200, 39_800),
    "4-6": (40_200, 59_800),
    "6-8": (60_200, 79_800),
    "8+": (80_200, 300_000),
}  # 万元, inside each band
AGE_SHARES = {"0-5": 0.14, "5-10": 0.24, "10-20": 0.36, "20+": 0.26}  # assumption
AGE_RANGES = {"0-5": (0, 4), "5-10": (5, 9), "10-20": (10, 19), "20+": (20, 45)}
ADOPTED = 0.5023
PLANNED = 0.2676
ADOPTED_BY_AGE = {"0-5": 0.4800, "5-10": 0.5350, "10-20": 0.5050}  # 20+ takes the remainder
PLANNED_BY_AGE = {"0-5": 0.2866, "5-10": 0.2600, "10-20": 0.2650}  # 20+ takes the remainder
ADOPTED_BY_REVENUE = {"0-2": 0.4713, "2-4": 0.5300, "4-6": 0.5400, "8+": 0.5544}  # 6-8 the remainder
INVESTMENT_LE_100 = 0.3827
STAGE_SHARES = (0.28, 0.45, 0.23, 0.04)
# intensity buckets among adopters: 1384 and 888 of 3014 adopters in 6,000 firms; middles below both
BUCKET_SHARES = np.array([1384, 300, 242, 200, 888]) / 3014
BUCKET_RANGES = ((0.02, 0.396), (0.404, 0.792), (0.808, 1.188), (1.212, 1.584))
HIGH_FLOOR = 1.616
MEAN_INTENSITY_BY_AGE = {"0-5": 2.26, "5-10": 2.20, "10-20": 1.75, "20+": 1.45}
HIGH_BUCKET_PULL = {"0-5": 1.0, "5-10": 0.9, "10-20": 0.45, "20+": 0.2}  # younger firms invest more intensely
CLASS_ADOPTION_PULL = {"labor": 0.75, "capital": 1.0, "technology": 1.2}  # relative odds of adopting
PILOT_UPLIFT = 1.06
BATCH2_UPLIFT = 1.09
# link use, % of ALL firms of the class (labour: the report's 17.96 and 13.38; the rest assumed)
LINK_USE = {
    "labor": {
        "rnd": 14.0,
        "production": 24.0,
        "supply_chain": 17.96,
        "sales": 13.38,
        "service": 9.0,
        "management": 20.0,
    },
    "capital": {
        "rnd": 19.0,
        "production": 31.0,
        "supply_chain": 14.5,
        "sales": 10.5,
        "service": 10.0,
        "management": 21.0,
    },
    "technology": {
        "rnd": 23.0,
        "production": 29.0,
        "supply_chain": 15.0,
        "sales": 11.5,
        "service": 12.0,
        "management": 22.0,
    },
}
OTHER_LINK_USE = {
    "rnd": 0.25,
    "production": 0.15,
    "supply_chain": 0.25,
    "sales": 0.40,
    "service": 0.35,
    "management": 0.55,
}  # among non-manufacturing adopters
GROUP_WEIGHTS = {
    "L1": 2,
    "L2": 3,
    "L3": 3,
    "L4": 6,
    "L5": 6,
    "T1": 5,
    "T2": 2,
    "T3": 4,
    "T4": 8,
    "T5": 7,
    "T6": 8,
    "K1": 8,
    "K2": 9,
    "K3": 5,
    "K4": 9,
    "K5": 4,
    "K6": 3,
    "K7": 1,
}
OTHER_SECTIONS = {"F": 3.0, "I": 4.0, "M": 2.0, "E": 1.2, "G": 1.0, "L": 1.0, "D": 0.5, "B": 0.4, "A": 0.5, "N": 0.3}
# relative pull of adopters per province (assumption: where AI suppliers and platforms concentrate)
REGIONAL_LEAN = {
    "11": 1.35,
    "31": 1.35,
    "44": 1.3,
    "32": 1.25,
    "33": 1.25,
    "37": 1.1,
    "35": 1.1,
    "51": 1.05,
    "62": 0.7,
    "63": 0.6,
    "64": 0.7,
    "65": 0.7,
    "15": 0.75,
    "23": 0.75,
    "22": 0.8,
    "14": 0.8,
    "46": 0.8,
    "53": 0.85,
    "52": 0.9,
    "45": 0.85,
}
# (province, city, pilot batch, weight): where firms are; batch 1/2/3 = pilot city of 2023/2024/2025
LOCATIONS = (
    ("44", "广州市", 1, 4.0),
    ("44", "深圳市", 1, 4.0),
    ("44", "东莞市", 2, 3.0),
    ("44", "佛山市", 0, 3.0),
    ("32", "苏州市", 1, 4.0),
    ("32", "南京市", 2, 2.5),
    ("32", "无锡市", 3, 2.0),
    ("32", "常州市", 0, 2.0),
    ("33", "杭州市", 1, 3.5),
    ("33", "宁波市", 2, 3.0),
    ("33", "温州市", 0, 2.0),
    ("37", "青岛市", 1, 2.5),
    ("37", "济南市", 2, 2.0),
    ("37", "潍坊市", 0, 2.0),
    ("35", "厦门市", 2, 1.5),
    ("35", "泉州市", 0, 1.5),
    ("34", "合肥市", 1, 2.0),
    ("34", "芜湖市", 0, 1.0),
    ("42", "武汉市", 1, 2.5),
    ("42", "襄阳市", 0, 1.0),
    ("43", "长沙市", 2, 2.0),
    ("41", "郑州市", 1, 2.0),
    ("41", "洛阳市", 0, 1.0),
    ("13", "石家庄市", 2, 1.5),
    ("51", "成都市", 1, 2.5),
    ("50", "重庆市", 1, 2.0),
    ("11", "北京市", 3, 2.0),
    ("12", "天津市", 3, 1.5),
    ("31", "上海市", 3, 2.5),
    ("21", "沈阳市", 2, 1.0),
    ("22", "长春市", 3, 0.6),
    ("23", "哈尔滨市", 0, 0.6),
    ("36", "南昌市", 3, 1.0),
    ("61", "西安市", 2, 1.2),
    ("45", "南宁市", 3, 0.7),
    ("52", "贵阳市", 3, 0.5),
    ("53", "昆明市", 0, 0.6),
    ("14", "太原市", 0, 0.6),
    ("15", "呼和浩特市", 0, 0.3),
    ("62", "兰州市", 0, 0.3),
    ("64", "银川市", 0, 0.2),
    ("65", "乌鲁木齐市", 0, 0.3),
    ("46", "海口市", 0, 0.2),
    ("63", "西宁市", 0, 0.1),
)


def quotas(shares: np.ndarray | Sequence[float], n: int) -> np.ndarray:
    """Integer counts summing to n, proportional to shares (largest remainder)."""
    s = np.asarray(shares, dtype=float)
    raw = s / s.sum() * n
    out = np.floor(raw).astype(np.int64)
    rest = n - int(out.sum())
    if rest:
        out[np.argsort(-(raw - out), kind="stable")[:rest]] += 1
    return out


def _deal(rng: np.random.Generator, n: int, counts: np.ndarray) -> np.ndarray:
    """A random permutation of category indexes with exactly these counts."""
    return rng.permutation(np.repeat(np.arange(len(counts)), counts))


def _top_k(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """Indexes of k items drawn without replacement with these weights (Gumbel top-k)."""
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    keys = np.log(np.maximum(weights, 1e-12)) + rng.gumbel(size=len(weights))
    return np.argpartition(-keys, k - 1)[:k] if k < len(weights) else np.arange(len(weights))


def _controlled_round(target: np.ndarray, rows: np.ndarray, cols: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """An integer matrix near `target` with exactly these row and column sums, within 0..cap."""
    out = np.minimum(np.floor(target).astype(np.int64), cap)
    for _ in range(int(rows.sum()) + 1):
        dr, dc = rows - out.sum(1), cols - out.sum(0)
        if not dr.any() and not dc.any():
            break
        frac = np.where((dr[:, None] > 0) & (dc[None, :] > 0) & (out < cap), target - out + 1.0, -np.inf)
        i, j = np.unravel_index(np.argmax(frac), frac.shape)
        if not np.isfinite(frac[i, j]):
            break
        out[i, j] += 1
    return out


def generate(n: int, seed: int) -> pd.DataFrame:
    """N valid, typed rows (the columns of the codebook plus survey_year)."""
    rng = np.random.default_rng(seed % 2**64)  # any integer, negative ones too
    tax = taxonomy.load()
    df = pd.DataFrame({"response_id": [f"S{seed % 100000:05d}-{i + 1:07d}" for i in range(n)]})

    # industry: exact manufacturing share; groups and other sections by weight
    n_mfg = int(quotas([MFG_SHARE, 1 - MFG_SHARE], n)[0])
    is_mfg = np.zeros(n, dtype=bool)
    is_mfg[rng.permutation(n)[:n_mfg]] = True
    group_codes = list(GROUP_WEIGHTS)
    grp = np.full(n, -1)
    grp[is_mfg] = _deal(rng, n_mfg, quotas(list(GROUP_WEIGHTS.values()), n_mfg))
    division = np.zeros(n, dtype=np.int64)
    for gi, code in enumerate(group_codes):
        where = np.flatnonzero(grp == gi)
        divs = np.array([int(d) for d in tax.groups[code].divisions])
        division[where] = rng.choice(divs, size=len(where))
    other = list(OTHER_SECTIONS)
    section = np.full(n, "C", dtype=object)
    section[~is_mfg] = np.array(other, dtype=object)[
        _deal(rng, n - n_mfg, quotas(list(OTHER_SECTIONS.values()), n - n_mfg))
    ]

    # revenue band and age band: exact counts, independent of each other
    rev_band = _deal(rng, n, quotas(list(REVENUE_SHARES.values()), n))
    age_band = _deal(rng, n, quotas(list(AGE_SHARES.values()), n))

    # adoption: an age x revenue table of adopter counts with both margins exact
    status = np.full(n, 3, dtype=np.int64)
    cells = np.zeros((4, 5), dtype=np.int64)
    np.add.at(cells, (age_band, rev_band), 1)
    n_age, n_rev = cells.sum(1), cells.sum(0)
    n_adopt = int(quotas([ADOPTED, 1 - ADOPTED], n)[0])
    age_rows = _margin(n_age, list(ADOPTED_BY_AGE.values()), n_adopt)
    rev_cols = _margin(
        n_rev, [ADOPTED_BY_REVENUE[b] for b in ("0-2", "2-4", "4-6")], n_adopt, last=ADOPTED_BY_REVENUE["8+"]
    )
    target = cells * (age_rows / np.maximum(n_age, 1))[:, None]
    for _ in range(50):  # iterative proportional fitting onto both margins
        target *= (rev_cols / np.maximum(target.sum(0), 1e-9))[None, :]
        target *= (age_rows / np.maximum(target.sum(1), 1e-9))[:, None]
    table = _controlled_round(np.minimum(target, cells), age_rows, rev_cols, cells)
    # within each age x revenue cell, labour-intensive firms adopt less often (the report's reading)
    class_of = {i: str(tax.groups[code].extra["class"]) for i, code in enumerate(group_codes)}
    adopt_weight = np.ones(n)
    for gi, klass in class_of.items():
        adopt_weight[grp == gi] = CLASS_ADOPTION_PULL[klass]
    for a in range(4):
        for r in range(5):
            where = np.flatnonzero((age_band == a) & (rev_band == r))
            status[where[_top_k(rng, adopt_weight[where], int(table[a, r]))]] = 1
    n_plan = round(PLANNED * n)
    plan_rows = _margin(n_age, list(PLANNED_BY_AGE.values()), n_plan)
    for a in range(4):
        where = np.flatnonzero((age_band == a) & (status != 1))
        status[rng.permutation(where)[: min(plan_rows[a], len(where))]] = 2

    ad = np.flatnonzero(status == 1)
    n_ad = len(ad)

    # intensity buckets among adopters: exact counts, the high ones pulled towards young firms
    pull = np.array(list(HIGH_BUCKET_PULL.values()))[age_band[ad]]
    score = pull + rng.normal(0, 0.6, n_ad)
    order = np.argsort(-score, kind="stable")
    counts = quotas(BUCKET_SHARES, n_ad)
    bucket = np.empty(n_ad, dtype=np.int64)
    start = 0
    for b in (4, 3, 2, 1, 0):  # highest scores get the highest bucket
        bucket[order[start : start + counts[b]]] = b
        start += counts[b]
    intensity = np.empty(n_ad)
    for b, (lo, hi) in enumerate(BUCKET_RANGES):
        m = bucket == b
        intensity[m] = rng.uniform(lo, hi, m.sum())
    high = bucket == 4
    intensity[high] = HIGH_FLOOR + np.minimum(rng.exponential(3.5, high.sum()), 12.0)
    for a, band in enumerate(AGE_SHARES):  # stretch the high tail so each band's mean is the report's
        in_band = age_band[ad] == a
        h = in_band & high
        if not in_band.any() or not h.any():
            continue
        need = MEAN_INTENSITY_BY_AGE[band] * in_band.sum() - intensity[in_band & ~high].sum() - HIGH_FLOOR * h.sum()
        excess = (intensity[h] - HIGH_FLOOR).sum()
        if need > 0 and excess > 0:
            intensity[h] = HIGH_FLOOR + (intensity[h] - HIGH_FLOOR) * (need / excess)

    # revenue inside each band; for adopters chosen so that exactly 38.27 % invest no more than 100 万
    lo_r = np.array([REVENUE_RANGES[b][0] for b in REVENUE_SHARES], dtype=float)[rev_band]
    hi_r = np.array([REVENUE_RANGES[b][1] for b in REVENUE_SHARES], dtype=float)[rev_band]
    revenue = np.exp(rng.uniform(np.log(lo_r), np.log(hi_r)))
    revenue[rev_band == 4] = np.minimum(80_200 * np.exp(rng.exponential(0.45, (rev_band == 4).sum())), 300_000)
    threshold = 10_000 / intensity  # revenue above which investment exceeds 100 万
    lo_a, hi_a = lo_r[ad], np.where(rev_band[ad] == 4, revenue[ad] * 3, hi_r[ad])
    can_le = threshold * 0.99 > lo_a
    can_gt = threshold * 1.01 < hi_a
    forced_le = can_le & ~can_gt
    flexible = np.flatnonzero(can_le & can_gt)
    k = round(INVESTMENT_LE_100 * n_ad) - int(forced_le.sum())
    le = forced_le.copy()
    le[flexible[_top_k(rng, np.ones(len(flexible)), min(max(k, 0), len(flexible)))]] = True
    r_lo = np.where(le, lo_a, np.maximum(lo_a, threshold * 1.01))
    r_hi = np.where(le, np.minimum(hi_a, threshold * 0.99), hi_a)
    revenue[ad] = np.exp(rng.uniform(np.log(r_lo), np.log(np.maximum(r_hi, r_lo))))
    revenue = np.round(revenue, 2)
    investment = np.round(intensity * revenue[ad] / 100, 4)

    # stage: exact shares, advanced stages go with higher intensity
    stage_score = np.log(intensity) + rng.normal(0, 1.0, n_ad)
    stage = np.empty(n_ad, dtype=np.int64)
    order = np.argsort(stage_score, kind="stable")
    start = 0
    for s, c in enumerate(quotas(STAGE_SHARES, n_ad)):
        stage[order[start : start + c]] = s + 1
        start += c

    # links: exact class shares of ALL firms in the class; groups and stages tilt who gets them
    links = np.zeros((n_ad, len(LINKS)), dtype=np.int8)
    ad_grp = grp[ad]
    classes = {c: [i for i, code in enumerate(group_codes) if tax.groups[code].extra["class"] == c] for c in LINK_USE}
    tilt = rng.uniform(0.6, 1.6, (len(group_codes), len(LINKS)))  # each group's own profile (figure 5)
    for c, gidx in classes.items():
        in_class = np.flatnonzero(np.isin(ad_grp, gidx))
        n_class = int(np.isin(grp, gidx).sum())
        for li, link in enumerate(LINKS):
            q = min(round(LINK_USE[c][link] / 100 * n_class), len(in_class))
            w = tilt[ad_grp[in_class], li] * (0.6 + 0.2 * stage[in_class])
            links[in_class[_top_k(rng, w, q)], li] = 1
    non_mfg = ad_grp < 0
    links[non_mfg] = rng.random((int(non_mfg.sum()), len(LINKS))) < np.array(list(OTHER_LINK_USE.values()))

    # where: locations by weight; then pilot locations swapped among adopters until the uplifts hold
    # adopters lean towards the provinces with denser AI supply (REGIONAL_LEAN), so the index varies by region
    weights = np.array([w for *_, w in LOCATIONS])
    lean = np.array([REGIONAL_LEAN.get(p, 1.0) for p, *_ in LOCATIONS])
    loc = np.empty(n, dtype=np.int64)
    loc[ad] = _deal(rng, n_ad, quotas(weights * lean, n_ad))
    others = np.flatnonzero(status != 1)
    loc[others] = _deal(rng, len(others), quotas(weights / lean, len(others)))
    batch_of = np.array([b for _, _, b, _ in LOCATIONS])
    ad_loc = loc[ad]
    _swap_to_ratio(ad_loc, investment, batch_of, lambda b: b >= 1, lambda b: b == 0, PILOT_UPLIFT)
    _swap_to_ratio(ad_loc, investment, batch_of, lambda b: b == 2, lambda b: b == 1, BATCH2_UPLIFT, lambda b: b == 3)
    loc[ad] = ad_loc

    age = np.empty(n, dtype=np.int64)
    for a, (lo, hi) in enumerate(AGE_RANGES.values()):
        m = age_band == a
        age[m] = rng.integers(lo, hi + 1, m.sum())
    days = rng.integers(0, 92, n)
    seconds = rng.integers(8 * 3600, 22 * 3600, n)
    submitted = (
        pd.Timestamp(f"{SURVEY_YEAR}-03-01") + pd.to_timedelta(days, "D") + pd.to_timedelta(seconds, "s")
    ).strftime("%Y-%m-%d %H:%M:%S")

    df["survey_year"] = SURVEY_YEAR
    df["submitted_at"] = submitted
    df["province_code"] = np.array([p for p, *_ in LOCATIONS], dtype=object)[loc]
    df["city"] = np.array([c for _, c, *_ in LOCATIONS], dtype=object)[loc]
    df["pilot_batch"] = batch_of[loc]
    df["industry_section"] = section
    df["mfg_division"] = pd.array(np.where(is_mfg, division, 0), dtype="Int64")
    df.loc[~is_mfg, "mfg_division"] = pd.NA
    df["founded_year"] = SURVEY_YEAR - age
    emp = np.maximum(1, revenue / rng.uniform(40, 160, n)).astype(np.int64)
    df["employees"] = emp
    df["revenue_wan"] = revenue
    df["ai_status"] = status
    inv_col = np.full(n, np.nan)
    inv_col[ad] = investment
    df["ai_investment_wan"] = inv_col
    st = pd.array(np.zeros(n, dtype=np.int64), dtype="Int64")
    st[:] = pd.NA
    st[ad] = stage
    df["ai_stage"] = st
    for li, col in enumerate(LINK_COLUMNS):
        v = pd.array(np.zeros(n, dtype=np.int64), dtype="Int64")
        v[:] = pd.NA
        v[ad] = links[:, li]
        df[col] = v
    _scenarios(rng, df, ad, links)
    mt = pd.array(np.zeros(n, dtype=np.int64), dtype="Int64")
    mt[:] = pd.NA
    mt[ad] = rng.choice([1, 2, 3], n_ad, p=[0.45, 0.30, 0.25])
    df["model_type"] = mt
    for col, p in zip(BARRIER_COLUMNS, (0.55, 0.48, 0.42, 0.35, 0.30, 0.33), strict=True):
        df[col] = (rng.random(n) < p).astype(np.int64)
    return df


def _margin(sizes: np.ndarray, rates: list[float], total: int, *, last: float | None = None) -> np.ndarray:
    """Counts per band: the given rates for the first bands, the remainder so the total is exact.

    With `last`, the final band has that rate and the one before it takes the remainder."""
    out = np.zeros(len(sizes), dtype=np.int64)
    fixed = list(range(len(rates))) + ([len(sizes) - 1] if last is not None else [])
    all_rates = rates + ([last] if last is not None else [])
    for i, rate in zip(fixed, all_rates, strict=True):
        out[i] = round(rate * sizes[i])
    rest = next(i for i in range(len(sizes)) if i not in fixed)
    out[rest] = min(max(total - int(out.sum()), 0), int(sizes[rest]))
    return out


def _best_partner(inv: np.ndarray, side: np.ndarray, pool: np.ndarray, delta: float) -> tuple[int, int, float]:
    """(i in side, j in pool, inv[j] - inv[i]) with that difference closest to delta."""
    order = np.argsort(inv[pool])
    sorted_pool = inv[pool][order]
    pos = np.clip(np.searchsorted(sorted_pool, inv[side] + delta), 0, len(pool) - 1)
    pos_lo = np.clip(pos - 1, 0, len(pool) - 1)
    err, err_lo = np.abs(sorted_pool[pos] - inv[side] - delta), np.abs(sorted_pool[pos_lo] - inv[side] - delta)
    pos = np.where(err_lo < err, pos_lo, pos)
    best = int(np.argmin(np.minimum(err, err_lo)))
    i, j = side[best], pool[order[pos[best]]]
    return int(i), int(j), float(inv[j] - inv[i])


def _swap_to_ratio(loc, inv, batch_of, in_a, in_b, ratio: float, in_neutral=None) -> None:
    """Swap locations between adopters until mean(inv | a) / mean(inv | b) ≈ ratio.

    Swaps go between a and b, or between either and a neutral set whose own mean does not matter
    (pilot batch 3 when balancing batch 2 against batch 1)."""
    for _ in range(300):
        b = batch_of[loc]
        ia, ib = np.flatnonzero(in_a(b)), np.flatnonzero(in_b(b))
        ic = np.flatnonzero(in_neutral(b)) if in_neutral else np.empty(0, dtype=np.int64)
        if len(ia) == 0 or len(ib) == 0:
            return
        sa, sb, na, nb = inv[ia].sum(), inv[ib].sum(), len(ia), len(ib)
        if sb <= 0:
            return
        error = abs((sa / na) / (sb / nb) - ratio)
        if error < 0.0005:
            return
        options = []
        i, j, d = _best_partner(inv, ia, ib, ratio * na * (sa + sb) / (nb + ratio * na) - sa)
        options.append((abs(((sa + d) / na) / ((sb - d) / nb) - ratio) if sb - d > 0 else np.inf, i, j))
        if len(ic):
            i, j, d = _best_partner(inv, ia, ic, ratio * na * sb / nb - sa)
            options.append((abs(((sa + d) / na) / (sb / nb) - ratio), i, j))
            i, j, d = _best_partner(inv, ib, ic, sa * nb / (ratio * na) - sb)
            options.append((abs((sa / na) / ((sb + d) / nb) - ratio) if sb + d > 0 else np.inf, i, j))
        new_error, i, j = min(options)
        if not new_error < error:
            return
        loc[i], loc[j] = loc[j], loc[i]


def _scenarios(rng: np.random.Generator, df: pd.DataFrame, ad: np.ndarray, links: np.ndarray) -> None:
    """scn_* consistent with the links: a firm using a link uses one or two of its scenarios."""
    tax = taxonomy.load()
    n = len(df)
    values = {col: np.zeros(n, dtype=np.int64) for col in SCENARIO_COLUMNS}
    for li, link in enumerate(LINKS):
        codes = [c for c, t in tax.scenarios.items() if t.extra.get("link") == link]
        users = ad[links[:, li] == 1]
        for code in codes:
            chosen = users[rng.random(len(users)) < min(0.9, 1.5 / len(codes))]
            values[f"scn_{code}"][chosen] = 1
    for col, v in values.items():
        df[col] = v


# --- invalid rows: each breaks one or more rules, every kind in turn -----------------------------

INVALID_KINDS = (
    ("revenue_wan", "12万"),
    ("province_code", "99"),
    ("industry_section", "Z"),
    ("ai_status", "4"),
    ("founded_year", str(SURVEY_YEAR + 3)),
    ("submitted_at", "上周三"),
    ("response_id", ""),
    ("pilot_batch", "5"),
    ("mfg_division", "__other_section__"),
    ("mfg_division", "__missing__"),
    ("ai_investment_wan", "__non_adopter__"),
    ("ai_stage", "__adopter_missing__"),
    ("link_sales", "2"),
    ("response_id", "__duplicate__"),
    ("revenue_wan", "-5"),
    ("founded_year", "1850"),
)


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, float | np.floating):
        return f"{float(value):.4f}".rstrip("0").rstrip(".")
    return str(value)


def text_rows(df: pd.DataFrame, *, invalid: int = 0, seed: int = 0) -> tuple[list[str], list[list[str]]]:
    """Header and text rows of the canonical file; K broken rows spread through the valid ones."""
    header = [c.name for c in COLUMNS]
    rows = [[_text(v) for v in rec] for rec in df[header].itertuples(index=False, name=None)]
    if not invalid:
        return header, rows
    rng = np.random.default_rng((seed + 7919) % 2**64)
    pos = {name: i for i, name in enumerate(header)}
    broken: list[list[str]] = []
    for k in range(invalid):
        column, value = INVALID_KINDS[k % len(INVALID_KINDS)]
        base = list(rows[int(rng.integers(0, len(rows)))]) if rows else [""] * len(header)
        base[pos["response_id"]] = f"X{seed % 100000:05d}-{k + 1:06d}"
        if value == "__other_section__":
            base[pos["industry_section"]], base[pos["mfg_division"]] = "F", "33"
        elif value == "__missing__":
            base[pos["industry_section"]], base[pos["mfg_division"]] = "C", ""
        elif value == "__non_adopter__":
            base[pos["ai_status"]], base[pos["ai_investment_wan"]] = "3", "50"
            base[pos["ai_stage"]] = ""
            for c in LINK_COLUMNS:
                base[pos[c]] = ""
        elif value == "__adopter_missing__":
            base[pos["ai_status"]], base[pos["ai_stage"]] = "1", ""
            base[pos["ai_investment_wan"]] = base[pos["ai_investment_wan"]] or "10"
            for c in LINK_COLUMNS:
                base[pos[c]] = base[pos[c]] or "0"
        elif value == "__duplicate__":
            base[pos["response_id"]] = rows[0][pos["response_id"]] if rows else "X"
        else:
            base[pos[column]] = value
        broken.append(base)
    out = list(rows)
    for b in broken:  # later rows, so a duplicate id always follows its original
        out.insert(int(rng.integers(1, len(out) + 1)), b)
    return header, out


def write_csv(path: Path, n: int, seed: int, *, invalid: int = 0) -> None:
    header, rows = text_rows(generate(n, seed), invalid=invalid, seed=seed)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def write_xlsx(path: Path, n: int, seed: int, *, invalid: int = 0) -> None:
    from openpyxl import Workbook

    header, rows = text_rows(generate(n, seed), invalid=invalid, seed=seed)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("survey")
    sheet.append(header)
    for r in rows:
        sheet.append(r)
    book.save(path)
