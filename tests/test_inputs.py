"""smeai.inputs: record ids and calendar dates, each bound tested on both sides (docs/testing.md)."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import TypeAdapter, ValidationError

from smeai.inputs import EARLIEST_DATE, LATEST_DATE, MAX_ID, CalendarDate, RecordId

IDS, DATES = TypeAdapter(RecordId), TypeAdapter(CalendarDate)


def test_the_bounds():
    assert MAX_ID == 2_147_483_647
    assert date(2000, 1, 1) == EARLIEST_DATE
    assert date(2100, 12, 31) == LATEST_DATE


@pytest.mark.parametrize("value", [1, 42, MAX_ID])
def test_record_ids_inside(value):
    assert IDS.validate_python(value) == value


@pytest.mark.parametrize("value", [0, -1, MAX_ID + 1, 10**30])
def test_record_ids_outside(value):
    with pytest.raises(ValidationError):
        IDS.validate_python(value)


@pytest.mark.parametrize("value", [date(2000, 1, 1), date(2026, 6, 30), date(2100, 12, 31)])
def test_dates_inside(value):
    assert DATES.validate_python(value) == value
    assert DATES.validate_python(value.isoformat()) == value


@pytest.mark.parametrize("value", [date(1999, 12, 31), date(2101, 1, 1), date(1, 1, 1), date(9999, 12, 31)])
def test_dates_outside(value):
    with pytest.raises(ValidationError) as info:
        DATES.validate_python(value)
    assert "between 2000 and 2100" in str(info.value)
