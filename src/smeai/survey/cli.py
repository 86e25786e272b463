"""`smeai survey ...`: check and measure survey files, make synthetic ones, import waves, reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smeai.cli_support import AsUser, JsonFlag, console, emit, err_console, print_json
from smeai.survey import analysis

# The database, the web schemas and the report libraries are imported by the commands that use them:
# `smeai survey indicators` / `check` on a file start with the file readers alone.

NAME = "survey"
# commands on a file alone (no database): `smeai survey indicators FILE` starts without the other domains
STANDALONE = frozenset({"indicators", "check", "synth", "template"})
app = typer.Typer(help="Survey analytics and the AI-application index (问卷与指数).")

FileArg = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, help="Canonical survey file or 问卷星 export (.csv or .xlsx).")
]


def _print_reasons(reasons, limit: int = 200) -> None:
    for r in reasons[:limit]:
        err_console.print(
            f"row {r.row}, {r.column} = {r.value!r}: rule {r.rule_no} {r.rule} — {r.message}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if len(reasons) > limit:
        err_console.print(f"... and {len(reasons) - limit} more reasons", markup=False)


@app.command("indicators")
def indicators_cmd(file: FileArg, json_out: JsonFlag = False) -> None:
    """The chapter-4 indicators of a survey file (indicators.md); rejected rows take no part."""
    result, validated = analysis.file_indicators(file, max_rows=None)  # a local file: any size
    if json_out:
        print_json(result)
        return
    _print_reasons(validated.reasons, limit=50)
    for key, value in result.items():
        console.print(f"[bold]{key}[/bold]: {value}")


@app.command("check")
def check(
    file: FileArg,
    errors: Annotated[Path | None, typer.Option("--errors", help="Write every reason to this CSV.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Validate a survey file (canonical, or a 问卷星 / 腾讯问卷 export) against the codebook: every reason of every
    rejected row."""
    checked, _layout, unmapped = analysis.reasons_of(file, max_rows=None)
    for header in unmapped:
        err_console.print(f"unmapped column: {header}", markup=False, soft_wrap=True)
    if errors is not None:
        errors.write_text(analysis.reasons_csv(checked.reasons), encoding="utf-8")
    if json_out:
        print_json(
            {
                "n_rows": checked.n_rows,
                "n_valid": checked.n_valid,
                "n_rejected": checked.n_rejected,
                "reasons": [r.as_dict() for r in checked.reasons],
            }
        )
        return
    _print_reasons(checked.reasons)
    console.print(f"{checked.n_rows} rows: {checked.n_valid} valid, {checked.n_rejected} rejected")


@app.command("synth")
def synth_cmd(
    rows: Annotated[int, typer.Option("--rows", min=1, help="Valid rows (firms).")] = 6000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 1,
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write (.csv or .xlsx).")] = Path("survey.csv"),
    invalid: Annotated[int, typer.Option("--invalid", min=0, help="Broken rows to add on top.")] = 0,
) -> None:
    """Write a synthetic survey whose figures land on the report's (indicators.md tolerances)."""
    from smeai.survey import synth  # numpy and pandas: loaded by this command only

    if output.suffix.lower() == ".xlsx":
        synth.write_xlsx(output, rows, seed, invalid=invalid)
    else:
        synth.write_csv(output, rows, seed, invalid=invalid)
    err_console.print(f"wrote {rows} valid + {invalid} invalid rows to {output}", markup=False)


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Canonical or 问卷星 export (.csv/.xlsx).")],
    wave: Annotated[str, typer.Option("--wave", help="Wave code, e.g. 2025; created when missing.")],
    as_user: AsUser,
    name: Annotated[str | None, typer.Option(help="Name of a new wave.")] = None,
    errors: Annotated[Path | None, typer.Option("--errors", help="Write the error file (CSV) here.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Import a survey file into a wave: valid rows kept, every rejected row reported; all or nothing."""
    from smeai.auth import service as auth_service
    from smeai.db import session_scope
    from smeai.survey import service
    from smeai.survey.api import import_out

    with session_scope() as session:
        actor = auth_service.actor_for_email(session, as_user)
        outcome = service.import_file(session, actor, wave, file.read_bytes(), filename=file.name, wave_name=name)
        result = import_out(outcome, wave)
        errors_csv = outcome.record.errors_csv
    if errors is not None:
        errors.write_text(errors_csv, encoding="utf-8")
    if json_out:
        print_json(result.model_dump(mode="json"))
        return
    _print_reasons(outcome.reasons)
    for header in result.unmapped:
        err_console.print(f"unmapped column: {header}", markup=False, soft_wrap=True)
    if result.already_imported:
        console.print(f"{file.name} was already imported into wave {wave}; nothing changed.", markup=False)
        return
    console.print(
        f"wave {wave}: {result.n_inserted} rows added, {result.n_existing} already there, "
        f"{result.n_rejected} rejected ({result.layout})",
        markup=False,
    )


@app.command("waves")
def waves_cmd(as_user: AsUser, json_out: JsonFlag = False) -> None:
    """List survey waves."""
    from smeai.auth import service as auth_service
    from smeai.db import session_scope
    from smeai.survey import service

    with session_scope() as session:
        actor = auth_service.actor_for_email(session, as_user)
        rows = [{"code": w.code, "name": w.name, "n_responses": n} for w, n in service.list_waves(session, actor)]
    emit(rows, None, as_json=json_out, columns=("code", "name", "n_responses"))


@app.command("template")
def template_cmd() -> None:
    """Print the questionnaire template, ready for 问卷星's text import."""
    from smeai.survey import wjx

    typer.echo(wjx.template_text())


@app.command("report")
def report_cmd(
    wave: Annotated[str, typer.Argument(help="Wave code, e.g. 2025.")],
    as_user: AsUser,
    output: Annotated[Path, typer.Option("-o", "--output", help="report.pdf or report.xlsx")] = Path("report.pdf"),
    province: Annotated[str | None, typer.Option(help="Only this province (code).")] = None,
    section: Annotated[str | None, typer.Option(help="Only this industry section.")] = None,
    group: Annotated[str | None, typer.Option(help="Only this manufacturing group (L1..K7).")] = None,
) -> None:
    """Render the chapter-4 figures and tables of a wave as a PDF (Chinese, CJK fonts) or an .xlsx."""
    from smeai.auth import service as auth_service
    from smeai.config import get_settings
    from smeai.db import session_scope
    from smeai.survey import report, service

    fmt = "xlsx" if output.suffix.lower() == ".xlsx" else "pdf"
    with session_scope() as session:
        actor = auth_service.actor_for_email(session, as_user)
        body, _media = report.render(
            session,
            actor,
            wave,
            fmt=fmt,
            filters=service.Filters(province=province, section=section, group=group),
            small_cell_min=get_settings().small_cell_min,
        )
    output.write_bytes(body)
    err_console.print(f"wrote {output}", markup=False)
