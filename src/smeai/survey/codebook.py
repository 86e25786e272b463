"""The canonical survey file (codebook.md): its columns, how a file is read, and every row rule.

One row per responding enterprise; UTF-8 CSV (BOM or not) or the first sheet of an .xlsx; first
row = column names (case-sensitive, any order, unknown columns ignored); an empty cell is missing.
Nothing is coerced: `" 12 "` is 12, `"12万"` is an error. A rejected row is reported with every
reason it breaks (row number, column, value, rule) and takes no part in any indicator.

Row numbers are spreadsheet rows: the header is row 1, the first answer row 2, so a reader can find
the row in Excel or WPS as numbered there.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal, TypeVar

from smeai import taxonomy
from smeai.errors import Invalid
from smeai.i18n import N_

T = TypeVar("T")
Kind = Literal["text", "datetime", "province", "section", "int", "number", "flag"]
Need = Literal["yes", "no", "mfg", "adopter"]  # mfg: when section = C; adopter: when ai_status = 1

LINKS = ("rnd", "production", "supply_chain", "sales", "service", "management")
BARRIERS = ("cost", "talent", "data", "awareness", "security", "supply")
SECTIONS = tuple(chr(c) for c in range(ord("A"), ord("T") + 1))


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    need: Need = "no"
    allowed: frozenset[int] | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None  # text: what the database column holds


def _columns() -> tuple[Column, ...]:
    cols = [
        Column("response_id", "text", "yes", max_length=100),
        Column("submitted_at", "datetime", "yes"),
        Column("province_code", "province", "yes"),
        Column("city", "text", max_length=60),
        Column("pilot_batch", "int", "yes", allowed=frozenset({0, 1, 2, 3})),
        Column("industry_section", "section", "yes"),
        Column("mfg_division", "int", "mfg", minimum=13, maximum=43),
        Column("founded_year", "int", "yes", minimum=1900),  # upper bound (survey year) is rule 5
        Column("employees", "int", minimum=0, maximum=10_000_000),
        Column("revenue_wan", "number", "yes", minimum=0),
        Column("ai_status", "int", "yes", allowed=frozenset({1, 2, 3})),
        Column("ai_investment_wan", "number", "adopter", minimum=0),
        Column("ai_stage", "int", "adopter", allowed=frozenset({1, 2, 3, 4})),
        *(Column(f"link_{link}", "flag", "adopter") for link in LINKS),
        *(Column(f"scn_{code}", "flag") for code in taxonomy.load().scenarios),
        Column("model_type", "int", allowed=frozenset({1, 2, 3})),
        *(Column(f"barrier_{b}", "flag") for b in BARRIERS),
    ]
    return tuple(cols)


COLUMNS: tuple[Column, ...] = _columns()
BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}
# A column that any row may need must be in the file: without it no row could be judged.
REQUIRED_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.need != "no")
LINK_COLUMNS = tuple(f"link_{link}" for link in LINKS)
SCENARIO_COLUMNS = tuple(f"scn_{code}" for code in taxonomy.load().scenarios)
BARRIER_COLUMNS = tuple(f"barrier_{b}" for b in BARRIERS)

# Rules, numbered as in codebook.md "Row validation". The code is stable and machine-readable.
RULES: dict[str, tuple[int, str]] = {
    "required": (2, N_("A required value is empty.")),
    "not_integer": (2, N_("Not a whole number.")),
    "not_number": (2, N_("Not a number.")),
    "not_datetime": (2, N_("Not a date-time (YYYY-MM-DD HH:MM:SS or ISO 8601).")),
    "not_allowed": (2, N_("Not one of the allowed values.")),
    "out_of_range": (2, N_("Outside the allowed range.")),
    "too_long": (2, N_("Longer than the column allows.")),
    "division_for_other_section": (3, N_("mfg_division must be empty when industry_section is not C.")),
    "division_missing": (3, N_("mfg_division is required when industry_section is C.")),
    "adopter_only": (4, N_("Only firms with ai_status 1 may answer this.")),
    "adopter_missing": (4, N_("Required when ai_status is 1.")),
    "founded_after_survey": (5, N_("founded_year is after the survey year.")),
    "duplicate_id": (6, N_("An earlier row already carries this response_id.")),
    # questionnaire-service exports: an answer the mapping cannot place (never guessed)
    "unmapped_option": (2, N_("An answer the questionnaire mapping cannot place.")),
}


@dataclass(frozen=True)
class Reason:
    row: int
    column: str
    value: str
    rule: str

    @property
    def rule_no(self) -> int:
        return RULES[self.rule][0]

    @property
    def message(self) -> str:
        return RULES[self.rule][1]

    def as_dict(self) -> dict[str, object]:
        return {
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "rule": self.rule,
            "rule_no": self.rule_no,
            "message": self.message,
        }


@dataclass
class Validated:
    """The outcome of checking a file: typed valid rows (column-wise) and every reason per rejected row."""

    columns: dict[str, list[object]]
    reasons: list[Reason] = field(default_factory=list)
    n_rows: int = 0

    @property
    def n_valid(self) -> int:
        return len(self.columns["response_id"])

    @property
    def rejected_rows(self) -> list[int]:
        return sorted({r.row for r in self.reasons})

    @property
    def n_rejected(self) -> int:
        return len(self.rejected_rows)


class MissingColumns(Invalid):
    code = "survey_missing_columns"


class UnreadableFile(Invalid):
    code = "survey_unreadable_file"


# --- reading ------------------------------------------------------------------------------------


def _cell_text(value: object) -> str:
    """An .xlsx cell as the text a CSV would hold (whole floats without `.0`, dates ISO)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    return str(value)


# What one file may hold, whatever its bytes: a 10 MB CSV holds about 70,000 canonical rows, and an
# .xlsx of a few MB can unpack to millions of rows (or a zip bomb), so rows, columns and the unpacked
# size are bounded before and while reading, with a clear error, never a long parse or a 500.
MAX_ROWS = 100_000  # answer rows (sheet rows after the header; blank ones count)
MAX_COLUMNS = 500
MAX_XLSX_UNPACKED = 250_000_000  # bytes of all parts of an .xlsx once unzipped
MAX_XLSX_STRINGS = 50_000_000  # bytes of its shared strings, which openpyxl holds in memory whole


def read_table(
    source: Path | bytes, *, filename: str | None = None, max_rows: int | None = MAX_ROWS
) -> tuple[list[str], Iterator[list[str]]]:
    """Header and text rows of a CSV (UTF-8, BOM or not) or the first sheet of an .xlsx, in Python.

    Rows are read lazily; more than `max_rows` rows (None: no bound), more than MAX_COLUMNS columns, a
    CSV cell beyond the csv module's field limit or a broken sheet raise UnreadableFile naming the row."""
    name = (filename or (source.name if isinstance(source, Path) else "")).lower()
    data = source.read_bytes() if isinstance(source, Path) else source
    if name.endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, max_rows)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # questionnaire services' CSV downloads are often GB18030 (what Excel in China writes); accept
        # those when the header is a questionnaire export, never for the canonical file
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            text = ""
        if not re.match(r"^\W*(序号|编号|\d+[、.．])", text):
            raise UnreadableFile(N_("The file is not UTF-8 text; save it as CSV UTF-8 or .xlsx.")) from exc
    records = _bounded(csv.reader(io.StringIO(text, newline="")), csv.Error, max_rows=max_rows)
    header = next(records, None)
    if header is None:
        raise UnreadableFile(N_("The file is empty."))
    return header_of(header), records


def header_of(cells: Iterable[str]) -> list[str]:
    """Column names as the file's first row gives them (stripped; trailing empty cells dropped)."""
    header = [h.strip() for h in cells]
    while header and not header[-1]:  # formatted but empty columns after the last name
        header.pop()
    if len(header) > MAX_COLUMNS:
        raise UnreadableFile(
            N_("The file has too many columns."), fields={"row 1": f"{len(header)} columns; at most {MAX_COLUMNS}"}
        )
    return header


def _bounded(rows: Iterator, errors: type[Exception], *, first: int = 1, max_rows: int | None = MAX_ROWS) -> Iterator:
    """The rows (the first being row `first`, the header row 1), stopping with a clear error past max_rows
    or at a row that cannot be read."""
    row_no = first - 1
    while True:
        row_no += 1
        try:
            cells = next(rows)
        except StopIteration:
            return
        except errors as exc:  # e.g. a cell longer than csv's field limit (128 KiB), a broken sheet part
            raise UnreadableFile(
                N_("A row of the file cannot be read."), fields={f"row {row_no}": _plain(exc)}
            ) from exc
        if max_rows is not None and row_no > max_rows + 1:
            raise UnreadableFile(
                N_("The file has too many rows."), fields={f"row {row_no}": f"at most {max_rows} rows after the header"}
            )
        yield cells


def _plain(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"


def _unpacked_bound(book: zipfile.ZipFile) -> None:
    parts = book.infolist()
    unpacked = sum(info.file_size for info in parts)
    strings = sum(info.file_size for info in parts if info.filename.lower().endswith("sharedstrings.xml"))
    if unpacked > MAX_XLSX_UNPACKED or strings > MAX_XLSX_STRINGS:  # a zip bomb, or far beyond MAX_ROWS rows
        raise UnreadableFile(
            N_("The workbook is too large once unpacked."),
            fields={
                "file": f"{unpacked} bytes unpacked, {strings} of shared strings; at most {MAX_XLSX_UNPACKED} "
                f"and {MAX_XLSX_STRINGS}"
            },
        )


def _declared_too_large(book: zipfile.ZipFile, max_rows: int | None) -> bool:
    """Whether a sheet's own <dimension> says it is past the bounds (read from its first bytes)."""
    for info in book.infolist():
        if not re.fullmatch(r"xl/worksheets/[^/]+\.xml", info.filename):
            continue
        with book.open(info) as part:
            head = part.read(4096).decode("utf-8", errors="ignore")
        found = re.search(r'<dimension ref="[A-Z]+\d+:([A-Z]+)(\d+)"', head)
        if found:
            letters, rows = found.groups()
            width = 0
            for ch in letters:
                width = width * 26 + ord(ch) - 64
            if width > MAX_COLUMNS or (max_rows is not None and int(rows) > max_rows + 1):
                return True
    return False


def read_xlsx(
    path: Path, *, max_rows: int | None = MAX_ROWS, text: bool = True
) -> tuple[list[str], Iterator[list[Any]]]:
    """Header and text rows of the first sheet, read by calamine (Rust): a 100,000-row sheet in a second or two.

    A sheet calamine cannot read, one that does not start at A1, or one past the bounds is read by
    openpyxl instead (`read_table`), which names the row it breaks at or the size it declares."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        with zipfile.ZipFile(path) as book:
            _unpacked_bound(book)
            declared = _declared_too_large(book, max_rows)
        if declared:
            raise ValueError("the sheet declares more than the bounds")  # openpyxl names the size
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        fits = sheet.width <= MAX_COLUMNS and (max_rows is None or sheet.height <= max_rows + 1)
        rows = iter(sheet.iter_rows()) if fits and sheet.start == (0, 0) else None
        first = next(rows, None) if rows is not None else None
    except (zipfile.BadZipFile, CalamineError, ValueError, OSError, EOFError):
        rows = first = None
    if rows is None or first is None:  # (an empty sheet too: openpyxl says so)
        return read_table(path, filename=path.name, max_rows=max_rows)
    header = header_of(_calamine_text(v) for v in first)
    width = max(len(header), 1)
    if not text:  # cells as calamine gives them: read_xlsx_columns converts them
        return header, rows
    return header, ([_calamine_text(v) for v in row[:width]] + [""] * (width - len(row)) for row in rows)


BATCH = 50_000  # rows per chunk of a sheet read in Python (an Arrow batch each)


def columns_of(rows: Sequence[Sequence[T]], width: int) -> list[list[T | str]]:
    """Rows as columns, each row cut or padded with "" to `width` cells."""
    fixed = [r if len(r) == width else [*r[:width], *[""] * (width - len(r))] for r in rows]
    return [list(c) for c in zip(*fixed, strict=True)] if fixed else [[] for _ in range(width)]


def chunks_of(rows: Iterable[Sequence[str]], width: int) -> Iterator[list[list[str]]]:
    """Text rows as columns (columns_of), BATCH rows at a time."""
    chunk: list[Sequence[str]] = []
    for cells in rows:
        chunk.append(cells)
        if len(chunk) == BATCH:
            yield columns_of(chunk, width)
            chunk = []
    if chunk:
        yield columns_of(chunk, width)


class _Texts(dict[object, str]):
    """Cell value -> its text, each distinct value converted once (a coded sheet repeats a few values;
    values equal in Python, 1 / 1.0 / True, have the same text)."""

    def __missing__(self, value: object) -> str:
        text = self[value] = _calamine_text(value)
        return text


def read_xlsx_columns(path: Path, *, max_rows: int | None = MAX_ROWS) -> tuple[list[str], Iterator[list[list[str]]]]:
    """As read_xlsx, the rows as chunks of text columns (chunks_of): the cells of a chunk are converted
    column by column, each distinct value once."""
    header, rows = read_xlsx(path, max_rows=max_rows, text=False)
    width = len(header)

    def chunks() -> Iterator[list[list[str]]]:
        chunk: list[Sequence[object]] = []
        for cells in rows:
            chunk.append(cells)
            if len(chunk) == BATCH:
                yield _texts(chunk, width)
                chunk = []
        if chunk:
            yield _texts(chunk, width)

    return header, chunks()


def _texts(rows: Sequence[Sequence[object]], width: int) -> list[list[str]]:
    texts = _Texts()
    return [list(map(texts.__getitem__, column)) for column in columns_of(rows, width)]


def _calamine_text(value: object) -> str:
    """A cell as openpyxl gives it: a date-formatted cell is a date-time at midnight there."""
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time())
    return _cell_text(value)


def _read_xlsx(data: bytes, max_rows: int | None) -> tuple[list[str], Iterator[list[str]]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            _unpacked_bound(book)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise UnreadableFile(N_("The workbook cannot be read.")) from exc
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        declared_rows, declared_columns = sheet.max_row, sheet.max_column  # the sheet's own <dimension>
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        raise UnreadableFile(N_("The workbook cannot be read.")) from exc
    if (max_rows is not None and (declared_rows or 0) > max_rows + 1) or (declared_columns or 0) > MAX_COLUMNS:
        raise UnreadableFile(
            N_("The sheet is too large."),
            fields={
                "file": f"{declared_rows} rows × {declared_columns} columns declared; "
                f"at most {max_rows} rows after the header and {MAX_COLUMNS} columns"
            },
        )
    sheet.reset_dimensions()  # a declared size may lie: read what is there, bounded below
    # openpyxl pads every row to max_col: bound it, so a stray cell at column XFD costs nothing
    first = next(
        _bounded(sheet.iter_rows(max_row=1, max_col=MAX_COLUMNS + 1, values_only=True), Exception, max_rows=max_rows),
        None,
    )
    if first is None:
        raise UnreadableFile(N_("The file is empty."))
    header = header_of(_cell_text(v) for v in first)
    width = max(len(header), 1)
    rows = _bounded(sheet.iter_rows(min_row=2, max_col=width, values_only=True), Exception, first=2, max_rows=max_rows)
    return header, ([_cell_text(v) for v in row[:width]] + [""] * (width - len(row)) for row in rows)


# --- parsing one value --------------------------------------------------------------------------


def parse_datetime(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def empty_columns() -> dict[str, list[object]]:
    return {"row": [], "survey_year": [], **{c.name: [] for c in COLUMNS}}


# --- typed table --------------------------------------------------------------------------------


def arrow_schema():
    import pyarrow as pa

    kinds = {
        "text": pa.string(),
        "province": pa.string(),
        "section": pa.string(),
        "number": pa.float64(),
        "int": pa.int32(),
        "flag": pa.int8(),
        "datetime": pa.string(),
    }
    fields = [pa.field("row", pa.int32()), pa.field("survey_year", pa.int32())]
    fields += [pa.field(c.name, kinds[c.kind]) for c in COLUMNS]
    return pa.schema(fields)


def to_arrow(columns: dict[str, list[object]]):
    """Valid rows as a typed Arrow table (submitted_at kept as its ISO text, the year alongside)."""
    import pyarrow as pa

    data = dict(columns)
    data["submitted_at"] = [v.isoformat(sep=" ") if isinstance(v, datetime) else v for v in data["submitted_at"]]
    return pa.table(data, schema=arrow_schema())
