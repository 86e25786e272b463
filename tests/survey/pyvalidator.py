"""The row-by-row Python validator that smeai used before issue 16: kept as the reference of the rules.

The product checks files with DuckDB expressions (smeai/survey/rules.py); tests run both on the same
files (test_rules.py, with hypothesis) and require the same valid rows and the same reasons.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from smeai import taxonomy
from smeai.i18n import N_
from smeai.survey.codebook import (
    COLUMNS,
    LINK_COLUMNS,
    REQUIRED_COLUMNS,
    SECTIONS,
    Column,
    MissingColumns,
    Reason,
    Validated,
    empty_columns,
    parse_datetime,
    read_table,
)

# --- one value --------------------------------------------------------------------------

_INT = re.compile(r"[+-]?\d+(?:\.0*)?")  # "33.0", as spreadsheets and pandas write whole numbers
_NUM = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


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


def validate_file(source: Path | bytes, *, filename: str | None = None, max_rows: int | None = None) -> Validated:
    header, rows = read_table(source, filename=filename, max_rows=max_rows)
    return validate(header, rows)
