"""The AI-application index (data/index.yaml): per province, per manufacturing group, and both.

Each component is a share of ALL firms in the cell, computed by one Ibis aggregate; the index is
the weighted sum. Every cell carries its firm count, which small-cell suppression reads.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from smeai.i18n import label
from smeai.survey import indicators
from smeai.survey.codebook import LINK_COLUMNS
from smeai.survey.indicators import derive, round2

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

DATA = Path(__file__).parent / "data"


class Component(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str = Field(pattern=r"^(reach|depth|breadth|commitment)$")
    weight: float = Field(gt=0, le=1)
    name: dict[str, str]
    what: dict[str, str]
    why: dict[str, str]

    @property
    def label(self) -> str:
        return label(self.name)


class IndexDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    components: tuple[Component, ...]

    @model_validator(mode="after")
    def _weights_add_up(self) -> IndexDefinition:
        if abs(sum(c.weight for c in self.components) - 1) > 1e-9:
            raise ValueError("components: weights must add up to 1")
        return self


@lru_cache
def definition(path: Path = DATA / "index.yaml") -> IndexDefinition:
    return IndexDefinition.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def cells(t: ir.Table, by: tuple[str, ...]) -> ir.Table:
    """One row per cell of `by` (province_code and/or group): firm count and component sums."""
    from ibis import _

    d = derive(t)
    if "group" in by:
        d = d.filter(d.group.notnull())
    adopter = d.ai_status == 1
    return d.group_by(list(by)).agg(
        n=_.count(),
        adopted=adopter.sum(),
        planned=(d.ai_status == 2).sum(),
        deep=(adopter & (d.ai_stage >= 3)).sum(),
        links=sum((d[c].fill_null(0) for c in LINK_COLUMNS[1:]), start=d[LINK_COLUMNS[0]].fill_null(0)).sum(),
        committed=(adopter & (d.intensity_pct.fill_null(0) >= 0.8)).sum(),
    )


def score(row: dict[str, Any]) -> dict[str, Any]:
    """Components (0..100) and the index of one cell from its sums."""
    n = int(row["n"])
    row = {k: float(row[k] or 0) for k in ("adopted", "planned", "deep", "links", "committed")}
    comps = {
        "reach": 100 * (row["adopted"] + 0.5 * row["planned"]) / n,
        "depth": 100 * row["deep"] / n,
        "breadth": 100 * row["links"] / (6 * n),
        "commitment": 100 * row["committed"] / n,
    }
    weights = {c.code: c.weight for c in definition().components}
    return {
        "n": n,
        "index": round2(sum(weights[k] * v for k, v in comps.items())),
        "components": {k: round2(v) for k, v in comps.items()},
    }


CUTS = {"by_province": ("province_code",), "by_group": ("group",), "by_province_group": ("province_code", "group")}


def queries(t: ir.Table) -> dict[str, ir.Table]:
    return {key: cells(t, by) for key, by in CUTS.items()}


def _shape(results: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for key, by in CUTS.items():
        rows = [{k: r[k] for k in by} | score(r) for r in results[key] if r["n"]]
        out[key] = sorted(rows, key=lambda r: tuple(str(r[k]) for k in by))
    return out


def compute(t: ir.Table) -> dict[str, list[dict[str, Any]]]:
    """The index by province, by group and by province × group, each cell with its firm count."""
    return _shape({key: expr.to_pyarrow().to_pylist() for key, expr in queries(t).items()})


@lru_cache
def duckdb_sql() -> dict[str, str]:
    import ibis

    t = ibis.table(indicators.schema(), name="responses")
    return {key: str(ibis.to_sql(expr, dialect="duckdb")) for key, expr in queries(t).items()}


def compute_arrow(table: pa.Table) -> dict[str, list[dict[str, Any]]]:
    """The same on an Arrow table through the SQL compiled once for DuckDB."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("responses", table)
        return _shape({key: con.sql(q).to_arrow_table().to_pylist() for key, q in duckdb_sql().items()})
    finally:
        con.close()
