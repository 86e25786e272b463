"""What a page may not show a person (tests/test_screens.py crawls every page, tests/e2e/test_tour.py walks
the README's tour in a browser; both check each page with `problems_on`). An internal identifier is:

- a voucher programme's id (`hangzhou-compute`), a config key (`eligibility.approved_suppliers`), any
  snake_case code (`quality_inspection`, `enterprise_member`);
- a province or division code beside or instead of its name (`（11）`, `（CA）`), a survey group code (L1…K7;
  L1…L5 also name the maturity levels, a label people read, so only a bare L-code or one before a group name);
- a currency code beside a country code or an amount's decimals (`CA CAD`, `300,000,000.00 CAD`);
- a record id: a `#` column, `#12`;
- a column or a definition whose heading is a stage, province, region or industry and whose value is a
  bare code (`应用阶段 | 3`);
- an ASCII colon after Chinese text (对比组: …);
- a message left untranslated: an English msgid on a Chinese page, a Chinese translation or a taxonomy
  name on an English page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from bs4 import BeautifulSoup, Tag

from smeai import taxonomy
from smeai.config import Settings

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "smeai"
ROLES = {  # the README's tour, one account per kind of user, and a visitor
    "visitor": None,
    "enterprise": "fastener@demo.smeai.cn",
    "enterprise-optics": "optics@demo.smeai.cn",
    "provider": "aliyun@demo.smeai.cn",
    "provider-heihu": "heihu@demo.smeai.cn",
    "operator": "operator@demo.smeai.cn",
    "analyst": "analyst@demo.smeai.cn",
    "admin": "admin@demo.smeai.cn",
}


# --- what a page shows --------------------------------------------------------------------------------


def _visible(soup: BeautifulSoup) -> BeautifulSoup:
    for tag in soup(["script", "style", "template", "noscript"]):
        tag.decompose()
    for tag in soup.select("[hidden], input[type=hidden]"):
        tag.decompose()
    return soup


def _texts(soup: Tag) -> list[str]:
    """Every text a person reads: text nodes (option texts included) and placeholders."""
    out = [t.strip() for t in soup.find_all(string=True) if t.strip()]
    out += [str(tag["placeholder"]) for tag in soup.select("[placeholder]")]
    return out


def _pairs(soup: Tag) -> Iterator[tuple[str, str]]:
    """(heading, value) of every table cell and definition."""
    for table in soup.find_all("table"):
        rows = table.find_all("tr")
        if not rows or rows[0].find("td") is not None:
            continue
        heads = [th.get_text(" ", strip=True) for th in rows[0].find_all("th")]
        for row in rows[1:]:
            for head, cell in zip(heads, row.find_all(["td", "th"]), strict=False):
                yield head, cell.get_text(" ", strip=True)
    for dt in soup.find_all("dt"):
        dd = dt.find_next_sibling("dd")
        if dd is not None:
            yield dt.get_text(" ", strip=True), dd.get_text(" ", strip=True)


def _programme_ids() -> set[str]:
    return {p.stem for p in (PACKAGE / "subsidy" / "data" / "programmes").glob("*.yaml")}


CODE_HEADINGS = re.compile(r"阶段|省|地区|区域|行业|门类|Stage|Province|Region|Industry|Sector", re.I)
ASCII_COLON = re.compile(r"[\u4e00-\u9fff）]\s?:(?!//)")  # 对比组: → 对比组：
COUNT_HEADINGS = re.compile(r"数$|数量|次数|count|number of", re.I)  # 到达该阶段的需求数: a count, not a stage
BARE_CODE = re.compile(r"^(?:[0-9]{1,2}|[A-Z][0-9]{0,2}|[a-z]+(?:_[a-z]+)+)(?:[,、 ]+(?:[0-9]{1,2}|[A-Z][0-9]{0,2}))*$")
RULES = [
    ("config key", re.compile(r"\b[a-z]+(?:_[a-z]+)*\.[a-z]+_[a-z_]+\b")),
    ("snake_case code", re.compile(r"(?<![\w./@-])[a-z]+_[a-z]+(?:_[a-z]+)*(?![\w./@-])")),
    ("code in brackets", re.compile(r"（\d{2}）|[（(][A-Z]{2}[）)]")),
    (
        "survey group code",
        re.compile(r"(?<![\w-])[TK][1-7](?![\w-])|^L[1-5]$|(?<![\w-])L[1-5] (?=[\u4e00-\u9fff]{3,}业)"),
    ),
    (
        "currency code beside a country or decimals",
        re.compile(r"\b[A-Z]{2} [A-Z]{3}\b|\d\.\d\d (?:CAD|SGD|GBP|USD|EUR|HKD)\b"),
    ),
    ("record id", re.compile(r"(?<![\w&])#\d+\b")),
]


def problems_on(html: str, *, lang: str) -> list[str]:
    """What the page's main part shows that it should not (see the module's docstring)."""
    msgids, zh_names = catalogs()
    soup = _visible(BeautifulSoup(html, "html.parser"))
    main = soup.find("main") or soup
    found: list[str] = []
    programmes = _programme_ids()
    texts = _texts(main)
    for text in texts:
        for name, rule in RULES:
            if m := rule.search(text):
                found.append(f"{name}: {m.group(0)!r} in {text[:80]!r}")
        for word in re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)+", text):
            if word in programmes:
                found.append(f"programme id: {word!r} in {text[:80]!r}")
        if lang == "zh_Hans" and (m := ASCII_COLON.search(text)):
            found.append(f"ASCII colon in Chinese text: {m.group(0)!r} in {text[:80]!r}")
        if lang == "zh_Hans" and text in msgids and msgids[text] != text:
            found.append(f"untranslated: {text[:80]!r}")
        if lang == "en" and (text in zh_names):
            found.append(f"Chinese on the English page: {text[:80]!r}")
    for th in main.find_all("th"):
        if th.get_text(strip=True) in ("#", "ID", "Id", "编号"):
            found.append(f"id column: {th.get_text(strip=True)!r}")
    for head, value in _pairs(main):
        if CODE_HEADINGS.search(head) and not COUNT_HEADINGS.search(head) and BARE_CODE.match(value):
            found.append(f"bare code under {head!r}: {value!r}")
    return found


@lru_cache
def catalogs() -> tuple[dict[str, str], set[str]]:
    """English msgids with their Chinese text (several words, so a brand name is not one), and every
    Chinese translation and taxonomy name that has an English one."""
    from babel.messages.pofile import read_po

    msgids: dict[str, str] = {}
    zh_names: set[str] = set()
    for po in (PACKAGE / "locale" / "zh_Hans" / "LC_MESSAGES").glob("*.po"):
        with po.open("rb") as f:
            for message in read_po(f):
                if isinstance(message.id, str) and message.id and isinstance(message.string, str):
                    if len(message.id.split()) >= 2 and message.string:
                        msgids[message.id] = message.string
                    if message.string and message.string != message.id and len(message.string) >= 2:
                        zh_names.add(message.string)
    for terms in taxonomy.load().kinds().values():
        zh_names |= {t.zh for t in terms.values() if t.en and t.en != t.zh}
    return msgids, zh_names


def pattern(path: str) -> str:
    """/catalog/offerings/12 and /subsidy/programmes/beijing-compute as /catalog/offerings/{id}, ..."""
    return re.sub(r"/[a-z0-9]+(?:-[a-z0-9]+)+|/\d+", "/{id}", path.split("?")[0])


# Known findings, by page and kind of problem, with who fixes them: a finding not listed fails the tests.
# Empty: every page of every demo role is clean in both languages. Add an entry only with a reason.
PENDING: dict[tuple[str, str], str] = {}


def unexpected(url: str, found: list[str]) -> list[str]:
    """The findings on `url` that PENDING does not name."""
    key = pattern(url)
    return [f for f in found if (key, _kind(f)) not in PENDING]


def _kind(finding: str) -> str:
    return re.sub(r"^(en|zh_Hans): ", "", finding).split(":")[0]


@contextmanager
def demo_database(db_url: str, var_dir: Path) -> Iterator[Settings]:
    """The demo (`smeai demo`'s own loader) in the test database; emptied afterwards."""
    from smeai.demo import load_demo
    from tests.conftest import _empty_tables

    settings = Settings(database_url=db_url, var_dir=var_dir, secret_key="screens-test-key-not-for-production")
    load_demo(settings)
    try:
        yield settings
    finally:
        _empty_tables(db_url)
