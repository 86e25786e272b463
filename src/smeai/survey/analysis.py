"""A survey file measured without a database: read, validate, compute the indicators."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smeai.survey import codebook, indicators, wjx
from smeai.web.downloads import row

if TYPE_CHECKING:
    import ibis.expr.types as ir


def table(validated: codebook.Validated) -> ir.Table:
    """The valid rows as an Ibis table on DuckDB (in memory)."""
    import ibis

    return ibis.memtable(codebook.to_arrow(validated.columns))


def read_survey(source: Path | bytes, *, filename: str | None = None) -> tuple[codebook.Validated, str, list[str]]:
    """(validated rows, layout, unmapped headers) of a canonical file or a questionnaire-service export."""
    header, rows = codebook.read_table(source, filename=filename)
    if set(codebook.REQUIRED_COLUMNS) <= set(header) or not wjx.looks_like_wjx(header):
        return codebook.validate(header, rows), "canonical", []
    converted = wjx.to_canonical(header, list(rows))
    try:
        validated = codebook.validate(converted.header, iter(converted.rows))
    except codebook.MissingColumns as exc:  # name the headers that may have been meant for them
        exc.fields.update({h: "not in the questionnaire mapping" for h in converted.unmapped})
        raise
    validated.reasons = sorted([*validated.reasons, *converted.reasons], key=lambda r: r.row)
    validated.columns = _drop_rows(validated.columns, {r.row for r in converted.reasons})
    return validated, converted.layout, converted.unmapped


def _drop_rows(columns: dict[str, list[object]], rows: set[int]) -> dict[str, list[object]]:
    if not rows:
        return columns
    keep = [i for i, r in enumerate(columns["row"]) if r not in rows]
    return {k: [v[i] for i in keep] for k, v in columns.items()}


def file_indicators(source: Path | bytes, *, filename: str | None = None) -> tuple[dict[str, Any], codebook.Validated]:
    """The indicators.md JSON of a canonical file (or a 问卷星 / 腾讯问卷 export of the template)."""
    validated, _layout, _unmapped = read_survey(source, filename=filename)
    arrow = codebook.to_arrow(validated.columns)
    return indicators.compute_arrow(arrow, n_rejected=validated.n_rejected), validated


REASON_HEADER = ("row", "column", "value", "rule", "rule_no", "message")


# The error file is stored with the import: past this many reasons (a whole file of bad rows), the rest
# are counted in a last line instead of listed, so one upload cannot store hundreds of megabytes.
REASONS_IN_FILE = 100_000


def reasons_csv(reasons: list[codebook.Reason]) -> str:
    """The downloadable error file: one line per reason, UTF-8 with BOM so Excel shows Chinese.

    Values are the respondents' own text: a formula-like one is written as text (web.downloads.cell)."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(REASON_HEADER)
    for r in reasons[:REASONS_IN_FILE]:
        d = r.as_dict()
        writer.writerow(row([d[k] for k in REASON_HEADER]))  # a value as typed may start with = + - @
    if len(reasons) > REASONS_IN_FILE:
        more = len(reasons) - REASONS_IN_FILE
        writer.writerow(["", "", "", "", "", f"... {more} more reasons not listed: fix these rows and import again"])
    return "\ufeff" + buf.getvalue()
