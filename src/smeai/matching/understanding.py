"""Need understanding (需求挖掘): read the structured fields a need's text states.

People write "我们是昆山的注塑厂……厂里有个车间在试点AI。预算四十万" and leave the industry, province,
stage, budget and deployment in the words. `understand(text)` finds them, each with the words that
state it; `parse_need(record)` fills what an interchange "Need" record omits (`smeai need parse`).
The rules that are data live in data/understanding/*.yaml and places.txt; this module only applies
them. Everything is compiled once; reading one need takes well under a millisecond.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from smeai import taxonomy
from smeai.money import MAX_WAN

DATA = Path(__file__).parent / "data" / "understanding"
FIELDS = ("industry", "province_code", "stage", "budget_wan", "deployment")
MODES = ("private", "edge", "appliance", "saas")  # the order deployment lists are given in

Reading = tuple[Any, str]  # (value, the words in the text that state it)

_CLAUSE_END = "，,。；;！!？?\n｜|"
_REACH = 200
_SENTENCE = re.compile(r"[^。；;！!？?\n｜|]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_NEGATED = re.compile("[没未不]")
_CLASSIFIED = "一这那每几两三某各哪"  # before 家 as a measure word
_OF = re.compile(r"[\u4e00-\u9fff]{0,3}的")  # "五金工具的" before the enterprise noun


def _trim(evidence: str) -> str:
    return evidence.strip(" 　，,。；;：:、")


def _load(name: str) -> dict:
    return yaml.safe_load((DATA / name).read_text(encoding="utf-8"))


def _words(words: Iterable[str]) -> re.Pattern[str]:
    """One pattern that matches any of the words, longest first."""
    return re.compile("|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True)))


@dataclass(frozen=True)
class _Lexicon:
    """Words to find by longest match, each with what it means."""

    entries: dict[str, Any]
    longest: int

    @classmethod
    def of(cls, entries: dict[str, Any]) -> _Lexicon:
        return cls(entries, max(map(len, entries), default=0))

    def scan(self, text: str, *, skip_classifier: bool = False) -> list[tuple[int, int, Any]]:
        """(start, end, meaning) of each word, leftmost-longest, not overlapping.

        With `skip_classifier`, a word cannot start with the 家 of "一家", "这家" ("一家电子厂" is no 家电).
        """
        found, i, n = [], 0, len(text)
        while i < n:
            if skip_classifier and text[i] == "家" and i and text[i - 1] in _CLASSIFIED:
                i += 1
                continue
            for size in range(min(self.longest, n - i), 0, -1):
                meaning = self.entries.get(text[i : i + size])
                if meaning is not None:
                    found.append((i, i + size, meaning))
                    i += size
                    break
            else:
                i += 1
        return found


# ---------------------------------------------------------------------------------------------
# budget_wan

_NUM = r"(?:\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千]+(?:点[零〇一二两三四五六七八九]+)?)"
_AMOUNT = re.compile(
    rf"(?P<cur>[￥¥])?(?P<vague>好几|几|上|数)?(?P<a>{_NUM})"
    rf"(?:\s*(?:万|[wW])?\s*(?:到|至|-|~|～|—|－)\s*(?P<b>{_NUM}))?"
    r"\s*(?P<mod>来|多|余|几|出头)?\s*"
    r"(?P<unit>万(?:(?P<tenth>[一二两三四五六七八九])(?=[^\u4e00-\u9fff]|$|左右|上下|以内|之内|元|块|的|吧))?(?:元|块钱?|人民币)?"
    r"|[wW](?![a-zA-Z])|千(?:元|块钱?)|[kK](?![a-zA-Z])|元|块钱?|亿元?)?"
)
_PAIR = re.compile(r"^([一二两三四五六七八九])([二两三四五六七八九])([十百千]?)$")  # 二三十 → 30, 一两 → 2
_DIGIT = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_PLACE = {"": 1, "十": 10, "百": 100, "千": 1000}


def _number(s: str) -> float | None:
    if len(s) > 12:
        return None  # no sum anyone writes: a run of digits or numerals
    if s[0].isdigit():
        return float(s)
    pair = _PAIR.match(s)
    if pair:  # a spoken range: its upper bound
        return float(_DIGIT[pair[2]] * _PLACE[pair[3]])
    import cn2an  # 0.15 s to load: here, not at every command's start (tests/test_startup.py)

    try:
        return float(cn2an.cn2an(s.replace("〇", "零"), "smart"))
    except (ValueError, KeyError):
        return None


def _to_wan(value: float, unit: str) -> float:
    if unit.startswith(("万", "w", "W")):
        return value
    if unit.startswith(("千", "k", "K")):
        return value / 10
    if unit.startswith("亿"):
        return value * 10000
    return value / 10000  # 元, 块


def _clause(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause around text[start:end], at most _REACH characters either side (long texts stay linear)."""
    floor, ceiling = max(0, start - _REACH), min(len(text), end + _REACH)
    lo = max((text.rfind(c, floor, start) for c in _CLAUSE_END), default=-1)
    ends = [i for i in (text.find(c, end, ceiling) for c in _CLAUSE_END) if i >= 0]
    return (lo + 1 if lo >= 0 else floor), min(ends, default=ceiling)


def _budget(text: str, r: _Rules) -> Reading | None:
    best: tuple[int, bool, int, float, str] | None = None  # (strength, upper bound, -position, value, evidence)
    for m in _AMOUNT.finditer(text):
        if m["vague"] or m["mod"] == "几":
            continue  # 几十万, 好几万, 十几万: no figure stated
        unit, after = m["unit"] or ("元" if m["cur"] or m["a"][-1] in "千百" else None), text[m.end() : m.end() + 6]
        if unit is None:
            continue  # a bare number: no sum of money ("五六千" is yuan, with a cue)
        if unit == "万" and (r.count_units.match(after.lstrip("多余来")) or (after[:1] and after[0] in "一别不")):
            continue  # 几万步, 两万件; 万一, 千万别
        if m["a"] == "千" and unit.startswith("万"):
            continue  # 千万: "by all means", or a sum nobody writes that way
        value = _number(m["b"] or m["a"])
        if value is None:
            continue
        wan = _to_wan(value, unit) + (_DIGIT[m["tenth"]] / 10 if m["tenth"] else 0)  # 一万五 → 1.5
        if not (0 < wan <= MAX_WAN) or not math.isfinite(wan):
            continue
        lo, hi = _clause(text, m.start(), m.end())
        before, rest = text[lo : m.start()], text[m.end() : hi]
        if r.not_budget.search(before) or r.not_budget.search(rest):
            continue
        cue = None
        for c in r.cue.finditer(before):
            cue = c  # the last cue before the amount
        cue_after = r.cue_after.match(rest.lstrip())
        strong_unit = unit[0] in "万wW"
        if cue:
            strength, start = 3, lo + cue.start()
        elif cue_after:
            strength, start = 2, (lo if m.start() - lo <= 10 else m.start())
        elif strong_unit and len(_CJK.findall(before + rest)) <= 3:
            strength, start = 1, lo  # a bare "20万。"
        else:
            continue
        end = m.end() + (len(rest) - len(rest.lstrip()) + cue_after.end() if cue_after else 0)
        if not strong_unit and (cue is None or strength < 3 or r.cue_weak.fullmatch(cue.group())):
            continue  # "5000块", "客单价一百元左右", "一年5000块": a price unless 预算-like words say so
        evidence = _trim(text[start:end])
        upper = bool(r.upper.search(evidence))  # "三十万左右，最多不超过四十万": the bound
        key = (strength, upper, -m.start(), round(wan, 4), evidence)
        if best is None or key[:3] > best[:3]:
            best = key
    if best is None:
        return None
    wan = best[3]
    return (int(wan) if wan == int(wan) else wan), best[4]


# ---------------------------------------------------------------------------------------------
# province_code


def _province(text: str, r: _Rules) -> Reading | None:
    places: list[tuple[str, int, int]] = []  # (code, start, end) of each place the enterprise may be at
    chain_end = -1
    for start, end, (code, level) in r.places.scan(text):
        if places and start == chain_end:  # "湖州长兴", "浙江义乌市": one place, said finer
            places[-1] = (places[-1][0], places[-1][1], end)
            chain_end = end
            continue
        name = text[start:end]
        if name in r.place_stop:
            continue
        window = text[max(0, start - 6) : start]
        if r.place_foreign.search(window) and not re.search(r"[，,。；;｜|：:]", window[-3:]):
            continue
        if level == "c" and not _stands_as_place(text, start, r):
            continue
        places.append((code, start, end))
        chain_end = end
    if not places:
        return None
    # "老家是湖南的，现在厂开在广东中山": where the plant is, said so, beats the first place named
    code, start, end = next((p for p in places if r.place_here.search(text, max(0, p[1] - 6), p[1])), places[0])
    while end < len(text) and text[end] in "省市县区":
        end += 1
    return code, _trim(text[start:end])


def _stands_as_place(text: str, start: int, r: _Rules) -> bool:
    if start == 0 or text[start - 1] in _CLAUSE_END + " 　：:（(、":
        return True
    return any(text.endswith(w, 0, start) for w in r.place_before)


# ---------------------------------------------------------------------------------------------
# industry


def _industry(text: str, r: _Rules) -> Reading | None:
    hits = [h for h in r.industries.scan(text, skip_classifier=True) if h[2] is not _IGNORE]
    if not hits:
        return None
    fields = [(m.start(1), m.end(1)) for m in r.trade_field.finditer(text)]
    chosen = next((h for h in hits if any(lo <= h[0] < hi for lo, hi in fields)), None)
    if chosen is None:
        chosen = next((h for h in hits if _anchored(text, h, r)), None)
    if chosen is None:
        return None
    at = hits.index(chosen)
    while at + 1 < len(hits) and _heads(text, hits[at], hits[at + 1], r):
        at += 1
    start, end, code = chosen[0], hits[at][1], hits[at][2]
    if at > hits.index(chosen) and r.parts.match(text, end):
        code = chosen[2]  # "摩托车发动机零部件": parts of the first word's trade
    if code in r.processing and text.startswith("加工", end):
        code = r.processing[code]
    tail = r.anchor_after.match(text, end)
    if code in r.food_divisions and r.food_service.match(text, end):
        code = "H"
    elif code.startswith("C") and r.retail.match(text, end):
        code = "F"
    ev_end = tail.end() if tail else end
    while not tail and ev_end < min(len(text), end + 4) and _CJK.match(text[ev_end]) and text[ev_end] != "的":
        ev_end += 1  # "做汽车座椅": the whole product
    ev_start = start
    pre = r.anchor_before.search(text[max(0, start - 6) : start])
    if pre:
        ev_start = start - (len(text[max(0, start - 6) : start]) - pre.start())
        while ev_start < start and text[ev_start] in "们家":
            ev_start += 1  # "我们做", "一家做": the verb, not the end of the subject
    return code, _trim(text[ev_start:ev_end])


def _heads(text: str, word: tuple[int, int, str], after: tuple[int, int, str], r: _Rules) -> bool:
    """Whether `after` is the head of a phrase that `word` modifies."""
    if after[0] == word[1]:
        return True  # "服装面料": the last word of a compound is its head
    if not _OF.fullmatch(text, word[1], after[0]):
        return False
    # "做五金工具的外贸公司": so across 的 to the enterprise noun
    return bool(r.anchor_noun.search(text, after[0], after[1]) or r.anchor_after.match(text, after[1]))


def _anchored(text: str, hit: tuple[int, int, str], r: _Rules) -> bool:
    start, end, _ = hit
    word = text[start:end]
    lo = _clause(text, start, end)[0]
    if r.customer.search(text, lo, start):
        return False  # "给家电厂做注塑件": the customer's trade
    if r.anchor_noun.search(word) or r.anchor_before.search(word) or word in r.anchor_self:
        return True
    if r.anchor_after.match(text, end):
        return True
    if text[start - 1 : start] == "做" and text[end : end + 1] == "的":
        return True  # "义乌做饰品的"
    if r.anchor_before.search(text[max(0, start - 6) : start]) or r.anchor_copula.search(text, lo, start):
        return True
    return bool(r.subject_does.search(text[lo:start]))  # "我们在潍坊做农机", "我们是做家居用品的电商"


_IGNORE = object()

# ---------------------------------------------------------------------------------------------
# stage


def _stage(text: str, r: _Rules) -> Reading | None:
    for s in _SENTENCE.finditer(text):
        sentence = s.group()
        label = r.stage_label.search(sentence)
        if not (label or r.stage_ai.search(sentence)):
            continue
        body = sentence[label.start() :] if label else sentence
        for stage, pattern in r.stage_rules:
            for m in pattern.finditer(body):
                lo = _clause(body, m.start(), m.end())[0]
                if r.stage_wish.search(body, lo, m.start()):
                    continue  # "想先试点": a plan
                if stage and _NEGATED.search(body, max(0, m.start() - 2), m.start()):
                    continue  # "还没试点", "没用过一次": no such use
                if label:
                    lo = 0
                else:
                    ai = r.stage_ai.search(body)
                    lo = min(lo, _clause(body, ai.start(), ai.end())[0]) if ai else lo
                return stage, _trim(body[lo : _clause(body, m.start(), m.end())[1]])
    return None


# ---------------------------------------------------------------------------------------------
# deployment


def _deployment(text: str, r: _Rules) -> Reading | None:
    said: dict[str, list[tuple[int, int]]] = {}
    ruled_out: set[str] = set()
    for mode, patterns in r.deploy_rules:
        for pattern in patterns:
            for m in pattern.finditer(text):
                lo, hi = _clause(text, m.start(), m.end())
                if r.deploy_negation.search(text[lo : m.start()]):
                    ruled_out.add(mode)  # "不想自己装服务器", "数据不能放云上": wins over any other mention
                else:
                    said.setdefault(mode, []).append((lo, hi))
    modes = [m for m in MODES if m in said and m not in ruled_out]
    if not modes:
        return None
    spans = [span for m in modes for span in said[m]]
    return modes, _trim(text[min(s[0] for s in spans) : max(s[1] for s in spans)])


# ---------------------------------------------------------------------------------------------
# rules, loaded once


@dataclass(frozen=True)
class _Rules:
    cue: re.Pattern[str]
    cue_weak: re.Pattern[str]
    cue_after: re.Pattern[str]
    upper: re.Pattern[str]
    not_budget: re.Pattern[str]
    count_units: re.Pattern[str]
    places: _Lexicon
    place_stop: frozenset[str]
    place_before: tuple[str, ...]
    place_foreign: re.Pattern[str]
    place_here: re.Pattern[str]
    industries: _Lexicon
    trade_field: re.Pattern[str]
    anchor_after: re.Pattern[str]
    anchor_noun: re.Pattern[str]
    anchor_self: frozenset[str]
    subject_does: re.Pattern[str]
    processing: dict[str, str]
    parts: re.Pattern[str]
    customer: re.Pattern[str]
    anchor_copula: re.Pattern[str]
    anchor_before: re.Pattern[str]
    retail: re.Pattern[str]
    food_service: re.Pattern[str]
    food_divisions: frozenset[str]
    stage_ai: re.Pattern[str]
    stage_label: re.Pattern[str]
    stage_wish: re.Pattern[str]
    stage_rules: tuple[tuple[int, re.Pattern[str]], ...]
    deploy_negation: re.Pattern[str]
    deploy_rules: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...]


_WEAK_CUES = ("一年", "今年", "明年", "首年", "第一年", "每年能")


@lru_cache
def _rules() -> _Rules:
    budget, places, industries = _load("budget.yaml"), _load("places.yaml"), _load("industries.yaml")
    stage, deploy = _load("stage.yaml"), _load("deployment.yaml")

    gazetteer: dict[str, tuple[str, str]] = {}
    for line in (DATA / "places.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, code, level = line.split("\t")
            gazetteer[name] = (code, level)
    for code, term in taxonomy.load().provinces.items():
        full = term.zh
        short = full[:3] if full.startswith(("内蒙古", "黑龙江")) else full[:2]
        for name in {full, short, full.removesuffix("省").removesuffix("市")}:
            gazetteer[name] = (code, "s")

    lexicon: dict[str, Any] = {}
    for code, words in industries["codes"].items():
        for w in words:
            lexicon.setdefault(str(w), str(code))
    for w in industries["ignore"]:
        lexicon[w] = _IGNORE

    after = industries["anchors_after"]
    return _Rules(
        cue=_words(budget["cue"]),
        cue_weak=_words(_WEAK_CUES),
        cue_after=_words(budget["cue_after"]),
        upper=_words(budget["upper"]),
        not_budget=_words(budget["not_budget"]),
        count_units=_words(budget["count_units"]),
        places=_Lexicon.of(gazetteer),
        place_stop=frozenset(places["stop"]),
        place_before=tuple(places["before"]),
        place_foreign=re.compile("(?:" + _words(places["foreign"]).pattern + ")[^，。；]{0,3}$"),
        place_here=re.compile("(?:" + _words(places["here"]).pattern + r")\s*[：:]?\s*$"),
        industries=_Lexicon.of(lexicon),
        trade_field=re.compile(r"(?:行业|主营(?:业务)?|所属行业|经营范围|主要产品|产品)\s*[：:]\s*([^｜|\n。；]+)"),
        anchor_after=re.compile(r"[^，,。；;！!？?\n｜|、]{0,4}?(?:" + _words(after).pattern + ")"),
        anchor_noun=_words(after),
        anchor_self=frozenset(industries["anchors_self"]),
        subject_does=re.compile(
            r"^\s*(?:我们|我家|我们家|咱们|公司|厂里|本厂|本公司|企业|这边|家里)(?:(?!想|要|打算|准备|需要|希望|请|帮|找).){0,8}"
            r"(?:(?:做|搞|生产)(?!车间|线|部|环节|过程|效率|计划|管理|数据|设备|现场|工艺|安全)[\u4e00-\u9fff]{0,3}"
            r"|是[^，。；]{0,12}的)$"
        ),
        processing={str(k): str(v) for k, v in industries["processing"].items()},
        parts=_words(industries["parts"]),
        anchor_copula=re.compile("(?:" + _words(industries["anchors_copula"]).pattern + r")[\u4e00-\u9fff]{0,2}$"),
        customer=re.compile("(?:" + _words(industries["customer"]).pattern + r")[^，。；]{0,4}$"),
        anchor_before=re.compile(
            "(?:(?:"
            + _words(industries["anchors_before"]).pattern
            + ")"
            + r"|(?:^|[，,。；;：:\s])(?:做|搞)|(?<![各这一那哪多几某品同])种|(?<![保培营修供抚领疗圈喂])养)"
            "(?:的是|各种|各类)?$"
        ),
        retail=re.compile("(?:" + _words(industries["retail"]).pattern + ")"),
        food_service=re.compile("(?:" + _words(industries["food_service"]).pattern + ")"),
        food_divisions=frozenset(industries["food_divisions"]),
        stage_ai=_words(stage["ai"]),
        stage_label=re.compile("(?:" + _words(stage["form_labels"]).pattern + r")\s*[：:]"),
        stage_wish=re.compile(stage["wish"]),
        stage_rules=tuple(
            [(int(s), re.compile(p)) for s in sorted(stage["stages"], reverse=True) for p in stage["stages"][s]]
            + [(0, re.compile(p)) for p in stage["none"] + stage.get("none_weak", [])]
        ),
        deploy_negation=re.compile(deploy["negation"]),
        deploy_rules=tuple(
            (mode, tuple(re.compile(p) for p in deploy["modes"][mode])) for mode in MODES if mode in deploy["modes"]
        ),
    )


# ---------------------------------------------------------------------------------------------
# public


def understand(text: str) -> dict[str, Reading]:
    """The fields `text` states, each as (value, the words that state it); fields not stated are absent."""
    r = _rules()
    text = text or ""
    readers = {
        "industry": _industry,
        "province_code": _province,
        "stage": _stage,
        "budget_wan": _budget,
        "deployment": _deployment,
    }
    out: dict[str, Reading] = {}
    for field_name, read in readers.items():
        reading = read(text, r)
        if reading is not None:
            out[field_name] = reading
    return out


def parse_need(record: Mapping[str, Any]) -> dict[str, Any]:
    """The need with every field it omits but its text states filled in, plus `extracted` for those."""
    out = dict(record)
    extracted: dict[str, dict[str, Any]] = {}
    for field_name, (value, evidence) in understand(str(record.get("text") or "")).items():
        if out.get(field_name) in (None, "", []):
            out[field_name] = value
            extracted[field_name] = {"value": value, "evidence": evidence}
    out["extracted"] = extracted
    return out


# Words that state a field say nothing about what the need is about ("预算30万", "希望本地部署" would
# otherwise match every offering whose text says 本地部署): the ranker reads the text without them. The
# industry's words stay: what the enterprise makes is part of its problem.
NOT_TOPIC = ("budget_wan", "deployment", "stage", "province_code")


def topic_text(text: str, extracted: Mapping[str, Any] | None) -> str:
    """`text` without the words that state its budget, deployment, stage and place (`extracted`'s evidence)."""
    for field_name in NOT_TOPIC:
        evidence = ((extracted or {}).get(field_name) or {}).get("evidence")
        if evidence:
            text = text.replace(str(evidence), " ")
    return text


def _correct(field_name: str, value: Any, truth: Any) -> bool:
    if field_name == "budget_wan":
        return isinstance(value, int | float) and abs(value - truth) <= 0.1 * abs(truth)
    if field_name == "deployment":
        return bool(value) and set(value) <= set(truth)
    return value == truth


def score_parse(parsed: Iterable[Mapping[str, Any]], truths: Iterable[Mapping[str, Any]]) -> dict[str, dict]:
    """Field precision and recall of parsed needs against truth records (text-needs-dev-truth.jsonl).

    A field is stated when the truth's `evidence` names it. Precision = correct filled values / filled
    values (a value filled for a field the text does not state counts as wrong); recall = stated fields
    filled correctly / stated fields. Correct: a budget within ±10%, a deployment that is a non-empty
    subset of the true modes, any other field equal. Returns {field: {...}, "all": {...}}.
    """
    by_id = {t["id"]: t for t in truths}
    counts: dict[str, dict[str, float]] = {
        f: {"filled": 0, "correct": 0, "stated": 0, "found": 0} for f in (*FIELDS, "all")
    }
    for need in parsed:
        truth = by_id[need["id"]]
        filled = need.get("extracted", {})
        for f in FIELDS:
            stated = f in truth.get("evidence", {})
            right = f in filled and stated and _correct(f, filled[f]["value"], truth.get(f))
            for key in (f, "all"):
                c = counts[key]
                c["filled"] += f in filled
                c["correct"] += right
                c["stated"] += stated
                c["found"] += right
    for c in counts.values():
        c["precision"] = c["correct"] / c["filled"] if c["filled"] else 1.0
        c["recall"] = c["found"] / c["stated"] if c["stated"] else 1.0
    return counts
