"""The tolerances of indicators.md ("The report's values, for calibration"), as one check."""

from __future__ import annotations

from typing import Any

PP = 1.0


def problems(r: dict[str, Any], *, rows: int | None = 6000) -> list[str]:
    """Every tolerance of indicators.md the indicators miss (empty: all met)."""
    out: list[str] = []

    def near(label: str, value: float | None, target: float, tol: float = PP) -> None:
        if value is None or abs(value - target) > tol:
            out.append(f"{label}: {value} not within {tol} of {target}")

    def above(label: str, hi: float | None, lo: float | None) -> None:
        if hi is None or lo is None or not hi > lo:
            out.append(f"{label}: {hi} not above {lo}")

    near("manufacturing_share", r["manufacturing_share"], 86.09)
    for band, v in {"0-2": 54.0, "2-4": 22.9, "4-6": 9.6, "6-8": 4.4, "8+": 9.1}.items():
        near(f"revenue_band_shares {band}", r["revenue_band_shares"][band], v)
    near("adopted", r["adoption"]["adopted"], 50.23)
    near("planned", r["adoption"]["planned"], 26.76)
    age, rev = r["adoption_by_age"], r["adoption_by_revenue"]
    near("age 5-10 adopted", age["5-10"]["adopted"], 53.50)
    near("age 0-5 planned", age["0-5"]["planned"], 28.66)
    for band in ("0-5", "10-20", "20+"):
        above(f"5-10 adopted highest vs {band}", age["5-10"]["adopted"], age[band]["adopted"])
    for band in ("5-10", "10-20", "20+"):
        above(f"0-5 planned highest vs {band}", age["0-5"]["planned"], age[band]["planned"])
    near("revenue 8+ adopted", rev["8+"]["adopted"], 55.44)
    near("revenue 0-2 adopted", rev["0-2"]["adopted"], 47.13)
    for band in ("0-2", "2-4", "4-6", "6-8"):
        above(f"8+ adopted highest vs {band}", rev["8+"]["adopted"], rev[band]["adopted"])
    for band in ("2-4", "4-6", "6-8", "8+"):
        above(f"0-2 adopted lowest vs {band}", rev[band]["adopted"], rev["0-2"]["adopted"])
    near("investment <=100", r["investment_bands"]["<=100"], 38.27)
    for stage, v in {"exploring": 28, "piloting": 45, "scaling": 23, "embedded": 4}.items():
        near(f"stage {stage}", r["stage_shares"][stage], v)
    links = r["link_usage_by_class"]
    near("labor supply_chain", links["labor"]["supply_chain"], 17.96)
    near("labor sales", links["labor"]["sales"], 13.38)
    for c in ("capital", "technology"):
        for link in ("supply_chain", "sales"):
            above(f"labor {link} vs {c}", links["labor"][link], links[c][link])
        for link in ("production", "rnd"):
            above(f"{c} {link} vs labor", links[c][link], links["labor"][link])
    means = r["mean_intensity_by_age"]
    near("mean intensity 0-5", means["0-5"], 2.26, 0.1)
    near("mean intensity 5-10", means["5-10"], 2.20, 0.1)
    for top in ("0-5", "5-10"):
        for band in ("10-20", "20+"):
            above(f"mean intensity {top} vs {band}", means[top], means[band])
    near("pilot uplift", r["pilot_investment_uplift"], 6)
    near("batch2 uplift", r["batch2_vs_batch1_uplift"], 9)
    if rows == 6000:
        b = r["intensity_bucket_counts"]
        near("bucket 0-0.4", b["0-0.4"], 1384, 30)
        near("bucket >=1.6", b[">=1.6"], 888, 30)
        for mid in ("0.4-0.8", "0.8-1.2", "1.2-1.6"):
            above(f"bucket 0-0.4 vs {mid}", b["0-0.4"], b[mid])
            above(f"bucket >=1.6 vs {mid}", b[">=1.6"], b[mid])
    return out
