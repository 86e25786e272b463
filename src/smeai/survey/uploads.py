"""A survey upload streamed to a temporary file in blocks: a large file is never held in memory whole."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import UploadFile

from smeai.errors import Invalid
from smeai.i18n import N_

BLOCK = 1 << 20


@asynccontextmanager
async def spooled(file: UploadFile, *, limit: int) -> AsyncIterator[Path]:
    """The upload as a file on disk (removed afterwards); Invalid past `limit` bytes."""
    suffix = Path(file.filename or "upload").suffix[:10]
    with tempfile.NamedTemporaryFile(prefix="smeai-upload-", suffix=suffix) as out:
        size = 0
        while block := await file.read(BLOCK):
            size += len(block)
            if size > limit:
                raise Invalid(N_("The file is too large."), fields={"file": f"at most {limit} bytes"})
            out.write(block)
        out.flush()
        yield Path(out.name)
