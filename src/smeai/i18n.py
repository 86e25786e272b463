"""Translations (Babel/gettext). Chinese first: msgids are English, zh_Hans is the default locale.

Catalogs are the .po files under locale/<lang>/LC_MESSAGES/ (one file per domain, merged at load),
compiled in memory on first use, so a checkout needs no separate compile step.
"""

from __future__ import annotations

import gettext as _gettext
from contextvars import ContextVar
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES: dict[str, str] = {"zh_Hans": "中文", "en": "English"}
DEFAULT_LANG = "zh_Hans"

_current_lang: ContextVar[str] = ContextVar("smeai_lang", default=DEFAULT_LANG)


def normalise_lang(value: str | None) -> str | None:
    if not value:
        return None
    v = value.replace("-", "_").lower()
    if v.startswith("zh"):
        return "zh_Hans"
    if v.startswith("en"):
        return "en"
    return None


def set_lang(lang: str) -> None:
    _current_lang.set(normalise_lang(lang) or DEFAULT_LANG)


def get_lang() -> str:
    return _current_lang.get()


def colon() -> str:
    """The colon after a label: full-width in Chinese text (来源：…), ASCII and a space in English."""
    return ": " if get_lang() == "en" else "："


@lru_cache(maxsize=4)
def translations(lang: str) -> _gettext.NullTranslations:
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    files = sorted(folder.glob("*.po")) if folder.exists() else []
    if not files:
        return _gettext.NullTranslations()
    catalogs = []
    for path in files:
        with path.open("rb") as fh:
            catalogs.append(read_po(fh, locale=lang.replace("_Hans", "")))
    merged = catalogs[0]
    for catalog in catalogs[1:]:
        for message in catalog:
            if message.id and message.string:
                merged[message.id] = message
    buf = BytesIO()
    write_mo(buf, merged)
    buf.seek(0)
    return Translations(buf)


def gettext(message: str) -> str:
    return translations(get_lang()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(get_lang()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Mark for extraction; translated where shown (services don't know the reader's locale)."""
    return message


def label(value: dict[str, str] | str | None) -> str:
    """A data file's {zh, en} label in the current language (zh when en is missing)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if get_lang() == "en" and value.get("en"):
        return value["en"]
    return value.get("zh") or value.get("en") or ""
