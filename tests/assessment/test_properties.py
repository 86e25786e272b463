"""Scoring properties, over every shipped instrument and random answer sets."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smeai.assessment import instruments
from smeai.assessment.diagnosis import evaluate
from smeai.assessment.instruments import QuestionType
from smeai.assessment.scoring import check_answers
from tests.assessment.answers import answer_sets, best, points, worst

INSTRUMENTS = list(instruments.current().values())
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _score(inst, answers):
    return evaluate(inst, check_answers(inst, answers))


def _tiers(r):
    return [t.rank if t else -1 for t in (r.level, r.stage, r.role)]


@pytest.mark.parametrize("inst", INSTRUMENTS, ids=lambda i: i.id)
def test_all_best_reaches_the_top_and_all_worst_the_bottom(inst):
    top, bottom = _score(inst, best(inst)), _score(inst, worst(inst))
    assert top.overall == 100 and top.level.rank == len(inst.levels) - 1
    assert all(v == 100 for v in top.dimensions.values())
    if inst.stages:
        assert top.stage.rank == len(inst.stages) - 1 and bottom.stage.rank == 0
    if inst.roles:
        assert top.role.rank == len(inst.roles) - 1
    assert bottom.level.rank == 0


@pytest.mark.parametrize("inst", INSTRUMENTS, ids=lambda i: i.id)
@SETTINGS
@given(data=st.data())
def test_scoring_is_deterministic(inst, data):
    answers = data.draw(answer_sets(inst))
    assert _score(inst, answers) == _score(inst, dict(reversed(list(answers.items()))))


@pytest.mark.parametrize("inst", INSTRUMENTS, ids=lambda i: i.id)
@SETTINGS
@given(data=st.data())
def test_improving_one_answer_never_lowers_a_score(inst, data):
    answers = data.draw(answer_sets(inst))
    q = data.draw(st.sampled_from(list(inst.questions.values())))
    old = answers[q.id]
    if q.type == QuestionType.MULTI:
        chosen = [] if old == "n/a" or any(q.option(o).exclusive for o in old) else list(old)
        extra = [o.id for o in q.options if not o.exclusive and o.id not in chosen]
        if old == "n/a" or not extra:
            return
        new = [*chosen, data.draw(st.sampled_from(extra))]
    elif q.type == QuestionType.NUMBER:
        if old == "n/a":
            return
        better = [b for b in q.bands if b.points >= points(q, old)]
        b = data.draw(st.sampled_from(better))
        new = b.min if b.min is not None else b.max - 1
    else:
        if old == "n/a":
            return
        new = data.draw(st.sampled_from([o.id for o in q.options if o.points >= points(q, old)]))
    before, after = _score(inst, answers), _score(inst, answers | {q.id: new})
    assert after.overall >= before.overall
    assert all(after.dimensions[d] >= before.dimensions[d] for d in before.dimensions)
    assert all(a >= b for a, b in zip(_tiers(after), _tiers(before), strict=True))


@pytest.mark.parametrize(
    "inst", [i for i in INSTRUMENTS if any(q.not_applicable for q in i.questions.values())], ids=lambda i: i.id
)
@SETTINGS
@given(data=st.data())
def test_not_applicable_never_lowers_a_score(inst, data):
    answers = data.draw(answer_sets(inst))
    q = data.draw(st.sampled_from([q for q in inst.questions.values() if q.not_applicable]))
    answered = answers | {q.id: worst(inst)[q.id]}
    na, low = _score(inst, answers | {q.id: "n/a"}), _score(inst, answered)
    assert na.overall >= low.overall
    assert all(na.dimensions[d] >= low.dimensions[d] for d in low.dimensions)
    assert all(a >= b for a, b in zip(_tiers(na), _tiers(low), strict=True))
