"""Chinese text analysis shared by search (catalog, cases) and matching: jieba segmentation with the
taxonomy's terms and the domain synonyms (data/*.yaml) added to its dictionary, and query expansion.

`tokens()` is deterministic and cheap to call after the first use (jieba's dictionary loads once).
"""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache
from pathlib import Path

import jieba
import yaml

from smeai import taxonomy

DATA = Path(__file__).parent / "data"
_lock = threading.Lock()
_WORD = re.compile(r"[\w\u4e00-\u9fff]+")
# Words that carry no meaning for matching ("我们", "一个", punctuation is dropped by _WORD).
STOPWORDS = frozenset(
    [
        "的",
        "了",
        "和",
        "与",
        "及",
        "或",
        "是",
        "在",
        "我们",
        "我",
        "你",
        "他",
        "她",
        "它",
        "有",
        "没有",
        "能",
        "能不能",
        "可以",
        "想",
        "要",
        "就",
        "都",
        "也",
        "很",
        "还",
        "把",
        "被",
        "让",
        "给",
        "对",
        "从",
        "用",
        "个",
        "一个",
        "一些",
        "这",
        "那",
        "这个",
        "那个",
        "什么",
        "怎么",
        "如何",
        "吗",
        "呢",
        "吧",
        "啊",
        "呀",
        "等",
        "上",
        "下",
        "里",
        "中",
        "为",
        "以",
        "及其",
        "其",
        "而",
        "但",
        "又",
        "再",
        "已",
        "已经",
        "一",
        "二",
        "三",
        "几",
        "多",
        "少",
        "老",
        "经常",
        "总是",
        "现在",
        "目前",
        "希望",
        "需要",
        "看看",
        "有没有",
        "能否",
        "是否",
        "帮",
        "帮忙",
        "找",
        "找个",
        "东西",
        "我们的",
        "公司",
        "厂",
        "企业",
        "小厂",
    ]
)


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


_ready = False


def _ensure_dictionary() -> None:
    global _ready
    if _ready:
        return
    with _lock:
        if _ready:
            return
        jieba.setLogLevel(logging.WARNING)
        for word in sorted(_domain_words()):
            jieba.add_word(word, freq=20000)
        jieba.initialize()
        _ready = True


def tokens(text: str | None) -> list[str]:
    """Segmented, lower-cased tokens without stopwords and punctuation."""
    if not text:
        return []
    _ensure_dictionary()
    out = []
    for piece in jieba.lcut_for_search(text.lower()):
        piece = piece.strip()
        if piece and piece not in STOPWORDS and _WORD.fullmatch(piece):
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
