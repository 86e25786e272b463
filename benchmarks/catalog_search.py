"""Resource-pool search: latency and index build time on a synthetic pool, beside a SQL LIKE baseline.

Builds a pool of N offerings (default 100,000) by varying the demo pool (names, providers, industries,
regions, prices), stores it in a fresh database through the real schema, then measures
  * index build time (cold: every row segmented; after one edit: that row alone read again; the index
    stored in the database and loaded back, as a new worker does),
  * p50/p95/max latency of `smeai.catalog.index` searches (text + synonyms + facets + filters + a page),
  * the same queries as a plain `LIKE '%q%'` over name/summary/description/tags (count + first page),
and how many queries each answers with nothing (LIKE has no segmentation and no synonyms).

    .venv/bin/python benchmarks/catalog_search.py [--size 100000] [--repeat 5] [--db URL]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import func, insert, or_, select  # noqa: E402

from smeai import taxonomy  # noqa: E402
from smeai.auth.models import Organisation  # noqa: E402
from smeai.catalog import index as pool_index  # noqa: E402
from smeai.catalog.models import Offering  # noqa: E402
from smeai.db import get_sessionmaker  # noqa: E402
from smeai.migrate import upgrade  # noqa: E402

SEED = ROOT / "src" / "smeai" / "catalog" / "data" / "demo-pool.jsonl"
CITIES = [
    "苏州",
    "宁波",
    "佛山",
    "东莞",
    "保定",
    "南昌",
    "合肥",
    "成都",
    "青岛",
    "温州",
    "泉州",
    "长沙",
    "郑州",
    "无锡",
]
SUFFIXES = ["", "专业版", "标准版", "轻量版", "私有化版", "行业版", "2.0", "Pro", "云版", "边缘版"]
QUERIES = [
    "瑕疵检测",
    "质检",
    "外观检测 私有化",
    "智能客服",
    "客服机器人",
    "排产",
    "排程",
    "插单 排产",
    "预测性维护",
    "设备故障",
    "能耗",
    "电费",
    "节能 钢铁",
    "库存",
    "补货",
    "仓储",
    "物流调度",
    "精准营销",
    "投放",
    "短视频",
    "文案",
    "财税",
    "发票",
    "报销",
    "知识库",
    "文档问答",
    "会议纪要",
    "招聘",
    "经营分析",
    "报表",
    "一体机",
    "大模型一体机",
    "算力",
    "GPU",
    "数据集",
    "培训",
    "工艺参数",
    "注塑",
    "纺织 验布",
    "化工 安全",
    "我们厂想找个能自动挑次品的系统",
    "小厂 排单 交期",
    "数据不出厂 知识库",
]
FILTERS = [
    {},
    {"kind": ["saas"]},
    {"industry": ["C33"], "region": "44"},
    {"deployment": ["private"], "max_price_wan": 50},
    {"price_band": ["1-5", "5-20"], "stage": 1},
    {"scenario": ["quality_inspection"], "sort": "price_asc"},
]


def synthesize(size: int, rng: random.Random) -> tuple[list[dict], list[dict]]:
    seeds = [json.loads(line) for line in SEED.read_text(encoding="utf-8").splitlines()]
    tax = taxonomy.load()
    sections, groups, divisions = list(tax.sections), list(tax.groups), list(tax.divisions)
    provinces = list(tax.provinces)
    providers = [
        {"id": i + 1, "name": f"{rng.choice(CITIES)}{i:05d}智能科技有限公司", "kind": "provider"} for i in range(3000)
    ]
    now = datetime.now(UTC)
    rows = []
    for i in range(size):
        s = seeds[i % len(seeds)]
        industries = s["industries"]
        if rng.random() < 0.5:
            pick = rng.random()
            industries = (
                ["*"]
                if pick < 0.2
                else [rng.choice(sections)]
                if pick < 0.4
                else [rng.choice(groups)]
                if pick < 0.7
                else [f"C{rng.choice(divisions)}"]
            )
        regions = ["*"] if rng.random() < 0.4 else rng.sample(provinces, rng.randint(1, 4))
        price = (
            0 if s["pricing"]["model"] == "free" else round(s["pricing"]["entry_price_wan"] * rng.uniform(0.5, 2), 1)
        )
        lo = rng.randint(0, 2)
        rows.append(
            {
                "ext_id": f"syn-{i:06d}",
                "provider_id": rng.randint(1, len(providers)),
                "name": f"{rng.choice(CITIES)}{s['name']}{rng.choice(SUFFIXES)}",
                "kind": s["kind"],
                "summary": s["summary"],
                "description": s.get("description"),
                "industries": industries,
                "scenarios": s["scenarios"],
                "deployment": s["deployment"],
                "regions": regions,
                "tags": s["tags"],
                "voucher_eligible": s["voucher_eligible"],
                "pricing_model": s["pricing"]["model"],
                "entry_price_fen": round(price * 1_000_000),  # the column is in fen (smeai.money), not wan
                "pricing_note": None,
                "min_stage": lo,
                "max_stage": rng.randint(lo, 4),
                "status": "published",
                "created_at": now,
                "updated_at": now - timedelta(seconds=size - i),
                "published_at": now - timedelta(seconds=size - i),
            }
        )
    for p in providers:
        p |= {"created_at": now, "updated_at": now}
    return providers, rows


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def like_search(session, q: str) -> tuple[int, list[int]]:
    words = q.split()
    conds = []
    for w in words:
        pattern = f"%{w}%"
        conds.append(
            or_(
                Offering.name.like(pattern),
                Offering.summary.like(pattern),
                Offering.description.like(pattern),
                func.cast(Offering.tags, Offering.summary.type).like(pattern),
            )
        )
    where = [Offering.status == "published", Offering.deleted_at.is_(None), *conds]
    total = session.scalar(select(func.count(Offering.id)).where(*where))
    ids = list(session.scalars(select(Offering.id).where(*where).order_by(Offering.published_at.desc()).limit(20)))
    return total, ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file)")
    parser.add_argument(
        "--dump", type=Path, help="write each query's total and first page here (JSON), to compare runs"
    )
    args = parser.parse_args()

    url = args.db or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    upgrade(url)
    rng = random.Random(7)
    providers, rows = synthesize(args.size, rng)
    session = get_sessionmaker(url)()
    t = time.perf_counter()
    session.execute(insert(Organisation), providers)
    for start in range(0, len(rows), 5000):
        session.execute(insert(Offering), rows[start : start + 5000])
    session.commit()
    print(f"pool: {args.size:,} offerings stored in {time.perf_counter() - t:.1f} s ({url.split(':')[0]})")

    t = time.perf_counter()
    index = pool_index.pool_index(session)  # cold: reads and segments every row
    cold = time.perf_counter() - t
    first = session.get(Offering, 1)
    first.name, first.updated_at = first.name + "（更新）", datetime.now(UTC)
    session.commit()  # an ORM write: bumps the change stamp
    t = time.perf_counter()
    index = pool_index.pool_index(session)  # warm: the one changed row read again, the others kept
    warm = time.perf_counter() - t
    t = time.perf_counter()
    size = pool_index.store(session, pool_index.build(session))
    session.commit()
    stored = time.perf_counter() - t
    pool_index._states.clear()  # as a new process: starts from the stored index
    t = time.perf_counter()
    index = pool_index.pool_index(session)
    loaded = time.perf_counter() - t
    print(
        f"index build: cold {cold:.1f} s, update after one edit {warm:.2f} s, "
        f"stored {size / 2**20:.0f} MiB in {stored:.1f} s, loaded from it {loaded:.2f} s"
    )

    latencies, with_rows, empty, answers = [], [], 0, {}
    for q in QUERIES:
        for f in FILTERS:
            query = pool_index.OfferingQuery(q=q, **f)
            for _ in range(args.repeat):
                t = time.perf_counter()
                result = index.search(query)
                latencies.append((time.perf_counter() - t) * 1000)
            answers[f"{q} {json.dumps(f, ensure_ascii=False)}"] = [result.total, result.ids]
            t = time.perf_counter()
            pool_index.search_offerings(session, query)  # as a page does: stamp check + search
            with_rows.append((time.perf_counter() - t) * 1000)
            if not f and result.total == 0:
                empty += 1
    browse = []
    for f in FILTERS:
        for _ in range(args.repeat):
            t = time.perf_counter()
            index.search(pool_index.OfferingQuery(**f))
            browse.append((time.perf_counter() - t) * 1000)

    like, like_empty = [], 0
    for q in QUERIES:
        for _ in range(max(1, args.repeat // 2)):
            t = time.perf_counter()
            total, _ids = like_search(session, q)
            like.append((time.perf_counter() - t) * 1000)
        like_empty += total == 0

    def line(name: str, values: list[float]) -> str:
        return (
            f"{name:<34} n={len(values):>5}  p50 {statistics.median(values):7.1f} ms"
            f"  p95 {pct(values, 0.95):7.1f} ms  max {max(values):7.1f} ms"
        )

    print(line("index: query + facets + filters", latencies))
    print(line("index: browse (no query)", browse))
    print(line("index: incl. change check", with_rows))
    print(line("SQL LIKE baseline (count + page)", like))
    print(f"queries with no result: index {empty}/{len(QUERIES)}, LIKE {like_empty}/{len(QUERIES)}")
    if args.dump:
        args.dump.write_text(json.dumps(answers, ensure_ascii=False, indent=0), encoding="utf-8")


if __name__ == "__main__":
    main()
