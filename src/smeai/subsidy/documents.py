"""Uploads for a claim: contract, invoice, payment and delivery documents.

Checked by size and by content (the first bytes must be a PDF, PNG or JPEG, whatever the name says), stored
in the file store (smeai/storage.py) under `uploads/subsidy/<application>/` with a random name and the type's
own extension (a local store: mode 0640, never executable); the original name is sanitised and kept for
display only. A stored file no Document names (a crash between writing and committing) is an orphan:
`stored_keys()` tells the `storage-orphans` job which files are still named.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from smeai.auth.actor import Actor
from smeai.auth.permissions import Permission
from smeai.errors import Invalid, NotFound
from smeai.i18n import N_
from smeai.storage import NotStored, Storage
from smeai.subsidy.models import Document
from smeai.subsidy.programmes import DocKind
from smeai.subsidy.schemas import ApplicationState
from smeai.subsidy.service import WrongState, get_application

# magic bytes -> (content type, extension)
TYPES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)
EXTENSIONS = {".pdf": ".pdf", ".png": ".png", ".jpg": ".jpg", ".jpeg": ".jpg"}
UPLOAD_STATES = {ApplicationState.SUBMITTED, ApplicationState.APPROVED}


def sanitise_filename(name: str) -> str:
    """A display name with no path, no control characters and no surprises; CJK letters kept."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFKC", base)
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] not in ("C", "Z") or ch == " ")
    base = re.sub(r"[^\w.\- ()（）]+", "_", base).strip(" .")
    return (base or "document")[:100]


def sniff(data: bytes) -> tuple[str, str] | None:
    for magic, content_type, ext in TYPES:
        if data.startswith(magic):
            return content_type, ext
    return None


PREFIX = "uploads/subsidy/"


def folder(application_id: int) -> str:
    return f"{PREFIX}{application_id}/"


def stored_keys(session: Session) -> set[str]:
    """Every stored file a Document names (for the orphan sweep; plumbing, no actor)."""
    return set(session.scalars(select(Document.stored_name)))


def add_document(
    session: Session,
    actor: Actor,
    application_id: int,
    *,
    kind: DocKind,
    filename: str,
    data: bytes,
    store: Storage,
    max_bytes: int,
) -> Document:
    """The enterprise attaches a document to its own application (while it is submitted or approved)."""
    app = get_application(session, actor, application_id)
    actor.require(Permission.SUBSIDY_APPLY)
    if app.state not in UPLOAD_STATES:
        raise WrongState(N_("Documents can no longer be added to this application."), state=app.state)
    name = sanitise_filename(filename)
    found = sniff(data)
    problems: dict[str, str] = {}
    if not data:
        problems["file"] = "empty file"
    elif len(data) > max_bytes:
        problems["file"] = f"larger than {max_bytes} bytes"
    elif found is None:
        problems["file"] = "only PDF, PNG or JPEG files"
    elif EXTENSIONS.get(Path(name).suffix.lower()) != found[1]:
        problems["file"] = "the file name does not match its content"
    if problems:
        raise Invalid(N_("The file was not accepted."), fields=problems)
    assert found is not None
    content_type, ext = found
    stored = f"{folder(app.id)}{secrets.token_hex(16)}{ext}"
    store.put(stored, data)
    doc = Document(
        application_id=app.id,
        kind=kind,
        filename=name,
        content_type=content_type,
        stored_name=stored,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by_id=actor.user_id,
    )
    session.add(doc)
    session.flush()
    return doc


def list_documents(session: Session, actor: Actor, application_id: int) -> list[Document]:
    get_application(session, actor, application_id)
    return list(
        session.scalars(select(Document).where(Document.application_id == application_id).order_by(Document.id))
    )


def read_document(
    session: Session, actor: Actor, application_id: int, document_id: int, store: Storage
) -> tuple[Document, bytes]:
    get_application(session, actor, application_id)
    doc = session.scalar(select(Document).where(Document.id == document_id, Document.application_id == application_id))
    if doc is None:
        raise NotFound(N_("Document not found."))
    try:
        return doc, store.get(doc.stored_name)
    except (NotStored, ValueError):  # ValueError: a name that is not a plain key
        raise NotFound(N_("Document not found.")) from None
