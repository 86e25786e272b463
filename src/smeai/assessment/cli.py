"""`smeai assess ...`: instruments, scoring answer files, stored assessments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from smeai.assessment import benchmark, instruments, report, service
from smeai.assessment.diagnosis import evaluate
from smeai.assessment.recommend import Profile
from smeai.assessment.schemas import AssessmentRow, InstrumentSummary, ScoreOut, instrument_json
from smeai.assessment.scoring import AnswersInvalid, check_answer_file
from smeai.auth import service as auth_service
from smeai.auth.models import Organisation
from smeai.cli_support import AsUser, JsonFlag, console, emit, print_json
from smeai.config import get_settings
from smeai.db import session_scope
from smeai.i18n import N_, label

NAME = "assess"
app = typer.Typer(help="AI-maturity self-diagnosis: instruments, scoring, stored assessments.", no_args_is_help=True)


@app.command("instruments")
def list_instruments(json_out: JsonFlag = False) -> None:
    """List every instrument (latest version of each)."""
    rows = [InstrumentSummary(id=i.id, name=str(i.name), version=i.version) for i in instruments.current().values()]
    emit(rows, InstrumentSummary, as_json=json_out, columns=("id", "name", "version"))


@app.command("instrument")
def show_instrument(
    instrument_id: Annotated[str, typer.Argument(metavar="ID", help="Instrument id.")] = "smeai-ai-maturity",
    version: Annotated[str | None, typer.Option(help="A stored version (default: the latest).")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Print an instrument: dimensions, questions, options with points, levels and gates."""
    inst = instruments.get_instrument(instrument_id, version)
    if json_out:
        print_json(instrument_json(inst))
        return
    console.print(f"[bold]{inst.name}[/bold] {inst.id} {inst.version}")
    for d in inst.dimensions:
        console.print(f"\n[bold]{d.name}[/bold] ({d.id}, weight {d.weight:g})")
        for q in d.questions:
            na = " n/a" if q.not_applicable else ""
            console.print(f"  {q.id} [{q.type}{na}] {q.text}")


@app.command("check")
def check_instrument(path: Annotated[Path, typer.Argument(help="An instrument YAML file.")]) -> None:
    """Validate an instrument file with the loader the portal uses (every problem listed)."""
    inst = instruments.load_file(path)
    console.print(
        f"[green]ok[/green] {inst.id} {inst.version}: {len(inst.dimensions)} dimensions, "
        f"{len(inst.questions)} questions"
    )


def _print_result(result: ScoreOut) -> None:
    inst = instruments.get_instrument(result.instrument, result.version)
    console.print(
        f"[bold]{label(inst.name.model_dump())}[/bold]  overall {result.overall:.1f}  level {result.level.name}"
    )
    if result.stage:
        console.print(f"stage {result.stage.name}")
    if result.role:
        console.print(f"role {result.role.name}")
    table = Table("dimension", "score")
    for d in inst.dimensions:
        table.add_row(str(d.name), f"{result.dimensions[d.id]:.1f}")
    console.print(table)
    for r in result.recommendations:
        console.print(f"- [{r.priority}] {r.title}")


@app.command("score")
def score(
    instrument_id: Annotated[str, typer.Option("--instrument", help="Instrument id.")],
    answers: Annotated[Path, typer.Option(help="Answer file (JSON).", exists=True, dir_okay=False)],
    section: Annotated[str | None, typer.Option(help="Industry section (GB/T 4754), for recommendations.")] = None,
    division: Annotated[str | None, typer.Option(help="Manufacturing division (13..43).")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Score an answer file {"instrument": ID, "answers": {...}}; every problem is listed on refusal."""
    inst = instruments.get_instrument(instrument_id)
    try:
        data = json.loads(answers.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AnswersInvalid(N_("The answers are invalid."), fields={"__all__": f"not JSON: {exc}"}) from None
    normalised = check_answer_file(inst, data)
    result = evaluate(inst, normalised, Profile(section=section, division=division))
    if json_out:
        print_json(result.model_dump(mode="json"))
    else:
        _print_result(result)


@app.command("list")
def list_assessments(as_user: AsUser, json_out: JsonFlag = False) -> None:
    """List the assessments this user may see."""
    with session_scope() as session:
        actor = auth_service.actor_for_email(session, as_user)
        rows = service.list_assessments(session, actor)
        emit(
            rows,
            AssessmentRow,
            as_json=json_out,
            columns=("id", "org_id", "instrument_id", "instrument_version", "status", "overall"),
        )


@app.command("show")
def show_assessment(assessment_id: int, as_user: AsUser, json_out: JsonFlag = False) -> None:
    """Print one stored assessment's result."""
    with session_scope() as session:
        actor = auth_service.actor_for_email(session, as_user)
        a = service.get_assessment(session, actor, assessment_id)
        result = service.result_of(session, a)
        if json_out:
            print_json(result.model_dump(mode="json"))
        else:
            _print_result(result)


@app.command("submit")
def submit(
    as_user: AsUser,
    answers: Annotated[Path, typer.Option(help="Answer file (JSON).", exists=True, dir_okay=False)],
    json_out: JsonFlag = False,
) -> None:
    """Store a completed assessment for the user's enterprise from an answer file."""
    data = json.loads(answers.read_text(encoding="utf-8"))
    with session_scope() as session:
        actor = auth_service.actor_for_email(session, as_user)
        a = service.submit_answer_file(session, actor, data)
        if json_out:
            print_json(service.result_of(session, a).model_dump(mode="json") | {"assessment_id": a.id})
        else:
            console.print(f"[green]stored[/green] assessment {a.id}: overall {a.overall:.1f}")


@app.command("compare")
def compare(first: int, second: int, as_user: AsUser, json_out: JsonFlag = False) -> None:
    """Per-dimension change between two completed assessments of one enterprise."""
    with session_scope() as session:
        actor = auth_service.actor_for_email(session, as_user)
        c = service.compare_assessments(session, actor, first, second)
        if json_out:
            print_json(c.model_dump(mode="json"))
            return
        table = Table("dimension", "before", "after", "change")
        for d in c.dimensions:
            table.add_row(d.name, f"{d.before:.1f}", f"{d.after:.1f}", f"{d.change:+.1f}")
        table.add_row("overall", f"{c.overall_before:.1f}", f"{c.overall_after:.1f}", f"{c.overall_change:+.1f}")
        console.print(table)


@app.command("benchmark")
def peer_benchmark(assessment_id: int, as_user: AsUser, json_out: JsonFlag = False) -> None:
    """Percentile and distribution among peers (small groups widened or suppressed)."""
    with session_scope() as session:
        actor = auth_service.actor_for_email(session, as_user)
        b = benchmark.benchmark(session, actor, assessment_id, small_cell_min=get_settings().small_cell_min)
        if json_out:
            print_json(b.model_dump(mode="json"))
        elif b.suppressed:
            console.print("peer comparison suppressed: too few comparable enterprises")
        else:
            console.print(f"{b.peer_group_label}: {b.peers} peers, percentile {b.percentile}, quartiles {b.quartiles}")


@app.command("report")
def write_report(
    assessment_id: int,
    as_user: AsUser,
    out: Annotated[Path, typer.Option(help="Where to write the PDF.")] = Path("report.pdf"),
) -> None:
    """Write the PDF diagnosis report of a completed assessment."""
    with session_scope() as session:
        actor = auth_service.actor_for_email(session, as_user)
        a = service.get_assessment(session, actor, assessment_id)
        result = service.display_result(session, a)
        bench = benchmark.benchmark(session, actor, a.id, small_cell_min=get_settings().small_cell_min)
        pdf = report.render_pdf(
            a=a,
            inst=service.instrument_of(a),
            result=result,
            bench=bench,
            comparison=service.change_since_previous(session, actor, a),
            org=session.get(Organisation, a.org_id),
        )
    out.write_bytes(pdf)
    console.print(f"[green]wrote[/green] {out} ({len(pdf):,} bytes)")
