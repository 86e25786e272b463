"""`smeai catalog ...`: interchange import and export, the review queue."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from smeai.auth import service as auth_service
from smeai.auth.actor import Actor
from smeai.catalog import service
from smeai.catalog.index import OfferingQuery
from smeai.catalog.schemas import OfferingOut
from smeai.cli_support import JsonFlag, emit, err_console, print_json
from smeai.db import session_scope
from smeai.jsonl import read_lines

NAME = "catalog"
app = typer.Typer(help="Resource pool (资源池): import and export offerings, review listings.")

AsOptional = Annotated[
    str | None, typer.Option("--as", help="Email of the user to act as (default: the system, for operators).")
]


def _actor(session: Session, as_user: str | None) -> Actor:
    return Actor.system() if as_user is None else auth_service.actor_for_email(session, as_user)


@app.command("import")
def import_file(
    path: Annotated[Path, typer.Argument(help="Interchange JSON Lines file (one offering per line).", exists=True)],
    as_user: AsOptional = None,
    strict: Annotated[
        bool, typer.Option(help="All or nothing: when any line is invalid, import none and exit with status 1.")
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Import offerings: valid lines are created or updated by id and published at once; each invalid
    line is reported with its line number, field and reason. Importing a file again changes nothing."""
    with path.open("rb") as stream:  # read line by line: memory does not grow with the file
        try:
            with session_scope() as session:
                report = service.import_records(session, _actor(session, as_user), read_lines(stream), strict=strict)
        except service.ImportRejected as exc:  # session_scope rolled the whole import back
            report = exc.report
    if json_out:
        print_json(report.model_dump() | {"imported": report.imported})
    else:
        if report.applied:
            summary = (
                f"imported {report.imported} offering(s): {report.created} created, {report.updated} updated, "
                f"{report.unchanged} unchanged; {report.invalid_lines} invalid line(s)"
            )
        else:
            summary = f"imported nothing (--strict): {report.invalid_lines} invalid line(s)"
        typer.echo(summary)  # plain echo: no wrapping, so scripts can read the summary line
        for p in report.problems:
            typer.echo(f"line {p.line}: {p.field}: {p.reason}")
        if report.truncated:
            counts = ", ".join(f"{code} {n}" for code, n in sorted(report.problem_counts.items()))
            typer.echo(f"… {report.problem_count - len(report.problems)} more problem(s); all problems: {counts}")
    if not report.applied:
        raise typer.Exit(1)


@app.command("export")
def export(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")] = None,
) -> None:
    """Export the published pool in the interchange format (JSON Lines)."""
    with session_scope() as session:
        rows = service.export_lines(session, None)
    text = "".join(rows)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err_console.print(f"exported {len(rows)} offering(s) to {output}")


@app.command("queue")
def queue(as_user: AsOptional = None, json_out: JsonFlag = False) -> None:
    """Offerings waiting for review (遴选), oldest first."""
    with session_scope() as session:
        rows = service.list_review_queue(session, _actor(session, as_user))
        emit(rows, OfferingOut, as_json=json_out, columns=("id", "ext_id", "name", "provider_name", "kind"))


@app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="Words, in Chinese; synonyms are understood.")] = "",
    kind: Annotated[list[str] | None, typer.Option(help="Only this kind (repeatable).")] = None,
    industry: Annotated[
        list[str] | None, typer.Option(help="Industry it must cover: C, C33, K1 … (repeatable).")
    ] = None,
    region: Annotated[str | None, typer.Option(help="Province it must serve (GB/T 2260, two digits).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many results.")] = 10,
    json_out: JsonFlag = False,
) -> None:
    """Search the published pool as the portal does."""
    with session_scope() as session:
        query_in = OfferingQuery(q=query, kind=kind or [], industry=industry or [], region=region, per_page=limit)
        result, rows = service.search_offerings(session, query_in)
        emit(
            rows, OfferingOut, as_json=json_out, columns=("ext_id", "name", "provider_name", "kind", "entry_price_wan")
        )
        if not json_out:
            typer.echo(
                f"{result.total} found"
                + (f"; also searched: {'、'.join(result.synonyms[:8])}" if result.synonyms else "")
            )


index_app = typer.Typer(help="The search index every worker starts from (stored in the database).")
app.add_typer(index_app, name="index")


@index_app.command("build")
def index_build(json_out: JsonFlag = False) -> None:
    """Store the search index as the catalog is now, for workers to start from.

    A worker that starts loads it and reads only the offerings changed since. The `catalog-index` job
    does this every 10 minutes; run it after a large import or an upgrade. Nothing changed: nothing is
    written."""
    with session_scope() as session:
        stored = service.refresh_search_index(session)
    if json_out:
        print_json({"rows": stored.rows, "version": stored.version, "bytes": stored.bytes})
    else:
        what = f"{stored.bytes / 2**20:.1f} MiB stored" if stored.bytes else "already stored"
        typer.echo(f"search index: {stored.rows} offering(s) at version {stored.version}, {what}")
