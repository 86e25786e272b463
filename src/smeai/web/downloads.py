"""What every file the platform hands out needs: a safe name header and cells that stay text.

`attachment()` builds Content-Disposition per RFC 6266 with an RFC 5987 `filename*` for non-ASCII
names (a wave coded 浙江2025 must not answer 500: HTTP headers are latin-1). `cell()` neutralises
spreadsheet formulas (OWASP "CSV injection"): text an enterprise or a respondent typed that starts
with = + - @, a tab or a carriage return is prefixed with an apostrophe, so Excel and WPS show it
as text instead of running it. Numbers pass through unchanged, so sums still work.
"""

from __future__ import annotations

import re
from urllib.parse import quote

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> object:
    """A value safe to write into a CSV or xlsx cell that a person will open in a spreadsheet."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def row(values: list[object] | tuple[object, ...]) -> list[object]:
    return [cell(v) for v in values]


def attachment(filename: str) -> dict[str, str]:
    """`{"Content-Disposition": ...}` for a download called `filename` (any characters)."""
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", filename).strip("_") or "download"
    header = f'attachment; filename="{ascii_name}"'
    if ascii_name != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return {"Content-Disposition": header}
