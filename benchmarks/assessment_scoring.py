"""Self-diagnosis: scoring speed, and the peer benchmark over many stored assessments.

* scoring: validate + score + recommend random answer sets of every instrument (p50/p95 per answer set);
* peers: N enterprises with a completed assessment stored in a fresh database through the real schema
  (rows inserted in bulk, results computed by the engine), then the latency of `benchmark()` for one of
  them (peer query, widening, percentile, distribution, dimension medians).

  .venv/bin/python benchmarks/assessment_scoring.py [--answers 2000] [--peers 20000] [--db URL]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from tests.assessment.answers import answer_sets  # noqa: E402

from smeai import taxonomy  # noqa: E402
from smeai.assessment import benchmark, instruments  # noqa: E402
from smeai.assessment.diagnosis import evaluate  # noqa: E402
from smeai.assessment.models import Assessment  # noqa: E402
from smeai.assessment.scoring import check_answers  # noqa: E402
from smeai.auth.actor import Actor  # noqa: E402
from smeai.auth.models import Organisation  # noqa: E402
from smeai.db import get_sessionmaker, utcnow  # noqa: E402
from smeai.migrate import upgrade  # noqa: E402


def sample_answers(inst: instruments.Instrument, n: int) -> list[dict]:
    out: list[dict] = []

    @settings(max_examples=n, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def draw(data: st.DataObject) -> None:
        out.append(data.draw(answer_sets(inst)))

    draw()
    return out[:n]


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def bench_scoring(n: int) -> dict:
    report = {}
    for inst in instruments.current().values():
        sets = sample_answers(inst, n)
        times = []
        for answers in sets:
            t = time.perf_counter()
            evaluate(inst, check_answers(inst, answers))
            times.append((time.perf_counter() - t) * 1000)
        report[inst.id] = {
            "answer_sets": len(sets),
            "p50_ms": round(pct(times, 50), 3),
            "p95_ms": round(pct(times, 95), 3),
            "per_second": round(1000 / statistics.mean(times)),
        }
    return report


def bench_peers(url: str, n: int) -> dict:
    upgrade(url)
    inst = instruments.get_instrument("smeai-ai-maturity")
    results = [evaluate(inst, check_answers(inst, a)).model_dump(mode="json") for a in sample_answers(inst, 300)]
    rng = random.Random(7)
    provinces = ["44", "33", "32", "37", "13", "36"]
    divisions = ["33", "39", "26", "34", "18", "31"]
    bands = ["0-2", "2-4", "4-6"]
    session = get_sessionmaker(url)()
    t0 = time.perf_counter()
    orgs = [
        {
            "id": i + 1,
            "name": f"企业{i}",
            "kind": "enterprise",
            "industry_section": "C",
            "mfg_division": rng.choice(divisions),
            "province_code": rng.choice(provinces),
            "revenue_band": rng.choice(bands),
            "created_at": utcnow(),
            "updated_at": utcnow(),
        }
        for i in range(n)
    ]
    session.execute(insert(Organisation), orgs)
    rows = []
    for i in range(n):
        r = rng.choice(results)
        rows.append(
            {
                "org_id": i + 1,
                "instrument_id": inst.id,
                "instrument_version": inst.version,
                "status": "completed",
                "answers": {},
                "result": r,
                "overall": r["overall"],
                "level_rank": r["level"]["rank"],
                "created_at": utcnow(),
                "updated_at": utcnow(),
                "completed_at": utcnow(),
            }
        )
    session.execute(insert(Assessment), rows)
    session.commit()
    load_s = time.perf_counter() - t0
    actor = Actor.system()
    times = []
    for k in range(5):
        t = time.perf_counter()
        out = benchmark.benchmark(session, actor, 1 + k * (n // 5), small_cell_min=10)
        times.append((time.perf_counter() - t) * 1000)
    session.close()
    return {
        "enterprises": n,
        "load_s": round(load_s, 1),
        "benchmark_p50_ms": round(statistics.median(times), 1),
        "benchmark_max_ms": round(max(times), 1),
        "example_peer_group": out.peer_group,
        "example_peers": out.peers,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=2000)
    parser.add_argument("--peers", type=int, default=20000)
    parser.add_argument("--db", default=None, help="SQLAlchemy URL of an empty database (default: temp SQLite)")
    args = parser.parse_args()
    taxonomy.load()
    report = {"scoring": bench_scoring(args.answers)}
    with tempfile.TemporaryDirectory() as tmp:
        report["peers"] = bench_peers(args.db or f"sqlite:///{tmp}/bench.db", args.peers)
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
