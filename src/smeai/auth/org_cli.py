"""`smeai org ...`: the centre's organisation verification queue on the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from smeai.auth import registration, service
from smeai.auth.links import Links
from smeai.auth.schemas import VerificationOut
from smeai.cli_support import AsUser, JsonFlag, console, emit, print_json
from smeai.config import Settings, get_settings, secret_key
from smeai.db import session_scope
from smeai.i18n import get_lang
from smeai.mail import sender

NAME = "org"
app = typer.Typer(help="Organisations: the verification queue (approve or return self-registered ones).")


def _links(settings: Settings) -> Links:
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    return Links(base_url=base, key=secret_key(settings), hours=settings.email_link_hours, lang=get_lang())


@app.command("queue")
def queue(
    as_user: AsUser,
    state: Annotated[str, typer.Option(help="pending, returned or verified.")] = "pending",
    json_out: JsonFlag = False,
) -> None:
    """Organisations waiting for verification (or in another state)."""
    with session_scope() as session:
        actor = service.actor_for_email(session, as_user)
        rows = registration.verification_queue(session, actor, state=state)
        emit(rows, VerificationOut, as_json=json_out, columns=("id", "name", "credit_code", "kind", "verification"))


@app.command("verify")
def verify(
    credit_code: Annotated[str, typer.Argument(help="The organisation's unified social credit code.")],
    as_user: AsUser,
    json_out: JsonFlag = False,
) -> None:
    """Verify a waiting organisation (as the page's Verify button); its admins are emailed."""
    settings = get_settings()
    with session_scope() as session:
        actor = service.actor_for_email(session, as_user)
        org = registration.organisation_by_code(session, actor, credit_code)
        registration.approve_organisation(session, actor, _links(settings), org)
        out = VerificationOut.model_validate(org)
    sender.send_now(settings)  # what failed stays queued for `smeai serve` or `smeai mail send`
    if json_out:
        print_json(out.model_dump(mode="json"))
    else:
        console.print(f"[green]verified[/green] {out.name} ({out.credit_code})")


@app.command("return")
def return_(
    credit_code: Annotated[str, typer.Argument(help="The organisation's unified social credit code.")],
    as_user: AsUser,
    reason: Annotated[str, typer.Option(help="Why it is returned; its admins read it.")],
    json_out: JsonFlag = False,
) -> None:
    """Return a waiting organisation with a reason; its admins are emailed."""
    settings = get_settings()
    with session_scope() as session:
        actor = service.actor_for_email(session, as_user)
        org = registration.organisation_by_code(session, actor, credit_code)
        registration.return_organisation(session, actor, _links(settings), org, reason)
        out = VerificationOut.model_validate(org)
    sender.send_now(settings)
    if json_out:
        print_json(out.model_dump(mode="json"))
    else:
        console.print(f"returned {out.name} ({out.credit_code})")
