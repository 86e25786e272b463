"""`smeai subsidy ...`: programmes, the calculator, the operator's decisions, the ledger audit."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from smeai.auth import service as auth_service
from smeai.auth.actor import Actor
from smeai.cli_support import AsUser, JsonFlag, console, emit, err_console, print_json
from smeai.db import session_scope, utcnow
from smeai.errors import Invalid
from smeai.i18n import N_
from smeai.subsidy import dashboard, programme_files, programmes, service
from smeai.subsidy.schemas import (
    ApplicationOut,
    ApplicationState,
    ApproveIn,
    AuditOut,
    BudgetIn,
    ProgrammeOut,
    PurchaseIn,
)

NAME = "subsidy"
app = typer.Typer(help="Subsidy programmes (算力券/模型券/AI 券): rules, calculator, approvals, ledger audit.")
programmes_app = typer.Typer(help="Programme files (YAML).")
app.add_typer(programmes_app, name="programmes")


@programmes_app.command("check")
def check(path: Annotated[Path, typer.Argument(help="A programme file or a folder of them.")]) -> None:
    """Validate programme files; print every problem with its file and field (exit 1 if any)."""
    if not path.exists():
        raise Invalid("No such file or folder.", fields={"path": str(path)})
    found, problems = programmes.load_folder(path)
    for where, reason in sorted(problems.items()):
        err_console.print(f"[red]{where}[/red]: {reason}")
    if problems:
        raise typer.Exit(1)
    console.print(f"[green]{len(found)} programme(s) valid[/green]: {', '.join(sorted(found))}")


@programmes_app.command("upload")
def upload(
    as_user: AsUser, path: Annotated[Path, typer.Argument(help="The programme file (YAML) to put in force.")]
) -> None:
    """Put a new or changed programme file in force, checked with every other file; every version is kept."""
    if not path.is_file():
        raise Invalid("No such file.", fields={"path": str(path)})
    with session_scope() as session:
        actor = auth_service.actor_for_email(session, as_user)
        p = service.upload_programme(session, actor, path.read_bytes(), uploaded_by=as_user)
    console.print(f"[green]in force[/green]: {p.code} version {p.version}")


@programmes_app.command("versions")
def versions(code: str) -> None:
    """The versions of a programme's file, newest first (uploads, then the shipped file)."""
    for v in programme_files.versions(code):
        when = f"{v.uploaded_at:%Y-%m-%d %H:%M} UTC {v.uploaded_by}" if v.uploaded_at else "shipped"
        console.print(f"{v.version}  {when}{'  (current)' if v.current else ''}")


@programmes_app.command("list")
def list_programmes(json_out: JsonFlag = False) -> None:
    """The programmes in force (shipped files plus the operator's folder under var/subsidy/programmes)."""
    emit(service.list_programmes(), ProgrammeOut, as_json=json_out, columns=("code", "name", "region", "summary"))


@app.command("calculate")
def calculate(
    as_user: AsUser,
    purchase: Annotated[
        str,
        typer.Option(
            help='Purchase as JSON, e.g. \'{"description": "GPU", "kind": "compute", "contract_fen": 10000000}\'.'
        ),
    ],
    json_out: JsonFlag = False,
) -> None:
    """Which programmes pay for a purchase by this user's enterprise, the best combination and the net price."""
    data = PurchaseIn.model_validate(json.loads(purchase))
    with session_scope() as session:
        actor = auth_service.actor_for_email(session, as_user)
        quote = service.calculate(session, actor, data)
    if json_out:
        print_json(quote.model_dump(mode="json"))
        return
    for q in quote.programmes:
        if q.eligible:
            console.print(f"{q.code}: {q.amount_fen / 100:,.2f} {q.currency}")
    console.print(
        f"best: {', '.join(quote.best) or '—'}; total {quote.total_fen / 100:,.2f}; "
        f"net price {quote.net_fen / 100:,.2f}"
    )


@app.command("applications")
def applications(as_user: AsUser, state: ApplicationState | None = None, json_out: JsonFlag = False) -> None:
    """Applications this user may see."""
    with session_scope() as session:
        actor = auth_service.actor_for_email(session, as_user)
        rows = service.list_applications(session, actor, state=state)
        emit(
            rows,
            ApplicationOut,
            as_json=json_out,
            columns=("id", "programme_code", "state", "contract_fen", "requested_fen", "approved_fen", "paid_fen"),
        )


@app.command("approve")
def approve(as_user: AsUser, application_id: int, amount_fen: int | None = None, note: str | None = None) -> None:
    """Approve an application and reserve its amount against the pool and caps."""
    with session_scope() as session:
        actor = auth_service.actor_for_email(session, as_user)
        data = ApproveIn.model_validate({"amount_fen": amount_fen, "note": note})  # the API's limits
        application = service.approve_application(
            session, actor, application_id, amount_fen=data.amount_fen, note=data.note
        )
        console.print(f"[green]approved[/green] {application.id}: {application.approved_fen} fen reserved")


@app.command("reject")
def reject(as_user: AsUser, application_id: int, reasons: Annotated[str, typer.Option(help="Why.")]) -> None:
    """Reject an application with reasons."""
    with session_scope() as session:
        actor = auth_service.actor_for_email(session, as_user)
        service.reject_application(session, actor, application_id, reasons=reasons)
        console.print(f"[yellow]rejected[/yellow] {application_id}")


def expiry_day(text: str | None, server_today: date) -> date | None:
    """The day `expire` acts as of: today by default; an earlier day (a catch-up run expires only what was
    overdue then) back to 2000-01-01; never a later one, which would expire approvals still in time."""
    if text is None:
        return None
    try:
        day = date.fromisoformat(text.strip()) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip(), re.ASCII) else None
    except ValueError:
        day = None
    if day is None:
        raise Invalid(N_("Please correct the marked fields."), fields={"today": "a date as YYYY-MM-DD"})
    if not date(2000, 1, 1) <= day <= server_today:
        raise Invalid(
            N_("Please correct the marked fields."),
            fields={
                "today": f"between 2000-01-01 and today ({server_today}): a later day would expire approvals early"
            },
        )
    return day


@app.command("expire")
def expire(
    as_user: AsUser,
    today: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD, not after today: expire as of that day (default: today).")
    ] = None,
) -> None:
    """Expire approvals not redeemed in time; their reservations go back to the pools."""
    day = expiry_day(today, utcnow().date())
    with session_scope() as session:
        actor = auth_service.actor_for_email(session, as_user)
        done = service.expire_applications(session, actor, today=day)
        console.print(f"{len(done)} application(s) expired")


@app.command("budget")
def budget(
    as_user: AsUser,
    programme_code: str,
    budget_fen: int,
    year: Annotated[int | None, typer.Option(help="Annual pools: the budget year (default: this year).")] = None,
) -> None:
    """Set a programme's pool budget (never below what is reserved and paid)."""
    data = BudgetIn.model_validate({"budget_fen": budget_fen, "year": year})  # the API's limits
    with session_scope() as session:
        actor = auth_service.actor_for_email(session, as_user)
        service.set_pool_budget(session, actor, programme_code, data.budget_fen, year=data.year)
        console.print(f"[green]{programme_code}[/green]: budget {budget_fen} fen")


@app.command("audit")
def audit(json_out: JsonFlag = False) -> None:
    """Recompute every balance from the ledger and check every invariant (exit 1 on any breach)."""
    with session_scope() as session:
        report = service.audit(session, Actor.system())  # an audit reads everything: the system acts
    out = AuditOut(ok=report.ok, checked=report.checked, problems=report.problems)
    if json_out:
        print_json(out.model_dump())
    else:
        for problem in report.problems:
            err_console.print(f"[red]breach[/red]: {problem}")
        console.print(
            ("[green]ledger ok[/green] " if report.ok else "[red]ledger NOT ok[/red] ")
            + ", ".join(f"{k}: {v}" for k, v in report.checked.items())
        )
    if not report.ok:
        raise typer.Exit(1)


@app.command("export")
def export(as_user: AsUser, path: Annotated[Path, typer.Argument(help="Excel file to write (.xlsx).")]) -> None:
    """Pools, applications and the ledger as an Excel workbook for the finance bureau."""
    with session_scope() as session:
        actor = auth_service.actor_for_email(session, as_user)
        path.write_bytes(dashboard.export_xlsx(session, actor))
    console.print(f"[green]written[/green] {path}")
