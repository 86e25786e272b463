"""A survey file measured without a database: read, validate, compute the indicators."""

from __future__ import annotations

import csv
import io
import itertools
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smeai.survey import codebook, indicators, loading, wjx
from smeai.web.downloads import row

if TYPE_CHECKING:
    import duckdb
    import ibis.expr.types as ir


def table(validated: codebook.Validated) -> ir.Table:
    """The valid rows as an Ibis table on DuckDB (in memory)."""
    import ibis

    return ibis.memtable(codebook.to_arrow(validated.columns))


@contextmanager
def _on_disk(source: Path | bytes, filename: str | None) -> Iterator[Path]:
    """The file as a path DuckDB can read (bytes go to a temporary file, removed afterwards)."""
    if isinstance(source, Path):
        yield source
        return
    suffix = Path(filename or "upload").suffix[:10]
    with tempfile.NamedTemporaryFile(prefix="smeai-survey-", suffix=suffix) as f:
        f.write(source)
        f.flush()
        yield Path(f.name)


def _is_xlsx(path: Path, name: str) -> bool:
    with path.open("rb") as f:
        return name.endswith((".xlsx", ".xlsm")) or f.read(4) == b"PK\x03\x04"


def check_file(
    con: duckdb.DuckDBPyConnection,
    source: Path | bytes,
    *,
    filename: str | None = None,
    max_rows: int | None = codebook.MAX_ROWS,
    keep: Iterable[str] | None = None,
) -> tuple[loading.Checked, str, list[str]]:
    """Check a canonical file or a questionnaire-service export into `valid` (loading.check):
    (what was checked, layout, unmapped headers). `max_rows`: None for a local file of any size."""
    import duckdb

    name = (filename or (source.name if isinstance(source, Path) else "")).lower()
    with _on_disk(source, filename) as path:
        if _is_xlsx(path, name):
            header, chunks = codebook.read_xlsx_columns(path, max_rows=max_rows)
            return _check_columns(con, header, chunks, keep=keep, max_rows=max_rows)
        cells = loading.csv_source(con, path)
        if cells is not None:
            header = codebook.header_of(cells)
            if set(codebook.REQUIRED_COLUMNS) <= set(header) or not wjx.looks_like_wjx(header):
                try:
                    checked = loading.check(con, header, len(cells), keep=keep, max_rows=max_rows, path=path)
                    return checked, "canonical", []
                except duckdb.Error:
                    pass  # not UTF-8 further on, or a line past the csv module's field limit: read in Python
        header, rows = codebook.read_table(path, filename=filename, max_rows=max_rows)
        return _check_columns(con, header, codebook.chunks_of(rows, len(header)), keep=keep, max_rows=max_rows)


def _check_columns(
    con: duckdb.DuckDBPyConnection,
    header: list[str],
    chunks: Iterator[list[list[str]]],
    *,
    keep: Iterable[str] | None,
    max_rows: int | None,
) -> tuple[loading.Checked, str, list[str]]:
    """Check a file read in Python (chunks of text columns): a canonical one as is, an export mapped
    onto the canonical columns first (wjx.convert), chunk by chunk."""
    if set(codebook.REQUIRED_COLUMNS) <= set(header) or not wjx.looks_like_wjx(header):
        loading.columns_source(con, len(header), chunks)
        return loading.check(con, header, len(header), keep=keep, max_rows=max_rows), "canonical", []
    first = next(chunks, None)
    plan = wjx.plan(header, [column[:50] for column in first] if first else [[] for _ in header])
    reasons: list[codebook.Reason] = []

    def converted() -> Iterator[list[list[str]]]:
        row = 2
        for columns in itertools.chain([first] if first else [], chunks):
            out, found = wjx.convert(plan, columns, row)
            reasons.extend(found)
            row += len(columns[0]) if columns else 0
            yield out

    loading.columns_source(con, len(plan.out_cols), converted())
    try:
        checked = loading.check(con, plan.out_cols, len(plan.out_cols), keep=keep, max_rows=max_rows, also=reasons)
    except codebook.MissingColumns as exc:  # name the headers that may have been meant for them
        exc.fields.update({h: "not in the questionnaire mapping" for h in plan.unmapped})
        raise
    return checked, plan.layout, plan.unmapped


def read_survey(
    source: Path | bytes, *, filename: str | None = None, max_rows: int | None = codebook.MAX_ROWS
) -> tuple[codebook.Validated, str, list[str]]:
    """(validated rows, layout, unmapped headers) of a canonical file or a questionnaire-service export."""
    con = loading.connect()
    try:
        checked, layout, unmapped = check_file(con, source, filename=filename, max_rows=max_rows)
        return _validated(con, checked), layout, unmapped
    finally:
        con.close()


def reasons_of(
    source: Path | bytes, *, filename: str | None = None, max_rows: int | None = codebook.MAX_ROWS
) -> tuple[loading.Checked, str, list[str]]:
    """(counts and every reason, layout, unmapped headers) of a file, without its valid rows: what
    `smeai survey check` prints. The rows stay in DuckDB, within its memory bound (read_survey turned every
    valid row into Python objects: about 11 GB for a 10M-row file)."""
    con = loading.connect()
    try:
        return check_file(con, source, filename=filename, max_rows=max_rows, keep=())
    finally:
        con.close()


def validate_rows(header: list[str], rows: Iterable[list[str]]) -> codebook.Validated:
    """Check text rows (the header being row 1) as a file holding them would be checked."""
    con = loading.connect()
    try:
        loading.rows_source(con, len(header), rows)
        return _validated(con, loading.check(con, header, len(header)))
    finally:
        con.close()


def _validated(con: duckdb.DuckDBPyConnection, checked: loading.Checked) -> codebook.Validated:
    """The valid rows as Python columns (a file of at most an upload's rows), with the reasons."""
    valid = con.sql("SELECT * FROM valid ORDER BY row").to_arrow_table()
    columns = codebook.empty_columns()
    for name in columns:
        columns[name] = valid.column(name).to_pylist()
    columns["submitted_at"] = [datetime.fromisoformat(str(v)) for v in columns["submitted_at"]]
    return codebook.Validated(columns=columns, reasons=checked.reasons, n_rows=checked.n_rows)


def valid_batches(con: duckdb.DuckDBPyConnection, size: int) -> Iterator[dict[str, list[object]]]:
    """The valid rows `check_file` left in the connection, in file order, as Python columns (as `_validated`
    makes them) SIZE rows at a time: an import writes them batch by batch, never holding them all."""
    names = list(codebook.empty_columns())
    for batch in con.sql("SELECT * FROM valid ORDER BY row").fetch_record_batch(size):
        columns = {name: batch.column(name).to_pylist() for name in names}
        columns["submitted_at"] = [datetime.fromisoformat(str(v)) for v in columns["submitted_at"]]
        yield columns


def validate_file(
    source: Path | bytes, *, filename: str | None = None, max_rows: int | None = codebook.MAX_ROWS
) -> codebook.Validated:
    """Check a canonical file (or a questionnaire-service export) against codebook.md."""
    return read_survey(source, filename=filename, max_rows=max_rows)[0]


def file_indicators(
    source: Path | bytes, *, filename: str | None = None, max_rows: int | None = codebook.MAX_ROWS
) -> tuple[dict[str, Any], loading.Checked]:
    """The indicators.md JSON of a canonical file (or a 问卷星 / 腾讯问卷 export of the template), computed in
    DuckDB over the valid rows where they lie: a file of millions of rows is never in Python."""
    con = loading.connect()
    try:
        checked, _layout, _unmapped = check_file(
            con, source, filename=filename, max_rows=max_rows, keep=indicators.ARROW_COLUMNS
        )
        # the valid rows where the check left them (its first pass's table, the few rows it dropped
        # marked there): each figure's query reads the columns it needs, with no copy of them first
        columns = ", ".join(indicators.ARROW_COLUMNS)
        con.execute(f"CREATE OR REPLACE TEMP VIEW responses AS SELECT {columns} FROM valid")
        results = indicators.run_duckdb(con)
    finally:
        con.close()
    return indicators.assemble(results, n_rejected=checked.n_rejected)[0], checked


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
