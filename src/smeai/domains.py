"""The capabilities, in the order the portal lists them.

app.py, cli.py, the demo and the migration environment import `smeai.<name>.<module>` for each
name here where that module exists, so a capability plugs in by adding its own files only.
"""

from __future__ import annotations

import importlib
import importlib.util
from functools import cache
from types import ModuleType

DOMAINS: tuple[str, ...] = (
    "auth",
    "taxonomy",
    "assessment",
    "catalog",
    "cases",
    "matching",
    "subsidy",
    "survey",
)


@cache  # the nav asks on every page; the package does not change while it runs
def has_module(domain: str, module: str) -> bool:
    if importlib.util.find_spec(f"smeai.{domain}") is None:
        return False
    return importlib.util.find_spec(f"smeai.{domain}.{module}") is not None


def domain_modules(module: str) -> list[ModuleType]:
    """`smeai.<domain>.<module>` for every domain that has one, in DOMAINS order."""
    return [importlib.import_module(f"smeai.{d}.{module}") for d in DOMAINS if has_module(d, module)]


def import_all_models() -> None:
    domain_modules("models")
