"""Shared bounds for ids and dates in forms, API bodies, query strings and the CLI.

A record id is a positive int4 (the columns are INTEGER on both databases): -1 or 10^30 is a field
error that names the field, not a DataError from the driver. A calendar date people type (a contract
signed, a deadline, a payment) lies between 2000 and 2100: year 1 and year 9999 are typing mistakes or
attacks on yearly caps. Services narrow the window further where a rule says how (a programme's period,
"not in the future", "not in the past").
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field

from smeai.i18n import N_

MAX_ID = 2**31 - 1
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)

RecordId = Annotated[int, Field(gt=0, le=MAX_ID)]


def _plausible(value: date) -> date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(N_("Enter a date between 2000 and 2100."))
    return value


CalendarDate = Annotated[date, AfterValidator(_plausible)]
