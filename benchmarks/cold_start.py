"""Cold start and memory of a worker at real size: process start to the first answered search.

Stores a synthetic pool of N distinct offerings (default 100,000; benchmarks/catalog_search.py's
generator) in a fresh database, stores the search index as the `catalog-index` job does (`smeai catalog
index build`, timed: the full segmentation), then starts `smeai serve` (one worker) and measures
  * cold start: process start -> the first 200 from GET /api/v1/offerings?q=... (imports, app, loading
    the stored index, reading the rows changed since, the search),
  * the worker's resident memory (VmRSS, and VmHWM: its peak) after the first searches,
  * an edit's lag: an offering renamed in this process (another "worker"), then searched for in the
    server until it answers,
  * with --no-store, the same start without a stored index (the first search builds it from every row).

Baselines in the same run, so that a busy machine's figures can still be read as ratios: the same worker's
first 200 from GET /healthz (process start, imports and the app, no data), and a bare FastAPI app's first
200 under uvicorn (the interpreter, FastAPI and uvicorn alone).

    .venv/bin/python benchmarks/cold_start.py [--size 100000] [--db URL | --pg] [--runs 3] [--no-store]

--pg makes (and drops) a PostgreSQL database of its own, `smeai_cold`, on SMEAI_LOAD_PG
(default postgresql+psycopg://postgres@127.0.0.1:5432).

Prints `cat /proc/loadavg` before and after: quote it with the figures.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import httpx  # noqa: E402
from catalog_search import synthesize  # noqa: E402
from load import pg_database  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402

from smeai.auth.models import Organisation  # noqa: E402
from smeai.catalog.models import Offering  # noqa: E402
from smeai.db import get_sessionmaker  # noqa: E402
from smeai.migrate import upgrade  # noqa: E402

QUERY = "质检"
SECRET = "benchmark-secret-key-not-for-production"
os.environ["SMEAI_SECRET_KEY"] = SECRET  # tokens are keyed with it: the same here and in the server
HEADERS: dict[str, str] = {}  # the search API answers signed-in users: an operator's API token


def sign_in(url: str) -> None:
    from smeai.auth import service as auth
    from smeai.auth.actor import Actor
    from smeai.auth.models import User
    from smeai.auth.permissions import OrgKind, Role
    from smeai.auth.schemas import OrganisationIn, UserIn

    with get_sessionmaker(url)() as session:
        user = session.scalar(select(User).where(User.email == "bench@example.com"))
        if user is None:
            centre = OrganisationIn(name="基准测试中心", kind=OrgKind.CENTRE)
            org = auth.create_organisation(session, Actor.system(), centre)
            data = UserIn(
                email="bench@example.com",
                display_name="基准",
                password="benchmark-pass-1",
                role=Role.OPERATOR,
                org_id=org.id,
            )
            user = auth.create_user(session, Actor.system(), data)
        secret, _ = auth.issue_token(session, user, kind="api", lifetime=None)
        session.commit()
    HEADERS["Authorization"] = f"Bearer {secret}"


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _memory(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) // 1024  # MiB
    return out


def _env(url: str, var: Path) -> dict[str, str]:
    return os.environ | {
        "SMEAI_DATABASE_URL": url,
        "SMEAI_VAR_DIR": str(var),
        "SMEAI_SECRET_KEY": SECRET,
        "PYTHONPATH": str(ROOT / "src"),
    }


BARE_APP = """
import sys, uvicorn
from fastapi import FastAPI
app = FastAPI()

@app.get("/healthz")
def healthz():
    return {"ok": True}

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def _first_200(proc: subprocess.Popen[bytes], url: str, t: float) -> float:
    while True:
        if proc.poll() is not None:
            raise SystemExit("the server exited")
        try:
            if httpx.get(url, timeout=60).status_code == 200:
                return time.perf_counter() - t
        except httpx.HTTPError:
            pass
        time.sleep(0.02)


def bare_start() -> float:
    """Seconds from process start to a bare FastAPI app's first 200 under uvicorn: the floor of any start."""
    port = _port()
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", BARE_APP, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        return _first_200(proc, f"http://127.0.0.1:{port}/healthz", t)
    finally:
        stop(proc)


def start(url: str, var: Path) -> tuple[subprocess.Popen[bytes], str, float, float]:
    """A worker started now, the seconds to its first 200 from /healthz and to its first answered search."""
    port = _port()
    base = f"http://127.0.0.1:{port}"
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "smeai", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=_env(url, var),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    health = _first_200(proc, f"{base}/healthz", t)
    while True:
        if proc.poll() is not None:
            raise SystemExit("the server exited")
        try:
            r = httpx.get(f"{base}/api/v1/offerings", params={"q": QUERY}, headers=HEADERS, timeout=300)
            if r.status_code == 200:
                return proc, base, health, time.perf_counter() - t
            if r.status_code != 503:  # anything but "not ready yet" is a broken benchmark
                raise SystemExit(f"search answered {r.status_code}: {r.text[:200]}")
        except httpx.HTTPError:
            pass
        time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def edit_lag(url: str, base: str) -> float:
    """Rename one offering here (an ORM write: bumps the change stamp), then search for it there."""
    session = get_sessionmaker(url)()
    offering = session.get(Offering, 7)
    assert offering is not None
    word = f"冷启动{random.randint(10_000, 99_999)}号"
    offering.name, offering.updated_at = f"{offering.name}{word}", datetime.now(UTC)
    session.commit()
    t = time.perf_counter()
    while True:
        r = httpx.get(f"{base}/api/v1/offerings", params={"q": word}, headers=HEADERS, timeout=30)
        if r.json()["total"] == 1:
            return time.perf_counter() - t
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--db", default=None, help="an empty database URL (default: a fresh SQLite file)")
    parser.add_argument("--pg", action="store_true", help="a PostgreSQL database of its own (made and dropped)")
    parser.add_argument("--runs", type=int, default=3, help="worker starts measured")
    parser.add_argument("--no-store", action="store_true", help="also start once without a stored index")
    parser.add_argument(
        "--reuse", action="store_true", help="--db already holds the pool and its stored index (a previous run's)"
    )
    args = parser.parse_args()
    print(f"load average at start: {loadavg()}")

    var = Path(tempfile.mkdtemp())
    url = args.db or f"sqlite:///{var}/bench.db"
    if args.pg:
        url = pg_database(PG_BASE, "smeai_cold", create=True)
        try:
            run(args, url, var)
        finally:
            pg_database(PG_BASE, "smeai_cold", create=False)
        return
    run(args, url, var)


PG_BASE = os.environ.get("SMEAI_LOAD_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


def run(args: argparse.Namespace, url: str, var: Path) -> None:
    if args.reuse:
        sign_in(url)
        print(f"pool and stored index reused from {url}")
        measure(url, var, args.runs, args.size)
        return
    print(f"database: {url}")
    upgrade(url)
    providers, rows = synthesize(args.size, random.Random(7))
    session = get_sessionmaker(url)()
    t = time.perf_counter()
    session.execute(insert(Organisation), providers)
    for i in range(0, len(rows), 5000):
        session.execute(insert(Offering), rows[i : i + 5000])
    if url.startswith("postgresql"):  # the providers came with their ids: move the sequence past them
        for table in ("organisations", "offerings"):
            session.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            )
    session.commit()
    session.close()
    sign_in(url)
    print(
        f"pool: {args.size:,} offerings ({len({r['name'] for r in rows}):,} distinct names) stored in "
        f"{time.perf_counter() - t:.1f} s ({url.split(':')[0]})"
    )

    if args.no_store:  # before the index is stored
        proc, _base, _health, first = start(url, var)
        print(f"cold start without a stored index: first search answered after {first:.1f} s; {_memory(proc.pid)}")
        stop(proc)

    t = time.perf_counter()
    built = subprocess.run(
        [sys.executable, "-m", "smeai", "catalog", "index", "build"], env=_env(url, var), capture_output=True, text=True
    )
    print(f"`smeai catalog index build`: {time.perf_counter() - t:.1f} s: {built.stdout.strip() or built.stderr}")

    measure(url, var, args.runs, args.size)


BREAKDOWN = """
import sys, time
t = time.perf_counter()
from smeai.app import create_app
app = create_app()
a = time.perf_counter()
from smeai import text
text.tokens("质检")
b = time.perf_counter()
from smeai.catalog import index
from smeai.db import get_sessionmaker
with get_sessionmaker(sys.argv[1])() as session:
    index.pool_index(session)
c = time.perf_counter()
print(f"{a - t:.2f} {b - a:.2f} {c - b:.2f}")
"""


def measure(url: str, var: Path, runs: int, size: int) -> None:
    parts = subprocess.run(
        [sys.executable, "-c", BREAKDOWN, url], env=_env(url, var), capture_output=True, text=True
    ).stdout.split()
    if len(parts) == 3:
        print(
            f"in one process: imports and the app {parts[0]} s, the segmenter's dictionary {parts[1]} s, "
            f"the stored index loaded and indexed {parts[2]} s"
        )
    starts, healths, bares, rss, peak, lags = [], [], [], [], [], []
    for run in range(runs):
        bare = bare_start()
        proc, base, health, first = start(url, var)
        for q in ("质检", "能耗", "排产 智能体", ""):  # a few more searches, then memory
            httpx.get(f"{base}/api/v1/offerings", params={"q": q}, headers=HEADERS, timeout=30)
        memory = _memory(proc.pid)
        lag = edit_lag(url, base)
        stop(proc)
        starts.append(first)
        healths.append(health)
        bares.append(bare)
        rss.append(memory["VmRSS"])
        peak.append(memory["VmHWM"])
        lags.append(lag)
        print(
            f"run {run + 1}: first search after {first:.2f} s (its /healthz after {health:.2f} s; a bare FastAPI "
            f"app's first 200 after {bare:.2f} s); RSS {memory['VmRSS']} MiB (peak {memory['VmHWM']} MiB); "
            f"an edit elsewhere searchable after {lag * 1000:.0f} ms"
        )
    first, health, bare = (statistics.median(x) for x in (starts, healths, bares))
    print(
        f"cold start to the first answered search at {size:,} offerings ({url.split(':')[0]}): median {first:.2f} s "
        f"(max {max(starts):.2f}); worker RSS median {statistics.median(rss)} MiB (peak {max(peak)} MiB); "
        f"edit lag median {statistics.median(lags) * 1000:.0f} ms (max {max(lags) * 1000:.0f})"
    )
    print(
        f"baselines in the same run (medians): the worker's first /healthz {health:.2f} s, a bare FastAPI app "
        f"{bare:.2f} s; the first search came {first / health:.1f}x the worker's /healthz and {first / bare:.1f}x "
        f"the bare app ({first - health:.2f} s after /healthz: the stored index, the rows since, the search)"
    )
    print(f"load average at end: {loadavg()}")


if __name__ == "__main__":
    main()
