"""Chinese text analysis shared by search (catalog, cases) and matching: segmentation with the
taxonomy's terms and the domain synonyms (data/*.yaml) added to its dictionary, and query expansion.

`tokens()` is the one interface the rest of smeai uses, so the segmenter can be replaced: today it is a
private `jieba.Tokenizer` (jieba has had no release since 2020; its global tokenizer would share our
domain words with any other user of jieba in the process). It is deterministic and cheap after the
first call (the dictionary loads once).
"""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from smeai import taxonomy

if TYPE_CHECKING:
    import jieba

DATA = Path(__file__).parent / "data"
_lock = threading.Lock()
_WORD = re.compile(r"[\w\u4e00-\u9fff]+")


@lru_cache
def stopwords() -> frozenset[str]:
    """Words that carry no meaning for matching ("我们", "一个"): data/stopwords.txt, one a line."""
    lines = (DATA / "stopwords.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


@lru_cache
def synonym_groups() -> tuple[frozenset[str], ...]:
    groups: list[frozenset[str]] = []
    for path in sorted(DATA.glob("*.yaml")):
        for group in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("groups", []):
            groups.append(frozenset(str(w) for w in group))
    return tuple(groups)


@lru_cache
def _synonym_index() -> dict[str, frozenset[str]]:
    index: dict[str, set[str]] = {}
    for group in synonym_groups():
        for word in group:
            index.setdefault(word, set()).update(group)
    return {w: frozenset(g) for w, g in index.items()}


def _domain_words() -> set[str]:
    tax = taxonomy.load()
    words: set[str] = set()
    for kind in ("scenarios", "links", "sections", "divisions", "groups"):
        for term in tax.kinds()[kind].values():
            for part in re.split(r"[/、，,()（）\s]+", term.zh):
                if 2 <= len(part) <= 12:
                    words.add(part)
    for group in synonym_groups():
        words.update(w for w in group if len(w) >= 2)
    return words


_segmenter: jieba.Tokenizer | None = None


def _tokenizer() -> jieba.Tokenizer:
    import jieba

    global _segmenter
    if _segmenter is not None:
        return _segmenter
    with _lock:
        if _segmenter is None:
            jieba.setLogLevel(logging.WARNING)
            segmenter = jieba.Tokenizer()
            segmenter.initialize()
            for word in sorted(_domain_words()):
                segmenter.add_word(word, freq=20000)
            _segmenter = segmenter
    return _segmenter


def tokens(text: str | None) -> list[str]:
    """Segmented, lower-cased tokens without stopwords and punctuation."""
    if not text:
        return []
    segmenter, skip = _tokenizer(), stopwords()
    out = []
    for piece in segmenter.lcut_for_search(text.lower()):
        piece = piece.strip()
        if piece and piece not in skip and _WORD.fullmatch(piece):
            out.append(piece)
    return out


def expand(terms: list[str]) -> list[str]:
    """Query terms plus every synonym of each (order kept, no duplicates)."""
    seen: dict[str, None] = {}
    index = _synonym_index()
    for term in terms:
        seen.setdefault(term, None)
        for syn in sorted(index.get(term, ())):
            seen.setdefault(syn.lower(), None)
    return list(seen)


def synonyms(term: str) -> frozenset[str]:
    return _synonym_index().get(term, frozenset({term}))
