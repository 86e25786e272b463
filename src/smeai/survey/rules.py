"""The codebook's row rules (codebook.md "Row validation") as DuckDB expressions over a file as read.

A source relation holds one text column per header cell (`c0`, `c1`, ...; NULL = empty), in file order;
the first pass writes a table in that order, whose rowid + 2 is the spreadsheet row number (header =
1), and the full rules read `row` from the rows it kept. `check_sql()` writes, for every present codebook column, its
stripped text, its typed value and the rule code of its problem (or NULL), then rules 3 to 5 across
columns; rule 6 (an earlier row with the same response_id) needs the whole file and is a join.

Validation runs in two steps, so that a large file is scanned once:

1. `fast=True` over the whole file: typed values and one `ok` flag. Date-times are recognised here
   only in their common form (`YYYY-MM-DD HH:MM:SS`); any other row is marked not ok and keeps its
   raw cells (a list, NULL for ok rows).
2. `fast=False` over the rows step 1 did not pass: the same rules in full, every reason of every
   rule in the order the codebook lists them. A date-time in another form (ISO 8601) is looked up in
   a small table built once per distinct text by `parse_datetime`, the codebook's own definition.

Strings are stripped as Python's `str.strip()` strips (every Unicode white space), numbers are ASCII
or full-width digits (what Chinese input methods type), and nothing is coerced: `"12万"` is an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from smeai import taxonomy
from smeai.survey.codebook import BY_NAME, COLUMNS, LINK_COLUMNS, SECTIONS, Column, parse_datetime

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

WHITE = "".join(chr(i) for i in range(0x3000 + 1) if chr(i).isspace())  # str.strip()'s set (none above U+3000)
FULL_DIGITS, ASCII_DIGITS = "０１２３４５６７８９", "0123456789"
INT_RE = r"[+-]?[0-9]+(\.0*)?"
NUM_RE = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
DATETIME_RE = r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"
ADOPTER_VALUES = ("ai_investment_wan", "ai_stage")
SQL_TYPES = {
    "text": "VARCHAR",
    "province": "VARCHAR",
    "section": "VARCHAR",
    "number": "DOUBLE",
    "int": "INTEGER",
    "flag": "TINYINT",
    "datetime": "VARCHAR",
}


def lit(text: str) -> str:
    """A SQL string literal (any character but NUL; a quote doubled)."""
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def strip(cell: str) -> str:
    """The text of a cell (NULL = empty) stripped as `str.strip()` strips. DuckDB's trim() with a set of
    characters costs about a microsecond a cell, so a cell whose first and last characters are not white
    space (nearly every one) is taken as it is; left() and right() count code points, as Python does."""
    white = lit(WHITE)
    return (
        f"CASE WHEN {cell} IS NULL THEN '' "
        f"WHEN strpos({white}, left({cell}, 1)) = 0 AND strpos({white}, right({cell}, 1)) = 0 THEN {cell} "
        f"ELSE trim({cell}, {white}) END"
    )


def _in(values: Iterable[object]) -> str:
    return ", ".join(lit(v) if isinstance(v, str) else str(v) for v in values)


@dataclass(frozen=True)
class Layout:
    """Where each codebook column is in the source (the first of a repeated header name)."""

    position: dict[str, int]

    @classmethod
    def of(cls, header: list[str]) -> Layout:
        index = {name: i for i, name in reversed(list(enumerate(header)))}
        return cls({c.name: index[c.name] for c in COLUMNS if c.name in index})

    @property
    def present(self) -> list[Column]:
        return [c for c in COLUMNS if c.name in self.position]


def _number(s: str, pattern: str) -> str:
    """The stripped text with full-width digits made ASCII, when it matches `pattern`; else NULL."""
    wide = f"translate({s}, '{FULL_DIGITS}', '{ASCII_DIGITS}')"
    return (
        f"CASE WHEN regexp_full_match({s}, '{pattern}') THEN {s} "
        f"WHEN regexp_full_match({wide}, '{pattern}') THEN {wide} END"
    )


def _layers(col: Column, *, fast: bool) -> tuple[str | None, str | None, str, str]:
    """(number text n, its value w, value, rule) expressions of one codebook column, each over the one
    before it: s (stripped) → n (digits made ASCII, or NULL) → w (typed) → rule, value."""
    s, n, w = (ident(f"{p}_{col.name}") for p in ("s", "n", "w"))
    required = "'required'" if col.need == "yes" else "NULL"
    rule: list[tuple[str, str]] = [(f"{s} = ''", required)]
    n_sql = w_sql = None
    value = s
    if col.kind == "text":
        if col.max_length is not None:
            rule.append((f"length({s}) > {col.max_length}", "'too_long'"))
    elif col.kind == "province":
        rule.append((f"{s} NOT IN ({_in(taxonomy.load().provinces)})", "'not_allowed'"))
    elif col.kind == "section":
        rule.append((f"{s} NOT IN ({_in(SECTIONS)})", "'not_allowed'"))
    elif col.kind == "datetime":
        parsed = f"try_strptime({s}, '%Y-%m-%d %H:%M:%S')"
        common = f"CASE WHEN regexp_full_match({s}, '{DATETIME_RE}') THEN strftime({parsed}, '%Y-%m-%d %H:%M:%S') END"
        w_sql = common if fast else f"coalesce({common}, (SELECT iso FROM datetimes d WHERE d.text = {s}))"
        value = w
        rule.append((f"{w} IS NULL", "'not_datetime'"))
    elif col.kind in ("int", "flag"):
        n_sql = _number(s, INT_RE)
        if col.kind == "flag":  # the common case without a pattern
            n_sql = f"CASE WHEN {s} IN ('0', '1') THEN {s} ELSE {n_sql} END"
        whole = f"split_part({n}, '.', 1)"
        w_sql = f"CASE WHEN length(ltrim({whole}, '+-0')) <= 12 THEN CAST({whole} AS BIGINT) END"
        value = w
        rule += [(f"{n} IS NULL", "'not_integer'"), (f"{w} IS NULL", "'out_of_range'")]
        allowed = frozenset({0, 1}) if col.kind == "flag" else col.allowed
        if allowed is not None:
            rule.append((f"{w} NOT IN ({_in(sorted(allowed))})", "'not_allowed'"))
    else:  # number
        n_sql = _number(s, NUM_RE)
        w_sql = f"TRY_CAST({n} AS DOUBLE)"
        value = w
        rule.append((f"{w} IS NULL OR isinf({w}) OR isnan({w})", "'not_number'"))
    bounds = []
    if col.minimum is not None:
        bounds.append(f"{value} < {col.minimum}")
    if col.maximum is not None:
        bounds.append(f"{value} > {col.maximum}")
    if bounds:
        rule.append((" OR ".join(bounds), "'out_of_range'"))
    rule_sql = "CASE " + " ".join(f"WHEN {cond} THEN {code}" for cond, code in rule) + " END"
    return n_sql, w_sql, value, rule_sql


def check_sql(source: str, layout: Layout, *, fast: bool, keep: Iterable[str] | None = None, n_cells: int = 0) -> str:
    """One row per source row: `row`, `blank`, `rid` (stripped response_id), `ok` (no rule 2-5 problem),
    the typed value of every kept codebook column, and, unless fast, each column's rule code (`e_<name>`)
    and the cross-column rules (`x3`, `x4_<name>`, `x5`) with the cells as read. `keep`: the columns to
    type. Fast, `raw` holds the `n_cells` cells of a row that is neither ok nor blank (else NULL) and
    `rid_raw` the response_id as written where stripping changed it."""
    present = layout.present
    names = {c.name for c in present}
    stripped = [f"{strip(f'c{layout.position[c.name]}')} AS {ident('s_' + c.name)}" for c in present]
    numbers, typed_w, rules_e, values = [], [], [], []
    for col in present:
        n_sql, w_sql, value, rule = _layers(col, fast=fast)
        if n_sql:
            numbers.append(f"{n_sql} AS {ident('n_' + col.name)}")
        if w_sql:
            typed_w.append(f"{w_sql} AS {ident('w_' + col.name)}")
        e = ident("e_" + col.name)
        rules_e.append(f"{rule} AS {e}")
        values.append(
            f"CASE WHEN {e} IS NULL AND {ident('s_' + col.name)} <> '' THEN {value} END AS {ident('v_' + col.name)}"
        )

    def valid(name: str) -> str:
        return ident("v_" + name)

    # rule 3: the division goes with section C and only with it (when the section itself is valid)
    cross: list[tuple[str, str]] = []
    if "industry_section" in names:
        division = "coalesce(\"s_mfg_division\", '')" if "mfg_division" in names else "''"
        cross.append(
            (
                "x3",
                f"CASE WHEN {valid('industry_section')} = 'C' AND {division} = '' THEN 'division_missing' "
                f"WHEN {valid('industry_section')} <> 'C' AND {division} <> '' THEN 'division_for_other_section' END",
            )
        )
    # rule 4: adopters' questions are answered by adopters only (a link may be 0 for the others)
    status = valid("ai_status") if "ai_status" in names else "NULL"
    for name in (*ADOPTER_VALUES, *LINK_COLUMNS):
        if name not in names:
            continue
        s = ident("s_" + name)
        missing = "'adopter_missing'" if name in ADOPTER_VALUES else "'required'"
        answered = f"{s} <> ''" if name in ADOPTER_VALUES else f"{valid(name)} IS NOT NULL AND {valid(name)} <> 0"
        cross.append(
            (
                ident("x4_" + name),
                f"CASE WHEN {status} = 1 AND {s} = '' THEN {missing} "
                f"WHEN {status} <> 1 AND {answered} THEN 'adopter_only' END",
            )
        )
    # rule 5: founded no later than the survey year
    if {"submitted_at", "founded_year"} <= names:
        cross.append(
            (
                "x5",
                f"CASE WHEN {valid('founded_year')} > CAST(left({valid('submitted_at')}, 4) AS INTEGER) "
                "THEN 'founded_after_survey' END",
            )
        )
    # blank: every cell of the row, known column or not (as the reference reads a row), is white space or
    # empty: so is their concatenation (one trim a row instead of one a cell)
    cells = ", ".join(f"c{i}" for i in range(n_cells))
    blank = f"trim(concat({cells}), {lit(WHITE)}) = ''" if n_cells else "true"
    ok = " AND ".join([*(f"{x} IS NULL" for x, _ in cross), *(f"{ident('e_' + c.name)} IS NULL" for c in present)])
    wanted = set(keep) if keep is not None else set(BY_NAME)
    typed = [
        f"TRY_CAST({valid(c.name)} AS {SQL_TYPES[c.kind]}) AS {ident(c.name)}" for c in present if c.name in wanted
    ]
    typed += [
        f"CAST(NULL AS {SQL_TYPES[c.kind]}) AS {ident(c.name)}"
        for c in COLUMNS
        if c.name not in names and c.name in wanted
    ]
    rid = "coalesce(\"s_response_id\", '')" if "response_id" in names else "''"
    out = [
        "row",
        f"({blank}) AS blank",
        f"{rid} AS rid",
        f"({ok or 'true'}) AS ok",
        f"CAST(left({valid('submitted_at')}, 4) AS SMALLINT) AS survey_year"
        if "submitted_at" in names
        else "CAST(NULL AS SMALLINT) AS survey_year",
        *typed,
    ]
    if fast:
        rid_cell = f"c{layout.position['response_id']}" if "response_id" in names else "NULL"
        out.append(f"CASE WHEN NOT ({ok or 'true'}) AND NOT ({blank}) THEN [{cells}] END AS raw")
        out.append(f"CASE WHEN coalesce({rid_cell}, '') <> {rid} THEN {rid_cell} END AS rid_raw")
    else:
        out += [ident("e_" + c.name) for c in present] + [x for x, _ in cross] + ([cells] if cells else [])

    def layer(items: list[str]) -> str:
        return ", ".join(["*", *items]) if items else "*"

    return f"""
        WITH stripped AS (SELECT {layer(stripped)} FROM {source}),
        numbered AS (SELECT {layer(numbers)} FROM stripped),
        typed AS (SELECT {layer(typed_w)} FROM numbered),
        ruled AS (SELECT {layer(rules_e)} FROM typed),
        valued AS (SELECT {layer(values)} FROM ruled),
        crossed AS (SELECT {layer([f"{sql} AS {x}" for x, sql in cross])} FROM valued)
        SELECT {", ".join(out)}
        FROM crossed
    """


def fast_sql(source: str, layout: Layout, *, keep: Iterable[str] | None = None, n_cells: int = 0) -> str:
    """The first pass over a whole file: a row is `ok` only when every cell is in its plainest valid form
    (a flag is `0`, `1` or empty; a whole number reads back as written; a date-time is `YYYY-MM-DD
    HH:MM:SS`; no white space around any value) and rules 2 to 5 hold. Such a row is valid by the
    full rules too, and its typed values are those the full rules give. Any other row is not `ok` and
    keeps its `n_cells` cells in `raw` for the full rules (`check_sql`); a blank row is one of those.
    Each cell costs a comparison or a cast here, so this pass runs at close to the speed of the scan."""
    present = layout.present
    names = {c.name for c in present}
    cell = {c.name: f"c{layout.position[c.name]}" for c in present}
    conds: list[str] = []
    values: dict[str, str] = {}
    for col in present:
        c = cell[col.name]
        empty_ok = col.need != "yes"
        if col.kind == "flag":
            good = f"{c} IN ('0', '1')"
            values[col.name] = f"TRY_CAST({c} AS TINYINT)"
        elif col.kind in ("int",) and col.allowed is not None:
            good = f"{c} IN ({_in(str(v) for v in sorted(col.allowed))})"
            values[col.name] = f"TRY_CAST({c} AS INTEGER)"
        elif col.kind == "int":
            v = f"TRY_CAST({c} AS BIGINT)"
            bounds = [f"{v} >= {int(col.minimum)}" if col.minimum is not None else None]
            bounds.append(f"{v} <= {int(col.maximum)}" if col.maximum is not None else None)
            good = " AND ".join([f"CAST({v} AS VARCHAR) = {c}", *(b for b in bounds if b)])
            values[col.name] = f"TRY_CAST({v} AS INTEGER)"
        elif col.kind == "number":
            v = f"TRY_CAST({c} AS DOUBLE)"
            good = f"regexp_full_match({c}, '[0-9]{{1,15}}(\\.[0-9]{{1,15}})?')"
            if col.minimum is not None:
                good += f" AND {v} >= {col.minimum}"
            values[col.name] = v
        elif col.kind == "datetime":
            # YYYY-MM-DD HH:MM:SS as DuckDB writes the time it reads back (cheaper than strftime); 19 characters:
            # DuckDB also reads and writes a year of five digits, which is no date-time to the codebook
            good = f"strlen({c}) = 19 AND {c} >= '1' AND CAST(TRY_CAST({c} AS TIMESTAMP) AS VARCHAR) = {c}"
            values[col.name] = c
        elif col.kind == "province":
            good = f"{c} IN ({_in(taxonomy.load().provinces)})"
            values[col.name] = c
        elif col.kind == "section":
            good = f"{c} IN ({_in(SECTIONS)})"
            values[col.name] = c
        else:  # text: as written, when no white space surrounds it
            space = "[" + "".join(f"\\x{{{ord(ch):x}}}" for ch in WHITE) + "]"
            good = f"NOT regexp_matches({c}, '^{space}|{space}$')"
            if col.max_length is not None:
                good += f" AND length({c}) <= {col.max_length}"
            values[col.name] = c
        conds.append(f"({c} IS NULL OR ({good}))" if empty_ok else f"({good})")
    vals = {name: f"({expr})" for name, expr in values.items()}
    if {"industry_section", "mfg_division"} <= names:  # rule 3
        conds.append(f"(({cell['industry_section']} = 'C') = ({cell['mfg_division']} IS NOT NULL))")
    if "ai_status" in names:  # rule 4
        adopter = f"{cell['ai_status']} = '1'"
        for name in ADOPTER_VALUES:
            if name in names:
                conds.append(f"(({adopter}) = ({cell[name]} IS NOT NULL))")
        for name in LINK_COLUMNS:
            if name in names:
                conds.append(
                    f"(CASE WHEN {adopter} THEN {cell[name]} IS NOT NULL ELSE coalesce({cell[name]}, '0') = '0' END)"
                )
    if {"submitted_at", "founded_year"} <= names:  # rule 5
        conds.append(f"({vals['founded_year']} <= TRY_CAST(left({cell['submitted_at']}, 4) AS INTEGER))")
    ok = " AND ".join(conds) or "true"
    wanted = set(keep) if keep is not None else set(BY_NAME)
    # TRY_CAST: a row that is not ok may hold any number (its typed values are never read)
    typed = [f"TRY_CAST({vals[c.name]} AS {SQL_TYPES[c.kind]}) AS {ident(c.name)}" for c in present if c.name in wanted]
    typed += [
        f"CAST(NULL AS {SQL_TYPES[c.kind]}) AS {ident(c.name)}"
        for c in COLUMNS
        if c.name not in names and c.name in wanted
    ]
    rid_cell = cell.get("response_id", "NULL")
    year = (
        f"TRY_CAST(left({cell['submitted_at']}, 4) AS SMALLINT)"
        if "submitted_at" in names
        else "CAST(NULL AS SMALLINT)"
    )
    cells = ", ".join(f"c{i}" for i in range(n_cells))
    stripped = strip(rid_cell)
    sql = f"""
        SELECT ok, CASE WHEN ok THEN coalesce({rid_cell}, '') ELSE {stripped} END AS rid,
            {", ".join([f"{year} AS survey_year", *typed])},
            CASE WHEN NOT ok THEN [{cells}] END AS raw,
            CASE WHEN NOT ok AND coalesce({rid_cell}, '') <> {stripped} THEN {rid_cell} END AS rid_raw
        FROM (SELECT *, coalesce(({ok}), false) AS ok FROM {source})
    """
    return f"SELECT *, CASE WHEN rid <> '' THEN hash(rid) END AS rid_hash FROM ({sql})"


def reasons_sql(layout: Layout) -> str:
    """The reasons of the checked rows (`checked`, from check_sql(fast=False)), in the codebook's order:
    row, then each column's own rule, then rules 3, 4 and 5."""
    parts: list[str] = []
    order = 0
    for col in layout.present:
        parts.append(_reason(order, col.name, layout, ident("e_" + col.name)))
        order += 1
    names = {c.name for c in layout.present}
    cross = []
    if "industry_section" in names:
        cross.append(("mfg_division", "x3"))
    cross += [(n, ident("x4_" + n)) for n in (*ADOPTER_VALUES, *LINK_COLUMNS) if n in names]
    if {"submitted_at", "founded_year"} <= names:
        cross.append(("founded_year", "x5"))
    for column, code in cross:
        parts.append(_reason(order, column, layout, code))
        order += 1
    return " UNION ALL ".join(parts)


def _reason(order: int, column: str, layout: Layout, code: str) -> str:
    raw = f"coalesce(c{layout.position[column]}, '')" if column in layout.position else "''"
    return (
        f"SELECT row, {order} AS ord, {lit(column)} AS col, {raw} AS value, {code} AS rule "
        f"FROM checked WHERE NOT blank AND {code} IS NOT NULL"
    )


def datetimes(texts: Iterable[str]) -> pa.Table:
    """The lookup of date-times in other forms: text → `YYYY-MM-DD HH:MM:SS[...]` (isoformat), or NULL."""
    import pyarrow as pa

    keys, isos = [], []
    for text in texts:
        parsed = parse_datetime(text)
        keys.append(text)
        isos.append(parsed.isoformat(sep=" ") if isinstance(parsed, datetime) else None)
    return pa.table({"text": pa.array(keys, pa.string()), "iso": pa.array(isos, pa.string())})


def register_datetimes(con: duckdb.DuckDBPyConnection, texts: Iterable[str]) -> None:
    """Table `datetimes` (text, iso), written as SQL literals: an Arrow table handed to DuckDB would
    import pandas, a third of a second of a command's start, for a few thousand short texts."""
    con.execute("CREATE OR REPLACE TEMP TABLE datetimes (text VARCHAR, iso VARCHAR)")
    values = []
    for text in texts:
        parsed = parse_datetime(text)
        # a text missing from the table is not a date-time, as one mapped to NULL (NUL cannot be a literal)
        if isinstance(parsed, datetime) and "\x00" not in text:
            values.append(f"({lit(text)}, {lit(parsed.isoformat(sep=' '))})")
    for start in range(0, len(values), 10_000):
        con.execute("INSERT INTO datetimes VALUES " + ", ".join(values[start : start + 10_000]))
