"""/healthz answers while the process lives; /readyz is 200 only when the database, schema and index are."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from smeai.app import create_app
from smeai.config import Settings
from smeai.migrate import upgrade


def _ready(client: TestClient, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while True:
        r = client.get("/readyz")
        if r.status_code == 200 or time.monotonic() > deadline:
            return r
        time.sleep(0.05)


def test_healthz_answers_without_the_database(tmp_path):
    dead = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:9/none", var_dir=tmp_path)
    client = TestClient(create_app(dead))
    assert client.get("/healthz").status_code == 200
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["database"] == "unreachable"


def test_readyz_is_ready_on_a_migrated_database_once_the_index_is_loaded(client):
    r = _ready(client)
    assert r.status_code == 200, r.json()
    assert r.json()["checks"] == {"database": "ok", "migrations": "ok", "indexes": "ok"}


def test_readyz_is_503_until_the_schema_is_at_head(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    client = TestClient(create_app(Settings(database_url=url, var_dir=tmp_path)))
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["migrations"] == "empty"
    upgrade(url, "0001")
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["migrations"] == "behind"
    upgrade(url)
    assert _ready(client).status_code == 200
