"""The capabilities, in the order the portal lists them, and the modules the composition roots plug in.

app.py (api, pages), cli.py (cli), demo.py (demo) and the migration environment (models) take their
modules from here: plain imports, one list per kind, so a missing module is an ImportError at startup
and the import graph (tests/test_imports.py, .importlinter) sees every edge. Each kind is imported
only when asked for: `smeai --help` does not load the web routes, the portal does not load the CLI.
A new capability adds its folder, its name to DOMAINS and its modules to the lists below.
"""

from __future__ import annotations

from types import ModuleType
from typing import Literal

DOMAINS: tuple[str, ...] = (
    "auth",
    "taxonomy",
    "assessment",
    "catalog",
    "cases",
    "matching",
    "subsidy",
    "survey",
    "centre",
    "gateway",
    "trials",
    "events",
    "calls",
)

Kind = Literal["api", "pages", "cli", "demo", "models"]


def domain_modules(kind: Kind) -> list[ModuleType]:
    """`smeai.<domain>.<kind>` for every domain that has one, in DOMAINS order."""
    return list(_LOADERS[kind]())


def import_all_models() -> None:
    """Every table on Base.metadata (Alembic's environment, the tests' schema check)."""
    domain_modules("models")


def _api() -> tuple[ModuleType, ...]:
    from smeai.assessment import api as assessment
    from smeai.auth import api as auth
    from smeai.cases import api as cases
    from smeai.catalog import api as catalog
    from smeai.centre import api as centre
    from smeai.events import api as events
    from smeai.gateway import api as gateway
    from smeai.matching import api as matching
    from smeai.subsidy import api as subsidy
    from smeai.survey import api as survey
    from smeai.taxonomy import api as taxonomy

    return auth, taxonomy, assessment, catalog, cases, matching, subsidy, survey, centre, gateway, events


def _pages() -> tuple[ModuleType, ...]:
    from smeai.assessment import pages as assessment
    from smeai.auth import admin_pages
    from smeai.auth import pages as auth
    from smeai.calls import pages as calls
    from smeai.cases import pages as cases
    from smeai.catalog import pages as catalog
    from smeai.centre import pages as centre
    from smeai.events import pages as events
    from smeai.gateway import pages as gateway
    from smeai.matching import pages as matching
    from smeai.subsidy import pages as subsidy
    from smeai.survey import pages as survey
    from smeai.trials import pages as trials

    return (
        auth,
        admin_pages,
        assessment,
        catalog,
        cases,
        matching,
        subsidy,
        survey,
        centre,
        events,
        calls,
        gateway,
        trials,
    )


def _cli() -> tuple[ModuleType, ...]:
    from smeai.assessment import cli as assessment
    from smeai.auth import cli as auth
    from smeai.auth import org_cli
    from smeai.catalog import cli as catalog
    from smeai.gateway import cli as gateway
    from smeai.mail import cli as mail
    from smeai.matching import cli as matching
    from smeai.subsidy import cli as subsidy
    from smeai.survey import cli as survey
    from smeai.taxonomy import cli as taxonomy

    return auth, org_cli, taxonomy, assessment, catalog, matching, subsidy, survey, mail, gateway


def _demo() -> tuple[ModuleType, ...]:
    from smeai.assessment import demo as assessment
    from smeai.auth import demo as auth
    from smeai.calls import demo as calls
    from smeai.cases import demo as cases
    from smeai.catalog import demo as catalog
    from smeai.centre import demo as centre
    from smeai.events import demo as events
    from smeai.gateway import demo as gateway
    from smeai.matching import demo as matching
    from smeai.subsidy import demo as subsidy
    from smeai.survey import demo as survey
    from smeai.trials import demo as trials

    return auth, assessment, catalog, cases, matching, subsidy, gateway, survey, centre, events, calls, trials


def _models() -> tuple[ModuleType, ...]:
    from smeai.assessment import models as assessment
    from smeai.auth import audit, consultants
    from smeai.auth import models as auth
    from smeai.calls import models as calls
    from smeai.cases import models as cases
    from smeai.catalog import models as catalog
    from smeai.events import models as events
    from smeai.gateway import models as gateway
    from smeai.jobs import models as jobs
    from smeai.mail import models as mail
    from smeai.matching import models as matching
    from smeai.subsidy import models as subsidy
    from smeai.survey import models as survey
    from smeai.trials import models as trials

    return (
        mail,
        auth,
        audit,
        consultants,
        assessment,
        catalog,
        cases,
        matching,
        subsidy,
        survey,
        jobs,
        gateway,
        events,
        calls,
        trials,
    )


_LOADERS = {"api": _api, "pages": _pages, "cli": _cli, "demo": _demo, "models": _models}
