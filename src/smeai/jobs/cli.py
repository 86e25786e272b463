"""`smeai jobs ...`: run the scheduled jobs (a loop, or one round) and list their last and next runs."""

from __future__ import annotations

from typing import Annotated

import typer

from smeai.cli_support import JsonFlag, console, emit
from smeai.config import get_settings
from smeai.jobs import runner
from smeai.ops import logs

NAME = "jobs"
app = typer.Typer(help="Scheduled jobs: voucher expiry, the email outbox, the voucher audit.")


@app.command("run")
def run(
    once: Annotated[bool, typer.Option("--once", help="Run what is due once and exit (cron, tests).")] = False,
    poll_seconds: Annotated[float, typer.Option(min=1, help="Seconds between rounds of the loop.")] = 30.0,
) -> None:
    """Run due jobs in a loop (every worker or host may run one: each job still runs once per period)."""
    settings = get_settings()
    logs.configure(json=settings.log_json, level=settings.log_level)
    if once:
        for outcome in runner.run_due(settings):
            console.print(f"{outcome.name}: {outcome.status}: {outcome.message}", highlight=False, markup=False)
        return
    runner.run_forever(settings, poll_seconds=poll_seconds)


@app.command("list")
def list_jobs(json_out: JsonFlag = False) -> None:
    """Every job with its period, last run and outcome, and next run (empty: at the next round)."""
    columns = ["name", "every_seconds", "last_finished_at", "last_status", "next_run_at"]  # --json: every field
    emit(runner.states(get_settings()), runner.JobState, as_json=json_out, columns=columns)
