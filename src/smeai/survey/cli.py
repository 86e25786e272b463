"""`smeai survey ...`: check and measure survey files, make synthetic ones, import waves, reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smeai.cli_support import JsonFlag, console, err_console, print_json
from smeai.survey import analysis, synth

app = typer.Typer(help="Survey analytics and the AI-application index (问卷与指数).")

FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Canonical survey file (.csv or .xlsx).")]


def _print_reasons(reasons, limit: int = 200) -> None:
    for r in reasons[:limit]:
        err_console.print(f"row {r.row}, {r.column} = {r.value!r}: rule {r.rule_no} {r.rule} — {r.message}",
                          markup=False, highlight=False, soft_wrap=True)
    if len(reasons) > limit:
        err_console.print(f"... and {len(reasons) - limit} more reasons", markup=False)


@app.command("indicators")
def indicators_cmd(file: FileArg, json_out: JsonFlag = False) -> None:
    """The chapter-4 indicators of a survey file (indicators.md); rejected rows take no part."""
    result, validated = analysis.file_indicators(file)
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
    """Validate a survey file against the codebook: every reason of every rejected row."""
    from smeai.survey import codebook

    validated = codebook.validate_file(file)
    if errors is not None:
        errors.write_text(analysis.reasons_csv(validated.reasons), encoding="utf-8")
    if json_out:
        print_json({"n_rows": validated.n_rows, "n_valid": validated.n_valid, "n_rejected": validated.n_rejected,
                    "reasons": [r.as_dict() for r in validated.reasons]})
        return
    _print_reasons(validated.reasons)
    console.print(f"{validated.n_rows} rows: {validated.n_valid} valid, {validated.n_rejected} rejected")


@app.command("synth")
def synth_cmd(
    rows: Annotated[int, typer.Option("--rows", min=1, help="Valid rows (firms).")] = 6000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 1,
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write (.csv or .xlsx).")] = Path(
        "survey.csv"
    ),
    invalid: Annotated[int, typer.Option("--invalid", min=0, help="Broken rows to add on top.")] = 0,
) -> None:
    """Write a synthetic survey whose figures land on the report's (indicators.md tolerances)."""
    if output.suffix.lower() == ".xlsx":
        synth.write_xlsx(output, rows, seed, invalid=invalid)
    else:
        synth.write_csv(output, rows, seed, invalid=invalid)
    err_console.print(f"wrote {rows} valid + {invalid} invalid rows to {output}", markup=False)
