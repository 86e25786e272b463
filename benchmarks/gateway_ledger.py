"""Gateway ledger on PostgreSQL: a call's hold and settlement as a transaction each (BEGIN, the statements,
COMMIT: how the data plane wrote them before session 9) against one statement each in autocommit (how it
writes them now, `proxy._write`), in one process, interleaved A B A B.

THREADS threads (the data plane's worker threads) each take a hold through `proxy._prepare` and settle it,
CALLS times, all on one key and one wallet, so every write queues on the key's and the wallet's rows, as
the calls of `benchmarks/gateway.py --pg` do. Printed per run: holds and settlements per second, the hold's
latency p50/p95, and this process's CPU per call (the PostgreSQL backends' not included). No HTTP, no
upstream: what the ledger's writes cost and how long they keep the rows locked, which the end-to-end
benchmark cannot show on a loaded 2-core machine.

    .venv/bin/python benchmarks/gateway_ledger.py [--threads 8] [--calls 40] [--repeats 3]

A database of its own, `smeai_gateway_ledger_bench`, made and dropped on SMEAI_LOAD_PG (default
postgresql+psycopg://postgres@127.0.0.1:5432). Quote the figures with the load average printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from load import pg_database  # noqa: E402

PG_BASE = os.environ.get("SMEAI_LOAD_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
PG_NAME = "smeai_gateway_ledger_bench"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--calls", type=int, default=40, help="holds and settlements per thread and run")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each way, interleaved")
    args = parser.parse_args()

    from tests.gateway.conftest import chat, setup_org

    from smeai.db import get_engine, get_sessionmaker
    from smeai.gateway import proxy
    from smeai.gateway.ledger import Metered
    from smeai.migrate import upgrade

    print("load average before:", Path("/proc/loadavg").read_text().strip())
    url = pg_database(PG_BASE, PG_NAME, create=True)
    try:
        upgrade(url)
        with get_sessionmaker(url)() as session:  # no call reaches the upstream: its address is never used
            s = setup_org(session, "http://127.0.0.1:9/v1", fen=10**8, key={"concurrency": 64})
        used = Metered(prompt_tokens=3, completion_tokens=4, estimated=False, status="ok")
        body = chat("Say hello.", max_tokens=4, stream=True)
        ways: dict[str, Callable[..., Any]] = {
            "transaction": proxy._in_transaction,
            "one statement": proxy._alone,
        }

        def run(way: str, calls: int) -> None:
            write = ways[way]
            latencies: list[float] = []

            def worker() -> None:
                for _ in range(calls):
                    t = time.perf_counter()
                    prepared = write(url, proxy._prepare, (url, s.secret, body, None))
                    latencies.append(time.perf_counter() - t)
                    write(url, proxy._settle, (prepared.held, used))

            threads = [threading.Thread(target=worker) for _ in range(args.threads)]
            t0, cpu0 = time.perf_counter(), time.process_time()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            latencies.sort()
            n = len(latencies)
            print(
                f"{way:14} {n} calls  {n / wall:6.0f} calls/s  hold p50 {1000 * latencies[n // 2]:6.1f} ms"
                f"  p95 {1000 * latencies[int(n * 0.95)]:6.1f} ms  CPU per call {1000 * cpu / n:5.2f} ms"
            )

        for way in ways:  # warm: connections, prepared statements
            run(way, 5)
        print(f"--- {args.threads} threads x {args.calls} calls, one key")
        for _ in range(args.repeats):
            for way in ways:
                run(way, args.calls)
    finally:
        get_engine(url).dispose()
        pg_database(PG_BASE, PG_NAME, create=False)
    print("load average after:", Path("/proc/loadavg").read_text().strip())


if __name__ == "__main__":
    main()
