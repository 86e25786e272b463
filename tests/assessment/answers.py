"""Answer sets for tests: best, worst, and hypothesis strategies over any instrument."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from smeai.assessment.instruments import Instrument, Question, QuestionType


def best_answer(q: Question) -> Any:
    if q.type == QuestionType.NUMBER:
        band = max(q.bands, key=lambda b: b.points)
        return band.min if band.min is not None else (band.max or 0) - 1
    if q.type == QuestionType.MULTI:
        return [o.id for o in q.options if not o.exclusive]
    return max(q.options, key=lambda o: o.points).id


def worst_answer(q: Question) -> Any:
    if q.type == QuestionType.NUMBER:
        band = min(q.bands, key=lambda b: b.points)
        return band.min if band.min is not None else (band.max or 0) - 1
    if q.type == QuestionType.MULTI:
        return []
    return min(q.options, key=lambda o: o.points).id


def best(inst: Instrument) -> dict[str, Any]:
    return {q.id: best_answer(q) for q in inst.questions.values()}


def worst(inst: Instrument) -> dict[str, Any]:
    return {q.id: worst_answer(q) for q in inst.questions.values()}


def answer_for(q: Question, *, allow_na: bool = True) -> st.SearchStrategy[Any]:
    if q.type == QuestionType.NUMBER:
        choices = st.sampled_from([b.min if b.min is not None else (b.max or 0) - 1 for b in q.bands])
    elif q.type == QuestionType.MULTI:
        plain = [o.id for o in q.options if not o.exclusive]
        exclusive = [[o.id] for o in q.options if o.exclusive]
        choices = st.one_of(st.lists(st.sampled_from(plain), unique=True), *[st.just(e) for e in exclusive])
    else:
        choices = st.sampled_from([o.id for o in q.options])
    return st.one_of(choices, st.just("n/a")) if q.not_applicable and allow_na else choices


def answer_sets(inst: Instrument) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({q.id: answer_for(q) for q in inst.questions.values()})


def points(q: Question, answer: Any) -> float:
    if answer == "n/a":
        return -1
    if q.type == QuestionType.NUMBER:
        return q.band(float(answer)).points  # type: ignore[union-attr]
    if q.type == QuestionType.MULTI:
        return sum(q.option(o).points for o in answer)  # type: ignore[union-attr]
    return q.option(answer).points  # type: ignore[union-attr]
