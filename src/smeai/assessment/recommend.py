"""Recommendations tied to answers: rules from data/recommendations.yaml, and the next scenarios to try
from data/scenario_path.yaml, following the report's path 辅助助手 → 合作伙伴 → 业务专家 (ch.4).

Nothing here is one text per level: every item names the answers or gaps it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from smeai import taxonomy
from smeai.assessment.instruments import Instrument, Label
from smeai.assessment.schemas import RecommendationOut
from smeai.assessment.scoring import NA, Answer, Scores
from smeai.errors import Invalid
from smeai.i18n import N_, _, label
from smeai.taxonomy import ScenarioCode

DATA = Path(__file__).parent / "data"
ROLE_ORDER = ("assistant", "partner", "expert")


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    question: str | None = None
    dimension: str | None = None
    max_score: float | None = None  # question score (0-100) at most
    min_score: float | None = None
    answer_in: tuple[str, ...] = ()
    below: float | None = None  # dimension score below
    at_least: float | None = None
    stage_at_most: int | None = None
    role_is: tuple[str, ...] = ()  # role ids; "none" = no role reached

    @model_validator(mode="after")
    def _one(self) -> Self:
        kinds = [
            self.question is not None,
            self.dimension is not None,
            self.stage_at_most is not None,
            bool(self.role_is),
        ]
        if sum(kinds) != 1:
            raise ValueError("a condition names exactly one of question, dimension, stage_at_most, role_is")
        return self


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    instrument: str
    priority: int = Field(default=2, ge=1, le=3)
    when: tuple[Condition, ...] = Field(min_length=1)
    title: Label
    text: Label
    search: str | None = None  # words to find offerings and cases that help


class DimensionStep(BaseModel):
    """The next step for a dimension that is among the weakest, when no rule already covers it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    title: Label
    text: Label
    search: str | None = None


class ScenarioStep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    step: str = Field(pattern=r"^(assistant|partner|expert)$")
    data_min: float = Field(ge=0, le=100)
    why: Label


class IndustryFocus(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    classes: dict[str, tuple[ScenarioCode, ...]] = {}
    sections: dict[str, tuple[ScenarioCode, ...]] = {}


class ScenarioPath(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    scenarios: dict[ScenarioCode, ScenarioStep]
    industry_focus: IndustryFocus
    production_sections: tuple[str, ...]


def _load(path: Path, model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as exc:
        raise Invalid(
            N_("Recommendation file is invalid."),
            fields={f"{path.name}:{'.'.join(map(str, e['loc']))}": e["msg"] for e in exc.errors()},
        ) from None


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: tuple[Rule, ...]
    dimension_steps: dict[str, dict[str, DimensionStep]] = {}  # instrument id -> dimension id -> step


@lru_cache
def _rules_file() -> _Rules:
    return _load(DATA / "recommendations.yaml", _Rules)  # type: ignore[return-value]


def rules() -> tuple[Rule, ...]:
    return _rules_file().rules


def dimension_steps(instrument_id: str) -> dict[str, DimensionStep]:
    return _rules_file().dimension_steps.get(instrument_id, {})


@lru_cache
def scenario_path() -> ScenarioPath:
    return _load(DATA / "scenario_path.yaml", ScenarioPath)  # type: ignore[return-value]


@dataclass(frozen=True)
class Profile:
    """What the enterprise profile adds: industry section, manufacturing division, province."""

    section: str | None = None
    division: str | None = None
    province: str | None = None

    @property
    def intensity_class(self) -> str | None:
        group = taxonomy.load().group_of_division(self.division) if self.division else None
        return str(group.extra["class"]) if group else None


@dataclass(frozen=True)
class Context:
    instrument: Instrument
    answers: dict[str, Answer]
    scores: Scores
    stage_rank: int | None
    role_id: str | None


def _holds(c: Condition, ctx: Context) -> bool:
    if c.question is not None:
        s = ctx.scores.questions.get(c.question)
        if s is None:  # n/a or unanswered never fires a rule
            return False
        if c.answer_in:
            return ctx.answers.get(c.question) in c.answer_in
        score = 100 * s
        return (c.max_score is None or score <= c.max_score + 1e-9) and (
            c.min_score is None or score >= c.min_score - 1e-9
        )
    if c.dimension is not None:
        d = ctx.scores.dimensions[c.dimension]
        return (c.below is None or d < c.below) and (c.at_least is None or d >= c.at_least)
    if c.stage_at_most is not None:
        return ctx.stage_rank is None or ctx.stage_rank <= c.stage_at_most
    return (ctx.role_id or "none") in c.role_is


def _reason(c: Condition, ctx: Context) -> str:
    inst = ctx.instrument
    if c.question is not None:
        q = inst.questions[c.question]
        answer = ctx.answers.get(c.question)
        if isinstance(answer, str) and q.option(answer):
            return f"{label(q.text.model_dump())} → {label(q.option(answer).label.model_dump())}"  # type: ignore[union-attr]
        return label(q.text.model_dump())
    if c.dimension is not None:
        name = label(inst.dimension(c.dimension).name.model_dump())
        return _("%(dimension)s: %(score)d") % {"dimension": name, "score": round(ctx.scores.dimensions[c.dimension])}
    return ""


def rule_recommendations(ctx: Context) -> list[RecommendationOut]:
    out = []
    known_q, known_d = ctx.instrument.questions, {d.id for d in ctx.instrument.dimensions}
    for rule in rules():
        if rule.instrument != ctx.instrument.id:
            continue
        if any(
            (c.question and c.question not in known_q) or (c.dimension and c.dimension not in known_d)
            for c in rule.when
        ):
            continue  # a rule written for another version of the instrument
        if all(_holds(c, ctx) for c in rule.when):
            out.append(
                RecommendationOut(
                    id=rule.id,
                    kind="rule",
                    title=str(rule.title),
                    text=str(rule.text),
                    priority=rule.priority,
                    reasons=[r for c in rule.when if (r := _reason(c, ctx))],
                    dimension=_dimension_of(rule, ctx),
                    search=rule.search,
                )
            )
    return out


def _dimension_of(rule: Rule, ctx: Context) -> str | None:
    """The dimension a rule works on: the one its conditions name, or that of its first question."""
    for c in rule.when:
        if c.dimension:
            return c.dimension
        if c.question and c.question in ctx.instrument.questions:
            return ctx.instrument.questions[c.question].dimension
    return None


def _weakest_questions(ctx: Context, dimension: str, limit: int = 2) -> list[str]:
    """The answers that hold a dimension down most: lowest score first, with the answer given."""
    d = ctx.instrument.dimension(dimension)
    scored = [
        (s, i, q) for i, q in enumerate(d.questions) if (s := ctx.scores.questions.get(q.id)) is not None and s < 1
    ]
    out = []
    for _s, _i, q in sorted(scored, key=lambda t: (t[0], -t[2].weight, t[1]))[:limit]:
        answer = ctx.answers.get(q.id)
        text = label(q.text.model_dump())
        if isinstance(answer, str) and q.option(answer):
            text += f" → {label(q.option(answer).label.model_dump())}"  # type: ignore[union-attr]
        out.append(text)
    return out


def dimension_recommendations(ctx: Context, covered: set[str], *, limit: int = 2) -> list[RecommendationOut]:
    """A next step for each of the weakest dimensions (below full marks) that no rule covered yet, at
    every level: a firm at the top level still has a weakest dimension to raise."""
    steps = dimension_steps(ctx.instrument.id)
    dims = sorted(ctx.instrument.dimensions, key=lambda d: (ctx.scores.dimensions[d.id], d.id))
    out = []
    for d in [d for d in dims if ctx.scores.dimensions[d.id] < 100 - 1e-9][:limit]:
        if d.id in covered or d.id not in steps:
            continue
        step, score = steps[d.id], ctx.scores.dimensions[d.id]
        weak = _("%(dimension)s: %(score)d, among your weakest")
        reasons = [weak % {"dimension": str(d.name), "score": round(score)}]
        out.append(
            RecommendationOut(
                id=f"dimension-{d.id}",
                kind="dimension",
                title=str(step.title),
                text=str(step.text),
                priority=1 if score < ctx.instrument.gap_max else 2,
                reasons=reasons + _weakest_questions(ctx, d.id),
                dimension=d.id,
                search=step.search,
            )
        )
    return out


def _target_step(role_id: str | None) -> int:
    """The step to work on next: none yet -> assistant; assistant -> partner; partner/expert -> expert."""
    if role_id is None:
        return 0
    return min(ROLE_ORDER.index(role_id) + 1, len(ROLE_ORDER) - 1)


def scenario_recommendations(ctx: Context, profile: Profile | None, *, limit: int = 3) -> list[RecommendationOut]:
    """The next scenarios: not yet at scale, not n/a, at the current step of the path or one below,
    favouring the industry's common scenarios, ones already started, and ones the data can carry."""
    path = scenario_path()
    tax = taxonomy.load()
    target = _target_step(ctx.role_id)
    data = ctx.scores.dimensions.get("data", 0.0)
    profile = profile or Profile()
    focus: set[str] = set()
    if profile.intensity_class:
        focus |= set(path.industry_focus.classes.get(profile.intensity_class, ()))
    if profile.section:
        focus |= set(path.industry_focus.sections.get(profile.section, ()))
    makes_things = profile.section is None or profile.section in path.production_sections
    ranked = []
    for order, q in enumerate(ctx.instrument.questions.values()):
        if not q.scenario or q.scenario not in path.scenarios:
            continue
        s = ctx.scores.questions.get(q.id)
        if s is None or s >= 1:  # n/a, unanswered, or already embedded end to end
            continue
        step = path.scenarios[q.scenario]
        step_i = ROLE_ORDER.index(step.step)
        if step_i > target or (q.link == "production" and not makes_things):
            continue
        ready = data >= step.data_min
        # at scale already: last, as the step to embed it end to end (a top-level firm's next step)
        key = (s >= 0.75, -(2 * (q.scenario in focus) + (s > 0) + ready + (step_i == target)), step_i, order)
        ranked.append((key, q, s, step, ready))
    out = []
    for _key, q, s, step, ready in sorted(ranked, key=lambda r: r[0])[:limit]:
        name = tax.scenarios[q.scenario].name  # type: ignore[index]
        role = tax.roles[step.step].name
        if s >= 0.75:
            title = _("Embed “%(scenario)s” end to end, connected to your systems") % {"scenario": name}
        elif s > 0:
            title = _("Take “%(scenario)s” from a trial to real use") % {"scenario": name}
        else:
            title = _("Try AI in “%(scenario)s”") % {"scenario": name}
        reasons = [_("Step on the path: %(role)s") % {"role": role}]
        if q.scenario in focus:
            reasons.append(_("Common in your industry"))
        if not ready:
            reasons.append(
                _("Needs a data foundation score of %(n)d first (yours: %(d)d)")
                % {"n": step.data_min, "d": round(data)}
            )
        out.append(
            RecommendationOut(
                id=f"scenario-{q.scenario}",
                kind="scenario",
                title=title,
                text=str(step.why),
                priority=2 if ready else 3,
                reasons=reasons,
                scenario=q.scenario,
                role=step.step,
            )
        )
    return out


def recommend(ctx: Context, profile: Profile | None = None) -> list[RecommendationOut]:
    """Rules on specific answers, a step for each weakest dimension no rule covers, and the next
    scenarios: every result gets concrete next steps, whatever its level."""
    fired = rule_recommendations(ctx)
    covered = {r.dimension for r in fired if r.dimension}
    items = fired + dimension_recommendations(ctx, covered) + scenario_recommendations(ctx, profile)
    return sorted(items, key=lambda r: r.priority)  # stable: rules before scenarios within a priority


__all__ = ["NA", "Context", "Profile", "recommend", "rules", "scenario_path"]
