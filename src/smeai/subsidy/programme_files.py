"""Programme files an operator changes without a release: upload, validated, versioned, history kept.

An upload is checked by the same loader as the shipped files (schema, every rule sourced, stacking partners
known) together with the shipped files and the operator's other files; only a file that passes is written,
as `<operator folder>/<code>.yaml` (it then overrides the shipped file of that code). Every accepted version
is also kept, never overwritten, in `<var>/subsidy/programme-history/<code>/`, with a log line saying who
uploaded which version when, and an audit-log entry. Applications keep the version they were decided
under (`Application.programme_version`), so an earlier version can always be read back.

The folders are process-wide, under SMEAI_VAR_DIR (docs/architecture.md): several `smeai serve` processes
on one machine share them; processes on several machines need the folder on shared storage.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml
from sqlalchemy.orm import Session

from smeai.auth import audit as audit_log
from smeai.auth.actor import Actor
from smeai.auth.permissions import Permission
from smeai.db import utcnow
from smeai.errors import Invalid, NotFound
from smeai.i18n import N_
from smeai.subsidy import programmes
from smeai.subsidy.programmes import DATA, Programme, load_programmes, version_of

MAX_BYTES = 200_000  # a programme file is a page of YAML


@dataclass(frozen=True)
class Version:
    version: str
    uploaded_at: datetime | None  # None: the file shipped with the release
    uploaded_by: str
    current: bool


def history_folder(code: str) -> Path:
    return programmes.operator_folder().parent / "programme-history" / code


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
    folder = programmes.operator_folder()
    with tempfile.TemporaryDirectory() as tmp:  # the operator's folder as it would be, checked as a whole
        trial = Path(tmp)
        if folder.is_dir():
            for path in folder.glob("*.y*ml"):
                if path.name != f"{code}.yaml":
                    (trial / path.name).write_bytes(path.read_bytes())
        (trial / f"{code}.yaml").write_text(text, encoding="utf-8")
        checked = load_programmes(DATA, trial)[code]  # Invalid with every problem in every file
    before = programmes.all_programmes().get(code)
    _write(folder / f"{code}.yaml", text)
    history = history_folder(code)
    history.mkdir(parents=True, exist_ok=True)
    now = utcnow()
    kept = history / f"{now:%Y%m%dT%H%M%S}-{checked.version}.yaml"
    if not kept.exists():
        _write(kept, text)
    line = {"version": checked.version, "at": now.isoformat(), "by": uploaded_by, "user_id": actor.user_id}
    with (history / "log.jsonl").open("a", encoding="utf-8") as log:
        log.write(json.dumps(line, ensure_ascii=False) + "\n")
    audit_log.record(
        session,
        actor,
        "programme.upload",
        ("programme", code),
        {"version": before.version if before else None},
        {"version": checked.version},
    )
    return checked


def _write(path: Path, text: str) -> None:
    """Write TEXT to PATH whole or not at all (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def versions(code: str) -> list[Version]:
    """The programme's versions, newest first: every upload, then the shipped file (if there is one)."""
    current = programmes.all_programmes().get(code)
    out: list[Version] = []
    log = history_folder(code) / "log.jsonl"
    if log.is_file():
        for line in reversed(log.read_text(encoding="utf-8").splitlines()):
            entry = json.loads(line)
            out.append(
                Version(
                    version=entry["version"],
                    uploaded_at=datetime.fromisoformat(entry["at"]),
                    uploaded_by=entry.get("by", ""),
                    current=False,
                )
            )
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
    folder = history_folder(code)
    for path in sorted(folder.glob(f"*-{version}.yaml")) if folder.is_dir() else []:
        return path.read_text(encoding="utf-8")
    shipped = DATA / f"{code}.yaml"
    if shipped.is_file() and version_of(text := shipped.read_text(encoding="utf-8")) == version:
        return text
    for path in programmes.operator_folder().glob("*.y*ml") if programmes.operator_folder().is_dir() else []:
        if version_of(text := path.read_text(encoding="utf-8")) == version:
            return text
    raise NotFound(N_("Programme not found."))
