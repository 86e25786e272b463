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
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Literal

from smeai import taxonomy
from smeai.errors import Invalid
from smeai.i18n import N_

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


def read_table(source: Path | bytes, *, filename: str | None = None) -> tuple[list[str], Iterator[list[str]]]:
    """Header and text rows of a CSV (UTF-8, BOM or not) or the first sheet of an .xlsx.

    Rows are read lazily; more than MAX_ROWS rows, more than MAX_COLUMNS columns, a CSV cell beyond
    the csv module's field limit or a broken sheet raise UnreadableFile naming the row."""
    name = (filename or (source.name if isinstance(source, Path) else "")).lower()
    data = source.read_bytes() if isinstance(source, Path) else source
    if name.endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
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
    records = _bounded(csv.reader(io.StringIO(text, newline="")), csv.Error)
    header = next(records, None)
    if header is None:
        raise UnreadableFile(N_("The file is empty."))
    return _header(header), records


def _header(cells: Iterable[str]) -> list[str]:
    header = [h.strip() for h in cells]
    while header and not header[-1]:  # formatted but empty columns after the last name
        header.pop()
    if len(header) > MAX_COLUMNS:
        raise UnreadableFile(
            N_("The file has too many columns."), fields={"row 1": f"{len(header)} columns; at most {MAX_COLUMNS}"}
        )
    return header


def _bounded(rows: Iterator, errors: type[Exception], *, first: int = 1) -> Iterator:
    """The rows (the first being row `first`, the header row 1), stopping with a clear error past MAX_ROWS
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
        if row_no > MAX_ROWS + 1:
            raise UnreadableFile(
                N_("The file has too many rows."), fields={f"row {row_no}": f"at most {MAX_ROWS} rows after the header"}
            )
        yield cells


def _plain(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"


def _read_xlsx(data: bytes) -> tuple[list[str], Iterator[list[str]]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        parts = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise UnreadableFile(N_("The workbook cannot be read.")) from exc
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
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        declared_rows, declared_columns = sheet.max_row, sheet.max_column  # the sheet's own <dimension>
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        raise UnreadableFile(N_("The workbook cannot be read.")) from exc
    if (declared_rows or 0) > MAX_ROWS + 1 or (declared_columns or 0) > MAX_COLUMNS:
        raise UnreadableFile(
            N_("The sheet is too large."),
            fields={
                "file": f"{declared_rows} rows × {declared_columns} columns declared; "
                f"at most {MAX_ROWS} rows after the header and {MAX_COLUMNS} columns"
            },
        )
    sheet.reset_dimensions()  # a declared size may lie: read what is there, bounded below
    # openpyxl pads every row to max_col: bound it, so a stray cell at column XFD costs nothing
    first = next(_bounded(sheet.iter_rows(max_row=1, max_col=MAX_COLUMNS + 1, values_only=True), Exception), None)
    if first is None:
        raise UnreadableFile(N_("The file is empty."))
    header = _header(_cell_text(v) for v in first)
    width = max(len(header), 1)
    rows = _bounded(sheet.iter_rows(min_row=2, max_col=width, values_only=True), Exception, first=2)
    return header, ([_cell_text(v) for v in row[:width]] + [""] * (width - len(row)) for row in rows)


# --- parsing one value --------------------------------------------------------------------------

_INT = re.compile(r"[+-]?\d+(?:\.0*)?")  # "33.0", as spreadsheets and pandas write whole numbers
_NUM = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def parse_datetime(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


_FLAGS = {"0": 0, "1": 1}


def _check_value(col: Column, text: str) -> tuple[object, str | None]:
    """(parsed value, rule code of the problem or None) for a non-empty stripped value."""
    if col.kind == "flag" and text in _FLAGS:  # the common case, first
        return _FLAGS[text], None
    if col.kind == "text":
        return (text, None) if col.max_length is None or len(text) <= col.max_length else (None, "too_long")
    if col.kind == "datetime":
        parsed = parse_datetime(text)
        return (parsed, None) if parsed is not None else (None, "not_datetime")
    if col.kind == "province":
        return (text, None) if text in taxonomy.load().provinces else (None, "not_allowed")
    if col.kind == "section":
        return (text, None) if text in SECTIONS else (None, "not_allowed")
    if col.kind in ("int", "flag"):
        if not _INT.fullmatch(text):
            return None, "not_integer"
        if len(text.partition(".")[0].lstrip("+-0")) > 12:  # int() refuses 4,300+ digits; no column needs 13
            return None, "out_of_range"
        value: float = int(text.partition(".")[0])  # "33.0" is 33
        allowed = frozenset({0, 1}) if col.kind == "flag" else col.allowed
        if allowed is not None and value not in allowed:
            return None, "not_allowed"
    else:  # number
        if not _NUM.fullmatch(text) or not math.isfinite(value := float(text)):
            return None, "not_number"  # "1e999" is a number too large to be an amount
    if (col.minimum is not None and value < col.minimum) or (col.maximum is not None and value > col.maximum):
        return None, "out_of_range"
    return value, None


# --- validating a file --------------------------------------------------------------------------


def empty_columns() -> dict[str, list[object]]:
    return {"row": [], "survey_year": [], **{c.name: [] for c in COLUMNS}}


def validate(header: list[str], rows: Iterable[list[str]]) -> Validated:
    """Check every row against codebook.md; a missing required column refuses the whole file."""
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise MissingColumns(
            N_("Required columns are missing; no row was loaded."),
            fields={c: "missing column" for c in missing},
        )
    index = {name: i for i, name in reversed(list(enumerate(header)))}  # first of a repeated name
    present = [c for c in COLUMNS if c.name in index]
    out = Validated(columns=empty_columns())
    seen_ids: set[str] = set()
    row_no = 1
    for cells in rows:
        row_no += 1
        if not any(c.strip() for c in cells):
            continue  # a blank line (or an empty formatted sheet row) is not a response
        out.n_rows += 1
        raw = {c.name: (cells[index[c.name]] if index[c.name] < len(cells) else "") for c in present}
        values, reasons = _validate_row(row_no, raw, present, seen_ids)
        if reasons:
            out.reasons.extend(reasons)
            continue
        cols = out.columns
        cols["row"].append(row_no)
        cols["survey_year"].append(values["submitted_at"].year)  # type: ignore[union-attr]
        for c in COLUMNS:
            cols[c.name].append(values.get(c.name))
    return out


def _validate_row(
    row_no: int, raw: dict[str, str], present: list[Column], seen_ids: set[str]
) -> tuple[dict[str, object], list[Reason]]:
    reasons: list[Reason] = []
    values: dict[str, object] = {}
    stripped = {name: text.strip() for name, text in raw.items()}

    def flag(column: str, rule: str) -> None:
        reasons.append(Reason(row_no, column, raw.get(column, ""), rule))

    for col in present:
        text = stripped[col.name]
        if text == "":
            if col.need == "yes":
                flag(col.name, "required")
            continue
        value, problem = _check_value(col, text)
        if problem:
            flag(col.name, problem)
        else:
            values[col.name] = value

    # rule 3: the division goes with section C and only with it
    section = values.get("industry_section")
    if section is not None:
        has_division = stripped.get("mfg_division", "") != ""
        if section == "C" and not has_division:
            flag("mfg_division", "division_missing")
        elif section != "C" and has_division:
            flag("mfg_division", "division_for_other_section")

    # rule 4: adopters' questions are answered by adopters only (a link may be 0 for the others)
    status = values.get("ai_status")
    if status is not None:
        for name in ("ai_investment_wan", "ai_stage", *LINK_COLUMNS):
            text = stripped.get(name, "")
            if status == 1 and text == "":
                flag(name, "adopter_missing" if name in ("ai_investment_wan", "ai_stage") else "required")
            elif status != 1 and text != "" and (not name.startswith("link_") or values.get(name) != 0):
                if name.startswith("link_") and name not in values:
                    continue  # an invalid flag is already reported as such
                flag(name, "adopter_only")

    # rule 5: founded no later than the survey year
    submitted, founded = values.get("submitted_at"), values.get("founded_year")
    if isinstance(submitted, datetime) and isinstance(founded, int) and founded > submitted.year:
        flag("founded_year", "founded_after_survey")

    # rule 6: the first row carrying an id keeps it, valid or not
    rid = stripped.get("response_id", "")
    if rid:
        if rid in seen_ids:
            flag("response_id", "duplicate_id")
        seen_ids.add(rid)
    return values, reasons


def validate_file(source: Path | bytes, *, filename: str | None = None) -> Validated:
    header, rows = read_table(source, filename=filename)
    return validate(header, rows)


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
