"""`smeai user ...`: bootstrap accounts (acts as the system)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select

from smeai.auth import service
from smeai.auth.actor import Actor
from smeai.auth.models import User
from smeai.auth.permissions import ROLE_ORG_KINDS, Role
from smeai.auth.schemas import OrganisationIn, RevokedOut, TokenInfoOut, UserIn, UserOut
from smeai.cli_support import JsonFlag, console, emit, print_json
from smeai.db import session_scope

NAME = "user"
app = typer.Typer(help="Accounts: create users and their organisations.")


@app.command("create")
def create(
    email: Annotated[str, typer.Option(help="Login email.")],
    role: Annotated[Role, typer.Option(help="enterprise_member, provider_member, operator, analyst or admin.")],
    org: Annotated[str, typer.Option(help="Organisation name; created when missing.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="At least 10 characters."),
    ] = "",
    json_out: JsonFlag = False,
) -> None:
    """Create a user (and the organisation, of the kind the role needs, if it does not exist)."""
    system = Actor.system()  # bootstrap: explicit, easy to grep for
    with session_scope() as session:
        organisation = service.find_organisation_by_name(session, org)
        if organisation is None:
            kind = sorted(ROLE_ORG_KINDS[role])[0]
            organisation = service.create_organisation(session, system, OrganisationIn(name=org, kind=kind))
        user = service.create_user(
            session,
            system,
            UserIn(
                email=email,
                display_name=name or email.split("@")[0],
                password=password,
                role=role,
                org_id=organisation.id,
            ),
        )
        if json_out:
            emit([user], UserOut, as_json=True, columns=())
        else:
            console.print(f"[green]created[/green] {user.email} ({user.role}) in {organisation.name}")


@app.command("list")
def list_users(json_out: JsonFlag = False) -> None:
    """List every user (system view)."""
    with session_scope() as session:
        users = list(session.scalars(select(User).order_by(User.id)))
        emit(users, UserOut, as_json=json_out, columns=("id", "email", "display_name", "role", "org_id"))


@app.command("tokens")
def list_tokens(
    email: Annotated[str, typer.Argument(help="The user whose API tokens to list.")],
    json_out: JsonFlag = False,
) -> None:
    """List a user's live API tokens (never their secrets)."""
    with session_scope() as session:
        actor = service.actor_for_email(session, email)
        tokens = service.list_api_tokens(session, actor)
        emit(tokens, TokenInfoOut, as_json=json_out, columns=("id", "label", "scope", "created_at", "expires_at"))


@app.command("revoke-tokens")
def revoke_tokens(
    email: Annotated[str, typer.Argument(help="The user whose API tokens to revoke.")],
    token_id: Annotated[int | None, typer.Option("--id", help="Only this token; all of them when left out.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Revoke one API token of a user, or all of them (e.g. after a leak)."""
    with session_scope() as session:
        actor = service.actor_for_email(session, email)
        if token_id is None:
            revoked = service.revoke_api_tokens(session, actor)
        else:
            service.revoke_api_token(session, actor, token_id)
            revoked = 1
        if json_out:
            print_json(RevokedOut(revoked=revoked).model_dump())
        else:
            console.print(f"revoked {revoked} token(s) of {email}")
