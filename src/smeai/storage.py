"""Stored files (uploads, operator programme files) behind one interface, so several hosts can share them.

Two backends, chosen by SMEAI_STORAGE_URL: a local folder (`file:///srv/smeai/files`; empty: the var folder,
where earlier releases kept the same keys) and any S3-compatible store (`s3://bucket/prefix`, with
SMEAI_STORAGE_ENDPOINT_URL for MinIO, Ceph, OSS and the like) through s3fs. Keys are relative, '/'-separated
paths (`uploads/subsidy/12/3fa0….pdf`); a key that could climb out of the store is refused.

A file is written before the database row that names it is committed, so a crash (or a rolled-back
transaction) between the two leaves an object nobody refers to; `orphans()` finds those older than a grace
period and the `storage-orphans` job removes them (jobs/registry.py). Plumbing: imports no domain.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from smeai.config import Settings

_SEGMENT = re.compile(r"[^\x00-\x1f\\/]+")


class NotStored(LookupError):
    """No object under this key."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    modified: datetime  # UTC


def check_key(key: str) -> str:
    """KEY if it is a plain relative path (no '..', no backslash, no control characters); ValueError if not."""
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") or not _SEGMENT.fullmatch(p) for p in parts) or len(key) > 500:
        raise ValueError(f"not a storage key: {key!r}")
    return key


class Storage(ABC):
    """Whole objects only: `put` replaces atomically (a reader sees the old or the new bytes, never half)."""

    url: str
    cheap_listing = False  # True where listing costs a folder read, not a request to a server

    @abstractmethod
    def put(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The object's bytes; NotStored if there is none."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; nothing happens if there is none."""

    @abstractmethod
    def list(self, prefix: str) -> list[StoredObject]:
        """Every object whose key starts with PREFIX (a folder, ending in '/'), in key order."""

    def exists(self, key: str) -> bool:
        try:
            self.get(key)
        except NotStored:
            return False
        return True

    def put_file(self, key: str, path: Path) -> None:
        """Store the file at PATH under KEY. Backends copy it in blocks (a large upload is never in memory
        whole); this fallback reads it whole."""
        self.put(key, path.read_bytes())

    @contextlib.contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        """The object as a file on this host for the duration (a local store's own file, or a temporary
        copy fetched in blocks, removed afterwards); NotStored if there is none."""
        with tempfile.TemporaryDirectory(prefix="smeai-stored-") as folder:
            path = Path(folder) / Path(check_key(key)).name
            path.write_bytes(self.get(key))
            yield path


class LocalStorage(Storage):
    """Files under one folder, mode 0640 (never executable), written through a temporary file and a rename."""

    cheap_listing = True

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.url = self.root.as_uri()

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, 0o640)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotStored(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def put_file(self, key: str, path: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, path.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
            os.chmod(tmp, 0o640)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @contextlib.contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        if not path.is_file():
            raise NotStored(key)
        yield path

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str) -> list[StoredObject]:
        base = self.root / prefix if prefix else self.root
        if not base.is_dir():
            return []
        out = []
        for path in base.rglob("*"):
            if path.name.startswith(".") or not path.is_file():  # a write in progress (.x.part)
                continue
            stat = path.stat()
            key = path.relative_to(self.root).as_posix()
            out.append(StoredObject(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC)))
        return sorted(out, key=lambda o: o.key)


class S3Storage(Storage):
    """Objects in an S3-compatible bucket under a prefix. An S3 PUT is atomic by itself. Listings are never
    cached: another host may have written a moment ago."""

    def __init__(self, bucket: str, prefix: str, fs: Any) -> None:
        self.bucket, self.prefix, self.fs = bucket, prefix.strip("/"), fs
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")

    def _path(self, key: str) -> str:
        return "/".join(p for p in (self.bucket, self.prefix, check_key(key)) if p)

    def put(self, key: str, data: bytes) -> None:
        self.fs.pipe_file(self._path(key), data)

    def get(self, key: str) -> bytes:
        try:
            return bytes(self.fs.cat_file(self._path(key)))
        except FileNotFoundError:
            raise NotStored(key) from None

    def exists(self, key: str) -> bool:
        return bool(self.fs.isfile(self._path(key)))

    def put_file(self, key: str, path: Path) -> None:
        self.fs.put_file(str(path), self._path(key))  # multipart in blocks for a large file

    @contextlib.contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="smeai-stored-") as folder:
            path = Path(folder) / Path(check_key(key)).name
            try:
                self.fs.get_file(self._path(key), str(path))
            except FileNotFoundError:
                raise NotStored(key) from None
            yield path

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._path(key))

    def list(self, prefix: str) -> list[StoredObject]:
        root = "/".join(p for p in (self.bucket, self.prefix) if p)
        found = self.fs.find(f"{root}/{prefix}".rstrip("/"), detail=True)
        out = []
        for path, info in found.items():
            if info.get("type") != "file":
                continue
            modified = info.get("LastModified") or datetime.now(UTC)
            out.append(StoredObject(path[len(root) + 1 :], int(info.get("size") or 0), modified.astimezone(UTC)))
        return sorted(out, key=lambda o: o.key)


def open_storage(
    url: str,
    *,
    var_dir: Path,
    endpoint_url: str = "",
    key_id: str = "",
    secret_key: str = "",
    region: str = "",
) -> Storage:
    """The store a URL names: empty (the var folder), file:///path, or s3://bucket[/prefix]."""
    if not url:
        return LocalStorage(var_dir)
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalStorage(Path(unquote(parsed.path)))
    if parsed.scheme == "s3":
        import s3fs  # type: ignore[import-untyped]  # imported only where S3 is used: it pulls in aiobotocore

        options: dict[str, Any] = {"use_listings_cache": False, "skip_instance_cache": True}
        if key_id:
            options |= {"key": key_id, "secret": secret_key}
        client: dict[str, str] = {}
        if endpoint_url:
            client["endpoint_url"] = endpoint_url
        if region:
            client["region_name"] = region
        fs = s3fs.S3FileSystem(client_kwargs=client, **options)
        return S3Storage(parsed.netloc, parsed.path, fs)
    raise ValueError(f"SMEAI_STORAGE_URL must be empty, file:///... or s3://bucket/prefix, not {url!r}")


@lru_cache(maxsize=8)  # one per configuration: the S3 client keeps its connection pool between requests
def _cached(url: str, var_dir: Path, endpoint_url: str, key_id: str, secret_key: str, region: str) -> Storage:
    return open_storage(
        url, var_dir=var_dir, endpoint_url=endpoint_url, key_id=key_id, secret_key=secret_key, region=region
    )


def storage_for(settings: Settings) -> Storage:
    """The store these settings name (the same object for the same settings)."""
    return _cached(
        settings.storage_url,
        settings.var_dir.resolve(),
        settings.storage_endpoint_url,
        settings.storage_key_id,
        settings.storage_secret_key,
        settings.storage_region,
    )


def orphans(
    store: Storage, prefix: str, referenced: Iterable[str], *, older_than: timedelta, now: datetime | None = None
) -> list[StoredObject]:
    """Objects under PREFIX that no row refers to and that are older than the grace period (a younger one
    may belong to an upload whose transaction has not committed yet)."""
    keep = set(referenced)
    cutoff = (now or datetime.now(UTC)) - older_than
    return [o for o in store.list(prefix) if o.key not in keep and o.modified < cutoff]
