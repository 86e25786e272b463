"""Shared pieces of every Typer command: --as, --json, printing rows and models."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)

AsUser = Annotated[str, typer.Option("--as", help="Email of the user to act as.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON (the API's own schema).")]


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def emit(rows: Iterable[Any], schema: type[BaseModel] | None, *, as_json: bool, columns: Sequence[str]) -> None:
    items = [schema.model_validate(r).model_dump(mode="json") if schema else r for r in rows]
    if as_json:
        print_json(items)
        return
    table = Table(*columns)
    for item in items:
        table.add_row(*(str(item.get(c, "")) if item.get(c) is not None else "" for c in columns))
    console.print(table)
