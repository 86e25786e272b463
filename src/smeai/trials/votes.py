"""Blind human rating: two answers to the same input, anonymised and in random order; the person picks the
better or a tie, and the names are shown only after the vote. Each person is offered each pair of answers
once per run (the pairs they have not voted on yet, in random order)."""

from __future__ import annotations

import random
from itertools import combinations

from sqlalchemy import select
from sqlalchemy.orm import Session

from smeai.auth.actor import Actor
from smeai.auth.permissions import Permission
from smeai.db import utcnow
from smeai.errors import Conflict, Invalid, NotFound
from smeai.i18n import N_
from smeai.trials import service
from smeai.trials.models import Trial, TrialAnswer, TrialVote

CHOICES = ("left", "right", "tie")


def _mine(session: Session, actor: Actor, trial: Trial) -> list[TrialVote]:
    stmt = select(TrialVote).where(TrialVote.trial_id == trial.id, TrialVote.voter_id == actor.user_id)
    return list(session.scalars(stmt.order_by(TrialVote.id)))


def _open(mine: list[TrialVote], answers: dict[int, TrialAnswer]) -> TrialVote | None:
    return next((v for v in mine if v.choice is None and v.left_id in answers and v.right_id in answers), None)


def open_vote(session: Session, actor: Actor, trial: Trial) -> TrialVote | None:
    """The comparison this person was shown and has not voted on yet (read only: the rating page's GET)."""
    actor.require(Permission.TRIAL_RUN)
    answers = {a.id: a for a in service.answers_of(session, trial) if a.status == "ok"}
    return _open(_mine(session, actor, trial), answers)


def next_pair(session: Session, actor: Actor, trial: Trial, *, rng: random.Random | None = None) -> TrialVote | None:
    """Draw the comparison this person is to vote on now (a write, so only on a POST): an open one they were
    already shown (asking twice shows the same two answers in the same order), else a new random pair they
    have not seen; None when done."""
    actor.require(Permission.TRIAL_RUN)
    if trial.state == service.TrialState.RUNNING:
        raise Conflict(N_("The trial is running; wait until it finishes."))
    mine = _mine(session, actor, trial)
    answers = {a.id: a for a in service.answers_of(session, trial) if a.status == "ok"}
    if (vote := _open(mine, answers)) is not None:
        return vote
    seen = {frozenset((v.left_id, v.right_id)) for v in mine}
    by_row: dict[int, list[TrialAnswer]] = {}
    for a in answers.values():
        by_row.setdefault(a.row_id, []).append(a)
    open_pairs = [
        (x, y)
        for row_answers in by_row.values()
        for x, y in combinations(sorted(row_answers, key=lambda a: a.id), 2)
        if frozenset((x.id, y.id)) not in seen and x.candidate_id != y.candidate_id
    ]
    if not open_pairs:
        return None
    rng = rng or random.SystemRandom()
    x, y = rng.choice(open_pairs)
    left, right = (x, y) if rng.random() < 0.5 else (y, x)
    vote = TrialVote(trial_id=trial.id, voter_id=actor.user_id, left_id=left.id, right_id=right.id)
    session.add(vote)
    session.flush()
    return vote


def get_vote(session: Session, actor: Actor, trial: Trial, vote_id: int) -> TrialVote:
    vote = session.scalar(
        select(TrialVote).where(
            TrialVote.id == vote_id, TrialVote.trial_id == trial.id, TrialVote.voter_id == actor.user_id
        )
    )
    if vote is None:
        raise NotFound(N_("Comparison not found."))
    return vote


def cast_vote(session: Session, actor: Actor, trial: Trial, vote_id: int, choice: str) -> TrialVote:
    actor.require(Permission.TRIAL_RUN)
    if choice not in CHOICES:
        raise Invalid(N_("Pick the better answer, or a tie."), fields={"choice": N_("Pick one.")})
    vote = get_vote(session, actor, trial, vote_id)
    if vote.choice is not None:
        raise Conflict(N_("You have already voted on this pair."))
    vote.choice, vote.voted_at = choice, utcnow()
    session.flush()
    return vote


def pair_texts(session: Session, vote: TrialVote) -> tuple[TrialAnswer, TrialAnswer, str]:
    """The two answers and the input they answer."""
    left, right = session.get(TrialAnswer, vote.left_id), session.get(TrialAnswer, vote.right_id)
    if left is None or right is None:
        raise NotFound(N_("Comparison not found."))
    row = next(r for r in service.rows_of(session, session.get_one(Trial, vote.trial_id)) if r.id == left.row_id)
    return left, right, row.input


def progress(session: Session, actor: Actor, trial: Trial) -> tuple[int, int]:
    """(voted by this person, pairs there are in this run)."""
    answers = [a for a in service.answers_of(session, trial) if a.status == "ok"]
    by_row: dict[int, int] = {}
    for a in answers:
        by_row[a.row_id] = by_row.get(a.row_id, 0) + 1
    total = sum(n * (n - 1) // 2 for n in by_row.values())
    ids = {a.id for a in answers}
    voted = sum(1 for v in _mine(session, actor, trial) if v.choice is not None and v.left_id in ids)
    return voted, total
