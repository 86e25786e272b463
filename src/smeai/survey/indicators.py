"""The chapter-4 indicators (indicators.md), written once as Ibis expressions.

`derive()` adds the codebook's derived variables to a table of valid rows; `queries()` names one
small grouped aggregate per figure; `assemble()` turns their (tiny) results into the JSON of
indicators.md. The expressions run on DuckDB by default and unchanged on any Ibis backend
(tests/survey/test_spark.py runs them on PySpark), so a survey of a hundred million firms needs a
cluster, not a rewrite.

Every percentage is a share × 100 rounded half-up to 2 decimals, computed from exact integer
counts; a share or mean whose denominator is 0 is null. Next to each value `assemble()` keeps its
base (the number of firms it rests on), which small-cell suppression reads.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from smeai import taxonomy
from smeai.survey.codebook import LINK_COLUMNS, LINKS, arrow_schema

if TYPE_CHECKING:
    from collections.abc import Iterable

    import duckdb
    import ibis
    import ibis.expr.types as ir
    import pandas as pd
    import pyarrow as pa

AGE_BANDS = ("0-5", "5-10", "10-20", "20+")
REVENUE_BANDS = ("0-2", "2-4", "4-6", "6-8", "8+")
REVENUE_EDGES = (20000, 40000, 60000, 80000)  # 万元: the upper limits of REVENUE_BANDS (亿元)
STATUSES = {1: "adopted", 2: "planned", 3: "none"}
INVESTMENT_BANDS = ("<=100", "100-500", "500-1000", ">1000")
INTENSITY_BUCKETS = ("0-0.4", "0.4-0.8", "0.8-1.2", "1.2-1.6", ">=1.6")
STAGES = {1: "exploring", 2: "piloting", 3: "scaling", 4: "embedded"}
CLASSES = ("labor", "capital", "technology")

# The columns the indicators read; a table with at least these can be measured.
INPUT_COLUMNS = (
    "survey_year",
    "founded_year",
    "industry_section",
    "mfg_division",
    "pilot_batch",
    "revenue_wan",
    "ai_status",
    "ai_investment_wan",
    "ai_stage",
    *LINK_COLUMNS,
)

# what the index and filters read too
ARROW_COLUMNS = (*INPUT_COLUMNS, "province_code")

Q = Decimal("0.01")

# The expressions compiled to DuckDB SQL, kept in the package: compiling them takes Ibis half a second,
# more than the whole command on a small file (tests/survey/test_indicators.py checks it is current;
# `python -m smeai.survey.indicators` writes it again).
COMPILED = Path(__file__).parent / "data" / "indicators_duckdb.json"

Rows = list[dict[str, Any]]
# a result: pandas' frame (the Ibis path) or its rows as dicts (DuckDB's, without pandas)
Frame = Union["pd.DataFrame", Rows]


def groups() -> dict[str, dict[str, Any]]:
    """Group code -> {class, divisions (ints)}, in taxonomy order (L1..L5, T1..T6, K1..K7)."""
    return {
        code: {"class": g.extra["class"], "divisions": [int(d) for d in g.divisions]}
        for code, g in taxonomy.load().groups.items()
    }


def pct(num: int | float, den: int | float) -> float | None:
    """num/den × 100 rounded half-up to 2 decimals; None when den is 0."""
    if not den:
        return None
    return float((Decimal(int(num)) * 100 / Decimal(int(den))).quantize(Q, ROUND_HALF_UP))


def round2(value: float | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except TypeError:  # pandas.NA
        return None
    if math.isnan(number):
        return None
    return float(Decimal(repr(number)).quantize(Q, ROUND_HALF_UP))


# --- the derived variables, as expressions ------------------------------------------------------


def _bands(value: ir.NumericValue, edges: tuple[float, ...], labels: tuple[str, ...], *, le: bool = False):
    """labels[i] for the first edge the value is below (or not above, with le); the last label else."""
    import ibis

    cases = [((value <= e) if le else (value < e), lab) for e, lab in zip(edges, labels, strict=False)]
    return ibis.cases(*cases, else_=labels[-1])


def revenue_band(revenue_wan: float | None) -> str | None:
    """The codebook's revenue band of one firm (revenue in 万元), by the same rule as derive()."""
    if revenue_wan is None:
        return None
    return next(
        (lab for e, lab in zip(REVENUE_EDGES, REVENUE_BANDS, strict=False) if revenue_wan < e), REVENUE_BANDS[-1]
    )


def derive(t: ir.Table) -> ir.Table:
    """The codebook's derived variables on a table of valid rows."""
    import ibis

    age = t.survey_year - t.founded_year
    adopter = t.ai_status == 1
    intensity = ibis.ifelse(adopter & (t.revenue_wan > 0), 100.0 * t.ai_investment_wan / t.revenue_wan, None)
    g = groups()
    group = ibis.cases(*[(t.mfg_division.isin(v["divisions"]), code) for code, v in g.items()], else_=None)
    klass = ibis.cases(
        *[
            (t.mfg_division.isin([d for v in g.values() if v["class"] == c for d in v["divisions"]]), c)
            for c in CLASSES
        ],
        else_=None,
    )
    return t.mutate(
        age_band=_bands(age, (5, 10, 20), AGE_BANDS),
        revenue_band=_bands(t.revenue_wan, REVENUE_EDGES, REVENUE_BANDS),
        is_mfg=t.industry_section == "C",
        group=ibis.ifelse(t.industry_section == "C", group, None),
        intensity_class=ibis.ifelse(t.industry_section == "C", klass, None),
        intensity_pct=intensity,
        intensity_bucket=_bands(intensity, (0.4, 0.8, 1.2, 1.6), INTENSITY_BUCKETS),
        investment_band=_bands(t.ai_investment_wan, (100, 500, 1000), INVESTMENT_BANDS, le=True),
    )


def queries(t: ir.Table) -> dict[str, ir.Table]:
    """One small grouped aggregate per figure; together they hold every indicator."""
    from ibis import _

    d = derive(t)
    adopters = d.filter(d.ai_status == 1)
    measured = adopters.filter(adopters.revenue_wan > 0)
    link_sums = {c: _[c].sum() for c in LINK_COLUMNS}
    return {
        "sections": d.group_by("is_mfg").agg(n=_.count()),
        "status_by_age": d.group_by("age_band", "ai_status").agg(n=_.count()),
        "status_by_revenue": d.group_by("revenue_band", "ai_status").agg(n=_.count()),
        # by division (31 integers), not by the derived group label: the same sums, far cheaper to group;
        # assemble() adds the divisions of each group (taxonomy.yaml)
        "links_by_division": d.filter(d.is_mfg & d.mfg_division.notnull())
        .group_by("mfg_division")
        .agg(n=_.count(), **link_sums),
        "investment_bands": adopters.group_by("investment_band").agg(n=_.count()),
        "intensity": measured.group_by("age_band", "intensity_bucket").agg(n=_.count(), s=_.intensity_pct.sum()),
        "stages": adopters.group_by("ai_stage").agg(n=_.count()),
        "investment_by_batch": adopters.group_by("pilot_batch").agg(n=_.count(), s=_.ai_investment_wan.sum()),
    }


def schema() -> ibis.Schema:
    """The typed columns of valid rows (codebook.arrow_schema) that the expressions read."""
    import ibis
    import pyarrow as pa

    arrow = arrow_schema()
    return ibis.Schema.from_pyarrow(pa.schema([arrow.field(c) for c in ARROW_COLUMNS]))


def compile_duckdb() -> dict[str, str]:
    """The expressions compiled by Ibis to DuckDB SQL over a table `responses`."""
    import ibis

    t = ibis.table(schema(), name="responses")
    return {name: str(ibis.to_sql(expr, dialect="duckdb")) for name, expr in queries(t).items()}


@lru_cache
def duckdb_sql() -> dict[str, str]:
    """The same expressions as DuckDB SQL, as compiled into COMPILED."""
    sql: dict[str, str] = json.loads(COMPILED.read_text(encoding="utf-8"))
    return sql


def write_compiled() -> None:
    COMPILED.write_text(json.dumps(compile_duckdb(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def run_duckdb(con: duckdb.DuckDBPyConnection) -> dict[str, Rows]:
    """The results on `responses` in a DuckDB connection, as rows (no pandas: a command starts faster)."""
    out: dict[str, Rows] = {}
    for name, q in duckdb_sql().items():
        rel = con.sql(q)
        names = rel.columns
        out[name] = [dict(zip(names, r, strict=True)) for r in rel.fetchall()]
    return out


def execute_arrow(table: pa.Table, sql: dict[str, str] | None = None) -> dict[str, Rows]:
    """Run the compiled expressions on an Arrow table of valid rows, in an in-process DuckDB."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("responses", table)
        return {name: con.sql(q).to_arrow_table().to_pylist() for name, q in (sql or duckdb_sql()).items()}
    finally:
        con.close()


def execute(t: ir.Table) -> dict[str, pd.DataFrame]:
    # through Arrow: the results are a few rows each, and this skips ibis' pandas dtype inference
    return {name: expr.to_pyarrow().to_pandas() for name, expr in queries(t).items()}


# --- from the small results to the JSON of indicators.md ---------------------------------------


def _rows(frame: Frame) -> Rows:
    return frame if isinstance(frame, list) else frame.to_dict("records")


def _where(rows: Sequence[Mapping[str, Any]], where: Mapping[str, object]) -> list[Mapping[str, Any]]:
    return [r for r in rows if all(r[c] == v for c, v in where.items())]


def _total(values: Iterable[Any]) -> float:
    """The values added in order, a missing one (None, NaN) as 0: as pandas' fillna(0).sum() on a few rows."""
    total: Any = 0
    for v in values:
        if v is not None and v == v:
            total += v
    return total


def count(frame: Frame, **where: object) -> int:
    """The firms of a result frame's rows matching `where` (its `n` summed)."""
    return int(_total(r["n"] for r in _where(_rows(frame), where)))


def _sum(frame: Frame, col: str, **where: object) -> float:
    return float(_total(r[col] for r in _where(_rows(frame), where)))


def _uplift(s_a: float, n_a: int, s_b: float, n_b: int) -> float | None:
    """(mean a ÷ mean b − 1) × 100, 2 decimals; null when either mean has no rows or b is 0."""
    if not n_a or not n_b or not s_b:
        return None
    return round2((s_a * n_b) / (n_a * s_b) * 100 - 100)


def assemble(results: Mapping[str, Frame], *, n_rejected: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    """(indicators, bases): the JSON of indicators.md and, cell by cell, the firms it rests on."""
    r = {name: _rows(frame) for name, frame in results.items()}
    sec, age, rev = r["sections"], r["status_by_age"], r["status_by_revenue"]
    n = count(sec)
    mfg = count(sec, is_mfg=True)
    adopters = count(rev, ai_status=1)
    out: dict[str, Any] = {"n_responses": n, "n_rejected": n_rejected}
    base: dict[str, Any] = {"n_responses": n, "n_rejected": n_rejected}
    out["manufacturing_share"], base["manufacturing_share"] = pct(mfg, n), n

    out["revenue_band_shares"] = {b: pct(count(rev, revenue_band=b), n) for b in REVENUE_BANDS}
    base["revenue_band_shares"] = dict.fromkeys(REVENUE_BANDS, n)
    out["adoption"] = {k: pct(count(rev, ai_status=s), n) for s, k in STATUSES.items()}
    base["adoption"] = dict.fromkeys(STATUSES.values(), n)

    for key, frame, col, bands in (
        ("adoption_by_age", age, "age_band", AGE_BANDS),
        ("adoption_by_revenue", rev, "revenue_band", REVENUE_BANDS),
    ):
        out[key], base[key] = {}, {}
        for b in bands:
            total = count(frame, **{col: b})
            out[key][b] = {k: pct(count(frame, **{col: b, "ai_status": s}), total) for s, k in STATUSES.items()}
            base[key][b] = dict.fromkeys(STATUSES.values(), total)

    inv = r["investment_bands"]
    out["investment_bands"] = {b: pct(count(inv, investment_band=b), adopters) for b in INVESTMENT_BANDS}
    base["investment_bands"] = dict.fromkeys(INVESTMENT_BANDS, adopters)

    ints = r["intensity"]
    counts = {b: count(ints, intensity_bucket=b) for b in INTENSITY_BUCKETS}
    out["intensity_bucket_counts"], base["intensity_bucket_counts"] = counts, dict(counts)
    out["mean_intensity_by_age"], base["mean_intensity_by_age"] = {}, {}
    for b in AGE_BANDS:
        k = count(ints, age_band=b)
        out["mean_intensity_by_age"][b] = round2(_sum(ints, "s", age_band=b) / k) if k else None
        base["mean_intensity_by_age"][b] = k

    st = r["stages"]
    out["stage_shares"] = {k: pct(count(st, ai_stage=s), adopters) for s, k in STAGES.items()}
    base["stage_shares"] = dict.fromkeys(STAGES.values(), adopters)

    g = groups()
    division_group = {d: code for code, v in g.items() for d in v["divisions"]}
    lg = [dict(row, group=division_group.get(row["mfg_division"])) for row in r["links_by_division"]]
    out["link_usage_by_class"], base["link_usage_by_class"] = {}, {}
    for c in CLASSES:
        codes = [code for code, v in g.items() if v["class"] == c]
        part = [row for row in lg if row["group"] in codes]
        total = int(_total(row["n"] for row in part))
        out["link_usage_by_class"][c] = {k: pct(int(_total(row[f"link_{k}"] for row in part)), total) for k in LINKS}
        base["link_usage_by_class"][c] = dict.fromkeys(LINKS, total)
    out["link_usage_by_group"], base["link_usage_by_group"] = {}, {}
    for code in g:
        total = count(lg, group=code)
        out["link_usage_by_group"][code] = {k: pct(_sum(lg, f"link_{k}", group=code), total) for k in LINKS}
        base["link_usage_by_group"][code] = dict.fromkeys(LINKS, total)

    bb = r["investment_by_batch"]
    pilot = [row for row in bb if row["pilot_batch"] >= 1]
    s_p, n_p = float(_total(row["s"] for row in pilot)), int(_total(row["n"] for row in pilot))
    s_0, n_0 = _sum(bb, "s", pilot_batch=0), count(bb, pilot_batch=0)
    s_1, n_1 = _sum(bb, "s", pilot_batch=1), count(bb, pilot_batch=1)
    s_2, n_2 = _sum(bb, "s", pilot_batch=2), count(bb, pilot_batch=2)
    out["pilot_investment_uplift"] = _uplift(s_p, n_p, s_0, n_0)
    base["pilot_investment_uplift"] = min(n_p, n_0)
    out["batch2_vs_batch1_uplift"] = _uplift(s_2, n_2, s_1, n_1)
    base["batch2_vs_batch1_uplift"] = min(n_2, n_1)
    return out, base


def compute(t: ir.Table, *, n_rejected: int = 0) -> dict[str, Any]:
    """The indicators.md JSON for a table of valid rows, on whatever backend holds the table."""
    return assemble(execute(t), n_rejected=n_rejected)[0]


def compute_arrow(table: pa.Table, *, n_rejected: int = 0) -> dict[str, Any]:
    """The same on an Arrow table, through the SQL compiled once for DuckDB (the default path)."""
    return assemble(execute_arrow(table), n_rejected=n_rejected)[0]


if __name__ == "__main__":  # python -m smeai.survey.indicators: compile the expressions again
    write_compiled()
