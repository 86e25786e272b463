"""Vouchers: admission under concurrency, and the calculator's latency.

  * admission: A applications (made through the service) approved by W worker processes at once, each
    application raced by two of them, against one pool smaller than the demand: throughput, p50/p95
    latency per approval, the outcome counts, and the audit (which must pass);
  * calculator: `calculate()` for one enterprise and one purchase against every programme (p50/p95).

    .venv/bin/python benchmarks/subsidy_admission.py [--apps 400] [--workers 8] [--db URL]

The default database is a fresh SQLite file; pass a PostgreSQL URL of an empty database to measure that.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests import builders  # noqa: E402
from tests.subsidy import builders as sb  # noqa: E402
from tests.subsidy.stress import run_workers  # noqa: E402

from smeai.auth.actor import Actor  # noqa: E402
from smeai.db import get_sessionmaker  # noqa: E402
from smeai.domains import import_all_models  # noqa: E402
from smeai.migrate import upgrade  # noqa: E402
from smeai.subsidy import documents, service  # noqa: E402
from smeai.subsidy.programmes import DocKind  # noqa: E402
from smeai.subsidy.schemas import ApplicationIn, PurchaseIn  # noqa: E402

WAN = 1_000_000


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", type=int, default=400)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--orgs", type=int, default=40)
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="smeai-subsidy-bench-"))
    url = args.db or f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    import_all_models()
    session = get_sessionmaker(url)()
    op = builders.operator(session)
    ents = [sb.wuhan_enterprise(session) for _ in range(args.orgs)]
    budget = args.orgs * 10 * WAN  # half of what the per-enterprise caps would allow: both limits bind
    service.set_pool_budget(session, op, "wuhan-compute", budget)
    ids = []
    for i in range(args.apps):
        ent = ents[i % len(ents)]
        app = service.submit_application(
            session,
            ent,
            ApplicationIn(
                programme_code="wuhan-compute",
                description="GPU",
                kind="compute",
                supplier_name="汉算科技",
                contract_no=f"B-{i}",
                contract_fen=(10 + i % 31) * WAN,
            ),
        )
        documents.add_document(
            session, ent, app.id, kind=DocKind.CONTRACT, filename="c.pdf", data=sb.PDF, var_dir=tmp, max_bytes=10_000
        )
        ids.append(app.id)
    session.commit()

    items = [{"user_id": op.user_id, "org_id": op.org_id, "application_id": i} for i in ids for _ in (0, 1)]
    started = time.perf_counter()
    answers = run_workers(url, tmp, "approve", [items[k :: args.workers] for k in range(args.workers)])
    wall = time.perf_counter() - started
    latencies = [a[3] for a in answers]
    report = service.audit(session, Actor.system())
    print(
        f"admission ({url.split(':')[0]}, {args.workers} processes): {len(answers)} approvals of {args.apps} "
        f"applications in {wall:.2f} s = {len(answers) / wall:.0f}/s (incl. process start); "
        f"p50 {_pct(latencies, 0.5):.1f} ms, p95 {_pct(latencies, 0.95):.1f} ms per approval"
    )
    print(f"  outcomes: {dict(Counter(a[2] for a in answers))}; audit ok: {report.ok} {report.checked}")

    purchase = PurchaseIn(description="GPU", kind="compute", contract_fen=30 * WAN)
    times = []
    for _ in range(300):
        t = time.perf_counter()
        service.calculate(session, ents[0], purchase)
        times.append(time.perf_counter() - t)
    print(
        f"calculator: {len(service.list_programmes())} programmes, p50 {_pct(times, 0.5):.2f} ms, "
        f"p95 {_pct(times, 0.95):.2f} ms per call"
    )
    session.close()
    if not report.ok:
        raise SystemExit("audit failed: " + "; ".join(report.problems[:5]))


if __name__ == "__main__":
    main()
