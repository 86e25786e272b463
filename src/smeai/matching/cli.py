"""`smeai match` (top level, the interchange contract) and `smeai matching ...` (needs, engagements)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter, ValidationError

from smeai import jsonl
from smeai.auth import service as auth_service
from smeai.cli_support import AsUser, JsonFlag, emit, print_json
from smeai.db import session_scope
from smeai.errors import Invalid
from smeai.i18n import N_, set_lang
from smeai.inputs import MAX_ID
from smeai.matching import engagements, pools, service
from smeai.matching.schemas import MAX_TOP, EngagementOut, NeedIn, NeedOut, NeedRecord, NeedStatus
from smeai.money import Wan, wan_to_fen

NAME = "matching"
app = typer.Typer(help="Supply-demand matching (供需对接): needs, matches, engagements.")
_WAN = TypeAdapter(Wan)


def read_needs(path: Path) -> list[NeedRecord]:
    """One need as a JSON object, or several as JSON Lines; every bad line is named at once."""
    return [record for _raw, record in read_need_items(path)]


def read_need_items(path: Path) -> list[tuple[dict, NeedRecord]]:
    """Each need as written (a JSON object) and as validated; every bad line is named at once."""
    data = path.read_bytes()
    try:  # one need, perhaps written over several lines
        whole = jsonl.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, jsonl.NotJson):
        whole = None
    items: list[tuple[int, Any]] = []
    problems: dict[str, str] = {}
    if isinstance(whole, dict):
        items = [(1, whole)]
    else:  # JSON Lines, read as the catalog reads an interchange file (smeai/jsonl.py)
        for n, line in enumerate(jsonl.read_lines(io.BytesIO(data)), 1):
            if isinstance(line, jsonl.BadLine):
                problems[f"line {n}"] = line.reason
            elif line.strip():
                try:
                    items.append((n, jsonl.loads(line)))
                except jsonl.NotJson as exc:
                    problems[f"line {n}"] = exc.reason
        if problems:
            raise Invalid(N_("The need file is invalid."), fields=problems)
    records: list[tuple[dict, NeedRecord]] = []
    for n, item in items:
        try:
            records.append((item, NeedRecord.model_validate(item)))
        except ValidationError as exc:
            for e in exc.errors():
                problems[f"line {n}:{'.'.join(map(str, e['loc'])) or 'need'}"] = e["msg"]
    if problems:
        raise Invalid(N_("The need file is invalid."), fields=problems)
    return records


def match(
    need: Annotated[Path, typer.Option("--need", help="A need as a JSON object, or JSON Lines.", exists=True)],
    top: Annotated[int, typer.Option("--top", min=1, max=MAX_TOP, help="How many offerings per need.")] = 10,
    json_out: JsonFlag = False,
) -> None:
    """Match needs (interchange.md "Need") against the published resource pool, best first."""
    set_lang("zh_Hans")  # the contract's reasons are Chinese
    records = read_needs(need)
    # One-shot and deterministic: the pool is built here with its embeddings, not in the background.
    with session_scope() as session, pools.synchronous():
        results = service.match_records(session, records, top=top)
    for record, matches in zip(records, results, strict=True):
        rows = [m.as_dict() for m in matches]
        if json_out:
            typer.echo(json.dumps(rows, ensure_ascii=False))  # one array per need, one line each
        else:
            typer.echo(f"# {record.id or ''} {record.text[:40]}")
            for i, row in enumerate(rows, 1):
                typer.echo(f"{i:>3}. {row['id']}  {row['score']:.3f}  {'；'.join(row['reasons'])}")


need_app = typer.Typer(help="Needs in the interchange format (需求挖掘).")


@need_app.command("parse")
def parse(
    file: Annotated[Path, typer.Argument(help="A need as a JSON object, or JSON Lines.", exists=True, dir_okay=False)],
    json_out: JsonFlag = False,
) -> None:
    """Fill in the fields a need omits but its text states, with the words that state them.

    Fields: industry, province_code, stage, budget_wan, deployment; fields the record gives are kept.
    `extracted` gives each filled value and its evidence. The output feeds `smeai match --need`.
    """
    items = read_need_items(file)
    for raw, _record in items:
        parsed = service.parse_record(raw)
        if json_out:
            typer.echo(json.dumps(parsed, ensure_ascii=False))  # one object per need, one line each
        else:
            found = "；".join(f"{k}={v['value']}（{v['evidence']}）" for k, v in parsed["extracted"].items())
            typer.echo(f"{parsed.get('id') or ''}\t{found or '-'}")


def register(root: typer.Typer) -> None:
    root.command("match")(match)
    root.add_typer(need_app, name="need")


@app.command("needs")
def list_needs(as_user: AsUser, status: NeedStatus | None = None, json_out: JsonFlag = False) -> None:
    """List the needs this user may see."""
    with session_scope() as session:
        actor = auth_service.actor_for_email(session, as_user)
        emit(
            service.list_needs(session, actor, status=status),
            NeedOut,
            as_json=json_out,
            columns=("id", "title", "industry", "status"),
        )


@app.command("need-create")
def create_need(
    as_user: AsUser,
    title: Annotated[str, typer.Option(help="Short title.")],
    text: Annotated[str, typer.Option(help="The need in your own words.")],
    budget_wan: Annotated[float | None, typer.Option(help="First-year budget, 万元.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Describe a need; industry, province, stage and scenarios are filled in from profile and text."""
    with session_scope() as session:
        actor = auth_service.actor_for_email(session, as_user)
        budget = None if budget_wan is None else wan_to_fen(_WAN.validate_python(budget_wan))  # "inf": invalid
        need = service.create_need(session, actor, NeedIn(title=title, text=text, budget_fen=budget))
        emit([need], NeedOut, as_json=json_out, columns=("id", "title", "industry", "scenarios", "status"))


@app.command("need-matches")
def need_matches(
    as_user: AsUser,
    need_id: Annotated[int, typer.Argument(min=1, max=MAX_ID)],
    top: Annotated[int, typer.Option(min=1, max=MAX_TOP)] = 10,
    json_out: JsonFlag = False,
) -> None:
    """Ranked offerings for a stored need, with reasons."""
    with session_scope() as session:
        actor = auth_service.actor_for_email(session, as_user)
        with pools.synchronous():
            found = service.match_need(session, actor, need_id, top=top)
        rows: list[dict[str, Any]] = [
            {"id": m.id, "name": o.name, "score": round(m.score, 4), "reasons": m.reasons} for m, o in found
        ]
    if json_out:
        print_json(rows)
    else:
        for row in rows:
            typer.echo(f"{row['id']}  {row['score']:.3f}  {row['name']}  {'；'.join(row['reasons'])}")


@app.command("engagements")
def list_engagements(as_user: AsUser, json_out: JsonFlag = False) -> None:
    """Engagements this user may see (own side only)."""
    with session_scope() as session:
        actor = auth_service.actor_for_email(session, as_user)
        emit(
            engagements.list_engagements(session, actor),
            EngagementOut,
            as_json=json_out,
            columns=("id", "need_id", "offering_id", "state"),
        )
