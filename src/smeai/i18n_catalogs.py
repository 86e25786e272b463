"""Extracting msgids and keeping the per-domain catalogs in step (`make i18n`, tests/test_i18n.py).

Each domain owns locale/<lang>/LC_MESSAGES/<domain>.po; plumbing (app, web, auth, taxonomy, errors)
shares core.po. A domain's catalog holds the msgids found in its own folder.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from smeai.domains import DOMAINS
from smeai.i18n import LOCALE_DIR

PACKAGE = Path(__file__).parent
CORE_DOMAINS = ("auth", "taxonomy")
METHODS = [("**/static/**", "ignore"), ("**.py", "python"), ("**/templates/**.html", "jinja2")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}


def catalog_name(domain: str) -> str:
    return "core" if domain in CORE_DOMAINS else domain


def _extract(folder: Path, *, skip_domains: bool) -> dict[str, list[tuple[str, int]]]:
    found: dict[str, list[tuple[str, int]]] = {}
    for filename, lineno, message, _comments, _ctx in extract_from_dir(
        str(folder), METHODS, OPTIONS, keywords=KEYWORDS
    ):
        if skip_domains and filename.split("/")[0] in DOMAINS and filename.split("/")[0] not in CORE_DOMAINS:
            continue
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, []).append((filename, lineno))
    return found


def extract_all() -> dict[str, dict[str, list[tuple[str, int]]]]:
    """{catalog name: {msgid: locations}} for the package."""
    out: dict[str, dict[str, list[tuple[str, int]]]] = {"core": _extract(PACKAGE, skip_domains=True)}
    for domain in DOMAINS:
        if domain in CORE_DOMAINS or not (PACKAGE / domain).is_dir():
            continue
        out[domain] = _extract(PACKAGE / domain, skip_domains=False)
    return out


def po_path(lang: str, name: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{name}.po"


def read_catalog(lang: str, name: str) -> Catalog:
    path = po_path(lang, name)
    if not path.exists():
        return Catalog(locale=lang.replace("_Hans", ""))
    with path.open("rb") as fh:
        return read_po(fh, locale=lang.replace("_Hans", ""))


def update_catalogs(names: list[str] | None = None, langs: tuple[str, ...] = ("zh_Hans", "en")) -> dict[str, int]:
    """Add new msgids, drop vanished ones, keep translations. Returns untranslated zh counts.

    `names` limits the work to those catalogs (each domain's developer updates only their own)."""
    missing: dict[str, int] = {}
    for name, messages in extract_all().items():
        if names and name not in names:
            continue
        for lang in langs:
            old = read_catalog(lang, name)
            new = Catalog(locale=lang.replace("_Hans", ""), project="smeai", fuzzy=False)
            for msgid, locations in sorted(messages.items()):
                prev = old.get(msgid)
                new.add(msgid, prev.string if prev else "", locations=locations)
            path = po_path(lang, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as fh:
                write_po(fh, new, width=120, omit_header=False, sort_output=True)
            if lang == "zh_Hans":
                missing[name] = sum(1 for m in new if m.id and not m.string)
    return missing
