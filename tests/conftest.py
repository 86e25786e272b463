"""Every database test runs on SQLite and on PostgreSQL, on a schema built by the Alembic history.

Fixtures: `db_url` (one per backend, migrated once), `session`, `settings`, `app`, `client` (anonymous),
`client_for(actor)` (API with a real bearer token), `page_client_for(actor)` (browser-like, cookie login).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from smeai.app import create_app
from smeai.auth import service as auth_service
from smeai.auth.actor import Actor
from smeai.auth.deps import SESSION_COOKIE
from smeai.auth.models import User
from smeai.config import Settings
from smeai.db import Base, get_engine, get_sessionmaker
from smeai.domains import import_all_models
from smeai.migrate import upgrade

import_all_models()

PG_ADMIN_URL = os.environ.get("SMEAI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = [b for b in os.environ.get("SMEAI_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _pg_database(name: str, *, create: bool) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if create:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        else:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def _new_database(backend: str, folder: Path, prefix: str) -> Iterator[str]:
    """An empty database of its own on `backend` (no schema), dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'smeai.db'}"
        yield url
        get_engine(url).dispose()
        return
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    _pg_database(name, create=True)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        get_engine(url).dispose()
        _pg_database(name, create=False)


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _new_database(request.param, tmp_path_factory.mktemp("db"), "smeai_test") as url:
        upgrade(url)
        yield url


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database per backend for migration tests, which upgrade it step by step themselves."""
    with _new_database(request.param, tmp_path, "smeai_mig") as url:
        yield url


def _empty_tables(url: str) -> None:
    engine = get_engine(url)
    tables = [t for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(t.delete())


@pytest.fixture
def backend(db_url: str) -> str:
    return "postgresql" if db_url.startswith("postgresql") else "sqlite"


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    s = get_sessionmaker(db_url)()
    try:
        yield s
    finally:
        s.rollback()
        s.close()
        _empty_tables(db_url)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, var_dir=tmp_path / "var", secret_key="test-secret-key-not-for-production")


@pytest.fixture
def app(settings: Settings, session: Session):
    return create_app(settings)


@pytest.fixture
def client(app) -> TestClient:
    return TestClient(app)


def _user(session: Session, actor: Actor) -> User:
    assert actor.user_id is not None, "client_for needs a real user, not Actor.system()"
    user = session.get(User, actor.user_id)
    assert user is not None
    return user


@pytest.fixture
def client_for(app, session: Session) -> Callable[[Actor], TestClient]:
    """An in-process API client holding a real token from auth.service."""

    def make(actor: Actor) -> TestClient:
        secret, _ = auth_service.issue_token(session, _user(session, actor), kind="api", lifetime=None)
        session.commit()
        return TestClient(app, headers={"Authorization": f"Bearer {secret}"})

    return make


class PageClient(TestClient):
    csrf: str = ""

    def refresh_csrf(self, path: str = "/") -> str:
        page = self.get(path)
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found, "no CSRF token on the page"
        self.csrf = found.group(1)
        self.headers["X-CSRF-Token"] = self.csrf
        return self.csrf


@pytest.fixture
def page_client_for(app, session: Session) -> Callable[[Actor | None], PageClient]:
    """A browser-like client: session cookie (or none for None), CSRF token read from a page."""

    def make(actor: Actor | None) -> PageClient:
        c = PageClient(app)
        if actor is not None:
            secret, _ = auth_service.issue_token(session, _user(session, actor), kind="session", lifetime=None)
            session.commit()
            c.cookies.set(SESSION_COOKIE, secret)
        c.refresh_csrf("/login" if actor is None else "/")
        return c

    return make


# One browser per test process, for every folder's browser tests (tests/e2e, tests/auth): a second
# session-scoped Playwright started beside the first refuses to run ("Sync API inside the asyncio loop").
CHROMIUM = os.environ.get("SMEAI_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make system-deps` (Debian package chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()
