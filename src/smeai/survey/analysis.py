"""A survey file measured without a database: read, validate, compute the indicators."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from smeai.survey import codebook, indicators


def table(validated: codebook.Validated) -> ir.Table:
    """The valid rows as an Ibis table on DuckDB (in memory)."""
    return ibis.memtable(codebook.to_arrow(validated.columns))


def file_indicators(source: Path | bytes, *, filename: str | None = None) -> tuple[dict[str, Any], codebook.Validated]:
    validated = codebook.validate_file(source, filename=filename)
    arrow = codebook.to_arrow(validated.columns)
    return indicators.compute_arrow(arrow, n_rejected=validated.n_rejected), validated


REASON_HEADER = ("row", "column", "value", "rule", "rule_no", "message")


def reasons_csv(reasons: list[codebook.Reason]) -> str:
    """The downloadable error file: one line per reason, UTF-8 with BOM so Excel shows Chinese."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(REASON_HEADER)
    for r in reasons:
        d = r.as_dict()
        writer.writerow([d[k] for k in REASON_HEADER])
    return "\ufeff" + buf.getvalue()
