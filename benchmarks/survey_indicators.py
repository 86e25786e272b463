"""The user's path: `smeai survey indicators FILE --json` on a canonical CSV and on a 问卷星 .xlsx export.

    nice .venv/bin/python benchmarks/survey_indicators.py [--sizes 1000000,10000000] [--xlsx 100000] [--data DIR]

Files are made once under DIR (default var/bench/survey): a synthetic survey (smeai.survey.synth) of
1M rows with 0.2 % broken rows of every kind as CSV; larger sizes repeat it with new response ids
(DuckDB writes them, the cells as they were); the .xlsx is a 问卷星 coded export (wjx.from_canonical)
of a synthetic survey. Every measurement is a fresh process, timed from its start (interpreter start
and imports included), with its own peak resident memory and CPU time (os.wait4), run in this order
per size, in the same run:

- cli: `smeai survey indicators FILE --json` — read, every codebook rule, the indicators (the target);
- scan: DuckDB reading every cell of the same CSV as text (`count(col)` of every column), nothing else;
- rules: the scan plus the conditions of the check's SQL first pass (rules.fast_sql: is each row valid in
  its plainest form), counting the rows that pass and keeping nothing: what the rules cost beyond the scan
  in SQL (a CSV of 256 MB or more, the 10M file, has its first pass compiled instead: survey/compiled.py);
- pandas / polars: read the same CSV and compute the same indicators (tests/survey/reference.py) with
  no validation: a broken number is missing (pandas at 10M rows is left out: minutes and gigabytes);
- parquet: the indicators alone on the valid rows already typed in Parquet (the old benchmark), for scale;
- xlsx: the CLI on the .xlsx, and calamine alone reading every cell of it (the reader's floor).

Targets (issue 16): at 10M rows cli ≤ 2 × scan and peak RSS ≤ 1 GiB; at 1M rows cli ≤ 3 s; the
100k-row 问卷星 .xlsx ≤ 10 s. A busy machine moves wall time most: /proc/loadavg is printed before
each measurement, and the ratio to the bare scan of the same run is the figure a busy machine moves least.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the pandas baseline is test code: tests/survey/reference.py
SMEAI = str(Path(sys.executable).parent / "smeai")
BASE = 1_000_000


def make_csv(path: Path, rows: int) -> None:
    from smeai.survey import synth

    base = path.parent / f"survey-{BASE}.csv"
    if not base.exists():
        synth.write_csv(base, BASE, 1, invalid=BASE // 500)
    if rows == BASE:
        return
    import duckdb

    copies = rows // BASE
    con = duckdb.connect()
    src = f"read_csv('{base}', all_varchar = true, header = true)"
    con.execute(
        f"""COPY (SELECT * REPLACE (response_id || '-' || k AS response_id) FROM range({copies}) t(k), {src})
        TO '{path}' (HEADER, DELIMITER ',')"""
    )


def make_xlsx(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    from smeai.survey import synth, wjx

    header, body = synth.text_rows(synth.generate(rows, 7))  # (a coded export holds only listed options)
    out_header, out_rows = wjx.from_canonical(header, body, layout="wjx_coded")
    book = Workbook(write_only=True)
    sheet = book.create_sheet("问卷星")
    sheet.append(out_header)
    for r in out_rows:
        sheet.append([int(v) if v.lstrip("-").isdigit() and len(v) < 10 else v for v in r])
    book.save(path)


def make_parquet(csv_path: Path, path: Path) -> None:
    from smeai.survey import indicators, loading

    con = loading.connect()
    cells = loading.csv_source(con, csv_path)
    from smeai.survey import codebook

    loading.check(con, codebook.header_of(cells or []), len(cells or []), keep=indicators.ARROW_COLUMNS)
    cols = ", ".join(indicators.ARROW_COLUMNS)
    con.execute(f"COPY (SELECT {cols} FROM valid) TO '{path}' (FORMAT parquet)")


# --- the measured programs (each a fresh process) -------------------------------------------------


def scan(path: str) -> None:
    import duckdb

    con = duckdb.connect()
    src = f"read_csv('{path}', all_varchar = true, header = true)"
    names = [r[0] for r in con.sql(f"DESCRIBE SELECT * FROM {src}").fetchall()]
    counts = ", ".join(f'count("{n}")' for n in names)
    con.sql(f"SELECT {counts} FROM {src}").fetchall()


def rules_only(path: str) -> None:
    from smeai.survey import codebook, loading, rules

    con = loading.connect()
    cells = loading.csv_source(con, Path(path)) or []
    fast = rules.fast_sql("src", rules.Layout.of(codebook.header_of(cells)), keep=["founded_year"], n_cells=0)
    # DuckDB computes only what the count reads: `ok` (every rule of the first pass), no typed values
    print(json.dumps({"ok": con.sql(f"SELECT count(*) FILTER (WHERE ok) FROM ({fast})").fetchall()[0][0]}))


def baseline(engine: str, path: str) -> None:
    from tests.survey import reference

    from smeai.survey import indicators

    cols = list(indicators.ARROW_COLUMNS)
    reads = [c for c in cols if c != "survey_year"] + ["submitted_at"]
    if engine == "pandas":
        import pandas as pd

        frame = pd.read_csv(path, usecols=reads, dtype=str, keep_default_na=False)
    else:
        import polars as pl

        frame = pl.read_csv(path, columns=reads, infer_schema=False).to_pandas()
    import pandas as pd

    out = frame[[c for c in cols if c in frame]].copy()
    for c in out.columns:
        if c not in ("province_code", "industry_section"):
            out[c] = pd.to_numeric(out[c].str.strip(), errors="coerce")
    out["survey_year"] = pd.to_numeric(frame["submitted_at"].str[:4], errors="coerce")
    print(json.dumps(reference.compute(out)))


def xlsx_read(path: str) -> None:
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_path(path).get_sheet_by_index(0)
    print(json.dumps({"cells": sum(len(r) for r in sheet.iter_rows())}))


def parquet(path: str) -> None:
    import duckdb

    from smeai.survey import indicators

    con = duckdb.connect()
    con.execute(f"CREATE VIEW responses AS SELECT * FROM read_parquet('{path}')")
    results = {name: con.sql(q).to_arrow_table().to_pandas() for name, q in indicators.duckdb_sql().items()}
    print(json.dumps(indicators.assemble(results)[0]))


def run(argv: list[str]) -> dict:
    """Run a program; wall time from start to exit, its CPU time and peak RSS (this child only: Linux
    carries a parent's peak into a forked child, so this process itself stays small)."""
    before = load().split()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read() if proc.stdout else b""
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"failed: {' '.join(argv)}")
    text = out.decode()
    return {
        "s": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "mib": usage.ru_maxrss / 1024,
        "json": json.loads(text) if text.strip().startswith("{") else None,
        "load": before,
    }


def me(*args: str) -> list[str]:
    return [sys.executable, __file__, *args]


def load() -> str:
    return Path("/proc/loadavg").read_text().strip()


def line(name: str, r: dict, note: str = "") -> None:
    print(
        f"  {name:<34} {r['s']:>7.2f} s  cpu {r['cpu']:>7.2f} s  {r['mib']:>6.0f} MiB  {note}  [load {r['load']}]",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--xlsx", type=int, default=100_000)
    parser.add_argument("--data", default="var/bench/survey")
    parser.add_argument("--no-pandas-above", type=int, default=2_000_000)
    parser.add_argument("--no-polars-above", type=int, default=None, help="skip polars past this size (time)")
    parser.add_argument("--program", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.program:
        kind, *rest = args.program
        if kind == "make-parquet":
            make_parquet(Path(rest[0]), Path(rest[1]))
            return
        if kind in ("make-csv", "make-xlsx"):
            (make_csv if kind == "make-csv" else make_xlsx)(Path(rest[0]), int(rest[1]))
            return
        programs = {"scan": scan, "rules": rules_only, "parquet": parquet, "xlsx-read": xlsx_read}
        programs.get(kind, lambda p: baseline(kind, p))(*rest)
        return
    folder = Path(args.data)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"/proc/loadavg at start: {load()} ({os.cpu_count()} CPUs)")
    met = []
    for size in (int(s) for s in args.sizes.split(",")):
        path = folder / f"survey-{size}.csv"
        if not path.exists():  # in a child, as every file made here: Linux carries a parent's peak RSS into
            subprocess.run(me("--program", "make-csv", str(path), str(size)), check=True)  # its children
        pq = folder / f"survey-{size}.parquet"
        if not pq.exists():  # in a child: the check's memory must not count in the measured children's peak
            subprocess.run(me("--program", "make-parquet", str(path), str(pq)), check=True)
        print(f"{size:,} rows, {path.stat().st_size / 1e6:,.0f} MB CSV")
        cli = run([SMEAI, "survey", "indicators", str(path), "--json"])
        line("cli: smeai survey indicators", cli, f"{cli['json']['n_rejected']:,} rows rejected")
        bare = run(me("--program", "scan", str(path)))
        ratio = f"cli/scan {cli['s'] / bare['s']:.2f}x, cpu {cli['cpu'] / bare['cpu']:.2f}x"
        line("scan: DuckDB reads every cell", bare, ratio)
        r = run(me("--program", "rules", str(path)))
        ratio = f"rules/scan {r['s'] / bare['s']:.2f}x, cpu {r['cpu'] / bare['cpu']:.2f}x"
        line("rules: scan + first-pass rules only", r, ratio)
        for engine in ("pandas", "polars"):
            if engine == "pandas" and size > args.no_pandas_above:
                continue
            if engine == "polars" and args.no_polars_above is not None and size > args.no_polars_above:
                continue
            try:
                r = run(me("--program", engine, str(path)))
            except SystemExit:
                print(f"  {engine}: not available")
                continue
            line(f"{engine}: read + indicators, no rules", r, f"{r['s'] / cli['s']:.1f}x the cli")
        r = run(me("--program", "parquet", str(pq)))
        # the same figures as the cli; the Parquet file holds only valid rows, so n_rejected is 0 there
        same = "same JSON as cli" if r["json"] == dict(cli["json"], n_rejected=0) else "JSON DIFFERS"
        line("parquet: indicators of valid rows", r, same)
        if size >= 10_000_000:
            met.append(
                (
                    f"10M: cli ≤ 2 × scan ({cli['s'] / bare['s']:.2f}x; cpu {cli['cpu'] / bare['cpu']:.2f}x)",
                    cli["s"] <= 2 * bare["s"],
                )
            )
            met.append((f"10M: peak RSS ≤ 1 GiB ({cli['mib']:.0f} MiB)", cli["mib"] <= 1024))
        if size == 1_000_000:
            met.append((f"1M: cli ≤ 3 s ({cli['s']:.2f} s; {cli['s'] / bare['s']:.2f}x the scan)", cli["s"] <= 3))
    if args.xlsx:
        path = folder / f"wjx-{args.xlsx}.xlsx"
        if not path.exists():
            subprocess.run(me("--program", "make-xlsx", str(path), str(args.xlsx)), check=True)
        size_mb = path.stat().st_size / 1e6
        print(f"{args.xlsx:,}-row 问卷星 export, {size_mb:,.0f} MB .xlsx")
        r = run([SMEAI, "survey", "indicators", str(path), "--json"])
        line("cli: smeai survey indicators", r, f"{r['json']['n_rejected']:,} rows rejected")
        floor = run(me("--program", "xlsx-read", str(path)))
        line("xlsx-read: calamine reads every cell", floor, f"cli/read {r['s'] / floor['s']:.2f}x")
        met.append(
            (f"100k 问卷星 .xlsx ≤ 10 s ({r['s']:.2f} s; {r['s'] / floor['s']:.2f}x calamine's read)", r["s"] <= 10)
        )
    print("targets:")
    for text, ok in met:
        print(f"  {'met    ' if ok else 'NOT MET'} {text}")


if __name__ == "__main__":
    main()
