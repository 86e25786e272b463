"""A whole diagnosis from answers: scores, level, stage, role, strengths, gaps, recommendations."""

from __future__ import annotations

from smeai.assessment import recommend
from smeai.assessment.instruments import Gate, Instrument, Tier
from smeai.assessment.schemas import RecommendationOut, ScoreOut, TierOut
from smeai.assessment.scoring import Answer, Scores, compute, tier_reached, unmet_gates
from smeai.i18n import _, label


def _tier_out(found: tuple[int, Tier] | None) -> TierOut | None:
    if found is None:
        return None
    rank, tier = found
    return TierOut(id=tier.id, name=str(tier.name), rank=rank)


def _gate_text(inst: Instrument, gate: Gate) -> str:
    if gate.note:
        text = str(gate.note)
    elif gate.dimension:
        text = _("%(dimension)s at least %(n)d") % {
            "dimension": label(inst.dimension(gate.dimension).name.model_dump()),
            "n": gate.min_score,
        }
    else:
        text = _("%(count)d questions (%(what)s) at %(n)d or more") % {
            "count": gate.count,
            "what": gate.tag or ", ".join(gate.questions),
            "n": gate.min_score,
        }
    if not gate.source:  # no published rule behind it: say whose rule it is
        text += _(" (smeai's own rule)")
    return text


def missing_for(inst: Instrument, tier: Tier, scores: Scores) -> list[str]:
    """What a tier still needs, in words."""
    out = []
    basis = scores.dimensions[tier.basis] if tier.basis else scores.overall
    if basis < tier.min_score:
        out.append(_("Overall score at least %(n)d (now %(now).1f)") % {"n": tier.min_score, "now": basis})
    return out + [_gate_text(inst, g) for g in unmet_gates(inst, tier, scores)]


def evaluate(
    inst: Instrument,
    answers: dict[str, Answer],
    profile: recommend.Profile | None = None,
    extra: list[RecommendationOut] | None = None,
) -> ScoreOut:
    """Answers must be normalised (scoring.check_answers)."""
    scores = compute(inst, answers)
    level = tier_reached(inst, inst.levels, scores)
    assert level is not None  # the lowest level has no conditions (instrument validation)
    stage = tier_reached(inst, inst.stages, scores) if inst.stages else None
    role = tier_reached(inst, inst.roles, scores) if inst.roles else None
    dims = {k: round(v, 1) for k, v in scores.dimensions.items()}
    by_score = sorted(inst.dimensions, key=lambda d: (-scores.dimensions[d.id], d.id))
    strengths = [d.id for d in by_score if scores.dimensions[d.id] >= inst.strength_min][:3]
    gaps = [d.id for d in reversed(by_score) if scores.dimensions[d.id] < inst.gap_max][:3]
    if not gaps and scores.dimensions[by_score[-1].id] < inst.strength_min:
        gaps = [by_score[-1].id]
    next_level = next_missing = None
    if level[0] + 1 < len(inst.levels):
        nxt = inst.levels[level[0] + 1]
        next_level, next_missing = (
            TierOut(id=nxt.id, name=str(nxt.name), rank=level[0] + 1),
            missing_for(inst, nxt, scores),
        )
    ctx = recommend.Context(inst, answers, scores, stage[0] if stage else None, role[1].id if role else None)
    if inst.stages and stage is None:
        ctx = recommend.Context(inst, answers, scores, 0, ctx.role_id)
    recs = recommend.recommend(ctx, profile) + list(extra or [])
    return ScoreOut(
        instrument=inst.id,
        version=inst.version,
        overall=round(scores.overall, 1),
        dimensions=dims,
        level=TierOut(id=level[1].id, name=str(level[1].name), rank=level[0]),
        levels_note=str(inst.levels_note) if inst.levels_note else "",
        stage=_tier_out(stage),
        role=_tier_out(role),
        questions={k: (None if v is None else round(v * inst.question_scale, 2)) for k, v in scores.questions.items()},
        strengths=strengths,
        gaps=gaps,
        next_level=next_level,
        next_level_missing=next_missing or [],
        recommendations=recs,
    )
