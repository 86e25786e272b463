"""Scheduled jobs: each runs once per period however many runners poll, records its outcome, and does
its domain's work (voucher expiry) through the domain's service."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from sqlalchemy import update
from typer.testing import CliRunner

from smeai.cli import app as cli_app
from smeai.db import utcnow
from smeai.jobs import registry, runner
from smeai.jobs.models import JobRun
from smeai.subsidy import service as subsidy
from smeai.subsidy.schemas import ApplicationState
from tests import builders
from tests.subsidy import builders as sb
from tests.subsidy.builders import TODAY

NAMES = {job.name for job in registry.JOBS}


def test_a_round_runs_every_job_once_and_the_next_round_only_what_is_due_again(settings, session):
    first = runner.run_due(settings, me="a")
    assert {o.name for o in first} == NAMES and all(o.status == "ok" for o in first)
    assert runner.run_due(settings, me="b") == []
    later = runner.run_due(settings, me="b", now=utcnow() + timedelta(hours=2))
    hourly = {
        "subsidy-expiry",
        "mail-outbox",
        "gateway-sweep",
        "catalog-index",
        "matching-embeddings",
        "survey-imports",
    }
    assert {o.name for o in later} == hourly  # not the daily audit


def test_runners_polling_at_once_run_each_job_exactly_once(settings, session):
    ran: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def poll(me: str) -> None:
        barrier.wait()
        try:
            ran.extend(o.name for o in runner.run_due(settings, me=me))
        except BaseException as exc:  # surfaced below: a runner must not crash on a lost race
            errors.append(exc)

    threads = [threading.Thread(target=poll, args=(f"runner-{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(ran) == sorted(NAMES)


def test_a_job_held_by_a_live_runner_is_skipped_and_a_dead_runners_claim_lapses(settings, session):
    runner.run_due(settings, me="a")
    soon = utcnow() + timedelta(hours=2)
    session.execute(update(JobRun).where(JobRun.name == "subsidy-expiry").values(locked_by="dead", locked_until=soon))
    session.commit()
    assert "subsidy-expiry" not in {o.name for o in runner.run_due(settings, me="b", now=soon - timedelta(minutes=1))}
    after = runner.run_due(settings, me="b", now=soon + timedelta(minutes=1))
    assert "subsidy-expiry" in {o.name for o in after}


def test_a_failing_job_is_recorded_and_the_others_still_run(settings, session, monkeypatch):
    def broken(_settings):
        raise RuntimeError("boom")

    jobs = tuple(
        registry.Job(j.name, j.every, j.description, broken if j.name == "mail-outbox" else j.run)
        for j in registry.JOBS
    )
    monkeypatch.setattr(runner, "JOBS", jobs)
    outcomes = {o.name: o for o in runner.run_due(settings, me="a")}
    assert outcomes["mail-outbox"].status == "failed" and "boom" in outcomes["mail-outbox"].message
    assert outcomes["subsidy-expiry"].status == "ok"
    state = {s.name: s for s in runner.states(settings)}
    assert state["mail-outbox"].last_status == "failed" and state["mail-outbox"].next_run_at is not None


def test_voucher_expiry_runs_without_a_person(settings, session):
    ent, op = sb.beijing_enterprise(session), builders.operator(session)
    app = sb.apply(session, ent)
    subsidy.approve_application(session, op, app.id, today=TODAY)  # redeem-by date long past
    session.commit()
    (outcome,) = [o for o in runner.run_due(settings, me="a") if o.name == "subsidy-expiry"]
    assert outcome.message == "1 application(s) expired"
    session.expire_all()
    assert subsidy.get_application(session, op, app.id).state == ApplicationState.EXPIRED
    audit = [o for o in runner.run_due(settings, me="a", now=utcnow() + timedelta(days=2)) if o.name == "subsidy-audit"]
    assert audit[0].status == "ok"


def test_jobs_list_shows_last_and_next_runs(settings, session, monkeypatch):
    monkeypatch.setattr("smeai.jobs.cli.get_settings", lambda: settings)
    runner.run_due(settings, me="a")
    out = CliRunner().invoke(cli_app, ["jobs", "list", "--json"])
    assert out.exit_code == 0, out.output
    rows = {r["name"]: r for r in json.loads(out.output)}
    assert set(rows) == NAMES
    assert rows["mail-outbox"]["last_status"] == "ok" and rows["mail-outbox"]["next_run_at"]
