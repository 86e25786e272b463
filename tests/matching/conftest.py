"""Matching tests run without sentence embeddings (slow on a shared CPU) except where a test asks."""

from __future__ import annotations

import pytest

from smeai.matching import pools


@pytest.fixture(autouse=True)
def _no_embeddings(monkeypatch):
    monkeypatch.setattr(pools, "EMBEDDINGS", False)
