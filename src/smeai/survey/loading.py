"""Reading a survey file into DuckDB and checking it there (rules.py): the path every import takes.

A CSV is read by DuckDB itself, in parallel, straight from disk (UTF-8, BOM or not); an .xlsx by
calamine (Rust), row by row into Arrow batches. A file DuckDB cannot read as the csv module would
(not UTF-8: a 问卷星 GB18030 download; a cell past the csv module's field limit) is read by
`codebook.read_table`, which names the row that breaks, and checked by the same expressions.

The outcome is a table of valid typed rows in the connection (`valid`), the reasons of every
rejected row (ordered by row, then in the codebook's order), and the counts. Nothing here holds the
file in memory: DuckDB spills to its temporary folder past `memory_limit`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from smeai.i18n import N_
from smeai.survey import codebook, rules
from smeai.survey.codebook import MissingColumns, Reason, UnreadableFile

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from smeai.survey import compiled

DUPLICATE_ORDER = 1_000_000  # rule 6 comes after every other reason of its row
# A CSV this large has its first pass compiled (compiled.py); a smaller one is read by DuckDB's own: numba's
# import and its cached code cost 0.5-1.2 s, more than the SQL first pass of a million rows (145 MB)
COMPILED_MIN_BYTES = 256 << 20


@dataclass
class Checked:
    """What checking a file left in the connection: the `valid` table and every reason."""

    header: list[str]
    n_rows: int
    n_valid: int
    reasons: list[Reason] = field(default_factory=list)

    @property
    def n_rejected(self) -> int:
        return self.n_rows - self.n_valid


def connect(*, memory_limit: str = "512MB", threads: int | None = None) -> duckdb.DuckDBPyConnection:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = true")  # a table of the rows keeps the file's order: rowid = row
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


# --- sources: one text column per header cell (c0, c1, ...) and the spreadsheet row ---------------


def _csv_header(path: Path) -> list[str] | None:
    """The header record of a UTF-8 CSV (BOM or not); None when the start is not UTF-8 or not CSV."""
    with path.open("rb") as f:
        start = f.read(1 << 20)
    text = start.decode("utf-8-sig", errors="ignore" if len(start) == 1 << 20 else "strict")
    try:
        first = next(csv.reader(io.StringIO(text, newline="")), None)
    except csv.Error:
        return None
    return first


def _inner_empty_line(path: Path, block: int = 1 << 24) -> bool:
    """Whether an empty line of PATH has a record after it (a blank line between rows, not at the end).
    DuckDB's reader skips an empty line, so the rows after it would be numbered one short of the
    spreadsheet row the csv module and 问卷星 count; such a file is read in Python instead (an empty line
    inside a quoted cell is sent there too: slower, still right). About 0.2 s a GB from the page cache."""
    tail, pending = b"", False
    with path.open("rb") as f:
        while chunk := f.read(block):
            if pending and chunk.strip(b"\r\n"):
                return True
            data = tail + chunk
            for gap in (b"\n\n", b"\n\r\n"):
                at = data.find(gap)
                if at >= 0:
                    if data[at + len(gap) :].strip(b"\r\n"):
                        return True
                    pending = True
            tail = data[-2:]
    return False


def csv_source(con: duckdb.DuckDBPyConnection, path: Path) -> list[str] | None:
    """View `src` over a CSV read by DuckDB; the raw header record, or None when DuckDB should not read it
    (not UTF-8 at the start, no header, or an empty line between rows: `_inner_empty_line`)."""
    try:
        cells = _csv_header(path)
    except UnicodeDecodeError:
        return None
    if not cells or _inner_empty_line(path):
        return None
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(cells))) + "}"
    # max_line_size: a longer line may hold a cell past the csv module's field limit (128 KiB), which is
    # an error the Python reader names by row; strict_mode off: a row longer than the header is cut, as
    # the csv module's reader ignores cells past the last column
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW src AS
        SELECT * FROM read_csv({rules.lit(str(path))}, header = true,
            delim = ',', quote = '"', escape = '"', null_padding = true, strict_mode = false,
            auto_detect = false, max_line_size = 131072, encoding = 'utf-8', columns = {columns})"""
    )
    return cells


def rows_source(con: duckdb.DuckDBPyConnection, width: int, rows: Iterable[list[str]]) -> None:
    """Table `src` from text rows (the header is row 1), Arrow batch by batch."""
    columns_source(con, width, codebook.chunks_of(rows, width))


def columns_source(con: duckdb.DuckDBPyConnection, width: int, chunks: Iterable[list[list[str]]]) -> None:
    """Table `src` from chunks of text columns (`width` each; rows in file order from row 2), Arrow
    batch by batch: an empty cell is NULL, as DuckDB reads one from a CSV."""
    import pyarrow as pa
    import pyarrow.compute as pc

    schema = pa.schema([pa.field("row", pa.int64()), *(pa.field(f"c{i}", pa.string()) for i in range(width))])
    failed: list[Exception] = []
    null = pa.scalar(None, pa.string())

    def batches() -> Iterator[pa.RecordBatch]:
        row = 2
        try:
            for columns in chunks:
                n = len(columns[0]) if columns else 0
                arrays = [pa.array(range(row, row + n), pa.int64())]
                for i in range(width):
                    cells = pa.array(columns[i], pa.string()) if i < len(columns) else pa.nulls(n, pa.string())
                    arrays.append(pc.if_else(pc.equal(cells, ""), null, cells))
                yield pa.RecordBatch.from_arrays(arrays, schema=schema)
                row += n
        except Exception as exc:  # a row that cannot be read: raised as itself below, not as DuckDB's error
            failed.append(exc)
            return

    reader = pa.RecordBatchReader.from_batches(schema, batches())
    con.register("src_rows", reader)
    con.execute("DROP VIEW IF EXISTS src")
    con.execute("CREATE OR REPLACE TEMP TABLE src AS SELECT * FROM src_rows")
    con.unregister("src_rows")
    if failed:
        raise failed[0]


# --- checking -----------------------------------------------------------------------------------


def check(
    con: duckdb.DuckDBPyConnection,
    header: list[str],
    width: int,
    *,
    keep: Iterable[str] | None = None,
    max_rows: int | None = None,
    also: Iterable[Reason] = (),
    path: Path | None = None,
) -> Checked:
    """Check the rows of `src` (rules.py) into table `valid`; raise MissingColumns like the codebook.

    `also`: reasons found before (an answer a questionnaire mapping cannot place) that reject their rows too.
    `path`: the CSV `src` reads (csv_source), which a compiled first pass may read instead when it is large."""
    missing = [c for c in codebook.REQUIRED_COLUMNS if c not in header]
    if missing:
        raise MissingColumns(
            N_("Required columns are missing; no row was loaded."),
            fields={c: "missing column" for c in missing},
        )
    layout = rules.Layout.of(header)
    keep = list(keep) if keep is not None else [c.name for c in codebook.COLUMNS]
    typed = ", ".join(["row", "survey_year", *(rules.ident(c) for c in keep)])
    # a large plain CSV: the first pass compiled (compiled.py), the same rows accepted with the same values
    compiled_pass = _compiled(path, layout, width, keep) if path is not None else None
    if compiled_pass is None:
        fast = rules.fast_sql("src", layout, keep=keep, n_cells=width)
        # The rows in file order, read and checked in parallel; a row's number is its place in the table
        # (rowid), not row_number() OVER (), which would hold the whole pass to one thread.
        con.execute(f"CREATE OR REPLACE TEMP TABLE first_cells AS {fast}")
        con.execute("CREATE OR REPLACE TEMP VIEW first AS SELECT rowid + 2 AS row, * FROM first_cells")
        (last,) = con.sql("SELECT coalesce(max(row), 1) FROM first").fetchall()[0]
        _bound_rows(last, max_rows)
        # the rows the fast pass did not accept, checked in full (every reason, date-times in every form)
        cells = ", ".join(f"raw[{i + 1}] AS c{i}" for i in range(width))
        # (the flag first: the scan then reads the list column of those rows only)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE suspect AS SELECT row, {cells} FROM first WHERE NOT ok AND raw IS NOT NULL"
        )
    else:
        _bound_rows(compiled_pass.n_rows + 1, max_rows)
        compiled_pass.suspect(con)
    (n_suspect,) = con.sql("SELECT count(*) FROM suspect").fetchall()[0]
    if n_suspect:
        texts = []
        if "submitted_at" in layout.position:
            pos = layout.position["submitted_at"]
            strip = rules.strip(f"c{pos}")
            texts = [t for (t,) in con.sql(f"SELECT DISTINCT {strip} FROM suspect").fetchall()]
        rules.register_datetimes(con, texts)
        full = rules.check_sql("suspect", layout, fast=False, keep=keep, n_cells=width)
        con.execute(f"CREATE OR REPLACE TEMP TABLE checked AS {full}")
    # rule 6: the response ids seen before, found by their hash first (a small integer grouping instead of
    # millions of strings), then checked as text among the few rows whose hash repeats
    if compiled_pass is not None:
        compiled_pass.duplicates(con)
    else:
        con.execute(
            """CREATE OR REPLACE TEMP TABLE duplicates AS
            WITH h AS (
                SELECT rid_hash FROM first_cells WHERE rid_hash IS NOT NULL GROUP BY rid_hash HAVING count(*) > 1
            ),
            c AS (SELECT row, rid, rid_raw FROM first WHERE rid_hash IN (SELECT rid_hash FROM h)),
            d AS (SELECT rid, min(row) AS first_row FROM c GROUP BY rid HAVING count(*) > 1)
            SELECT c.row, coalesce(c.rid_raw, c.rid) AS value FROM c JOIN d USING (rid) WHERE c.row > d.first_row"""
        )
    also = list(also)
    con.execute("CREATE OR REPLACE TEMP TABLE unplaced (row BIGINT)")
    if also:
        con.executemany("INSERT INTO unplaced VALUES (?)", [[r] for r in sorted({r.row for r in also})])
    duplicate = (
        f"SELECT row, {DUPLICATE_ORDER} AS ord, 'response_id' AS col, value, 'duplicate_id' AS rule FROM duplicates"
    )
    every = f"{rules.reasons_sql(layout)} UNION ALL {duplicate}" if n_suspect else duplicate
    found = con.sql(f"SELECT row, col, value, rule FROM ({every}) ORDER BY row, ord").fetchall()
    n_first = (
        compiled_pass.n_ok
        if compiled_pass is not None
        else con.sql("SELECT count(*) FROM first_cells WHERE ok").fetchall()[0][0]
    )
    n_second = con.sql("SELECT count(*) FROM checked WHERE NOT blank").fetchall()[0][0] if n_suspect else 0
    n_rows = n_first + n_second
    # the rows dropped for a duplicate id or an answer the mapping cannot place are marked in place (a
    # few rows), so that the valid rows are the first pass's table as it is, not a copy of it
    con.execute("CREATE OR REPLACE TEMP TABLE dropped AS SELECT row FROM duplicates UNION SELECT row FROM unplaced")
    if compiled_pass is not None:
        compiled_pass.drop([row for (row,) in con.sql("SELECT row FROM dropped").fetchall()])
        compiled_pass.register(con)
    else:
        con.execute("UPDATE first_cells SET ok = false WHERE ok AND rowid IN (SELECT row - 2 FROM dropped)")
    second = f"UNION ALL SELECT {typed} FROM checked WHERE ok AND NOT blank AND row NOT IN (SELECT row FROM dropped)"
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW valid AS
        SELECT {typed} FROM first WHERE ok
        {second if n_suspect else ""}"""
    )
    reasons = [Reason(int(row), col, value, rule) for row, col, value, rule in found]
    if also:  # after the codebook's own reasons of the same row
        reasons = sorted([*reasons, *also], key=lambda r: r.row)
    n_rejected = len({r.row for r in reasons})
    return Checked(header=header, n_rows=int(n_rows), n_valid=int(n_rows) - n_rejected, reasons=reasons)


def _compiled(path: Path, layout: rules.Layout, width: int, keep: list[str]) -> compiled.FirstPass | None:
    """The compiled first pass of a large plain CSV (compiled.first_pass_of), or None: DuckDB's."""
    if path.stat().st_size < COMPILED_MIN_BYTES:  # (before numpy and numba are imported for it)
        return None
    from smeai.survey import compiled

    return compiled.first_pass_of(path, layout, width, keep)


def _bound_rows(last: int, max_rows: int | None) -> None:
    """Refuse a file of more than `max_rows` rows after the header (`last`: the last row), naming the first
    row too many."""
    if max_rows is not None and last > max_rows + 1:
        raise UnreadableFile(
            N_("The file has too many rows."),
            fields={f"row {max_rows + 2}": f"at most {max_rows} rows after the header"},
        )
