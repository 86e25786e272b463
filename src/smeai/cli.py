"""The root `smeai` command. Domain commands plug in from smeai/<domain>/cli.py (listed in domains.py)."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated

import typer
from pydantic import ValidationError

from smeai.cli_support import console, err_console
from smeai.config import get_settings
from smeai.domains import DOMAINS, domain_modules
from smeai.errors import Invalid, SmeaiError, fields_from_validation
from smeai.i18n import N_, _, set_lang

HELP = "smeai: the AI application enablement centre for SMEs."
# The root's own commands; `app` (module __getattr__) is this with every domain's group added, loaded
# on first use: `smeai <domain> ...` imports that one domain's CLI only (see main).
_root = typer.Typer(help=HELP, no_args_is_help=True)
db_app = typer.Typer(help="Database schema (Alembic).")
_root.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    from smeai.migrate import upgrade

    upgrade(get_settings().database_url, revision)
    console.print(f"[green]database at {revision}[/green]")


@db_app.command("current")
def db_current() -> None:
    """Print the revision the database is at."""
    from smeai.migrate import current

    typer.echo(current(get_settings().database_url) or "(empty)")


@_root.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development).")] = False,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="Worker processes (default: SMEAI_WORKERS; see docs/deploy.md).")
    ] = None,
) -> None:
    """Start the portal (pages and /api/v1)."""
    import uvicorn

    from smeai.ops import logs

    settings = get_settings()
    logs.configure(json=settings.log_json, level=settings.log_level)  # uvicorn's own lines in our format too
    uvicorn.run(
        "smeai.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        reload=reload,
        workers=None if reload else (workers or settings.workers),
        timeout_worker_healthcheck=60,  # a worker importing the app on a busy host may take longer than 5 s
        access_log=False,  # the app logs one structured line per request (smeai.ops.logs), without query strings
        log_config=None,  # and configures logging itself (SMEAI_LOG_JSON, SMEAI_LOG_LEVEL)
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,  # SIGTERM stops the server in bounded time
        proxy_headers=False,  # the app reads X-Forwarded-For itself, from SMEAI_TRUSTED_PROXIES only
    )


@_root.command("demo")
def demo(
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Start the portal after loading.")] = True,
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
) -> None:
    """Upgrade the database, load the demo data (idempotent), print the logins, start the portal."""
    from smeai.demo import load_demo

    settings = get_settings()
    load_demo(settings)
    console.print(f"Open http://{host or settings.host}:{port or settings.port}/ and log in with any account above.")
    if serve_after:
        serve(host=host, port=port, reload=False, workers=None)


_complete = False


def full_app() -> typer.Typer:
    """Every command: the root's, jobs and each domain's group."""
    global _complete
    if not _complete:
        from smeai.jobs import cli as jobs_cli
        from smeai.matching import cli as matching_cli

        _root.add_typer(jobs_cli.app, name=jobs_cli.NAME)  # `smeai jobs run|list`: scheduled work (smeai/jobs)
        for module in domain_modules("cli"):  # a command group each: `smeai <NAME> ...`
            _root.add_typer(module.app, name=module.NAME)
            if module is matching_cli:  # and matching's top-level commands beside it: `smeai match`, `smeai need`
                matching_cli.register(_root)
        _complete = True
    return _root


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        return full_app()
    raise AttributeError(name)


def _app_for(args: list[str]) -> typer.Typer:
    """The commands a command line needs: for `smeai <domain> <command> ...` where the domain lists the
    command in its cli's STANDALONE (it needs no database and no other domain: a survey command on a
    large file does not wait for every other domain's imports), that domain's group alone; else every
    command (a command on the database needs every domain's models mapped)."""
    if len(args) >= 2 and args[0] in DOMAINS:
        import importlib

        try:
            module = importlib.import_module(f"smeai.{args[0]}.cli")
        except ModuleNotFoundError:
            return full_app()
        if getattr(module, "NAME", None) == args[0] and args[1] in getattr(module, "STANDALONE", ()):
            one = typer.Typer(help=HELP, no_args_is_help=True)
            one.add_typer(module.app, name=module.NAME)
            return one
    return full_app()


def main() -> None:
    set_lang(os.environ.get("SMEAI_LANG") or get_settings().lang)
    try:
        _app_for(sys.argv[1:])()
    except json.JSONDecodeError as exc:  # an input file or option that is not JSON
        _report(Invalid(N_("Not valid JSON."), fields={f"line {exc.lineno}, column {exc.colno}": exc.msg}))
    except ValidationError as exc:  # a command's input checked by a schema: same shape as the API's answer
        _report(Invalid(N_("The input is invalid."), fields=fields_from_validation(exc.errors())))
    except SmeaiError as exc:
        _report(exc)


def _report(exc: SmeaiError) -> None:
    err_console.print(f"[red]{exc.code}[/red]: {_(exc.message)}", highlight=False)
    for field, reason in exc.fields.items():
        err_console.print(f"  {field}: {_(reason)}", highlight=False, markup=False)
    sys.exit(1)


if __name__ == "__main__":
    main()
