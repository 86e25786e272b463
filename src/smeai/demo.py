"""`smeai demo`: upgrade, then every domain's demo.load(), idempotently, then print the logins."""

from __future__ import annotations

import inspect
import secrets

from rich.progress import Progress
from rich.table import Table

from smeai.cli_support import console
from smeai.config import Settings
from smeai.db import session_scope
from smeai.domains import domain_modules
from smeai.migrate import upgrade


def demo_password(settings: Settings) -> str:
    """One random password for every demo account, kept in var/ (never in the repository)."""
    path = settings.var_dir / "demo-password.txt"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    password = "demo-" + secrets.token_urlsafe(9)
    path.write_text(password)
    path.chmod(0o600)
    return password


def load_demo(settings: Settings) -> list[tuple[str, str, str]]:
    upgrade(settings.database_url)
    password = demo_password(settings)
    logins: list[tuple[str, str, str]] = []
    modules = domain_modules("demo")
    with Progress(*Progress.get_default_columns(), console=console, transient=True) as progress:
        task = progress.add_task("demo", total=len(modules))
        for module in modules:
            progress.update(task, description=f"demo: {module.__name__.split('.')[1]}")
            with session_scope(settings.database_url) as s:  # one unit of work per domain
                kwargs = {"password": password} if "password" in inspect.signature(module.load).parameters else {}
                result = module.load(s, **kwargs)
                if isinstance(result, list):  # a domain that adds demo accounts returns their logins
                    logins.extend(result)
            progress.advance(task)
    table = Table("role", "email", "organisation", title=f"Demo logins (password: {password})")
    for row in logins:
        table.add_row(*row)
    console.print(table)
    return logins
