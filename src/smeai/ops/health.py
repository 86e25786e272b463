"""`/healthz` (the process answers) and `/readyz` (it can serve: database reachable, schema at the
migrations' head, search index loaded). A load balancer sends traffic to a worker only while /readyz
answers 200; 503 names what is not ready yet.

The catalog's search index is built per process on first use; the first /readyz starts that build in a
background thread and answers 503 ("loading") until it is done, so no visitor's search waits for it.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.orm import Session

from smeai import __version__
from smeai.catalog import index as catalog_index
from smeai.config import app_settings
from smeai.db import get_sessionmaker
from smeai.migrate import MIGRATIONS, alembic_config

log = logging.getLogger("smeai.health")
router = APIRouter(include_in_schema=False)

_loaded: set[str] = set()  # database URLs whose index this process has built
_loading: set[str] = set()
_lock = threading.Lock()


@lru_cache(maxsize=1)
def head_revisions() -> frozenset[str]:
    script = ScriptDirectory.from_config(alembic_config(f"sqlite:///{MIGRATIONS}"))
    return frozenset(script.get_heads())


def _load_index(url: str) -> None:
    try:
        with get_sessionmaker(url)() as session:
            catalog_index.pool_index(session)
        with _lock:
            _loaded.add(url)
        log.info("search index loaded")
    except Exception:
        log.exception("search index build failed")
    finally:
        with _lock:
            _loading.discard(url)


def index_state(url: str) -> str:
    """'ok' once this process has built the catalog index for `url`; else starts the build: 'loading'."""
    with _lock:
        if url in _loaded:
            return "ok"
        if url not in _loading:
            _loading.add(url)
            threading.Thread(target=_load_index, args=(url,), name="smeai-index-warmup", daemon=True).start()
    return "loading"


def checks(url: str) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        with get_sessionmaker(url)() as session:
            session.execute(text("SELECT 1"))
            out["database"] = "ok"
            out["migrations"] = _migrations(session)
    except Exception as exc:  # unreachable, wrong password, no such database: not ready, and say which
        log.warning("readiness: database unreachable: %s", type(exc).__name__)
        return {"database": "unreachable", "migrations": "unknown", "indexes": "unknown"}
    out["indexes"] = index_state(url) if out["migrations"] == "ok" else "waiting"
    return out


def _migrations(session: Session) -> str:
    current = set(MigrationContext.configure(session.connection()).get_current_heads())
    if current == set(head_revisions()):
        return "ok"
    return "behind" if current else "empty"


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive and answers; it touches nothing else (a slow database must not get it killed)."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    found = checks(app_settings(request).database_url)
    ready = all(v == "ok" for v in found.values())
    body = {"status": "ready" if ready else "not ready", "checks": found, "version": __version__}
    return JSONResponse(body, status_code=200 if ready else 503)
