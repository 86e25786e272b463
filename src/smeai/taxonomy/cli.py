"""`smeai taxonomy ...`"""

from __future__ import annotations

from typing import Annotated

import typer

from smeai import taxonomy
from smeai.cli_support import JsonFlag, emit, print_json

NAME = "taxonomy"
app = typer.Typer(help="The taxonomy: industries, groups, links, scenarios, stages, roles, provinces.")


@app.command("kinds")
def kinds(json_out: JsonFlag = False) -> None:
    """List the taxonomy's lists."""
    names = list(taxonomy.load().kinds())
    if json_out:
        print_json(names)
    else:
        for n in names:
            typer.echo(n)


@app.command("show")
def show(
    kind: Annotated[str, typer.Argument(help="sections, divisions, groups, links, scenarios, ...")],
    json_out: JsonFlag = False,
) -> None:
    """Print one list with codes and names."""
    terms = taxonomy.load().kinds().get(kind)
    if terms is None:
        raise typer.BadParameter(f"unknown list {kind!r}; one of: {', '.join(taxonomy.load().kinds())}")
    rows = [{"code": t.code, "zh": t.zh, "en": t.en} for t in terms.values()]
    emit(rows, None, as_json=json_out, columns=("code", "zh", "en"))
