"""Programme files an operator changes without a release: upload, validated, versioned, history kept.

An upload is checked by the same loader as the shipped files (schema, every rule sourced, stacking partners
known) together with the shipped files and the operator's other files; only a file that passes is written,
as `subsidy/programmes/<code>.yaml` in the file store (it then overrides the shipped file of that code). Every
accepted version is also kept, never overwritten, under `subsidy/programme-history/<code>/`, with a log line saying who
uploaded which version when, and an audit-log entry. Applications keep the version they were decided
under (`Application.programme_version`), so an earlier version can always be read back.

The file store is process-wide (SMEAI_STORAGE_URL, smeai/storage.py; empty: SMEAI_VAR_DIR): processes on
several machines share it when it is an S3-compatible store.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

import yaml
from sqlalchemy.orm import Session

from smeai.auth import audit as audit_log
from smeai.auth.actor import Actor
from smeai.auth.permissions import Permission
from smeai.db import utcnow
from smeai.errors import Invalid, NotFound
from smeai.i18n import N_
from smeai.storage import NotStored, Storage
from smeai.subsidy import programmes
from smeai.subsidy.programmes import DATA, OPERATOR_PREFIX, Programme, load_programmes, version_of

MAX_BYTES = 200_000  # a programme file is a page of YAML


@dataclass(frozen=True)
class Version:
    version: str
    uploaded_at: datetime | None  # None: the file shipped with the release
    uploaded_by: str
    current: bool


ENTRIES = "entries/"  # under a programme's history: one JSON object per upload (who, when, which version)


def history_prefix(code: str) -> str:
    return f"subsidy/programme-history/{code}/"


def upload_programme(session: Session, actor: Actor, data: bytes, *, uploaded_by: str = "") -> Programme:
    """Validate DATA as a programme file among all the others and, if it passes, make it the programme's
    current file and keep it in the programme's history. Invalid names every problem (`file:rule`)."""
    actor.require(Permission.PROGRAMME_MANAGE)
    if len(data) > MAX_BYTES:
        raise Invalid(N_("The file was not accepted."), fields={"file": f"larger than {MAX_BYTES} bytes"})
    try:
        text = data.decode("utf-8")
        raw = yaml.safe_load(text)
    except (UnicodeDecodeError, yaml.YAMLError):
        raise Invalid(N_("The file was not accepted."), fields={"file": "not a YAML file in UTF-8"}) from None
    code = raw.get("code") if isinstance(raw, dict) else None
    if not isinstance(code, str) or not re.fullmatch(r"[a-z0-9-]{1,50}", code):
        raise Invalid(N_("Programme files are invalid."), fields={"code": "a programme code: a-z, 0-9 and -"})
    store = programmes.operator_store()
    # the operator's files as they would be, checked as a whole
    trial = {**programmes.operator_files(store), f"{code}.yaml": text}
    checked = load_programmes(DATA, trial)[code]  # Invalid with every problem in every file
    before = programmes.all_programmes().get(code)
    store.put(f"{OPERATOR_PREFIX}{code}.yaml", text.encode("utf-8"))  # an object is replaced whole
    history = history_prefix(code)
    now = utcnow()
    kept = f"{history}{now:%Y%m%dT%H%M%S}-{checked.version}.yaml"
    if not store.exists(kept):
        store.put(kept, text.encode("utf-8"))
    line = {"version": checked.version, "at": now.isoformat(), "by": uploaded_by, "user_id": actor.user_id}
    # One object per upload, never rewritten: an object store cannot append, and a shared log read, extended
    # and written back lost a line whenever two operators uploaded at once.
    entry = f"{history}{ENTRIES}{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.json"
    store.put(entry, json.dumps(line, ensure_ascii=False).encode("utf-8"))
    programmes.forget_listing()
    audit_log.record(
        session,
        actor,
        "programme.upload",
        ("programme", code),
        {"version": before.version if before else None},
        {"version": checked.version},
    )
    return checked


def _read(store: Storage, key: str) -> str:
    try:
        return store.get(key).decode("utf-8")
    except NotStored:
        return ""


def versions(code: str) -> list[Version]:
    """The programme's versions, newest first: every upload, then the shipped file (if there is one)."""
    current = programmes.all_programmes().get(code)
    store = programmes.operator_store()
    history = history_prefix(code)
    # earlier releases kept one log.jsonl per programme; its lines still count
    lines = [json.loads(line) for line in _read(store, f"{history}log.jsonl").splitlines() if line.strip()]
    lines += [json.loads(store.get(obj.key)) for obj in store.list(f"{history}{ENTRIES}")]
    lines.sort(key=lambda entry: datetime.fromisoformat(entry["at"]), reverse=True)
    out = [
        Version(
            version=entry["version"],
            uploaded_at=datetime.fromisoformat(entry["at"]),
            uploaded_by=entry.get("by", ""),
            current=False,
        )
        for entry in lines
    ]
    shipped = DATA / f"{code}.yaml"
    if shipped.is_file():
        out.append(Version(version_of(shipped.read_text(encoding="utf-8")), None, "", False))
    live = current.version if current else None
    marked = False
    for i, v in enumerate(out):
        if not marked and v.version == live:
            out[i] = Version(v.version, v.uploaded_at, v.uploaded_by, True)
            marked = True
    return out


def version_text(code: str, version: str) -> str:
    """The text of the programme file CODE had at VERSION (an upload kept in its history, or the shipped file)."""
    if not re.fullmatch(r"[0-9a-f]{12}", version) or not re.fullmatch(r"[a-z0-9-]{1,50}", code):
        raise NotFound(N_("Programme not found."))
    store = programmes.operator_store()
    for kept in store.list(history_prefix(code)):
        if kept.key.endswith(f"-{version}.yaml"):
            return store.get(kept.key).decode("utf-8")
    shipped = DATA / f"{code}.yaml"
    if shipped.is_file() and version_of(text := shipped.read_text(encoding="utf-8")) == version:
        return text
    for text in programmes.operator_files(store).values():
        if version_of(text) == version:
            return text
    raise NotFound(N_("Programme not found."))
