"""codebook.md: reading CSV and .xlsx, every row rule, every reason of every rejected row."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import Workbook

from smeai.survey import analysis, codebook
from smeai.survey.analysis import reasons_csv
from tests.survey import handmade


def _xlsx(text: str) -> bytes:
    book = Workbook()
    sheet = book.active
    for i, row in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff")))):
        # numbers as numbers, as a spreadsheet holds them (a whole number comes back without ".0")
        sheet.append(
            [
                float(v)
                if i and v.replace(".", "", 1).isdigit() and "." in v
                else (int(v) if i and v.isdigit() and not v.startswith("0") else v)
                for v in row
            ]
        )
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def test_every_reason_of_every_rejected_row_is_reported_with_its_row_number():
    v = analysis.validate_file(handmade.csv_text().encode(), filename="s.csv")
    got = {(r.row, r.column, r.rule) for r in v.reasons}
    assert got == handmade.expected_reasons()
    assert v.n_valid == len(handmade.VALID)
    assert v.n_rejected == len(handmade.INVALID)
    assert v.n_rows == len(handmade.VALID) + len(handmade.INVALID)


def test_a_reason_carries_the_value_as_written_and_the_codebook_rule_number():
    v = analysis.validate_file(handmade.csv_text().encode(), filename="s.csv")
    money = next(r for r in v.reasons if r.column == "revenue_wan" and r.value == "12万")
    assert money.as_dict() | {"message": ""} == {
        "row": 18,
        "column": "revenue_wan",
        "value": "12万",
        "rule": "not_number",
        "rule_no": 2,
        "message": "",
    }
    assert {r.rule_no for r in v.reasons} == {2, 3, 4, 5, 6}


def test_bom_and_xlsx_read_the_same_rows_as_plain_csv():
    plain = analysis.validate_file(handmade.csv_text().encode(), filename="s.csv")
    bom = analysis.validate_file(handmade.csv_text(bom=True).encode(), filename="s.csv")
    xlsx = analysis.validate_file(_xlsx(handmade.csv_text()), filename="s.xlsx")
    for other in (bom, xlsx):
        assert other.columns == plain.columns
        assert {(r.row, r.column, r.rule) for r in other.reasons} == handmade.expected_reasons()


def test_a_missing_required_column_refuses_the_whole_file():
    with pytest.raises(codebook.MissingColumns) as err:
        analysis.validate_file(handmade.csv_text(drop=("ai_status", "revenue_wan")).encode(), filename="s.csv")
    assert set(err.value.fields) == {"ai_status", "revenue_wan"}


def test_optional_columns_may_be_absent():
    text = handmade.csv_text(drop=("city", "employees", "model_type", "scn_quality_inspection"))
    # the two rows whose only faults were in those columns are now valid
    assert analysis.validate_file(text.encode(), filename="s.csv").n_valid == len(handmade.VALID) + 2


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        (" 12 ", True),
        ("12.5", True),
        ("1e3", True),
        ("12万", False),
        ("abc", False),
        ("1,000", False),
        ("nan", False),
        ("-1", False),
        ("1e999", False),
        ("inf", False),
        (".5", True),
    ],
)
def test_numbers_are_never_coerced(text, ok):
    v = _one_row("revenue_wan", text)
    assert (v.reasons == []) is ok
    if ok:
        assert v.columns["revenue_wan"] == [float(text)]


def _one_row(column: str, value: str) -> codebook.Validated:
    row = dict(handmade.VALID[0], **{column: value})
    buf = io.StringIO()
    csv.writer(buf).writerows([list(row), list(row.values())])
    return analysis.validate_file(buf.getvalue().encode(), filename="s.csv")


def test_whole_numbers_written_with_a_decimal_point_are_whole():
    assert _one_row("mfg_division", "33.0").columns["mfg_division"] == [33]
    assert [r.rule for r in _one_row("mfg_division", "33.5").reasons] == ["not_integer"]
    assert _one_row("mfg_division", "３３").columns["mfg_division"] == [33]  # full-width digits, as typed in Chinese


def test_blank_lines_are_not_responses():
    text = handmade.csv_text() + "\n,,,\n"
    assert analysis.validate_file(text.encode(), filename="s.csv").n_rows == len(handmade.rows())


def test_error_file_lists_every_reason():
    v = analysis.validate_file(handmade.csv_text().encode(), filename="s.csv")
    lines = reasons_csv(v.reasons).lstrip("\ufeff").splitlines()
    assert lines[0] == "row,column,value,rule,rule_no,message"
    assert len(lines) == 1 + len(handmade.expected_reasons())


def test_text_that_is_not_utf8_is_refused():
    with pytest.raises(codebook.UnreadableFile):
        analysis.validate_file("response_id,city\nr1,佛山市\n".encode("gbk"), filename="s.csv")


# --- files that are too large or broken: a clear error naming row or field, never a 500 -------------


def _unreadable(data: bytes, filename: str, **bounds: int) -> codebook.UnreadableFile:
    with pytest.raises(codebook.UnreadableFile) as err:
        analysis.validate_file(data, filename=filename, **bounds)
    return err.value


def test_a_csv_cell_beyond_the_csv_field_limit_names_its_row():
    text = handmade.csv_text().splitlines()
    text.insert(3, "x" * 140_000)  # 128 KiB is the csv module's field limit
    err = _unreadable("\n".join(text).encode(), "s.csv")
    assert list(err.fields) == ["row 4"] and "field limit" in err.fields["row 4"]


def test_a_broken_sheet_names_the_row_it_breaks_at():
    err = _unreadable(handmade.broken_xlsx(), "s.xlsx")
    assert err.code == "survey_unreadable_file" and list(err.fields) == ["row 5"]


def test_rows_are_bounded_in_csv_and_xlsx():
    # the handmade file has 28 rows after its header
    assert _unreadable(handmade.csv_text().encode(), "s.csv", max_rows=20).fields == {
        "row 22": "at most 20 rows after the header"
    }
    # a workbook says its size before any row is read
    assert _unreadable(_xlsx(handmade.csv_text()), "s.xlsx", max_rows=20).fields == {
        "file": "29 rows × 42 columns declared; at most 20 rows after the header and 500 columns"
    }


def test_an_xlsx_declaring_a_huge_sheet_is_refused_before_it_is_read():
    bomb = handmade.with_sheet(
        _xlsx(handmade.csv_text()), lambda xml: re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:XFD1048576"', xml)
    )
    err = _unreadable(bomb, "s.xlsx")
    assert err.message == "The sheet is too large." and "1048576 rows" in err.fields["file"]


def test_an_xlsx_whose_dimension_lies_stops_at_the_row_bound():
    # a 6 KB file: one stray cell far down, and a dimension saying A1:B2; openpyxl would yield every row between
    stray = '<row r="900000"><c r="A900000" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    lying = handmade.with_sheet(
        _xlsx(handmade.csv_text()),
        lambda xml: re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:B2"', xml).replace("</sheetData>", stray),
    )
    err = _unreadable(lying, "s.xlsx")
    assert err.fields == {f"row {codebook.MAX_ROWS + 2}": f"at most {codebook.MAX_ROWS} rows after the header"}


@pytest.mark.parametrize("bound", ["MAX_XLSX_UNPACKED", "MAX_XLSX_STRINGS"])
def test_a_zip_bomb_is_refused_by_its_unpacked_size(monkeypatch, bound):
    import zipfile

    monkeypatch.setattr(codebook, bound, 50_000)
    buf = io.BytesIO(_xlsx(handmade.csv_text()))  # 57 KB unpacked; and 60 KB of strings (that pack to 200 bytes)
    with zipfile.ZipFile(buf, "a", zipfile.ZIP_DEFLATED) as book:
        book.writestr("xl/sharedStrings.xml", "<sst>" + "<si><t>鞋</t></si>" * 3000 + "</sst>")
    err = _unreadable(buf.getvalue(), "s.xlsx")
    assert err.message == "The workbook is too large once unpacked." and "at most" in err.fields["file"]


def test_columns_are_bounded():
    header = ",".join(f"c{i}" for i in range(codebook.MAX_COLUMNS + 1))
    err = _unreadable(f"{header}\n".encode(), "s.csv")
    assert err.fields == {"row 1": f"{codebook.MAX_COLUMNS + 1} columns; at most {codebook.MAX_COLUMNS}"}


@pytest.mark.parametrize(
    ("column", "value", "rule"),
    [
        ("employees", "9" * 5000, "out_of_range"),  # int() refuses more than 4,300 digits
        ("employees", "99999999999", "out_of_range"),  # no firm; and beyond the database's integer
        ("founded_year", "1" * 4301, "out_of_range"),
        ("city", "市" * 61, "too_long"),  # the database column holds 60
        ("response_id", "r" * 101, "too_long"),
    ],
)
def test_values_the_database_cannot_hold_are_row_reasons(column, value, rule):
    row = dict(handmade.VALID[0], **{column: value})
    cols = list(row)
    text = ",".join(cols) + "\n" + ",".join(row[c] for c in cols) + "\n"
    v = analysis.validate_file(text.encode(), filename="s.csv")
    assert {(r.column, r.rule) for r in v.reasons} == {(column, rule)}


def test_the_error_file_writes_formula_like_values_as_text():
    reasons = [
        codebook.Reason(2, "revenue_wan", '=HYPERLINK("http://x.example","点我")', "not_number"),
        codebook.Reason(3, "city", "@SUM(A1)", "not_number"),
        codebook.Reason(4, "employees", "-3", "out_of_range"),
    ]
    lines = list(csv.reader(io.StringIO(reasons_csv(reasons).lstrip("\ufeff"))))[1:]
    assert [line[2] for line in lines] == ['\'=HYPERLINK("http://x.example","点我")', "'@SUM(A1)", "'-3"]
