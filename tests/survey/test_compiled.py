"""The compiled first pass (compiled.py) against DuckDB's (rules.fast_sql), on generated files.

A large plain CSV is checked by a compiled loop instead of DuckDB's first pass; nothing a user sees may
change. Each file here is checked both ways (the compiled pass forced on however small the file) and
must give the same `check` (counts, every reason with its row and value), the same valid rows with the
same typed values, and the same indicators. The files hold every kind of bad cell (tests/survey/
test_rules.py), cells at the edges of the compiled pass's plain forms (numbers of 15 and 16 significant
digits, 29 February, hour 24, white space that is not ASCII), ragged lines, empty lines at the end, CRLF and a BOM.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smeai.survey import analysis, codebook, compiled, indicators, loading
from tests.survey import test_rules

EDGES: dict[str, list[str]] = {
    "revenue_wan": [
        "0.1",
        "123456789012345",
        "123456789012345.5",
        "1234567890123456",
        "0.000000000000001",
        "000000000000001.100000000000000",
        "9007199254740993",
        "1.7976931348623157",
        "00012.50",
        "12.",
        "1.2.3",
    ],
    "submitted_at": [
        "2024-02-29 12:00:00",
        "2025-02-29 12:00:00",
        "2000-02-29 00:00:00",
        "1900-02-29 00:00:00",
        "2025-04-31 00:00:00",
        "2025-03-10 23:59:60",
        "1000-01-01 00:00:00",
        "2025-03-10 09:00:00\u00a0",
        "2025/03/10 09:00:00",
    ],
    "founded_year": ["2025", "2024", "02020", "1900", "32768", "99999"],
    "employees": ["10000000", "9999999", "0", "-0", "00"],
    "city": ["佛山市", "佛山市\u00b7", "\u00b7佛山", "\u3000佛山", "𠀀", "市" * 60, "市" * 61, "a\u2028"],
    "response_id": ["r1", "r2", "r3", "r1\u00a0", "\u2003r2", "=r", "r" * 100, "r" * 101],
    "province_code": ["44", "00", "4a", "444"],
    "industry_section": ["C", "A", "T", "U", "CC"],
}


def _values(column: str) -> list[str]:
    # no comma, quote or line end: a plain file (the csv module would quote such a cell)
    plain = [v for v in [*test_rules._values(column), *EDGES.get(column, [])] if not set(v) & set(',"\r\n')]
    return plain


def _cell(column: str) -> st.SearchStrategy[str]:
    values = _values(column)
    return st.one_of(st.sampled_from(values[:2]), st.sampled_from(values))


COLUMNS = test_rules.COLUMNS
ROW = st.fixed_dictionaries({c: _cell(c) for c in COLUMNS})


@st.composite
def plain_files(draw: st.DrawFn) -> bytes:
    optional = [c for c in COLUMNS if c not in codebook.REQUIRED_COLUMNS]
    dropped = set(draw(st.lists(st.sampled_from(optional), max_size=4)))
    header = draw(st.permutations([c for c in COLUMNS if c not in dropped]))
    extra = draw(st.booleans())  # an unknown column, and a repeated name (the first one counts)
    names = [*header, *(["note", "city"] if extra else [])]
    end = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [",".join(names)]
    empty = 0
    for _ in range(draw(st.integers(1, 30))):
        shape = draw(st.sampled_from(["row", "row", "row", "row", "blank", "empty", "short", "long"]))
        if shape == "empty":  # empty lines at the end (one between rows sends the file to Python: test_rules)
            empty += 1
            continue
        if shape == "blank":
            lines.append(draw(st.sampled_from([",".join([""] * len(names)), ",".join([" "] * len(names)), " "])))
            continue
        row = draw(ROW)
        cells = [row[c] for c in header] + (["n", "ignored"] if extra else [])
        if shape == "short":
            cells = cells[: draw(st.integers(1, len(cells) - 1))]
        elif shape == "long":
            cells += ["past", "the", "header"][: draw(st.integers(1, 3))]
        lines.append(",".join(cells))
    lines += [""] * empty
    last = "" if draw(st.booleans()) else end  # the last line with or without its line end
    bom = "\ufeff" if draw(st.booleans()) else ""
    return (bom + end.join(lines) + last).encode()


def _both_ways(
    data: bytes, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, plain: bool = True
) -> list[dict[str, Any]]:
    """check, valid rows and indicators of the file, with the compiled pass forced on, then with DuckDB's;
    asserts that the compiled pass read a plain file (and only when forced on)."""
    path = tmp_path / "s.csv"
    path.write_bytes(data)
    out: list[dict[str, Any]] = []
    for minimum in (0, 1 << 62):
        monkeypatch.setattr(loading, "COMPILED_MIN_BYTES", minimum)
        used: list[bool] = []
        original = compiled.first_pass_of

        def spy(*args: object, _original=original, _used=used) -> compiled.FirstPass | None:
            result = _original(*args)
            _used.append(result is not None)
            return result

        monkeypatch.setattr(compiled, "first_pass_of", spy)
        checked, _layout, _unmapped = analysis.reasons_of(path, max_rows=None)
        con = loading.connect()
        try:
            analysis.check_file(con, path, max_rows=None, keep=indicators.ARROW_COLUMNS)
            valid = con.sql("SELECT * FROM valid ORDER BY row").fetchall()
            kinds = con.sql("SELECT * FROM valid").types
        finally:
            con.close()
        figures = analysis.file_indicators(path, max_rows=None)[0] if checked.n_valid else None
        monkeypatch.setattr(compiled, "first_pass_of", original)
        assert (bool(used) and all(used)) == (plain and minimum == 0)
        out.append(
            {
                "check": (checked.n_rows, checked.n_valid, [r.as_dict() for r in checked.reasons]),
                "valid": valid,
                "types": [str(k) for k in kinds],
                "indicators": json.dumps(figures, sort_keys=True),
            }
        )
    return out


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(plain_files())
def test_the_compiled_pass_agrees_with_duckdbs(monkeypatch, tmp_path, data):
    fast, reference = _both_ways(data, monkeypatch, tmp_path)
    assert fast == reference


def test_the_handmade_file_and_the_benchmarks_kind_of_file(monkeypatch, tmp_path):
    from smeai.survey import synth

    data = codebook_text().encode()
    fast, reference = _both_ways(data, monkeypatch, tmp_path, plain=b'"' not in data)
    assert fast == reference
    path = tmp_path / "synth.csv"
    synth.write_csv(path, 3000, 1, invalid=300)
    fast, reference = _both_ways(path.read_bytes(), monkeypatch, tmp_path)
    assert fast == reference
    assert fast["check"][1] == 3000  # type: ignore[index]


def codebook_text() -> str:
    from tests.survey import handmade

    return handmade.csv_text(bom=True)


@pytest.mark.parametrize(
    "trouble",
    [b'"r9"', b"r9\rx", b"r9\x00", b"r\xe9", b"r\xed\xa0\x80", b"r\xf4\x90\x80\x80", b"r" * 100_001],
    ids=["quote", "lone CR", "NUL", "latin-1", "surrogate", "past U+10FFFF", "long line"],
)
def test_a_file_that_is_not_plain_is_left_to_duckdb(trouble, tmp_path):
    good = ",".join(_values(c)[0] for c in COLUMNS)
    text = f"{','.join(COLUMNS)}\r\n{good}\r\n".encode()
    path = tmp_path / "s.csv"
    path.write_bytes(text + trouble + b",x\n")
    layout = loading.rules.Layout.of(COLUMNS)
    assert compiled.first_pass_of(path, layout, len(COLUMNS), []) is None
    path.write_bytes(text)
    assert compiled.first_pass_of(path, layout, len(COLUMNS), []) is not None
