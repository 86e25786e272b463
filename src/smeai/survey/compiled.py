"""The first pass of a large plain CSV, compiled (numba): what rules.fast_sql decides, line by line.

A canonical CSV with no quote anywhere is a file of lines of cells split by commas, and the first pass
(rules.fast_sql) accepts a row only when every cell is in its plainest valid form. Here that decision
is made by a compiled loop over the file's bytes, read in blocks (never the whole file mapped: its
pages would count in the resident memory), two blocks at a time on two threads. Each accepted row's
typed values go into narrow numpy arrays, which DuckDB reads as Arrow (no copy); every other row
keeps its byte offset and is read again in Python, split as DuckDB splits a quote-free line, for the
full rules (rules.check_sql). A row this pass accepts is one fast_sql accepts, with the same values;
when unsure it does not accept, and the full rules decide. Anything the plain reading does not cover
(a quote, a carriage return not before a newline, a NUL, bytes that are not UTF-8, a very long line)
stops it, and the file is read by DuckDB as before (`Unsupported`).

DuckDB reads such a line as the csv module would, but an empty line is no row to it: rows are
numbered over the non-empty lines, as DuckDB numbers them (loading.check: rowid + 2). A file with an
empty line before another row never comes here (loading.csv_source reads it in Python, which numbers
rows as the spreadsheet does), so only empty lines at the end are skipped, and they move no row.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from smeai import taxonomy
from smeai.survey.codebook import LINK_COLUMNS, SECTIONS, Column

if TYPE_CHECKING:
    import pyarrow as pa

    from smeai.survey.rules import Layout

BLOCK = 16 << 20  # bytes read at a time (whole lines)
LONG_LINE = 100_000  # DuckDB reads lines up to 131,072 bytes (loading.csv_source); past this, DuckDB decides

# cell kinds
IGNORE, TEXT, PROVINCE, SECTION, INT_SET, INT_RANGE, FLAG, NUMBER, DATETIME = range(9)
# where a typed value goes
NO_SLOT, I8, I16, F64, CODE = range(5)
NULL8, NULL16 = -128, -32768
# roles: positions of the cells rules 3 to 6 read (-1: absent)
R_RID, R_SUBMITTED, R_SECTION, R_DIVISION, R_FOUNDED, R_STATUS, R_INVEST, R_STAGE = range(8)
ADOPTER_VALUES = ("ai_investment_wan", "ai_stage")

ABORTED = -1


class Unsupported(Exception):
    """The file is not one the compiled pass reads (a quote, a lone carriage return, not UTF-8, ...)."""


@dataclass
class Plan:
    """How each cell of a line is checked and where its typed value goes."""

    width: int
    kind: np.ndarray  # int8 per position
    need: np.ndarray  # int8: 1 = required
    store: np.ndarray  # int8: NO_SLOT, I8, I16, F64, CODE
    slot: np.ndarray  # int32: the row of its store
    lo: np.ndarray  # int64: minimum (INT_RANGE, NUMBER when has_lo)
    hi: np.ndarray  # int64: maximum (INT_RANGE)
    has_lo: np.ndarray  # int8
    has_hi: np.ndarray  # int8
    allowed: np.ndarray  # int64 bit mask of allowed values 0..62 (INT_SET)
    maxlen: np.ndarray  # int64: max code points (TEXT; -1 none)
    roles: np.ndarray  # int64 positions (R_*)
    links: np.ndarray  # int64 positions of the link columns present
    province: np.ndarray  # int8[100]: code of a two-digit province, -1 none
    i8_names: list[str] = field(default_factory=list)
    i16_names: list[str] = field(default_factory=list)
    f64_names: list[str] = field(default_factory=list)
    code_names: list[str] = field(default_factory=list)
    provinces: list[str] = field(default_factory=list)

    @classmethod
    def empty(cls, width: int, province: np.ndarray, provinces: list[str]) -> Plan:
        """Every position ignored (IGNORE = 0, no bound, no slot)."""
        return cls(
            width=width,
            kind=np.zeros(width, np.int8),
            need=np.zeros(width, np.int8),
            store=np.zeros(width, np.int8),
            slot=np.zeros(width, np.int32),
            lo=np.zeros(width, np.int64),
            hi=np.zeros(width, np.int64),
            has_lo=np.zeros(width, np.int8),
            has_hi=np.zeros(width, np.int8),
            allowed=np.zeros(width, np.int64),
            maxlen=np.full(width, -1, np.int64),
            roles=np.full(8, -1, np.int64),
            links=np.zeros(0, np.int64),
            province=province,
            provinces=provinces,
        )

    def args(self) -> tuple[Any, ...]:
        """The plan as _kernel.parse takes it, after the bytes."""
        counts = (len(self.i8_names), len(self.i16_names) + 1, len(self.f64_names), len(self.code_names))
        fields = (self.width, self.kind, self.need, self.store, self.slot, self.lo, self.hi, self.has_lo)
        return (*fields, self.has_hi, self.allowed, self.maxlen, self.roles, self.links, self.province, *counts)


def plan(layout: Layout, width: int, keep: list[str]) -> Plan:
    """The plan of a file's columns; Unsupported when a kept column cannot be held here (free text)."""
    provinces = list(taxonomy.load().provinces)
    province = np.full(100, -1, np.int8)
    for i, code in enumerate(provinces):
        if len(code) != 2 or not code.isascii() or not code.isdigit():
            raise Unsupported("a province code that is not two digits")
        province[int(code)] = i
    if list(SECTIONS) != [chr(65 + i) for i in range(len(SECTIONS))]:
        raise Unsupported("sections are not A, B, C, ...")
    out = Plan.empty(width, province, provinces)
    kind, need, store, slot, lo, hi = out.kind, out.need, out.store, out.slot, out.lo, out.hi
    has_lo, has_hi, allowed, maxlen = out.has_lo, out.has_hi, out.allowed, out.maxlen
    wanted = set(keep)
    for col in layout.present:
        p = layout.position[col.name]
        need[p] = col.need == "yes"
        kind[p] = _kind(col)
        if col.minimum is not None:
            if col.minimum != int(col.minimum):
                raise Unsupported("a fractional minimum")
            lo[p], has_lo[p] = int(col.minimum), 1
        if col.maximum is not None:
            hi[p], has_hi[p] = int(col.maximum), 1
        if col.kind == "int" and col.allowed is not None:
            if min(col.allowed) < 0 or max(col.allowed) > 62:
                raise Unsupported("an allowed value past 62")
            allowed[p] = sum(1 << v for v in col.allowed)
        if col.max_length is not None:
            maxlen[p] = col.max_length
        if col.kind == "section":
            hi[p] = len(SECTIONS)
        if col.name in wanted:
            store[p], slot[p] = _slot(out, col)
    out.roles[:] = [
        layout.position.get(n, -1)
        for n in (
            "response_id",
            "submitted_at",
            "industry_section",
            "mfg_division",
            "founded_year",
            "ai_status",
            "ai_investment_wan",
            "ai_stage",
        )
    ]
    out.links = np.array([layout.position[n] for n in LINK_COLUMNS if n in layout.position], np.int64)
    return out


def _kind(col: Column) -> int:
    if col.kind == "flag":
        return FLAG
    if col.kind == "int":
        return INT_SET if col.allowed is not None else INT_RANGE
    return {"text": TEXT, "province": PROVINCE, "section": SECTION, "number": NUMBER, "datetime": DATETIME}[col.kind]


def _slot(out: Plan, col: Column) -> tuple[int, int]:
    def add(names: list[str], store: int) -> tuple[int, int]:
        names.append(col.name)
        return store, len(names) - 1

    if col.kind == "flag":
        return add(out.i8_names, I8)
    if col.kind == "int":
        bounds = [*col.allowed] if col.allowed is not None else [col.minimum, col.maximum]
        low, high = (None, None) if None in bounds else (min(bounds), max(bounds))  # type: ignore[type-var]
        if low is not None and high is not None and low >= -127 and high <= 127:
            return add(out.i8_names, I8)
        if col.name == "founded_year" or (low is not None and high is not None and low >= -32767 and high <= 32767):
            return add(out.i16_names, I16)  # founded_year: rule 5 holds it to the survey year's four digits
        raise Unsupported(f"{col.name}: an integer too wide for the compiled pass")
    if col.kind == "number":
        return add(out.f64_names, F64)
    if col.kind in ("province", "section"):
        return add(out.code_names, CODE)
    raise Unsupported(f"{col.name}: text is not kept by the compiled pass")


# --- the compiled loop --------------------------------------------------------------------------------

_KERNEL: Any = None


def _kernel() -> Any:
    global _KERNEL
    if _KERNEL is None:
        from smeai.survey import _kernel

        _KERNEL = _kernel
    return _KERNEL


@dataclass
class Block:
    base: int  # the byte offset of the block in the file
    n: int  # rows
    ok: np.ndarray
    i8: np.ndarray
    i16: np.ndarray  # survey_year first, then the plan's i16 columns
    f64: np.ndarray
    code: np.ndarray
    rid_hash: np.ndarray
    start: np.ndarray  # int32: each row's offset in the block


def _blocks(path: Path, header_end: int) -> Iterator[tuple[int, np.ndarray]]:
    """(file offset, bytes) of whole lines, BLOCK bytes at a time, from the line after the header."""
    with path.open("rb", buffering=0) as f:
        f.seek(header_end)
        offset = header_end
        rest = b""
        while True:
            chunk = f.read(BLOCK)
            data = rest + chunk if rest else chunk
            if not chunk:
                if data:
                    yield offset, np.frombuffer(data, np.uint8)
                return
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                if len(data) > LONG_LINE + 2:  # a line past DuckDB's bound: DuckDB says what it says
                    raise Unsupported("a very long line")
                rest = data
                continue
            yield offset, np.frombuffer(data, np.uint8, count=cut)
            rest = data[cut:]
            offset += cut


def header_end(path: Path) -> int:
    """The offset after the header line; Unsupported when the header holds a quote or a carriage return
    other than the line's end."""
    with path.open("rb") as f:
        head = f.read(1 << 20)
    end = head.find(b"\n")
    if end < 0 or end > LONG_LINE:
        raise Unsupported("no line after the header, or a very long header")
    line = head[:end]
    if line.endswith(b"\r"):
        line = line[:-1]
    if b'"' in line or b"\r" in line or b"\0" in line:
        raise Unsupported("a quote in the header")
    return end + 1


def first_pass(path: Path, p: Plan, threads: int = 2) -> list[Block]:
    """Every non-empty line of the file after the header, checked; Unsupported when a line is not plain."""
    k = _kernel()
    args = p.args()

    def one(item: tuple[int, np.ndarray]) -> Block:
        base, buf = item
        n, ok, i8, i16, f64, code, rid_hash, start = k.parse(buf, *args)
        if n == ABORTED:
            raise Unsupported("a line that is not plain")
        return Block(base, n, ok[:n], i8[:, :n], i16[:, :n], f64[:, :n], code[:, :n], rid_hash[:n], start[:n])

    # at most threads + 1 blocks read and not yet checked: memory stays a few blocks whatever the file
    out: list[Block] = []
    with ThreadPoolExecutor(max_workers=threads) as pool:
        pending: deque[Future[Block]] = deque()
        try:
            for item in _blocks(path, header_end(path)):
                pending.append(pool.submit(one, item))
                while len(pending) > threads:
                    out.append(pending.popleft().result())
            while pending:
                out.append(pending.popleft().result())
        finally:
            for f in pending:
                f.cancel()
    return out


# --- what loading.check reads of it -------------------------------------------------------------------


class FirstPass:
    """The compiled first pass of a file, as loading.check uses it: the rows it did not accept (`suspect`),
    rule 6 (`duplicates`, by 32-bit hashes of the ids) and the accepted rows' typed values (view `first`)."""

    def __init__(self, path: Path, p: Plan, blocks: list[Block], keep: list[str]) -> None:
        self.path, self.plan, self.blocks, self.keep = path, p, blocks, keep
        counts = np.array([b.n for b in blocks], np.int64)
        self.first_index = np.concatenate([[0], np.cumsum(counts)])  # each block's first row index
        self.n_rows = int(self.first_index[-1])
        self.suspect_rid: dict[int, tuple[str, str | None]] = {}  # row -> (stripped response_id, as written)

    def _rows_of(self, block: int, idx: np.ndarray) -> np.ndarray:
        return idx + self.first_index[block] + 2  # spreadsheet rows: the header is row 1

    def _lines(self, offsets: np.ndarray) -> Iterator[bytes]:
        """The lines at these byte offsets (increasing), without their line end."""
        with self.path.open("rb") as f:
            for off in offsets.tolist():
                f.seek(off)
                line = f.readline(LONG_LINE + 2)
                yield line.rstrip(b"\n").removesuffix(b"\r")

    def _cells(self, line: bytes) -> list[str | None]:
        """A line's cells as DuckDB reads a quote-free line: empty = NULL, cut or padded to the width."""
        cells: list[str | None] = [c or None for c in line.decode("utf-8").split(",")[: self.plan.width]]
        return cells + [None] * (self.plan.width - len(cells))

    def suspect(self, con: Any) -> None:
        """Table `suspect` (row, c0, c1, ...): the rows not accepted, split as DuckDB splits them."""
        import pyarrow as pa

        width = self.plan.width
        rid_at = int(self.plan.roles[R_RID])
        rows: list[int] = []
        columns: list[list[str | None]] = [[] for _ in range(width)]
        k = _kernel()
        for bi, b in enumerate(self.blocks):
            idx = np.flatnonzero(b.ok == 0)
            if not idx.size:
                continue
            block_rows = self._rows_of(bi, idx).tolist()
            rids: list[bytes] = []
            for row, line in zip(block_rows, self._lines(b.start[idx].astype(np.int64) + b.base), strict=True):
                cells = self._cells(line)
                rows.append(row)
                for i in range(width):
                    columns[i].append(cells[i])
                raw = cells[rid_at] if rid_at >= 0 else None
                rid = (raw or "").strip()
                self.suspect_rid[row] = (rid, raw if raw is not None and raw != rid else None)
                rids.append(rid.encode("utf-8"))
            # their response ids' hashes, for rule 6 (those of accepted rows the pass wrote)
            data = np.frombuffer(b"".join(rids) + b"\0", np.uint8)
            ends = np.cumsum([len(r) for r in rids])
            bounds = np.stack([ends - [len(r) for r in rids], ends], axis=1).astype(np.int64)
            b.rid_hash[idx] = k.hashes(data, bounds)
        arrays = [pa.array(rows, pa.int64()), *(pa.array(c, pa.string()) for c in columns)]
        names = ["row", *(f"c{i}" for i in range(width))]
        con.register("suspect_rows", pa.table(arrays, names=names))
        con.execute("CREATE OR REPLACE TEMP TABLE suspect AS SELECT * FROM suspect_rows")
        con.unregister("suspect_rows")

    def duplicates(self, con: Any) -> None:
        """Table `duplicates` (row, value): the rows whose response_id an earlier row carries (rule 6),
        found by hash and then compared as text among the few rows whose hash repeats."""
        # (memory: one sorted copy of the hashes beside the blocks' own, each freed once read)
        ordered = np.concatenate([b.rid_hash for b in self.blocks]) if self.blocks else np.zeros(0, np.uint32)
        ordered.sort()
        repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
        del ordered
        repeated = repeated[repeated != 0]
        found: list[tuple[int, str]] = []
        if repeated.size:
            k = _kernel()
            candidates = np.concatenate(
                [k.members(b.rid_hash, repeated) + self.first_index[bi] for bi, b in enumerate(self.blocks)]
            )
            rid_at = int(self.plan.roles[R_RID])
            texts: dict[int, tuple[str, str | None]] = {}
            block_of = np.searchsorted(self.first_index, candidates, side="right") - 1
            accepted: list[tuple[int, int]] = []  # (offset, row)
            for index, bi in zip(candidates.tolist(), block_of.tolist(), strict=True):
                row = index + 2
                if row in self.suspect_rid:
                    texts[row] = self.suspect_rid[row]
                else:
                    b = self.blocks[bi]
                    accepted.append((int(b.start[index - self.first_index[bi]]) + b.base, row))
            for (_off, row), line in zip(
                accepted, self._lines(np.array([o for o, _ in accepted], np.int64)), strict=True
            ):
                texts[row] = (self._cells(line)[rid_at] or "", None)
            first: dict[str, int] = {}
            for row in sorted(texts):  # (the rows with a repeated hash; their ids as text)
                rid, raw = texts[row]
                if rid in first:
                    found.append((row, raw if raw is not None else rid))
                else:
                    first[rid] = row
        for b in self.blocks:  # (needed up to here only)
            b.rid_hash = np.zeros(0, np.uint32)
            b.start = np.zeros(0, np.int32)
        import pyarrow as pa

        table = pa.table(
            [pa.array([r for r, _ in found], pa.int64()), pa.array([v for _, v in found], pa.string())],
            names=["row", "value"],
        )
        con.register("duplicate_rows", table)
        con.execute("CREATE OR REPLACE TEMP TABLE duplicates AS SELECT * FROM duplicate_rows")
        con.unregister("duplicate_rows")

    @property
    def n_ok(self) -> int:
        return int(sum(int(np.count_nonzero(b.ok)) for b in self.blocks))

    def drop(self, rows: list[int]) -> None:
        """Mark these rows not valid (a duplicate id, an answer a mapping cannot place)."""
        for row in rows:
            index = row - 2
            bi = int(np.searchsorted(self.first_index, index, side="right") - 1)
            if 0 <= bi < len(self.blocks):
                self.blocks[bi].ok[index - self.first_index[bi]] = 0

    def register(self, con: Any) -> None:
        """View `first` (row, ok, survey_year and the kept columns, typed as rules.SQL_TYPES): the accepted
        rows' values where the pass wrote them, read by DuckDB as Arrow (no copy)."""
        import pyarrow as pa

        from smeai.survey.codebook import BY_NAME
        from smeai.survey.rules import SQL_TYPES, ident, lit

        p = self.plan
        batches = []
        for bi, b in enumerate(self.blocks):
            arrays = [
                pa.array(np.arange(self.first_index[bi] + 2, self.first_index[bi] + 2 + b.n, dtype=np.int32)),
                pa.array(b.ok.view(np.bool_)),
                _nullable(b.i16[0], b.i16[0] == NULL16, pa.int16()),
            ]
            arrays += [_nullable(b.i8[s], b.i8[s] == NULL8, pa.int8()) for s in range(len(p.i8_names))]
            arrays += [_nullable(b.i16[s + 1], b.i16[s + 1] == NULL16, pa.int16()) for s in range(len(p.i16_names))]
            arrays += [_nullable(b.f64[s], np.isnan(b.f64[s]), pa.float64()) for s in range(len(p.f64_names))]
            arrays += [_nullable(b.code[s], b.code[s] < 0, pa.int8()) for s in range(len(p.code_names))]
            batches.append(arrays)
        names = ["row", "ok", "survey_year", *p.i8_names, *p.i16_names, *p.f64_names, *p.code_names]
        table = (
            pa.Table.from_batches([pa.RecordBatch.from_arrays(a, names=names) for a in batches]) if batches else None
        )
        if table is None:
            con.execute("CREATE OR REPLACE TEMP VIEW first AS SELECT NULL::BIGINT AS row, false AS ok LIMIT 0")
            return
        con.register("first_rows", table)
        out = ["CAST(row AS BIGINT) AS row", "ok", "CAST(survey_year AS SMALLINT) AS survey_year"]
        for name in [*p.i8_names, *p.i16_names, *p.f64_names]:
            out.append(f"CAST({ident(name)} AS {SQL_TYPES[BY_NAME[name].kind]}) AS {ident(name)}")
        for name in p.code_names:
            texts = p.provinces if BY_NAME[name].kind == "province" else list(SECTIONS)
            listed = "[" + ", ".join(lit(t) for t in texts) + "]"
            out.append(f"{listed}[{ident(name)} + 1] AS {ident(name)}")
        kept = {*p.i8_names, *p.i16_names, *p.f64_names, *p.code_names}
        for name in self.keep:
            if name in BY_NAME and name not in kept:  # a column the file does not have
                out.append(f"CAST(NULL AS {SQL_TYPES[BY_NAME[name].kind]}) AS {ident(name)}")
        con.execute(f"CREATE OR REPLACE TEMP VIEW first AS SELECT {', '.join(out)} FROM first_rows")


def _nullable(values: np.ndarray, null: np.ndarray, kind: pa.DataType) -> pa.Array:
    """An Arrow array over `values` (no copy) with `null` as its validity bitmap."""
    import pyarrow as pa

    n = len(values)
    n_null = int(np.count_nonzero(null))
    bitmap = pa.py_buffer(np.packbits(~null, bitorder="little")) if n_null else None
    return pa.Array.from_buffers(kind, n, [bitmap, pa.py_buffer(np.ascontiguousarray(values))], null_count=n_null)


def first_pass_of(path: Path, layout: Layout, width: int, keep: list[str]) -> FirstPass | None:
    """The compiled first pass of a plain CSV, or None where DuckDB's own should run (a column kept as
    free text, no numba, a line that is not plain)."""
    try:
        p = plan(layout, width, keep)
        return FirstPass(path, p, first_pass(path, p, threads=min(os.cpu_count() or 1, 8)), keep)
    except (Unsupported, ImportError, OSError):
        return None


def warm() -> None:
    """Compile the loop into numba's cache (make setup), so that a first large file does not pay for it."""
    k = _kernel()
    buf = np.frombuffer(b"a,1,2\n", np.uint8)
    k.parse(buf, *Plan.empty(3, np.full(100, -1, np.int8), []).args())
    k.hashes(buf, np.zeros((1, 2), np.int64))
    k.members(np.zeros(1, np.uint32), np.zeros(1, np.uint32))


if __name__ == "__main__":
    warm()
