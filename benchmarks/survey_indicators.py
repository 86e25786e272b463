"""All chapter-4 indicators over synthetic surveys of 100k, 1M and 10M rows: DuckDB vs pandas.

    .venv/bin/python benchmarks/survey_indicators.py [--sizes 100000,1000000,10000000] [--data DIR]

For each size a synthetic survey (smeai.survey.synth, 1M-row chunks with their own seeds) is written
once to Parquet under DIR (default var/bench/survey). Each measurement runs in a fresh process and
starts from that file: the DuckDB path runs the Ibis expressions (compiled once to DuckDB SQL)
directly over `read_parquet`; the pandas path reads the same columns with `pd.read_parquet` and runs the
straightforward pandas implementation of the same definitions (tests/survey/reference.py). It prints
wall time, peak resident memory of the process (ru_maxrss, imports included) and the pandas/DuckDB
time ratio, and checks that both paths print the same JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the pandas baseline is test code: tests/survey/reference.py

CHUNK = 1_000_000


def make_data(path: Path, rows: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from smeai.survey import indicators, synth

    schema = indicators.schema().to_pyarrow()
    writer = pq.ParquetWriter(path, schema)
    done, seed = 0, 0
    while done < rows:
        n = min(CHUNK, rows - done)
        frame = synth.generate(n, 1000 + seed)
        table = pa.Table.from_pandas(frame, preserve_index=False).select(list(indicators.ARROW_COLUMNS))
        writer.write_table(table.cast(schema))
        done, seed = done + n, seed + 1
    writer.close()


def run_duckdb(path: Path) -> dict:
    import duckdb

    from smeai.survey import indicators

    sql = indicators.duckdb_sql()  # compiled once, like a running server does; not timed
    start = time.perf_counter()
    con = duckdb.connect()
    # the expressions read the Parquet file directly: each query decodes only the columns it needs,
    # in parallel, instead of first copying 10M rows into DuckDB's own storage
    con.execute(f"CREATE VIEW responses AS SELECT * FROM read_parquet('{path}')")
    loaded = time.perf_counter()
    results = {name: con.sql(q).to_arrow_table().to_pandas() for name, q in sql.items()}
    out = indicators.assemble(results)[0]
    end = time.perf_counter()
    return {"seconds": end - start, "load": loaded - start, "compute": end - loaded, "json": out}


def run_pandas(path: Path) -> dict:
    import pandas as pd
    from tests.survey import reference

    from smeai.survey import indicators

    start = time.perf_counter()
    frame = pd.read_parquet(path, columns=list(indicators.ARROW_COLUMNS))
    loaded = time.perf_counter()
    out = reference.compute(frame)
    end = time.perf_counter()
    return {"seconds": end - start, "load": loaded - start, "compute": end - loaded, "json": out}


def peak_mib() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited across fork/exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(engine: str, path: str) -> None:
    result = (run_duckdb if engine == "duckdb" else run_pandas)(Path(path))
    result["peak_mib"] = peak_mib()
    print(json.dumps(result))


def measure(engine: str, path: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", engine, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _split(r: dict) -> str:
    return f"({r['load']:.2f}+{r['compute']:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--data", default="var/bench/survey")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--make", nargs=2, metavar=("ROWS", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.make:
        make_data(Path(args.make[1]), int(args.make[0]))
        return
    folder = Path(args.data)
    folder.mkdir(parents=True, exist_ok=True)
    rows_out = []
    print(
        f"{'rows':>11} | {'duckdb s':>8} {'(load+calc)':>12} {'MiB':>6} | {'pandas s':>8} {'(load+calc)':>12} "
        f"{'MiB':>6} | {'ratio':>6} {'duckdb s/M rows':>15}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        path = folder / f"survey-{size}.parquet"
        if not path.exists():
            t = time.perf_counter()
            # in a child process, so the generator's memory is not in this process (or its children)
            subprocess.run([sys.executable, __file__, "--make", str(size), str(path)], check=True)
            print(f"  (made {path} in {time.perf_counter() - t:.0f} s)", file=sys.stderr)
        duck, pand = measure("duckdb", path), measure("pandas", path)
        same = duck["json"] == pand["json"]
        ratio = pand["seconds"] / duck["seconds"]
        rows_out.append((size, duck, pand, ratio, same))
        print(
            f"{size:>11,} | {duck['seconds']:>8.2f} {_split(duck):>12} {duck['peak_mib']:>6.0f} | "
            f"{pand['seconds']:>8.2f} {_split(pand):>12} {pand['peak_mib']:>6.0f} | {ratio:>5.1f}x "
            f"{duck['seconds'] / size * 1e6:>15.3f}{'' if same else '  RESULTS DIFFER'}",
            flush=True,
        )
    if not all(r[4] for r in rows_out):
        sys.exit("DuckDB and pandas disagree")


if __name__ == "__main__":
    main()
