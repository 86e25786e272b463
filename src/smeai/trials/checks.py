"""Checks on one answer, and how verdicts add up: pure functions, no database, no model calls.

Row checks (exact, contains any/all, regex, number within tolerance, JSON schema + field F1) say pass or fail
and a score in [0, 1]. Judge verdicts (a rubric score, a pairwise preference run in both orders) are parsed
and aggregated here; the judge's call itself is made by the service through the gateway.

Pairwise with swap (MT-Bench, arXiv 2306.05685 §3.4): a judge prefers the first position, so each pair is
judged twice with the answers swapped; a candidate wins only when it wins in both orders, any disagreement
(or a tie in either order) is a tie. Win rates count a tie as half a win (the Chatbot Arena convention) and
report ties separately beside it, with a Wilson score interval on that rate.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

CheckKind = Literal["exact", "contains_any", "contains_all", "regex", "number", "json"]
CHECK_KINDS: tuple[CheckKind, ...] = ("exact", "contains_any", "contains_all", "regex", "number", "json")
Verdict = Literal["a", "b", "tie"]


@dataclass(frozen=True)
class CheckResult:
    kind: str
    passed: bool
    score: float  # 0..1 (field F1 for json; 1/0 for the others)
    detail: str = ""  # what was found, for the matrix's tooltip (not translated: data, not a message)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "passed": self.passed, "score": round(self.score, 4), "detail": self.detail}


# --- normalising text -------------------------------------------------------------------------------------

_PUNCT = re.compile(r"[\s\u3000]+")


def normalise(text: str) -> str:
    """NFKC (full-width digits and letters to half-width), case-folded, whitespace removed, trailing
    punctuation dropped: 「７天。」 and 「7天」 are the same answer."""
    out = unicodedata.normalize("NFKC", text).casefold()
    out = _PUNCT.sub("", out)
    return out.strip("。.!！?？,，;；:：\"'“”‘’")


# --- the row checks ---------------------------------------------------------------------------------------


def exact(answer: str, expected: str) -> CheckResult:
    ok = normalise(answer) == normalise(expected)
    return CheckResult("exact", ok, 1.0 if ok else 0.0)


def contains_any(answer: str, terms: Sequence[str]) -> CheckResult:
    text = normalise(answer)
    found = [t for t in terms if normalise(t) and normalise(t) in text]
    return CheckResult("contains_any", bool(found), 1.0 if found else 0.0, "、".join(found))


def contains_all(answer: str, terms: Sequence[str]) -> CheckResult:
    text = normalise(answer)
    missing = [t for t in terms if normalise(t) not in text]
    ok = not missing
    return CheckResult("contains_all", ok, 1.0 if ok else 0.0, "" if ok else "−" + "、".join(missing))


def regex(answer: str, pattern: str) -> CheckResult:
    try:
        match = re.search(pattern, unicodedata.normalize("NFKC", answer))
    except re.error as exc:  # validated on the way in; a stored bad pattern fails the row, not the run
        return CheckResult("regex", False, 0.0, f"bad pattern: {exc}")
    return CheckResult("regex", match is not None, 1.0 if match else 0.0, match.group(0) if match else "")


_NUMBER = re.compile(r"[-−]?\d[\d,]*(?:\.\d+)?")


def numbers_in(text: str) -> list[float]:
    """Every number written in the text (full-width digits and thousands separators understood)."""
    out = []
    for raw in _NUMBER.findall(unicodedata.normalize("NFKC", text)):
        try:
            out.append(float(raw.replace(",", "").replace("−", "-")))
        except ValueError:  # "1,,2" and the like: not a number
            continue
    return out


def number_within(answer: str, target: float, tolerance: float) -> CheckResult:
    """Passes when any number in the answer lies within ±tolerance (absolute) of the target."""
    found = numbers_in(answer)
    near = [n for n in found if abs(n - target) <= tolerance + 1e-9]
    detail = _fmt_number(near[0]) if near else ",".join(_fmt_number(n) for n in found[:5])
    return CheckResult("number", bool(near), 1.0 if near else 0.0, detail)


def _fmt_number(n: float) -> str:
    return str(int(n)) if n == int(n) else str(n)


# --- JSON: schema validity and field-level F1 ------------------------------------------------------------

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def extract_json(answer: str) -> Any:
    """The JSON object in an answer: the whole text, a ```json fence, or the first {...} span. None if none."""
    candidates = [answer.strip()]
    candidates += [m.strip() for m in _FENCE.findall(answer)]
    start, end = answer.find("{"), answer.rfind("}")
    if 0 <= start < end:
        candidates.append(answer[start : end + 1])
    for text in candidates:
        try:
            return json.loads(text)
        except ValueError:
            continue
    return None


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Leaf fields as path -> normalised text: {"a": {"b": 1}, "c": [x, y]} -> {"a.b": "1", "c[0]": ..., ...}.
    Empty values (None, "", [], {}) are no field at all: a model that leaves a field empty neither gains nor
    loses precision for it, it only misses recall."""
    out: dict[str, str] = {}
    if isinstance(value, Mapping):
        for key, sub in value.items():
            out |= flatten(sub, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            out |= flatten(sub, f"{prefix}[{i}]")
    elif value is not None and value != "":
        text = (
            _fmt_number(float(value)) if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
        )
        out[prefix] = normalise(text)
    return out


@dataclass(frozen=True)
class FieldScore:
    precision: float
    recall: float
    f1: float
    matched: int
    predicted: int
    expected: int


def field_f1(predicted: Any, reference: Any) -> FieldScore:
    """Micro F1 over leaf fields: a field counts when the same path holds the same normalised value."""
    pred, ref = flatten(predicted), flatten(reference)
    matched = sum(1 for path, v in pred.items() if ref.get(path) == v)
    precision = matched / len(pred) if pred else 0.0
    recall = matched / len(ref) if ref else (1.0 if not pred else 0.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return FieldScore(precision, recall, f1, matched, len(pred), len(ref))


def schema_errors(value: Any, schema: Mapping[str, Any]) -> list[str]:
    import jsonschema  # type: ignore[import-untyped]

    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '$'}: {e.message}" for e in validator.iter_errors(value)][:5]


def json_fields(
    answer: str, *, schema: Mapping[str, Any] | None, reference: Any, threshold: float = 0.8
) -> CheckResult:
    """Valid against the schema (when there is one) and field F1 against the reference at least `threshold`."""
    value = extract_json(answer)
    if value is None:
        return CheckResult("json", False, 0.0, "no JSON")
    errors = schema_errors(value, schema) if schema else []
    score = field_f1(value, reference) if reference is not None else None
    f1 = score.f1 if score else (0.0 if errors else 1.0)
    detail = f"F1 {f1:.2f}" + (f" ({score.matched}/{score.expected})" if score else "")
    if errors:
        detail += "; " + errors[0]
    return CheckResult("json", not errors and f1 >= threshold, f1, detail)


# --- a check as data ---------------------------------------------------------------------------------------


def run_check(
    spec: Mapping[str, Any], answer: str, *, reference: str | None, schema: Mapping[str, Any] | None
) -> CheckResult:
    """One check described as data (templates, CSV cells): {"kind": ..., and its arguments}."""
    kind = spec["kind"]
    if kind == "exact":
        return exact(answer, str(spec.get("value") or reference or ""))
    if kind == "contains_any":
        return contains_any(answer, list(spec["values"]))
    if kind == "contains_all":
        return contains_all(answer, list(spec["values"]))
    if kind == "regex":
        return regex(answer, str(spec["pattern"]))
    if kind == "number":
        return number_within(answer, float(spec["value"]), float(spec.get("tolerance", 0)))
    if kind == "json":
        ref = spec.get("reference")
        if ref is None and reference:
            ref = extract_json(reference)
        return json_fields(
            answer, schema=spec.get("schema") or schema, reference=ref, threshold=float(spec.get("threshold", 0.8))
        )
    raise ValueError(f"unknown check kind {kind!r}")


KIND_WORDS = {
    "any": "contains_any",
    "all": "contains_all",
    "包含任一": "contains_any",
    "包含全部": "contains_all",
    "正则": "regex",
    "数值": "number",
    "完全一致": "exact",
}


def parse_checks(cell: str) -> list[dict[str, Any]]:
    """A CSV cell's checks: a JSON list of check objects, or lines (or `;`) of `kind:argument`, the kind in
    English or Chinese (people type the words they see on the page; a colon may be full-width):

        any:七天|7天  (contains_any, 包含任一)    all:退货|运费  (contains_all, 包含全部)    regex:^\\d{6}$  (正则)
        number:1280±5  (数值)    exact  (完全一致: the row's reference)    json  (JSON: against the reference)

    Raises ValueError naming the bad part (the import turns it into a row/field/reason)."""
    cell = cell.strip()
    if not cell:
        return []
    if cell.startswith("["):
        try:
            items = json.loads(cell)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc.msg}") from None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ValueError("a JSON list of check objects is expected")
        return [validate_check(i) for i in items]
    out = []
    for part in re.split(r"[\n;；]+", cell):
        part = part.strip()
        if not part:
            continue
        kind, _, arg = part.replace("：", ":", 1).partition(":")
        kind, arg = KIND_WORDS.get(kind.strip().casefold(), kind.strip()), arg.strip()
        if kind in ("contains_any", "contains_all"):
            out.append(validate_check({"kind": kind, "values": [t.strip() for t in arg.split("|") if t.strip()]}))
        elif kind == "regex":
            out.append(validate_check({"kind": kind, "pattern": arg}))
        elif kind == "number":
            value, _, tol = arg.replace("+-", "±").partition("±")
            try:
                out.append(validate_check({"kind": kind, "value": float(value), "tolerance": float(tol or 0)}))
            except ValueError:
                raise ValueError(f"number check needs value±tolerance, got {arg!r}") from None
        elif kind in ("exact", "json"):
            out.append(validate_check({"kind": kind} | ({"value": arg} if arg and kind == "exact" else {})))
        else:
            raise ValueError(f"unknown check {kind!r} (one of {', '.join(CHECK_KINDS)})")
    return out


def validate_check(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The check's arguments are there and usable; a copy, or ValueError saying what is wrong."""
    kind = spec.get("kind")
    if kind not in CHECK_KINDS:
        raise ValueError(f"unknown check {kind!r} (one of {', '.join(CHECK_KINDS)})")
    if kind in ("contains_any", "contains_all"):
        values = spec.get("values")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            raise ValueError(f"{kind} needs a list of words")
    if kind == "regex":
        try:
            re.compile(str(spec.get("pattern") or ""))
        except re.error as exc:
            raise ValueError(f"bad regular expression: {exc}") from None
        if not spec.get("pattern"):
            raise ValueError("regex needs a pattern")
    if kind == "number":
        try:
            float(spec["value"])
            if float(spec.get("tolerance", 0)) < 0:
                raise ValueError
        except (KeyError, TypeError, ValueError):
            raise ValueError("number needs a value and a tolerance ≥ 0") from None
    return dict(spec)


# --- judge verdicts ----------------------------------------------------------------------------------------

_SCORE = re.compile(r"(?:score|评分|得分|分数)\s*[:：=]?\s*\[*\s*(\d+(?:\.\d+)?)", re.I)


def parse_rubric_score(text: str, *, scale: int = 5) -> float | None:
    """The judge's score on 1..scale ("评分：4", "Score: [[4]]"), as 0..1; None if it gave none."""
    match = _SCORE.search(unicodedata.normalize("NFKC", text))
    if match is None:
        bare = re.fullmatch(r"\s*\[*(\d+(?:\.\d+)?)\]*\s*", text)
        if bare is None:
            return None
        value = float(bare.group(1))
    else:
        value = float(match.group(1))
    if not 1 <= value <= scale:
        return None
    return (value - 1) / (scale - 1) if scale > 1 else 1.0


def parse_pairwise(text: str) -> Verdict | None:
    """MT-Bench's format: [[A]], [[B]] or [[C]] (a tie). The last marker counts (judges think aloud first)."""
    marks = re.findall(r"\[\[\s*([ABC])\s*\]\]", unicodedata.normalize("NFKC", text).upper())
    if not marks:
        return None
    verdicts: dict[str, Verdict] = {"A": "a", "B": "b", "C": "tie"}
    return verdicts[marks[-1]]


def aggregate_swap(first: Verdict | None, second: Verdict | None) -> Verdict:
    """Two judgements of one pair: `first` with X shown as A, `second` with the order swapped (Y shown as A).
    In X/Y terms: "a" means X wins. X wins only when it wins both; a disagreement, a tie or an unreadable
    verdict in either order is a tie (position bias cancels instead of deciding)."""
    x_first = first
    x_second = {"a": "b", "b": "a", "tie": "tie", None: None}[second]
    if x_first == x_second and x_first in ("a", "b"):
        return x_first
    return "tie"


# --- win rates ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WinRate:
    wins: int
    losses: int
    ties: int
    rate: float  # (wins + ties / 2) / n
    low: float  # Wilson 95 % interval on rate
    high: float

    @property
    def n(self) -> int:
        return self.wins + self.losses + self.ties


def wilson(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a proportion (95 % by default); (0, 1) with no data."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def win_rate(wins: int, losses: int, ties: int) -> WinRate:
    n = wins + losses + ties
    score = wins + ties / 2
    low, high = wilson(score, n)
    return WinRate(wins, losses, ties, score / n if n else 0.0, low, high)


def percentile(values: Iterable[float], pct: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    data = sorted(values)
    if not data:
        return None
    k = (len(data) - 1) * pct / 100
    lo, hi = math.floor(k), math.ceil(k)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


# --- model families (judge bias: a judge favours its own family, arXiv 2306.05685 §3.3) -----------------

FAMILIES: tuple[tuple[str, str], ...] = (
    ("qwen", "Qwen"),
    ("qwq", "Qwen"),
    ("tongyi", "Qwen"),
    ("deepseek", "DeepSeek"),
    ("glm", "GLM"),
    ("chatglm", "GLM"),
    ("zhipu", "GLM"),
    ("moonshot", "Kimi"),
    ("kimi", "Kimi"),
    ("doubao", "Doubao"),
    ("ernie", "ERNIE"),
    ("hunyuan", "Hunyuan"),
    ("baichuan", "Baichuan"),
    ("abab", "MiniMax"),
    ("minimax", "MiniMax"),
    ("yi-", "Yi"),
    ("spark", "Spark"),
    ("smollm", "SmolLM"),
    ("llama", "Llama"),
    ("mistral", "Mistral"),
    ("gemma", "Gemma"),
    ("gemini", "Gemini"),
    ("gpt", "GPT"),
    ("o1", "GPT"),
    ("claude", "Claude"),
)


def model_family(name: str) -> str:
    """The family a model name belongs to ("qwen-plus" -> "Qwen"); the name itself when unknown."""
    low = name.casefold()
    for prefix, family in FAMILIES:
        if prefix in low:
            return family
    return name


def same_family(judge: str, candidate: str) -> bool:
    return model_family(judge) == model_family(candidate)
