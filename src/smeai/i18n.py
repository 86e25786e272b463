"""Translations (Babel/gettext). Chinese first: msgids are English, zh_Hans is the default locale.

Catalogs are the .po files under locale/<lang>/LC_MESSAGES/ (one file per domain, merged at load),
compiled in memory on first use, so a checkout needs no separate compile step.

Two domains may word one msgid differently ("Open" is 报名中 for an event, 进行中 for a challenge; "Next" is
下一步 in a wizard, 下一页 in a pager). A request's page belongs to one domain (app.py sets it from the
route's module): its own catalog is read first, then the merged one.
"""

from __future__ import annotations

import gettext as _gettext
from contextvars import ContextVar
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES: dict[str, str] = {"zh_Hans": "中文", "en": "English"}
DEFAULT_LANG = "zh_Hans"

_current_lang: ContextVar[str] = ContextVar("smeai_lang", default=DEFAULT_LANG)
_current_catalog: ContextVar[str | None] = ContextVar("smeai_catalog", default=None)


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


def set_catalog(name: str | None) -> None:
    """The catalog whose wording wins for this request (the route's domain; None: the merged one)."""
    _current_catalog.set(name)


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
    return _compiled(merged)


def _compiled(catalog: Catalog) -> Translations:
    buf = BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf)


@lru_cache(maxsize=64)
def catalog_translations(lang: str, name: str | None) -> _gettext.NullTranslations:
    """NAME's own catalog first, then the merged one for everything it lacks."""
    merged = translations(lang)
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{name}.po"
    if name is None or not path.exists():
        return merged
    with path.open("rb") as fh:
        own = _compiled(read_po(fh, locale=lang.replace("_Hans", "")))
    own.add_fallback(merged)
    return own


def gettext(message: str) -> str:
    return catalog_translations(get_lang(), _current_catalog.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return catalog_translations(get_lang(), _current_catalog.get()).ngettext(singular, plural, n)


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
