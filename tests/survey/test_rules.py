"""The DuckDB rules (rules.py) against the row-by-row Python reference (pyvalidator.py), on generated files.

Every column draws from its valid values and from every kind of bad one (white space, full-width
digits, whole numbers written `33.0`, out of range, not a number, dates in other forms or impossible,
rules 3 to 6); rows may be blank. Both must keep the same rows with the same typed values and report
the same reasons, in the same order, with the same row numbers and the values as written.
"""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smeai.survey import analysis, codebook
from tests.survey import handmade, pyvalidator

FLAG = ["0", "1", "", "1", "0", "2", "0.0", "1.0", "+1", "x", " 1", "１", "-0", "1\t", "1\u3000", "\x850"]
VALUES: dict[str, list[str]] = {
    "response_id": ["r1", "r2", "r3", "r4", "r1 ", "\u3000r2", "r3\u2003", "\u00a0r4\u202f", "", "x" * 101, "=1+1"],
    "submitted_at": [
        "2025-03-10 09:00:00",
        "2024-12-31 23:59:59",
        "2025-03-10T09:00:00",
        "2025-03-10",
        "2025-3-1 9:0:0",
        "2025-02-30 00:00:00",
        "0999-01-01 00:00:00",
        "0000-01-01 00:00:00",
        "2025-03-10 09:00:00+08:00",
        "2025-03-10 09:00:00.250",
        "yesterday",
        "",
        " 2025-03-10 09:00:00 ",
        "2025-03-10 24:00:00",
        "20250310",
    ],
    "province_code": ["44", "11", "65", "99", "4", "", " 44", "４４"],
    "city": ["佛山市", "", "市" * 61, " 佛山 ", "\t", "佛山市\u00a0", "\u205f佛山", "\u2029"],
    "pilot_batch": ["0", "1", "3", "4", "-1", "", "1.0", "+1", "01", "１"],
    "industry_section": ["C", "A", "T", "C", "U", "c", "", " C"],
    "mfg_division": ["", "13", "36", "43", "12", "44", "33.0", "33.5", "abc", "３６", "036", "+36", "9" * 20],
    "founded_year": ["2020", "1900", "1899", "2025", "2026", "", "2020.0", "1e3", "２０２０", "-2020"],
    "employees": ["50", "0", "-1", "", "10000000", "10000001", "5.0", "abc", "007"],
    "revenue_wan": [
        "1000",
        "0",
        "22023.35",
        ".5",
        "5.",
        "1e3",
        "-1",
        "12万",
        "nan",
        "inf",
        "1e999",
        "",
        "１２",
        "-0",
        "1,000",
        " 12 ",
        "+3.5E-2",
    ],
    "ai_status": ["1", "2", "3", "1", "0", "4", "", "1.0", "x"],
    "ai_investment_wan": ["", "50", "0", "-5", "abc", "1e2", "", "100.25"],
    "ai_stage": ["", "1", "4", "5", "0", "2.0", ""],
    "model_type": ["", "1", "3", "4", "x"],
}


def _values(column: str) -> list[str]:
    if column in VALUES:
        return VALUES[column]
    return FLAG  # links, scenarios, barriers


# a row: each cell usually its column's first (valid) value, else any value of the column
def _cell(column: str) -> st.SearchStrategy[str]:
    values = _values(column)
    return st.one_of(st.sampled_from(values[:2]), st.sampled_from(values))


COLUMNS = [c.name for c in codebook.COLUMNS]
ROW = st.fixed_dictionaries({c: _cell(c) for c in COLUMNS})
BLANK = st.sampled_from([dict.fromkeys(COLUMNS, ""), dict.fromkeys(COLUMNS, " ")])


@st.composite
def files(draw: st.DrawFn) -> bytes:
    optional = [c for c in COLUMNS if c not in codebook.REQUIRED_COLUMNS]
    dropped = set(draw(st.lists(st.sampled_from(optional), max_size=4)))
    header = draw(st.permutations([c for c in COLUMNS if c not in dropped]))
    rows = draw(st.lists(st.one_of(ROW, ROW, ROW, BLANK), min_size=1, max_size=30))
    extra = draw(st.booleans())  # an unknown column, and a repeated name (the first one counts)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow([*header, *(["note", "city"] if extra else [])])
    for row in rows:
        writer.writerow([row[c] for c in header] + (["n", "ignored"] if extra else []))
    bom = "\ufeff" if draw(st.booleans()) else ""
    return (bom + buf.getvalue()).encode()


def _same(data: bytes) -> None:
    expected = pyvalidator.validate_file(data, filename="s.csv")
    got = analysis.validate_file(data, filename="s.csv")
    assert [r.as_dict() for r in got.reasons] == [r.as_dict() for r in expected.reasons]
    assert (got.n_rows, got.n_valid) == (expected.n_rows, expected.n_valid)
    assert got.columns == expected.columns


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(files())
def test_duckdb_rules_agree_with_the_python_reference(data):
    _same(data)


def test_they_agree_on_the_handmade_file_and_its_blank_lines():
    _same(handmade.csv_text().encode())
    _same((handmade.csv_text() + "\n,,,\n\n").encode())


def test_an_empty_line_between_rows_counts_as_a_spreadsheet_row():
    # DuckDB's reader skips an empty line; the reference (and the spreadsheet) count it, so the reasons of
    # every later row would name the row above theirs
    lines = handmade.csv_text().split("\n")
    with_gaps = "\n".join([*lines[:3], "", *lines[3:6], "", "", *lines[6:]])
    _same(with_gaps.encode())
    _same(with_gaps.replace("\n", "\r\n").encode())
    expected = pyvalidator.validate_file(with_gaps.encode(), filename="s.csv")
    assert expected.reasons and max(r.row for r in expected.reasons) > 4  # the gaps move reasons that exist


def test_a_file_of_only_bad_rows_and_one_of_only_good_ones():
    header = ",".join(COLUMNS)
    good = ",".join(_values(c)[0] for c in COLUMNS)
    bad = ",".join(_values(c)[-1] for c in COLUMNS)
    _same(f"{header}\n{good}\n".encode())
    _same(f"{header}\n{bad}\n{bad}\n".encode())


def test_a_date_time_with_a_five_digit_year_is_not_one():
    # DuckDB reads and writes back 19990-01-01 00:00:00; the codebook's form has a year of four digits. The rest
    # of the row is valid, and rule 5 holds on the text's first four digits, so only the date-time rejects it.
    row = {c: _values(c)[0] for c in COLUMNS}
    row |= {"industry_section": "A", "mfg_division": "", "ai_status": "2", "founded_year": "1950"}
    times = {"r1": "2025-03-10 09:00:00", "r2": "19990-01-01 00:00:00"}
    lines = [
        ",".join({**row, "response_id": rid, "submitted_at": when}[c] for c in COLUMNS) for rid, when in times.items()
    ]
    data = "\n".join([",".join(COLUMNS), *lines, ""]).encode()
    _same(data)
    got = analysis.validate_file(data, filename="s.csv")
    assert (got.n_valid, [(r.row, r.rule) for r in got.reasons]) == (1, [(3, "not_datetime")])
