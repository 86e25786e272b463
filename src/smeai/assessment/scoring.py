"""The scoring engine: answers -> question scores -> dimension scores -> overall, levels, stages, roles.

A question's score is its points over the best points (0..1). A dimension is the weighted mean of its
answered questions; "n/a" removes a question from the denominator, so it never lowers a score. The
overall score is the weighted mean of the dimensions. A tier (level, stage, role) is reached when its
threshold and every gate hold; the result is the highest tier reached. Each step only ever adds or
averages non-negative numbers, so improving one answer can never lower a score or a tier.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from smeai.assessment.instruments import Gate, Instrument, Question, QuestionType, Tier
from smeai.errors import Invalid
from smeai.i18n import N_

NA = "n/a"
Answer = str | list[str] | float  # normalised: option id, sorted option ids, number, or NA


class AnswersInvalid(Invalid):
    """Answers with an unknown question or option, a missing required answer or a wrong type; `fields` lists each."""

    code = "answers_invalid"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_one(q: Question, value: Any) -> tuple[Answer | None, str | None]:
    """(normalised answer, None) or (None, problem)."""
    if isinstance(value, str) and value.strip().lower() == NA:
        return (NA, None) if q.not_applicable else (None, "n/a is not allowed for this question")
    if q.type == QuestionType.NUMBER:
        if not _is_number(value):
            return None, "expected a number"
        if q.band(float(value)) is None:
            return None, f"{value} is outside every band"
        return float(value), None
    if q.type == QuestionType.MULTI:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None, "expected a list of option ids"
        unknown = [v for v in value if q.option(v) is None]
        if unknown:
            return None, f"unknown option: {', '.join(unknown)}"
        if len(set(value)) != len(value):
            return None, "an option is given twice"
        # An exclusive "none of these" ticked with others is contradictory but harmless (it is worth 0
        # points); the contract refuses only unknown, missing and wrong-typed answers, so it is accepted.
        return sorted(value), None
    if q.type in (QuestionType.SCALE, QuestionType.RANGE) and _is_number(value):
        if q.type == QuestionType.SCALE:  # a scale point may be given as its number: 3 -> "3"
            text = str(int(value)) if float(value).is_integer() else str(value)
            return (text, None) if q.option(text) else (None, f"unknown option: {value}")
        bucket = next(
            (o for o in q.options if (o.min is None or value >= o.min) and (o.max is None or value < o.max)), None
        )
        return (bucket.id, None) if bucket else (None, f"{value} is outside every range")
    if not isinstance(value, str):
        return None, "expected an option id"
    return (value, None) if q.option(value) else (None, f"unknown option: {value}")


def check_answers(instrument: Instrument, answers: Any, *, partial: bool = False) -> dict[str, Answer]:
    """Normalised answers; raises AnswersInvalid naming every problem (unknown question or option,
    missing required answer unless `partial`, wrong type)."""
    if not isinstance(answers, dict):
        raise AnswersInvalid(N_("The answers are invalid."), fields={"answers": "expected an object"})
    out: dict[str, Answer] = {}
    problems: dict[str, str] = {}
    questions = instrument.questions
    for qid, value in answers.items():
        q = questions.get(str(qid))
        if q is None:
            problems[f"answers.{qid}"] = "unknown question"
            continue
        if value is None and partial:
            continue
        normalised, problem = _check_one(q, value)
        if problem:
            problems[f"answers.{qid}"] = problem
        else:
            out[q.id] = normalised  # type: ignore[assignment]
    if not partial:
        for q in questions.values():
            if q.required and q.id not in out and f"answers.{q.id}" not in problems:
                problems[f"answers.{q.id}"] = "required answer missing"
    if problems:
        raise AnswersInvalid(N_("The answers are invalid."), fields=problems)
    return out


def check_answer_file(instrument: Instrument, data: Any) -> dict[str, Answer]:
    """An answer file {"instrument": ID, "answers": {...}}: every problem at once."""
    if not isinstance(data, dict):
        raise AnswersInvalid(N_("The answers are invalid."), fields={"__all__": "expected a JSON object"})
    problems: dict[str, str] = {}
    extra = set(data) - {"instrument", "version", "answers"}
    problems |= {k: "unknown field" for k in sorted(extra)}
    if data.get("instrument") not in (None, instrument.id):
        problems["instrument"] = f"the file is for {data.get('instrument')!r}, not {instrument.id!r}"
    if "answers" not in data:
        problems["answers"] = "required"
    try:
        normalised = check_answers(instrument, data.get("answers", {}))
    except AnswersInvalid as exc:
        problems |= exc.fields
        normalised = {}
    if problems:
        raise AnswersInvalid(N_("The answers are invalid."), fields=problems)
    return normalised


def question_score(q: Question, answer: Answer) -> float | None:
    """0..1, or None for n/a."""
    if answer == NA:
        return None
    best = q.best_points()
    if q.type == QuestionType.NUMBER:
        band = q.band(float(answer))  # type: ignore[arg-type]
        points = band.points if band else 0.0
    elif q.type == QuestionType.MULTI:
        points = sum(q.option(o).points for o in answer)  # type: ignore[union-attr, misc]
    else:
        points = q.option(str(answer)).points  # type: ignore[union-attr]
    return min(points, best) / best


@dataclass(frozen=True)
class Scores:
    questions: dict[str, float | None]  # 0..1; None: n/a or unanswered
    dimensions: dict[str, float]  # 0..100
    overall: float  # 0..100


def compute(instrument: Instrument, answers: dict[str, Answer]) -> Scores:
    """Scores of normalised answers; an unanswered optional question counts like n/a."""
    qscores: dict[str, float | None] = {}
    dims: dict[str, float] = {}
    for d in instrument.dimensions:
        num = den = 0.0
        for q in d.questions:
            s = question_score(q, answers[q.id]) if q.id in answers else None
            qscores[q.id] = s
            if s is not None:
                num, den = num + q.weight * s, den + q.weight
        dims[d.id] = 100 * num / den if den else 0.0
    total_w = sum(d.weight for d in instrument.dimensions)
    overall = sum(d.weight * dims[d.id] for d in instrument.dimensions) / total_w
    return Scores(qscores, dims, overall)


def _gate_holds(instrument: Instrument, gate: Gate, scores: Scores) -> bool:
    if gate.dimension:
        return scores.dimensions[gate.dimension] >= gate.min_score - 1e-9
    if gate.tag:
        qs = [q for q in instrument.questions.values() if gate.tag in q.tags]
    else:
        qs = [instrument.questions[qid] for qid in gate.questions]
    passing = [q for q in qs if (s := scores.questions.get(q.id)) is not None and 100 * s >= gate.min_score - 1e-9]
    if gate.distinct:
        return len({getattr(q, gate.distinct) or q.id for q in passing}) >= gate.count
    return len(passing) >= gate.count


def tier_reached(instrument: Instrument, tiers: tuple[Tier, ...], scores: Scores) -> tuple[int, Tier] | None:
    """The highest tier reached, with its rank; None when even the first does not hold. Tiers are
    cumulative (a level needs every level below it), as MIIT's 一级-四级 are."""
    best = None
    for rank, tier in enumerate(tiers):
        basis = scores.dimensions[tier.basis] if tier.basis else scores.overall
        if basis < tier.min_score - 1e-9 or not all(_gate_holds(instrument, g, scores) for g in tier.gates):
            break
        best = (rank, tier)
    return best


def unmet_gates(instrument: Instrument, tier: Tier, scores: Scores) -> list[Gate]:
    return [g for g in tier.gates if not _gate_holds(instrument, g, scores)]
