"""The PostgreSQL pool tests a connection before reuse only after it lay idle (smeai/db.py): a request does not
pay a round trip for a connection used moments ago, and one that died while idle is replaced, not handed out."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from smeai import db
from tests.conftest import BACKENDS, PG_ADMIN_URL

pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL's pool")
URL = f"{PG_ADMIN_URL}?application_name=smeai_pool_test"  # an engine of its own (get_engine caches by URL)


@pytest.fixture
def pings(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    engine = db.get_engine(URL)
    seen: list[object] = []
    real = engine.dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        seen.append(dbapi_connection)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    yield seen
    engine.dispose()


def _backend_pid() -> int:
    with db.get_engine(URL).connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_used_moments_ago_is_not_pinged(pings: list[object]) -> None:
    first = _backend_pid()
    assert _backend_pid() == first  # the same pooled connection again
    assert pings == []


def test_a_connection_idle_past_the_limit_is_pinged(pings: list[object], monkeypatch: pytest.MonkeyPatch) -> None:
    first = _backend_pid()
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    assert _backend_pid() == first
    assert len(pings) == 1


def test_a_connection_that_died_while_idle_is_replaced(pings: list[object], monkeypatch: pytest.MonkeyPatch) -> None:
    first = _backend_pid()
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # a server restart or a proxy's idle timeout, for this one connection
        conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": first})  # waits until it is gone
    admin.dispose()
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    assert _backend_pid() != first  # no error: the dead one was dropped and a new one opened
