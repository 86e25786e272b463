"""Scenario and kind detection from a need's own words, driven by data/cues.yaml.

A need rarely names its scenario ("出货前全靠老师傅拿眼睛挑" is quality inspection), so the cue file
lists what owners actually say. Detection is a substring scan (Chinese has no spaces, and a scan
finds "验布" inside "验布机" where a segmenter might not), weighted by cue length: a one-character cue
is weak evidence, a four-character one strong.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from smeai import taxonomy

DATA = Path(__file__).parent / "data"
KINDS = ("saas", "platform", "agent", "model", "appliance", "service", "compute", "dataset", "training")


@dataclass(frozen=True)
class CueBook:
    scenarios: dict[str, tuple[tuple[str, float], ...]]
    kinds: dict[str, tuple[tuple[str, float], ...]]


def _weight(word: str) -> float:
    n = len(word) if not word.isascii() else max(1, len(word) // 2)
    return 0.4 if n == 1 else 1.0 if n == 2 else 1.5


def _entries(words: list) -> tuple[tuple[str, float], ...]:
    out: list[tuple[str, float]] = []
    for item in words:
        if isinstance(item, dict):  # "word: weight"
            out.extend((str(w).lower(), float(v)) for w, v in item.items())
        else:
            out.append((str(item).lower(), _weight(str(item))))
    return tuple(out)


@lru_cache
def load_cues(path: Path = DATA / "cues.yaml") -> CueBook:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    known = taxonomy.load().scenarios
    unknown = sorted(set(raw["scenarios"]) - set(known)) + sorted(set(raw["kinds"]) - set(KINDS))
    if unknown:
        raise ValueError(f"{path.name}: unknown scenario or kind codes {unknown}")
    scenarios = {code: _entries(raw["scenarios"].get(code, [])) for code in known}
    # A scenario's own taxonomy name is always a cue ("能耗管理", "智能排产").
    for code, term in known.items():
        names = [p for p in term.zh.replace("(", "/").replace(")", "/").split("/") if len(p.strip()) >= 2]
        scenarios[code] = scenarios[code] + tuple((p.strip().lower(), 1.5) for p in names)
    return CueBook(scenarios, {k: _entries(v) for k, v in raw["kinds"].items()})


def _scan(text: str, entries: tuple[tuple[str, float], ...]) -> float:
    hits = [(w, weight) for w, weight in entries if w in text]
    # A cue inside a longer cue that also fired is the same evidence, counted once.
    return sum(weight for w, weight in hits if not any(w != o and w in o for o, _ in hits))


def detect(text: str, book: CueBook | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """Scenario and kind scores for a need's text, each scaled so that the strongest is 1."""
    book = book or load_cues()
    low = text.lower()
    scen = {code: s for code, entries in book.scenarios.items() if (s := _scan(low, entries)) > 0}
    kinds = {code: s for code, entries in book.kinds.items() if (s := _scan(low, entries)) > 0}
    top = max(scen.values(), default=0.0)
    scen = {c: s / top for c, s in scen.items()} if top else {}
    return scen, kinds
