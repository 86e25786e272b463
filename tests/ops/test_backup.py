"""Backups as docs/deploy.md prescribes them: `pg_dump -Fc` of a live database, `pg_restore` into a
throwaway database, and the restored copy serves: same rows in every table, schema at the migrations' head,
/readyz answers 200 and a record made before the dump reads back. PostgreSQL only."""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, make_url, text

from smeai.app import create_app
from smeai.matching import service as matching
from smeai.matching.schemas import NeedIn
from tests import builders
from tests.conftest import _pg_database


def _libpq(url: str) -> list[str]:
    u = make_url(url)
    return ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
            return {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}
    finally:
        engine.dispose()


def test_a_dump_restores_into_a_fresh_database_that_serves(backend, db_url, session, settings, tmp_path):
    if backend != "postgresql":
        pytest.skip("pg_dump and pg_restore are PostgreSQL's")
    # where PostgreSQL runs its client tools are installed: their absence is a broken machine, not a skip
    assert shutil.which("pg_dump") and shutil.which("pg_restore"), "pg_dump / pg_restore not on PATH"
    firm = builders.enterprise(session)
    need = matching.create_need(session, firm, NeedIn(title="视觉检测", text="我们想用机器视觉检测产品表面缺陷"))
    session.commit()

    dump = tmp_path / "smeai.dump"
    source = make_url(db_url)
    subprocess.run(
        ["pg_dump", "-Fc", "--no-owner", "-f", str(dump), *_libpq(db_url), source.database or ""],
        check=True,
        capture_output=True,
    )
    assert dump.stat().st_size > 0

    name = f"smeai_restore_{uuid.uuid4().hex[:8]}"
    _pg_database(name, create=True)
    restored = source.set(database=name).render_as_string(hide_password=False)
    try:
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "-d", name, *_libpq(db_url), str(dump)],
            check=True,
            capture_output=True,
        )
        assert _counts(restored) == _counts(db_url)
        app = create_app(settings.model_copy(update={"database_url": restored}))
        with TestClient(app) as client:
            checks = client.get("/readyz").json()["checks"]  # the search index may still be loading: 503
            assert checks["database"] == "ok" and checks["migrations"] == "ok"
        engine = create_engine(restored)
        with engine.connect() as conn:
            title = conn.execute(text("SELECT title FROM needs WHERE id = :id"), {"id": need.id}).scalar_one()
        engine.dispose()
        assert title == "视觉检测"
    finally:
        _pg_database(name, create=False)
