"""`smeai mail ...`: the outbox on the server (what was sent, what waits, send now, retry failures)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from pydantic import BaseModel, ConfigDict

from smeai.cli_support import JsonFlag, console, emit
from smeai.config import get_settings
from smeai.db import session_scope
from smeai.mail import sender, service

NAME = "mail"
app = typer.Typer(help="Email outbox: list, send what is due, retry failed messages.")


class OutboxOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    to_addr: str
    template: str
    subject: str
    created_at: datetime
    attempts: int
    sent_at: datetime | None
    failed_at: datetime | None
    last_error: str | None


@app.command("list")
def list_outbox(
    unsent: Annotated[bool, typer.Option(help="Only messages not sent yet.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many, newest first.")] = 50,
    json_out: JsonFlag = False,
) -> None:
    """List the outbox, newest first."""
    with session_scope() as session:
        rows = service.list_messages(session, unsent=unsent, limit=limit)
        emit(rows, OutboxOut, as_json=json_out, columns=("id", "to_addr", "template", "attempts", "sent_at"))


@app.command("send")
def send() -> None:
    """Send every message that is due now through SMEAI_SMTP_HOST (for cron; `smeai serve` does it itself)."""
    sent, failed = sender.send_now(get_settings())
    console.print(f"sent {sent}, failed {failed}")


@app.command("retry")
def retry() -> None:
    """Queue again the messages that used up their tries."""
    with session_scope() as session:
        count = service.requeue_failed(session)
    console.print(f"queued again: {count}")
