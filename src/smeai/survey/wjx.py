"""问卷星 (wjx) exports of smeai's questionnaire template, mapped onto the canonical columns.

Both downloads of the same answers map to the same rows:
- 按序号 (coded): `N、题干` headers (maybe followed by the type, e.g. `(多选题 *必答)`); a single
  choice holds the 1-based option number; a multi-choice question is one 0/1 column per option
  headed `第N题(选项)` or `N(选项)`; `-3` / `-2` mean "not asked" (empty), unlike 0 ("not chosen").
- 按文本 (text): option texts; a multi-choice answer is one cell, chosen options joined by `┋`;
  "other" as `其他【请注明】〖…〗`; `(跳过)` for not asked.
Metadata columns (序号, 提交答卷时间, 所用时间, 来源, 来源详情, 来自IP, 总分) are known; 序号 becomes
response_id and 提交答卷时间 submitted_at. Every header and every answer the mapping cannot place
is reported (headers as `unmapped`, answers as row reasons with rule `unmapped_option`), never guessed.
腾讯问卷 exports (`N.题干`, per-option `N.题干:选项` columns, non-empty = chosen, 编号) map the same way.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from smeai import taxonomy
from smeai.survey.codebook import Reason, columns_of

DATA = Path(__file__).parent / "data"
METADATA = ("序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP", "总分")
TENCENT_METADATA = ("编号", "开始答题时间", "结束答题时间", "答题时长")  # 腾讯问卷
NOT_ASKED = ("-2", "-3", "(跳过)", "（跳过）")
SEP = "┋"

_QUESTION = re.compile(r"^(\d{1,4})[、.．]\s*(.+)$")  # a question number; int() of 4,300 digits fails
_OPTION = re.compile(r"^(?:第(\d{1,4})题|(\d{1,4}))[(（](.+)[)）]$")
_TYPE_SUFFIX = re.compile(
    r"[(（【]\s*(?:单选题|多选题|填空题|多项填空题|下拉框|[^()（）【】]*必答[^()（）【】]*)\s*[)）】]\s*$"
)
_OTHER_TEXT = re.compile(r"〖.*〗$")
_TENCENT_OPTION = re.compile(r"^(\d{1,4})[.．](.+?)[:：](.+)$")  # 腾讯问卷: `N.题干:选项`, non-empty = chosen


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    text: str
    code: int | str | None = None  # single choice: the canonical value (None: known, ignored)
    column: str | None = None  # multi choice: the canonical 0/1 column


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    number: int = Field(ge=1)
    title: str
    kind: Literal["single", "multi", "number", "text"]
    column: str | None = None
    options: tuple[Option, ...] = ()
    options_from: Literal["provinces", "sections", "divisions", "scenarios"] | None = None
    other: str | None = None

    def resolved_options(self) -> tuple[Option, ...]:
        if not self.options_from:
            return self.options
        terms = taxonomy.load().kinds()[self.options_from]
        if self.options_from == "scenarios":
            return tuple(Option(text=t.zh, column=f"scn_{c}") for c, t in terms.items())
        if self.options_from == "divisions":
            return tuple(Option(text=t.zh, code=int(c)) for c, t in terms.items())
        return tuple(Option(text=t.zh, code=c) for c, t in terms.items())

    def columns(self) -> list[str]:
        if self.kind == "multi":
            return [o.column for o in self.resolved_options() if o.column]
        return [self.column] if self.column else []


class Questionnaire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    title: str
    questions: tuple[Question, ...]


@lru_cache
def template(path: Path = DATA / "questionnaire.yaml") -> Questionnaire:
    return Questionnaire.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def _norm(text: str) -> str:
    """Compare titles and options as people type them: no spaces, half-width brackets and commas."""
    table = str.maketrans({"（": "(", "）": ")", "，": ",", "：": ":", "　": ""})
    return re.sub(r"\s+", "", text.translate(table))


def _title(text: str) -> str:
    return _norm(_TYPE_SUFFIX.sub("", text.strip()))


def looks_like_wjx(header: list[str]) -> bool:
    """A 问卷星 (or 腾讯问卷) export rather than the canonical file."""
    return "序号" in header or "编号" in header or any(_QUESTION.match(h) for h in header)


@dataclass
class Converted:
    header: list[str]
    rows: list[list[str]]
    layout: str
    unmapped: list[str] = field(default_factory=list)  # headers the mapping cannot place
    reasons: list[Reason] = field(default_factory=list)  # answers it cannot place


@dataclass
class _Slot:
    question: Question
    option: Option | None = None  # for a coded multi-choice column


@dataclass
class Plan:
    """Where each export column goes: decided once from the header (and the first rows' answers)."""

    header: list[str]  # the export's
    slots: dict[int, _Slot]
    layout: str
    out_cols: list[str]
    unmapped: list[str]
    idx_id: int | None
    idx_time: int | None

    @property
    def pos(self) -> dict[str, int]:
        return {c: j for j, c in enumerate(self.out_cols)}


def plan(header: list[str], first: list[list[str]], questionnaire: Questionnaire | None = None) -> Plan:
    """The mapping of an export's columns; `first`: its first answer columns (one list per header cell,
    padded with ""), which tell a coded single choice (numbers) from a text one."""
    q = questionnaire or template()
    by_no = {question.number: question for question in q.questions}
    slots: dict[int, _Slot] = {}
    unmapped: list[str] = []
    coded = False
    tencent = "编号" in header and "序号" not in header
    for i, h in enumerate(header):
        name = h.strip()
        if name in METADATA or (tencent and name in TENCENT_METADATA):
            continue
        per_option = _TENCENT_OPTION.match(name) if tencent else None
        if per_option:
            question = by_no.get(int(per_option.group(1)))
            text = _norm(per_option.group(3))
            if question is None or question.kind != "multi" or _title(per_option.group(2)) != _norm(question.title):
                unmapped.append(name)
                continue
            if question.other and text.startswith(_norm(question.other)):
                continue
            option = next((o for o in question.resolved_options() if _norm(o.text) == text), None)
            if option is None:
                unmapped.append(name)
            else:
                slots[i] = _Slot(question, option)
            continue
        opt = _OPTION.match(name)
        if opt:
            no, text = int(opt.group(1) or opt.group(2)), _norm(opt.group(3))
            question = by_no.get(no)
            if question is None or question.kind != "multi":
                unmapped.append(name)
                continue
            coded = True
            if question.other and text.startswith(_norm(question.other)):
                continue  # the "other" option and its text: known, not a codebook column
            option = next((o for o in question.resolved_options() if _norm(o.text) == text), None)
            if option is None:
                unmapped.append(name)
            else:
                slots[i] = _Slot(question, option)
            continue
        m = _QUESTION.match(name)
        question = by_no.get(int(m.group(1))) if m else None
        if question is None or _title(m.group(2)) != _norm(question.title):  # type: ignore[union-attr]
            unmapped.append(name)
            continue
        slots[i] = _Slot(question)
    if tencent:
        layout = "tencent"
    elif not coded and any(s.question.kind == "multi" and s.option is None for s in slots.values()):
        layout = "wjx_text"
    elif coded:
        layout = "wjx_coded"
    else:
        layout = "wjx_coded" if _numeric_singles(slots, first) else "wjx_text"

    out_cols: list[str] = ["response_id", "submitted_at"]
    for slot in slots.values():
        cols = [slot.option.column] if slot.option is not None else slot.question.columns()
        out_cols += [c for c in cols if c and c not in out_cols]
    id_col = "编号" if tencent else "序号"
    time_col = next((c for c in ("提交答卷时间", "结束答题时间", "开始答题时间") if c in header), None)
    idx_id = header.index(id_col) if id_col in header else None
    idx_time = header.index(time_col) if time_col else None
    return Plan(header, slots, layout, out_cols, unmapped, idx_id, idx_time)


_KEEP = object()  # a slot that leaves a column as it was for this answer


def convert(p: Plan, columns: list[list[str]], first_row: int) -> tuple[list[list[str]], list[Reason]]:
    """Answer columns (as columns_of gives them; the first is spreadsheet row `first_row`) in the
    canonical columns, and the reasons of the answers the mapping cannot place, row by row.

    Column by column: each distinct answer of a column is mapped once (by `_fill`, the one definition)
    and the column is then a lookup per cell, so a sheet of 100,000 rows costs a dict lookup a cell."""
    n = len(columns[0]) if columns else 0
    pos = p.pos
    out: list[list[str]] = [[""] * n for _ in p.out_cols]
    if p.idx_id is not None:
        out[0] = [v.strip() for v in columns[p.idx_id]]
    if p.idx_time is not None:
        out[1] = [_time(v.strip()) for v in columns[p.idx_time]]
    found: list[tuple[int, int, int, Reason]] = []
    for order, (i, slot) in enumerate(p.slots.items()):
        column = columns[i]
        if slot.option is None and slot.question.kind in ("number", "text"):  # the answer as written
            j = pos[slot.question.column]  # type: ignore[index]
            out[j] = [o if (v := raw.strip()) in NOT_ASKED else v for raw, o in zip(column, out[j], strict=True)]
            continue
        mapped: dict[str, tuple[dict[int, str], list[Reason]]] = {}
        for raw in set(column):
            sets: dict[int, str] = {}
            reasons: list[Reason] = []
            _fill(sets, pos, slot, raw, p.layout, p.header[i], 0, reasons)
            mapped[raw] = (sets, reasons)
        written = sorted({j for sets, _ in mapped.values() for j in sets})
        for j in written:
            lookup = {raw: sets.get(j, _KEEP) for raw, (sets, _) in mapped.items()}
            if all(v is not _KEEP for v in lookup.values()):
                out[j] = list(map(lookup.__getitem__, column))  # type: ignore[arg-type]
            else:
                out[j] = [o if (v := lookup[raw]) is _KEEP else v for raw, o in zip(column, out[j], strict=True)]  # type: ignore[assignment]
        bad = {raw for raw, (_, reasons) in mapped.items() if reasons}
        if bad:
            for k, raw in enumerate(column):
                if raw in bad:
                    for m, r in enumerate(mapped[raw][1]):
                        found.append((first_row + k, order, m, Reason(first_row + k, r.column, r.value, r.rule)))
    found.sort(key=lambda f: f[:3])
    return out, [f[3] for f in found]


def to_canonical(header: list[str], rows: list[list[str]], questionnaire: Questionnaire | None = None) -> Converted:
    columns = columns_of(rows, len(header))
    p = plan(header, [c[:50] for c in columns], questionnaire)
    out, reasons = convert(p, columns, 2)
    return Converted(
        header=p.out_cols,
        rows=[list(r) for r in zip(*out, strict=True)] if rows else [],
        layout=p.layout,
        unmapped=p.unmapped,
        reasons=reasons,
    )


def _numeric_singles(slots: dict[int, _Slot], first: list[list[str]]) -> bool:
    for i, slot in slots.items():
        if slot.question.kind == "single":
            values = [v.strip() for v in first[i][:50] if v.strip() not in ("", *NOT_ASKED)]
            if values:
                return all(v.isdigit() for v in values)
    return True


# (a year below 1000 is written unpadded by strftime: left to strptime)
_SLASHED = re.compile(r"[1-9][0-9]{3}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")


def _time(text: str) -> str:
    if _SLASHED.fullmatch(text):  # the common form: the same date-time as strptime reads it, faster
        iso = text.replace("/", "-")
        try:
            datetime.fromisoformat(iso)
        except ValueError:
            pass
        else:
            return iso
    for fmt in ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M"):
        try:
            return datetime.strptime(text, fmt).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            pass
    return text  # anything else goes to the codebook's own date-time check


def _fill(
    out: MutableMapping[int, str] | list[str],
    pos: dict[str, int],
    slot: _Slot,
    raw: str,
    layout: str,
    header: str,
    row_no: int,
    reasons: list[Reason],
) -> None:
    value = raw.strip()
    question = slot.question
    if value in NOT_ASKED:
        return  # not asked: every column of the question stays empty
    if slot.option is not None:  # one column per option: 0/1 as is (问卷星), non-empty = chosen (腾讯问卷)
        out[pos[slot.option.column]] = ("1" if value else "0") if layout == "tencent" else value  # type: ignore[index]
        return
    if question.kind in ("number", "text"):
        out[pos[question.column]] = value  # type: ignore[index]
        return
    options = question.resolved_options()
    if question.kind == "single":
        if value == "":
            return
        if layout == "wjx_coded":  # the option's number; the other layouts hold its text
            # not "²" (a digit to isdigit, not to int), not 5,000 digits (int() refuses them)
            number = int(value) if value.isascii() and value.isdigit() and len(value) <= 4 else 0
            option = options[number - 1] if 1 <= number <= len(options) else None
        else:
            option = next((o for o in options if _norm(o.text) == _norm(value)), None)
        if option is None:
            reasons.append(Reason(row_no, header, raw, "unmapped_option"))
        elif option.code is not None:
            out[pos[question.column]] = str(option.code)  # type: ignore[index]
        return
    # text layout, multi-choice: the chosen options joined by ┋; the others are 0
    for o in options:
        if o.column:
            out[pos[o.column]] = "0"
    for part in (p.strip() for p in value.split(SEP) if p.strip()):
        text = _norm(_OTHER_TEXT.sub("", part))
        if question.other and text.startswith(_norm(question.other)):
            continue
        option = next((o for o in options if _norm(o.text) == text), None)
        if option is None:
            reasons.append(Reason(row_no, header, part, "unmapped_option"))
        elif option.column:
            out[pos[option.column]] = "1"


# --- writing exports (demo files, tests, and a preview of what 问卷星 will give back) ------------


def from_canonical(
    header: list[str],
    rows: list[list[str]],
    *,
    layout: str,
    option_header: str = "{no}({text})",
    questionnaire: Questionnaire | None = None,
) -> tuple[list[str], list[list[str]]]:
    """Canonical text rows as a 问卷星 export of the template (coded or text layout)."""
    q = questionnaire or template()
    col = {c: i for i, c in enumerate(header)}
    out_header = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP"]
    for question in q.questions:
        if question.kind == "multi" and layout == "wjx_coded":
            out_header += [option_header.format(no=question.number, text=o.text) for o in question.resolved_options()]
        else:
            suffix = "(多选题 *必答)" if question.kind == "multi" else ""
            out_header.append(f"{question.number}、{question.title}{suffix}")
    out_rows = []
    for n, r in enumerate(rows, start=1):
        when = r[col["submitted_at"]].replace("-", "/")
        line = [r[col["response_id"]], when, f"{100 + n % 400}秒", "手机提交", "直接访问", "183.192.16.69(上海-上海)"]
        adopter = r[col["ai_status"]] == "1"
        for question in q.questions:
            options = question.resolved_options()
            if question.kind == "multi":
                asked = adopter or question.number == 15
                values = [r[col[o.column]] if o.column in col else "" for o in options]
                if layout == "wjx_coded":
                    line += [(v or "0") if asked else "-3" for v in values]
                else:
                    chosen = [o.text for o, v in zip(options, values, strict=True) if v == "1"]
                    line.append(SEP.join(chosen) if asked else "(跳过)")
                continue
            v = r[col[question.column]] if question.column is not None and question.column in col else ""
            if question.kind in ("number", "text"):
                line.append(v if v else ("-3" if layout == "wjx_coded" else "(跳过)"))
                continue
            if v == "":
                line.append("-3" if layout == "wjx_coded" else "(跳过)")
                continue
            k = next(i for i, o in enumerate(options) if str(o.code) == v)
            line.append(str(k + 1) if layout == "wjx_coded" else options[k].text)
        out_rows.append(line)
    return out_header, out_rows


def template_text(questionnaire: Questionnaire | None = None) -> str:
    """The questionnaire as 问卷星's "文本导入" reads it: one question per paragraph, options below."""
    q = questionnaire or template()
    kinds = {"single": "[单选题]", "multi": "[多选题]", "number": "[填空题]", "text": "[填空题]"}
    parts = [q.title, ""]
    for question in q.questions:
        parts.append(f"{question.number}. {question.title}{kinds[question.kind]}")
        parts += [o.text for o in question.resolved_options()]
        if question.other:
            parts.append(question.other)
        parts.append("")
    return "\n".join(parts)
