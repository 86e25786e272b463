"""`smeai gateway ...`: upstreams and prices, keys, wallets, 模型券 funding, the audit, the local model.

Commands act as the system (an operator's bootstrap at the console) unless `--as EMAIL` names a user.
"""

from __future__ import annotations

from typing import Annotated

import typer

from smeai.auth import service as auth_service
from smeai.auth.actor import Actor
from smeai.cli_support import JsonFlag, console, emit, err_console, print_json
from smeai.db import session_scope
from smeai.errors import Invalid
from smeai.gateway import checks, flows, localmodel, service
from smeai.gateway.schemas import AuditOut, FundIn, GrantOut, KeyIn, KeyOut, PriceIn, UpstreamIn, UsageOut
from smeai.i18n import N_

NAME = "gateway"
app = typer.Typer(help="Model gateway (模型调用): upstreams, keys, wallets, 模型券 funding, the books' audit.")
upstream_app = typer.Typer(help="Upstream providers and their prices.")
key_app = typer.Typer(help="Organisations' gateway keys.")
wallet_app = typer.Typer(help="Wallets: the enterprise's own money and its voucher part.")
voucher_app = typer.Typer(help="模型券 that fund wallets.")
app.add_typer(upstream_app, name="upstream")
app.add_typer(key_app, name="key")
app.add_typer(wallet_app, name="wallet")
app.add_typer(voucher_app, name="voucher")

MaybeAs = Annotated[str | None, typer.Option("--as", help="Email of the user to act as (default: the system).")]


def _actor(session: object, as_user: str | None) -> Actor:
    return auth_service.actor_for_email(session, as_user) if as_user else Actor.system()  # type: ignore[arg-type]


def _models(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        alias, sep, target = pair.partition("=")
        if not sep or not alias.strip() or not target.strip():
            raise Invalid(N_("Please correct the marked fields."), fields={"model": f"{pair}: ALIAS=UPSTREAM_MODEL"})
        out[alias.strip()] = target.strip()
    return out


@upstream_app.command("add")
def upstream_add(
    name: Annotated[str, typer.Option("--name", help="A name for the upstream.")],
    base_url: Annotated[str, typer.Option("--base-url", help="OpenAI-compatible base URL, or local://smollm2.")],
    model: Annotated[list[str], typer.Option("--model", help="ALIAS=UPSTREAM_MODEL (repeatable).")],
    price_in: Annotated[str, typer.Option("--price-in", help="Fen per 1,000 input tokens.")],
    price_out: Annotated[str, typer.Option("--price-out", help="Fen per 1,000 output tokens.")],
    price_cached_in: Annotated[
        str | None, typer.Option("--price-cached-in", help="Fen per 1,000 cached input tokens (default: --price-in).")
    ] = None,
    api_key_env: Annotated[str | None, typer.Option("--api-key-env", help="Variable holding the upstream key.")] = None,
    tokenize_url: Annotated[str | None, typer.Option("--tokenize-url", help="Tokenizer endpoint.")] = None,
    fallback_on: Annotated[list[int] | None, typer.Option("--fallback-on", help="Status codes that fall back.")] = None,
    priority: Annotated[int, typer.Option("--priority", help="Lower is tried first among routes.")] = 0,
    as_user: MaybeAs = None,
    json_out: JsonFlag = False,
) -> None:
    """Add an upstream (or update the one of that name) with its models and prices."""
    data = UpstreamIn.model_validate(
        {
            "name": name,
            "base_url": base_url,
            "models": _models(model),
            "price_in": price_in,
            "price_out": price_out,
            "price_cached_in": price_cached_in,
            "api_key_env": api_key_env,
            "tokenize_url": tokenize_url,
            "fallback_on": fallback_on or [],
            "priority": priority,
        }
    )
    with session_scope() as session:
        out = service.add_upstream(session, _actor(session, as_user), data)
    if json_out:
        print_json(out.model_dump(mode="json"))
    else:
        console.print(f"[green]upstream {out.id}[/green] {out.name}: {', '.join(r.alias for r in out.routes)}")


@upstream_app.command("list")
def upstream_list(as_user: MaybeAs = None, json_out: JsonFlag = False) -> None:
    """Upstreams, their models and the prices in force."""
    with session_scope() as session:
        rows = service.list_upstreams(session, _actor(session, as_user))
    if json_out:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    for r in rows:
        for route in r.routes:
            console.print(
                f"{r.name} {route.alias}={route.upstream_model} in {route.input_mf_per_1k} out "
                f"{route.output_mf_per_1k} milli-fen/1k"
            )


@upstream_app.command("check")
def upstream_check(
    name: Annotated[str, typer.Option("--name", help="The upstream's name.")],
    as_user: MaybeAs = None,
    json_out: JsonFlag = False,
) -> None:
    """Verify the bound holds rest on for this upstream: no token shorter than a byte, the prompt (template
    included) within the input bound (exit 1 naming each failure)."""
    with session_scope() as session:
        report = checks.check_upstream(session, _actor(session, as_user), name)
    if json_out:
        print_json({"ok": report.ok, "checked": report.checked, "problems": report.problems, "skipped": report.skipped})
    else:
        for line in report.problems:
            err_console.print(f"[red]fails[/red]: {line}", highlight=False, markup=False)
        for line in report.skipped:
            console.print(f"[yellow]skipped[/yellow]: {line}", highlight=False, markup=False)
        console.print(
            f"{name}: {report.checked} check(s), " + ("[green]ok[/green]" if report.ok else "[red]NOT ok[/red]")
        )
    if not report.ok:
        raise typer.Exit(1)


@upstream_app.command("price")
def upstream_price(
    route: Annotated[int, typer.Option("--route", help="The route's id (see `upstream list --json`).")],
    price_in: Annotated[str, typer.Option("--price-in", help="Fen per 1,000 input tokens.")],
    price_out: Annotated[str, typer.Option("--price-out", help="Fen per 1,000 output tokens.")],
    price_cached_in: Annotated[
        str | None, typer.Option("--price-cached-in", help="Fen per 1,000 cached input tokens (default: --price-in).")
    ] = None,
    effective_from: Annotated[
        str | None, typer.Option("--from", help="When it takes effect (ISO time, UTC; default: now).")
    ] = None,
    as_user: MaybeAs = None,
    json_out: JsonFlag = False,
) -> None:
    """A new price version for a route from a moment on (calls already held keep theirs)."""
    data = PriceIn.model_validate(
        {
            "price_in": price_in,
            "price_out": price_out,
            "price_cached_in": price_cached_in,
            "effective_from": effective_from,
        }
    )
    with session_scope() as session:
        price = service.set_price(session, _actor(session, as_user), route, data)
        out = {
            "id": price.id,
            "route_id": price.route_id,
            "input_mf_per_1k": price.input_mf_per_1k,
            "output_mf_per_1k": price.output_mf_per_1k,
            "effective_from": price.effective_from.isoformat(),
        }
    if json_out:
        print_json(out)
    else:
        console.print(f"[green]price {out['id']}[/green] for route {route} from {out['effective_from']}")


@key_app.command("create")
def key_create(
    org: Annotated[int, typer.Option("--org", help="The organisation's id.")],
    name: Annotated[str, typer.Option("--name", help="A name for the key.")],
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", help="Ceiling on max_tokens.")] = None,
    concurrency: Annotated[int | None, typer.Option("--concurrency", help="Concurrent calls.")] = None,
    rpm: Annotated[int | None, typer.Option("--rpm", help="Requests per minute.")] = None,
    tpm: Annotated[int | None, typer.Option("--tpm", help="Tokens per minute.")] = None,
    monthly_cap_fen: Annotated[int | None, typer.Option("--monthly-cap-fen", help="Monthly spending cap.")] = None,
    model: Annotated[list[str] | None, typer.Option("--model", help="An allowed model (repeatable).")] = None,
    as_user: MaybeAs = None,
    json_out: JsonFlag = False,
) -> None:
    """Create a key for an organisation; its secret is printed this once."""
    values: dict[str, object] = {"name": name, "rpm": rpm, "tpm": tpm, "monthly_cap_fen": monthly_cap_fen}
    if max_tokens is not None:
        values["max_tokens"] = max_tokens
    if concurrency is not None:
        values["concurrency"] = concurrency
    if model:
        values["allowed_models"] = model
    data = KeyIn.model_validate(values)
    with session_scope() as session:
        key, secret = service.create_key(session, _actor(session, as_user), data, org_id=org)
        key_id = key.id
    if json_out:
        print_json({"id": key_id, "key": secret})
    else:
        console.print(f"[green]key {key_id}[/green] (shown once): {secret}")


@key_app.command("list")
def key_list(
    org: Annotated[int | None, typer.Option("--org", help="The organisation's id.")] = None,
    as_user: MaybeAs = None,
    json_out: JsonFlag = False,
) -> None:
    """Keys (never their secrets)."""
    with session_scope() as session:
        rows = service.list_keys(session, _actor(session, as_user), org_id=org)
        emit(rows, KeyOut, as_json=json_out, columns=("id", "org_id", "name", "prefix", "max_tokens", "revoked_at"))


@key_app.command("revoke")
def key_revoke(key_id: int, as_user: MaybeAs = None) -> None:
    """Revoke a key: calls with it fail with 401 from now on."""
    with session_scope() as session:
        service.revoke_key(session, _actor(session, as_user), key_id)
    console.print(f"[yellow]revoked[/yellow] key {key_id}")


@wallet_app.command("fund")
def wallet_fund(
    org: Annotated[int, typer.Option("--org", help="The organisation's id.")],
    fen: Annotated[int, typer.Option("--fen", help="Amount in fen (own money).")],
    note: Annotated[str | None, typer.Option("--note", help="Why (kept in the ledger).")] = None,
    as_user: MaybeAs = None,
    json_out: JsonFlag = False,
) -> None:
    """Top up an organisation's own part of its wallet (recorded and audited)."""
    data = FundIn.model_validate({"fen": fen, "note": note})
    with session_scope() as session:
        out = service.fund_wallet(session, _actor(session, as_user), org, data.fen, note=data.note)
    if json_out:
        print_json(out.model_dump(mode="json"))
    else:
        console.print(f"[green]wallet of {org}[/green]: own {out.own_balance_mf / 1000:,.3f} fen")


@wallet_app.command("show")
def wallet_show(
    org: Annotated[int, typer.Option("--org", help="The organisation's id.")],
    as_user: MaybeAs = None,
    json_out: JsonFlag = False,
) -> None:
    """An organisation's wallet: balances, held and available, the voucher's rate."""
    with session_scope() as session:
        out = service.get_wallet(session, _actor(session, as_user), org_id=org)
    if json_out:
        print_json(out.model_dump(mode="json"))
    else:
        console.print(out.model_dump())


@voucher_app.command("fund")
def voucher_fund(
    application: Annotated[int, typer.Option("--application", help="The approved 模型券 application's id.")],
    as_user: MaybeAs = None,
    json_out: JsonFlag = False,
) -> None:
    """Fund the enterprise's wallet voucher part from an approved 模型券 application."""
    with session_scope() as session:
        grant = flows.fund_from_voucher(session, _actor(session, as_user), application)
        out = GrantOut.model_validate(grant)
    if json_out:
        print_json(out.model_dump(mode="json"))
    else:
        console.print(f"[green]voucher {out.id}[/green]: {out.funded_mf / 1000:,.0f} fen at {out.rate_bp / 100}%")


@voucher_app.command("close")
def voucher_close(grant_id: int, as_user: MaybeAs = None, json_out: JsonFlag = False) -> None:
    """Close a voucher: what was spent is paid out of the programme's pool, the rest released."""
    with session_scope() as session:
        out = GrantOut.model_validate(flows.close_voucher(session, _actor(session, as_user), grant_id))
    if json_out:
        print_json(out.model_dump(mode="json"))
    else:
        console.print(f"[green]closed[/green] voucher {grant_id}: {out.paid_fen} fen paid out")


@app.command("usage")
def usage(
    org: Annotated[int | None, typer.Option("--org", help="The organisation's id.")] = None,
    as_user: MaybeAs = None,
    json_out: JsonFlag = False,
) -> None:
    """Calls through the gateway, newest first."""
    with session_scope() as session:
        rows = [UsageOut.of(u) for u in service.list_usage(session, _actor(session, as_user), org_id=org)]
    if json_out:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    columns = ("id", "key_id", "model", "prompt_tokens", "completion_tokens", "cost_milli_fen", "status")
    emit([r.model_dump(mode="json") for r in rows], None, as_json=False, columns=columns)


@app.command("audit")
def audit(json_out: JsonFlag = False) -> None:
    """Check that wallets, holds, usage records and the subsidy ledger agree (exit 1 naming each breach)."""
    with session_scope() as session:
        report = flows.audit(session, Actor.system())  # an audit reads everything: the system acts
    out = AuditOut(ok=report.ok, checked=report.checked, problems=report.problems)
    if json_out:
        print_json(out.model_dump())
    else:
        for problem in report.problems:
            err_console.print(f"[red]breach[/red]: {problem}", highlight=False, markup=False)
        console.print(
            ("[green]books agree[/green] " if report.ok else "[red]books do NOT agree[/red] ")
            + ", ".join(f"{k}: {v}" for k, v in report.checked.items())
        )
    if not report.ok:
        raise typer.Exit(1)


@app.command("sweep")
def sweep() -> None:
    """Void the holds that outlived their calls and close the vouchers whose period has ended."""
    with session_scope() as session:
        n = service.sweep(session, Actor.system())
        closed = flows.close_due_vouchers(session, Actor.system())
    console.print(f"{n} hold(s) voided, {len(closed)} voucher(s) closed")


@app.command("local-model")
def local_model(
    port: Annotated[int, typer.Option("--port", help="Port to listen on (127.0.0.1).")] = 8090,
    threads: Annotated[int, typer.Option("--threads", help="CPU threads.")] = 2,
) -> None:
    """Run the bundled SmolLM2-135M on llama.cpp's OpenAI-compatible server until interrupted."""
    import time

    server, base = localmodel.start(port, threads=threads)
    console.print(f"local model at {base}/v1 (upstream base URL); Ctrl-C stops it")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        del server
