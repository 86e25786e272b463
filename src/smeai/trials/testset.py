"""A test set from a CSV or .xlsx upload: columns `input`, optional `reference`, optional `checks` (see
checks.parse_checks). Every bad row is named with its field and reason, and nothing is stored unless every
row is good (the service replaces the rows only after this returns)."""

from __future__ import annotations

import csv
import io
from typing import Any

from pydantic import ValidationError

from smeai.errors import Invalid
from smeai.i18n import N_
from smeai.trials import checks
from smeai.trials.schemas import MAX_ROWS, RowIn

COLUMNS = ("input", "reference", "checks")
ALIASES = {"输入": "input", "问题": "input", "参考答案": "reference", "参考": "reference", "检查": "checks"}


def _records(filename: str, data: bytes) -> list[dict[str, str]]:
    if filename.lower().endswith(".xlsx"):
        import openpyxl

        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # openpyxl raises many types for a file that is not a workbook
            raise Invalid(N_("The file cannot be read."), fields={"file": N_("Not an .xlsx workbook.")}) from None
        sheet = book.worksheets[0]
        rows = [["" if v is None else str(v) for v in r] for r in sheet.iter_rows(values_only=True)]
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:  # Excel in Chinese Windows saves CSV in GB18030
                text = data.decode("gb18030")
            except UnicodeDecodeError:
                raise Invalid(
                    N_("The file cannot be read."), fields={"file": N_("Not UTF-8 or GB18030 text.")}
                ) from None
        rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise Invalid(N_("The file is empty."), fields={"file": N_("No header row.")})
    header = [ALIASES.get(h.strip(), h.strip().lower()) for h in rows[0]]
    if "input" not in header:
        raise Invalid(N_("The file has no input column."), fields={"row 1": "input: missing column"})
    unknown = [h for h in header if h and h not in COLUMNS]
    if unknown:
        raise Invalid(
            N_("The file has columns the test set does not know."),
            fields={"row 1": f"{', '.join(unknown)}: unknown column (input, reference, checks)"},
        )
    out = []
    for values in rows[1:]:
        record = {h: (values[i] if i < len(values) else "") for i, h in enumerate(header) if h}
        out.append(record)
    return out


def parse_rows(records: list[dict[str, Any]], *, first_row: int = 2) -> list[RowIn]:
    """Rows from records (file rows, or the typed-in form's lines); every problem at once, as
    {"row N": "field: reason"}. Blank rows are skipped."""
    rows: list[RowIn] = []
    problems: dict[str, str] = {}
    for n, record in enumerate(records, start=first_row):
        if not any(str(v).strip() for v in record.values()):
            continue
        try:
            parsed = checks.parse_checks(str(record.get("checks") or ""))
        except ValueError as exc:
            problems[f"row {n}"] = f"checks: {exc}"
            continue
        try:
            rows.append(
                RowIn(
                    input=str(record.get("input") or "").strip(),
                    reference=str(record.get("reference") or "").strip(),
                    checks=parsed,
                )
            )
        except ValidationError as exc:
            e = exc.errors()[0]
            problems[f"row {n}"] = f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
    if not rows and not problems:
        raise Invalid(N_("The test set has no rows."), fields={"rows": N_("Add at least one input.")})
    if len(rows) > MAX_ROWS:
        problems["rows"] = f"at most {MAX_ROWS} rows, got {len(rows)}"
    if problems:
        raise Invalid(N_("Some rows of the test set are wrong; nothing was changed."), fields=problems)
    return rows


def rows_from_file(filename: str, data: bytes) -> list[RowIn]:
    return parse_rows(_records(filename, data))


def rows_from_text(text: str) -> list[RowIn]:
    """The typed-in form: one row per line, `input` or `input | reference` (a literal | in the input: upload
    a CSV instead)."""
    records = []
    for line in text.splitlines():
        question, _, reference = line.partition("|")
        records.append({"input": question.strip(), "reference": reference.strip()})
    return parse_rows(records, first_row=1)
