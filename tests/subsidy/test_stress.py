"""Hundreds of concurrent applications and approvals from many processes against one pool, on each backend:
no cap is ever exceeded, the ledger balances, and every request gets a definite answer. Then a server is
killed in the middle of approvals and the audit still passes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict

import httpx
from sqlalchemy import select
from typer.testing import CliRunner

from smeai.auth import service as auth_service
from smeai.auth.models import User
from smeai.cli import app as cli_app
from smeai.config import get_settings
from smeai.db import utcnow
from smeai.subsidy import ledger, service
from smeai.subsidy.models import Application, Pool
from smeai.subsidy.programmes import all_programmes
from smeai.subsidy.schemas import ApplicationState
from tests import builders
from tests.subsidy import builders as sb
from tests.subsidy.builders import WAN
from tests.subsidy.stress import run_workers

WORKERS = 6
ORGS = 12
APPS_PER_ORG = 8  # 104 applications (8 filed twice), then 192 approvals (each application raced by two workers)
BUDGET = 180 * WAN  # less than 12 enterprises × 20 万 cap: the pool binds as well as the per-enterprise cap
DEFINITE = {
    "ok",
    "budget_exhausted",
    "cap_reached",
    "wrong_state",
    "already_claimed",
    "replayed",
    "idempotency_key_in_flight",
}


def _chunks(items: list, n: int) -> list[list]:
    return [items[i::n] for i in range(n)]


def test_concurrent_applications_and_approvals_never_pass_a_cap(session, db_url, tmp_path):
    started = time.monotonic()
    op = builders.operator(session)
    ents = [sb.wuhan_enterprise(session) for _ in range(ORGS)]
    service.set_pool_budget(session, op, "wuhan-compute", BUDGET)
    session.commit()

    # phase 1: applications; 8 contracts are filed twice, by different processes at once
    applications = []
    for i, ent in enumerate(ents):
        for j in range(APPS_PER_ORG):
            contract_fen = (10 + (i * 7 + j * 3) % 31) * WAN  # 10..40 万: requests of 5..20 万
            no = f"DUP-{i}" if j == 0 and i < 8 else f"C-{i}-{j}"
            applications.append(
                {
                    "user_id": ent.user_id,
                    "org_id": ent.org_id,
                    "data": {
                        "programme_code": "wuhan-compute",
                        "description": "GPU 算力",
                        "kind": "compute",
                        "supplier_name": "汉算科技",
                        "contract_no": no,
                        "contract_fen": contract_fen,
                    },
                }
            )
    applications += [dict(a) for a in applications if a["data"]["contract_no"].startswith("DUP-")]
    answers = run_workers(db_url, tmp_path, "apply", _chunks(applications, WORKERS))
    assert len(answers) == len(applications)
    assert {a[2] for a in answers} <= DEFINITE, [a for a in answers if a[2] not in DEFINITE][:5]
    assert Counter(a[2] for a in answers)["already_claimed"] == 8
    app_ids = [a[1] for a in answers if a[2] == "ok"]

    # phase 2: every application approved by two processes at once; for every other one, the two are the same
    # request retried under one Idempotency-Key
    base = {"user_id": op.user_id, "org_id": op.org_id}
    approvals = [base | {"application_id": i} | ({"key": f"k-{i}"} if i % 2 else {}) for i in app_ids for _ in (0, 1)]
    answers = run_workers(db_url, tmp_path, "approve", _chunks(approvals, WORKERS))
    assert len(answers) == len(approvals)
    assert {a[2] for a in answers} <= DEFINITE, [a for a in answers if a[2] not in DEFINITE][:5]
    outcome = Counter(a[2] for a in answers)
    assert outcome["budget_exhausted"] and outcome["cap_reached"] and outcome["wrong_state"], outcome
    approved_per_app = Counter(a[1] for a in answers if a[2] == "ok")
    assert max(approved_per_app.values()) == 1  # never approved twice, keyed or not
    assert {a[1] for a in answers if a[2] == "replayed"} <= set(approved_per_app)  # a replay is of a success

    session.expire_all()
    apps = session.scalars(select(Application)).all()
    approved = [a for a in apps if a.state == ApplicationState.APPROVED]
    assert {a.id for a in approved} == set(approved_per_app)
    key = ledger.pool_key(all_programmes()["wuhan-compute"], utcnow().year)  # an annual pool: this year's
    pool = session.scalar(select(Pool).where(Pool.programme_code == key))
    assert pool.reserved_fen == sum(a.approved_fen for a in approved) <= BUDGET
    per_org: dict[int, int] = defaultdict(int)
    for a in approved:
        per_org[a.org_id] += a.approved_fen
    assert max(per_org.values()) <= 20 * WAN
    report = service.audit(session, op)
    assert report.ok, report.problems
    assert time.monotonic() - started < 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_killing_the_server_mid_approvals_leaves_an_auditable_ledger(session, db_url, tmp_path, monkeypatch):
    op = builders.operator(session)
    ents = [sb.wuhan_enterprise(session) for _ in range(6)]
    ids = [
        sb.apply(
            session,
            ents[i % 6],
            (10 + i % 20) * WAN,
            programme_code="wuhan-compute",
            kind="compute",
            signed_on=None,
            starts_on=None,
            ends_on=None,
        ).id
        for i in range(48)
    ]
    service.set_pool_budget(session, op, "wuhan-compute", 100 * WAN, year=sb.TODAY.year)  # the claims' year
    secret, _ = auth_service.issue_token(session, session.get(User, op.user_id), kind="api", lifetime=None)
    session.commit()

    port = _free_port()
    env = os.environ | {
        "SMEAI_DATABASE_URL": db_url,
        "SMEAI_VAR_DIR": str(tmp_path / "var"),
        "SMEAI_SECRET_KEY": "stress-test-key",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "smeai.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, server.stderr.read().decode()[-2000:] if server.stderr else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        answers: list[int | str] = []

        def fire(chunk: list[int]) -> None:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {secret}"}, timeout=10) as c:
                for app_id in chunk:
                    try:
                        answers.append(
                            c.post(
                                f"/api/v1/subsidy/applications/{app_id}/approve",
                                json={},
                                headers={"Idempotency-Key": f"kill-{app_id}"},
                            ).status_code
                        )
                    except httpx.HTTPError as exc:
                        answers.append(type(exc).__name__)  # the server died under this request

        threads = [threading.Thread(target=fire, args=(ids[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        while len(answers) < 12 and any(t.is_alive() for t in threads):
            time.sleep(0.005)
        server.send_signal(signal.SIGKILL)  # no shutdown, no cleanup: transactions in flight just stop
        server.wait(timeout=10)
        for t in threads:
            t.join(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert any(a == 200 for a in answers) and any(not isinstance(a, int) for a in answers), answers

    session.expire_all()
    report = service.audit(session, op)
    assert report.ok, report.problems
    approved = session.scalars(select(Application).where(Application.state == ApplicationState.APPROVED)).all()
    assert len(approved) >= answers.count(200)  # every 200 was committed before it was sent
    monkeypatch.setenv("SMEAI_DATABASE_URL", db_url)  # `smeai subsidy audit` against the same database
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["subsidy", "audit"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "ledger ok" in result.output
