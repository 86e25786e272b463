"""A match's reasons in the reader's language, whatever language they were stored in.

The ranker writes reasons as translated text (the match command's contract is Chinese text), and a
need's snapshot keeps them for every reader: a snapshot made for a Chinese reader holds Chinese
reasons. `localise` reads a stored reason back against each reason msgid in every language, takes out
its values (taxonomy names mapped back to their codes) and writes it again in the current language.
Text that is no known reason (an older wording) and a name no longer known are shown as stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache

from smeai import taxonomy
from smeai.i18n import LANGUAGES, N_, _, get_lang, translations
from smeai.matching.ranker import MODE_NAMES
from smeai.subsidy import service as subsidy_service

SEP = "、"

# The reasons the ranker (explain, missed_by) and the subsidy note write, as in their _() calls.
MSGIDS = (
    N_("Industry: {name}"),
    N_("Industry: any"),
    N_("Scenario: {names}"),
    N_("{n} published case(s)"),
    N_("Free to start"),
    N_("First year about {price} wan yuan"),
    N_("First year about {price} wan yuan, within budget"),
    N_("First year about {price} wan yuan, above the budget of {budget} wan yuan"),
    N_("Suits your application stage"),
    N_("Built for enterprises further along (stage {n} and up)"),
    N_("Over the budget by {over} wan yuan"),
    N_("Needs {modes} deployment"),
    N_("Does not serve your province"),
    N_("After subsidy about {price} wan yuan ({programmes})"),
)

_FIELD = re.compile(r"\{(\w+)\}")
_NUMBERS = {"n", "price", "budget", "over"}  # written with :g or :.4g


def _pattern(text: str) -> re.Pattern[str]:
    parts = _FIELD.split(text)  # literal, name, literal, name, ...
    out = "".join(
        re.escape(p) if i % 2 == 0 else f"(?P<{p}>{'[-+0-9.e]+' if p in _NUMBERS else '.+?'})"
        for i, p in enumerate(parts)
    )
    return re.compile(out + r"\Z", re.DOTALL)


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """(msgid, pattern) for each reason in each language, the most literal text first (so that
    "Industry: any" is read before "Industry: {name}")."""
    seen: dict[str, str] = {}
    for lang in LANGUAGES:
        for msgid in MSGIDS:
            seen.setdefault(translations(lang).gettext(msgid), msgid)
    return tuple(
        (msgid, _pattern(text)) for text, msgid in sorted(seen.items(), key=lambda kv: -len(_FIELD.sub("", kv[0])))
    )


@lru_cache(maxsize=1)
def _terms() -> dict[str, dict[str, taxonomy.Term]]:
    """Industry and scenario terms by their name in any language."""
    tax = taxonomy.load()
    industries = [*tax.sections.values(), *tax.groups.values(), *tax.divisions.values()]

    def by_name(terms: Iterable[taxonomy.Term]) -> dict[str, taxonomy.Term]:
        return {n: t for t in terms for n in (t.zh, t.en) if n}

    return {"name": by_name(industries), "names": by_name(tax.scenarios.values())}


@lru_cache(maxsize=1)
def _modes() -> dict[str, str]:
    return {translations(lang).gettext(m): m for lang in LANGUAGES for m in MODE_NAMES.values()}


def _programme_name(value: str) -> str | None:
    return _programme_in(value, get_lang())


@lru_cache(maxsize=1024)
def _programme_in(value: str, lang: str) -> str | None:
    """Remembered: all_programmes() looks at every programme file (about 0.3 ms). A renamed programme gets
    a new snapshot (its note names the new name, a new key here); only a changed `en` waits for a restart."""
    for p in subsidy_service.all_programmes().values():
        if value in (p.name.zh, p.name.en):
            return p.name.en if lang == "en" and p.name.en else p.name.zh
    return None


def _names(value: str, lookup: Callable[[str], str | None]) -> str:
    return SEP.join(lookup(v) or v for v in value.split(SEP))


def _value(key: str, value: str) -> str:
    if key == "name":
        term = _terms()["name"].get(value)
        return term.name if term else value
    if key == "names":
        scenarios = _terms()["names"]
        return _names(value, lambda v: scenarios[v].name if v in scenarios else None)
    if key == "modes":
        modes = _modes()
        return _names(value, lambda v: _(modes[v]) if v in modes else None)
    if key == "programmes":
        return _names(value, _programme_name)
    return value  # numbers


@lru_cache(maxsize=8192)
def _parse(reason: str) -> tuple[str, tuple[tuple[str, str], ...]] | None:
    """The msgid and values of a stored reason (whatever its language); None when no reason reads so."""
    for msgid, pattern in _patterns():
        found = pattern.match(reason)
        if found:
            return msgid, tuple(found.groupdict().items())
    return None


def localise(reason: str) -> str:
    """`reason` (as the ranker wrote it, in any language) in the current language."""
    parsed = _parse(reason)
    if parsed is None:
        return reason
    msgid, values = parsed
    return _(msgid).format(**{k: _value(k, v) for k, v in values})


def localise_all(reasons: Iterable[str]) -> list[str]:
    return [localise(r) for r in reasons]
