"""codebook.md: reading CSV and .xlsx, every row rule, every reason of every rejected row."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from smeai.survey import codebook
from smeai.survey.analysis import reasons_csv
from tests.survey import handmade


def _xlsx(text: str) -> bytes:
    import csv

    book = Workbook()
    sheet = book.active
    for i, row in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff")))):
        # numbers as numbers, as a spreadsheet holds them (a whole number comes back without ".0")
        sheet.append([float(v) if i and v.replace(".", "", 1).isdigit() and "." in v else
                      (int(v) if i and v.isdigit() and not v.startswith("0") else v) for v in row])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def test_every_reason_of_every_rejected_row_is_reported_with_its_row_number():
    v = codebook.validate_file(handmade.csv_text().encode(), filename="s.csv")
    got = {(r.row, r.column, r.rule) for r in v.reasons}
    assert got == handmade.expected_reasons()
    assert v.n_valid == len(handmade.VALID)
    assert v.n_rejected == len(handmade.INVALID)
    assert v.n_rows == len(handmade.VALID) + len(handmade.INVALID)


def test_a_reason_carries_the_value_as_written_and_the_codebook_rule_number():
    v = codebook.validate_file(handmade.csv_text().encode(), filename="s.csv")
    money = next(r for r in v.reasons if r.column == "revenue_wan" and r.value == "12万")
    assert money.as_dict() | {"message": ""} == {
        "row": 18, "column": "revenue_wan", "value": "12万", "rule": "not_number", "rule_no": 2, "message": "",
    }
    assert {r.rule_no for r in v.reasons} == {2, 3, 4, 5, 6}


def test_bom_and_xlsx_read_the_same_rows_as_plain_csv():
    plain = codebook.validate_file(handmade.csv_text().encode(), filename="s.csv")
    bom = codebook.validate_file(handmade.csv_text(bom=True).encode(), filename="s.csv")
    xlsx = codebook.validate_file(_xlsx(handmade.csv_text()), filename="s.xlsx")
    for other in (bom, xlsx):
        assert other.columns == plain.columns
        assert {(r.row, r.column, r.rule) for r in other.reasons} == handmade.expected_reasons()


def test_a_missing_required_column_refuses_the_whole_file():
    with pytest.raises(codebook.MissingColumns) as err:
        codebook.validate_file(handmade.csv_text(drop=("ai_status", "revenue_wan")).encode(), filename="s.csv")
    assert set(err.value.fields) == {"ai_status", "revenue_wan"}


def test_optional_columns_may_be_absent():
    text = handmade.csv_text(drop=("city", "employees", "model_type", "scn_quality_inspection"))
    # the two rows whose only faults were in those columns are now valid
    assert codebook.validate_file(text.encode(), filename="s.csv").n_valid == len(handmade.VALID) + 2


@pytest.mark.parametrize(
    ("text", "ok"),
    [(" 12 ", True), ("12.5", True), ("1e3", True), ("12万", False), ("abc", False), ("1,000", False),
     ("nan", False), ("-1", False), ("1e999", False), ("inf", False), (".5", True)],
)
def test_numbers_are_never_coerced(text, ok):
    _value, problem = codebook._check_value(codebook.BY_NAME["revenue_wan"], text.strip())
    assert (problem is None) is ok


def test_whole_numbers_written_with_a_decimal_point_are_whole():
    assert codebook._check_value(codebook.BY_NAME["mfg_division"], "33.0") == (33, None)
    assert codebook._check_value(codebook.BY_NAME["mfg_division"], "33.5")[1] == "not_integer"


def test_blank_lines_are_not_responses():
    text = handmade.csv_text() + "\n,,,\n"
    assert codebook.validate_file(text.encode(), filename="s.csv").n_rows == len(handmade.rows())


def test_error_file_lists_every_reason():
    v = codebook.validate_file(handmade.csv_text().encode(), filename="s.csv")
    lines = reasons_csv(v.reasons).lstrip("\ufeff").splitlines()
    assert lines[0] == "row,column,value,rule,rule_no,message"
    assert len(lines) == 1 + len(handmade.expected_reasons())


def test_text_that_is_not_utf8_is_refused():
    with pytest.raises(codebook.UnreadableFile):
        codebook.validate_file("response_id,city\nr1,佛山市\n".encode("gbk"), filename="s.csv")
