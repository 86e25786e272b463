"""A straightforward pandas implementation of indicators.md, written independently of the Ibis one.

It is the benchmark's baseline and the tests' second opinion: both must print the same JSON.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from smeai.survey.codebook import LINKS
from smeai.survey.indicators import (
    AGE_BANDS,
    CLASSES,
    INTENSITY_BUCKETS,
    INVESTMENT_BANDS,
    REVENUE_BANDS,
    STAGES,
    STATUSES,
    groups,
    pct,
    round2,
)


def _band(values: pd.Series, edges: list[float], labels: tuple[str, ...], *, le: bool = False) -> pd.Series:
    # np.digitize: right=False counts edges <= value, which is the "< edge" rule; right=True is "<= edge"
    idx = np.digitize(values.to_numpy(dtype=float), edges, right=le)
    return pd.Series(np.asarray(labels, dtype=object)[idx], index=values.index)


def compute(df: pd.DataFrame, *, n_rejected: int = 0) -> dict[str, Any]:
    n = len(df)
    age = df["survey_year"] - df["founded_year"]
    age_band = _band(age, [5, 10, 20], AGE_BANDS)
    revenue_band = _band(df["revenue_wan"], [20000, 40000, 60000, 80000], REVENUE_BANDS)
    status = df["ai_status"]
    adopter = status == 1
    n_adopters = int(adopter.sum())
    out: dict[str, Any] = {"n_responses": n, "n_rejected": n_rejected}
    out["manufacturing_share"] = pct(int((df["industry_section"] == "C").sum()), n)
    out["revenue_band_shares"] = {b: pct(int((revenue_band == b).sum()), n) for b in REVENUE_BANDS}
    out["adoption"] = {k: pct(int((status == s).sum()), n) for s, k in STATUSES.items()}
    for key, bands, labels in (
        ("adoption_by_age", age_band, AGE_BANDS),
        ("adoption_by_revenue", revenue_band, REVENUE_BANDS),
    ):
        table = pd.crosstab(bands, status)
        out[key] = {}
        for b in labels:
            row = table.loc[b] if b in table.index else pd.Series(dtype=int)
            total = int(row.sum())
            out[key][b] = {k: pct(int(row.get(s, 0)), total) for s, k in STATUSES.items()}

    a = df[adopter]
    inv_band = _band(a["ai_investment_wan"], [100, 500, 1000], INVESTMENT_BANDS, le=True)
    out["investment_bands"] = {b: pct(int((inv_band == b).sum()), n_adopters) for b in INVESTMENT_BANDS}
    m = a[a["revenue_wan"] > 0]
    intensity = 100.0 * m["ai_investment_wan"] / m["revenue_wan"]
    bucket = _band(intensity, [0.4, 0.8, 1.2, 1.6], INTENSITY_BUCKETS)
    out["intensity_bucket_counts"] = {b: int((bucket == b).sum()) for b in INTENSITY_BUCKETS}
    m_age = age_band[m.index]
    means = intensity.groupby(m_age).mean()
    out["mean_intensity_by_age"] = {b: round2(means.get(b)) if b in means.index else None for b in AGE_BANDS}
    out["stage_shares"] = {k: pct(int((a["ai_stage"] == s).sum()), n_adopters) for s, k in STAGES.items()}

    g = groups()
    division_group = {d: code for code, v in g.items() for d in v["divisions"]}
    mfg = df[df["industry_section"] == "C"]
    group = mfg["mfg_division"].map(division_group)
    klass = group.map({code: v["class"] for code, v in g.items()})
    links = mfg[[f"link_{k}" for k in LINKS]].fillna(0)
    out["link_usage_by_class"] = {}
    for c in CLASSES:
        part = links[klass == c]
        out["link_usage_by_class"][c] = {k: pct(int(part[f"link_{k}"].sum()), len(part)) for k in LINKS}
    out["link_usage_by_group"] = {}
    for code in g:
        part = links[group == code]
        out["link_usage_by_group"][code] = {k: pct(int(part[f"link_{k}"].sum()), len(part)) for k in LINKS}

    inv, batch = a["ai_investment_wan"], a["pilot_batch"]

    def uplift(x: pd.Series, y: pd.Series) -> float | None:
        if len(x) == 0 or len(y) == 0 or y.mean() == 0:
            return None
        return round2((x.mean() / y.mean() - 1) * 100)

    out["pilot_investment_uplift"] = uplift(inv[batch >= 1], inv[batch == 0])
    out["batch2_vs_batch1_uplift"] = uplift(inv[batch == 2], inv[batch == 1])
    return out
