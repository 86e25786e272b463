"""Instruments as versioned data: the pydantic schema of data/instruments/*.yaml and its loader.

An instrument is dimensions -> questions -> options (or bands), with weights, plus ordered tiers
(levels, and optionally application stages and AI roles) that need a score threshold AND gate rules
("≥ N scenarios at level k"). A gate names its `source` where a published rule sets it; a gate without one
is the instrument's own rule, and results say so. Changing a weight or a question is editing a data file;
the engine (scoring.py) reads nothing else.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from smeai.errors import Invalid, NotFound
from smeai.i18n import N_, label
from smeai.taxonomy import LinkCode, ScenarioCode

DATA = Path(__file__).parent / "data"
INSTRUMENTS = DATA / "instruments"
ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"


class Label(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    zh: str = Field(min_length=1)
    en: str = ""

    def __str__(self) -> str:
        return label(self.model_dump())


class QuestionType(StrEnum):
    SINGLE = "single"  # one option
    MULTI = "multi"  # several options, points add up (capped at max_points)
    SCALE = "scale"  # an adoption scale, e.g. 0-5; options "0".."5"
    RANGE = "range"  # range buckets (MIIT: 0/25/50/75/100 % of the points); a number may be given
    NUMBER = "number"  # a number, scored by bands


CHOICE_TYPES = frozenset({QuestionType.SINGLE, QuestionType.MULTI, QuestionType.SCALE, QuestionType.RANGE})


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=ID_PATTERN)
    label: Label
    points: float = Field(ge=0)
    exclusive: bool = False  # multi: "none of these" cannot be combined with other options
    min: float | None = None  # range: the bucket [min, max) a numeric answer falls into
    max: float | None = None


class Band(BaseModel):
    """A numeric band [min, max) worth `points`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    min: float | None = None
    max: float | None = None
    points: float = Field(ge=0)
    label: Label | None = None

    def contains(self, value: float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value < self.max)


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=ID_PATTERN)
    dimension: str = ""  # filled from the enclosing dimension
    type: QuestionType
    text: Label
    help: Label | None = None
    weight: float = Field(default=1.0, gt=0)
    not_applicable: bool = False  # may be answered "n/a"
    required: bool = True
    options: tuple[Option, ...] = ()
    bands: tuple[Band, ...] = ()
    max_points: float | None = Field(default=None, gt=0)  # multi: the cap; default the sum of options
    unit: Label | None = None  # number: e.g. 人, 万元
    tags: tuple[str, ...] = ()  # gate rules count questions by tag (e.g. scenario)
    scenario: ScenarioCode | None = None  # the taxonomy scenario this question rates
    link: LinkCode | None = None

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if self.type in CHOICE_TYPES:
            if len(self.options) < 2:
                raise ValueError(f"question {self.id}: a {self.type} question needs at least two options")
            ids = [o.id for o in self.options]
            if len(set(ids)) != len(ids):
                raise ValueError(f"question {self.id}: duplicate option ids")
            if self.bands:
                raise ValueError(f"question {self.id}: bands are for number questions")
        else:
            if not self.bands or self.options:
                raise ValueError(f"question {self.id}: a number question needs bands and no options")
        if self.type == QuestionType.RANGE and any(o.min is None and o.max is None for o in self.options):
            raise ValueError(f"question {self.id}: every range option needs min or max")
        if self.best_points() <= 0:
            raise ValueError(f"question {self.id}: no answer earns points")
        return self

    def best_points(self) -> float:
        if self.type == QuestionType.NUMBER:
            return max(b.points for b in self.bands)
        if self.type == QuestionType.MULTI:
            return self.max_points or sum(o.points for o in self.options if not o.exclusive)
        return max(o.points for o in self.options)

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)

    def band(self, value: float) -> Band | None:
        return next((b for b in self.bands if b.contains(value)), None)


class Dimension(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=ID_PATTERN)
    name: Label
    description: Label | None = None
    weight: float = Field(default=1.0, gt=0)
    questions: tuple[Question, ...]

    @model_validator(mode="after")
    def _fill(self) -> Self:
        if not self.questions:
            raise ValueError(f"dimension {self.id}: no questions")
        # n/a drops a question from its dimension's denominator; one question per dimension must stay,
        # so every dimension always has a score.
        if all(q.not_applicable or not q.required for q in self.questions):
            raise ValueError(f"dimension {self.id}: needs one required question that cannot be n/a")
        object.__setattr__(
            self, "questions", tuple(q.model_copy(update={"dimension": self.id}) for q in self.questions)
        )
        return self


class Gate(BaseModel):
    """One gate rule of a tier. Scores are 0-100 (a question's normalised score times 100).

    `tag`/`questions` + `count`: at least `count` of those questions score >= min_score (with
    `distinct: link`, counted as distinct business links); `dimension`: that dimension >= min_score.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    tag: str | None = None
    questions: tuple[str, ...] = ()
    dimension: str | None = None
    min_score: float = Field(ge=0, le=100)
    count: int = Field(default=1, ge=1)
    distinct: str | None = Field(default=None, pattern=r"^(link|scenario)$")
    note: Label | None = None
    source: str = ""  # the published rule this gate reproduces; empty: the instrument's own rule

    @model_validator(mode="after")
    def _one_scope(self) -> Self:
        if sum(bool(x) for x in (self.tag, self.questions, self.dimension)) != 1:
            raise ValueError("a gate names exactly one of tag, questions, dimension")
        return self


class Tier(BaseModel):
    """A level, stage or role: reached when the score (overall, or `basis` dimension) >= min_score
    and every gate holds. Tiers are listed lowest first; rank = position."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=ID_PATTERN)
    name: Label
    description: Label | None = None
    min_score: float = Field(default=0, ge=0, le=100)
    basis: str | None = None  # a dimension id; None: the overall score
    gates: tuple[Gate, ...] = ()


class Mapping(BaseModel):
    """Declares that assessments of an earlier version compare with this one, dimension by dimension."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    from_version: str
    dimensions: dict[str, str]  # earlier dimension id -> this version's dimension id


class Instrument(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=ID_PATTERN)
    version: str = Field(min_length=1)
    name: Label
    description: Label | None = None
    source: str = ""
    levels_note: Label | None = None  # what the levels are (and are not), shown with every result
    question_scale: float = Field(default=100, gt=0)  # a question's score is shown on 0..question_scale
    dimensions: tuple[Dimension, ...]
    levels: tuple[Tier, ...]
    stages: tuple[Tier, ...] = ()
    roles: tuple[Tier, ...] = ()
    mappings: tuple[Mapping, ...] = ()
    strength_min: float = 60  # a dimension at or above this is a strength
    gap_max: float = 40  # a dimension below this is a gap

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        dims = [d.id for d in self.dimensions]
        qids = [q.id for d in self.dimensions for q in d.questions]
        problems = []
        if len(set(dims)) != len(dims):
            problems.append("duplicate dimension ids")
        if len(set(qids)) != len(qids):
            problems.append("duplicate question ids")
        if not self.levels:
            problems.append("no levels")
        elif self.levels[0].min_score or self.levels[0].gates:
            problems.append("the lowest level must have no threshold and no gates")
        tags = {t for d in self.dimensions for q in d.questions for t in q.tags}
        for kind, tiers in (("levels", self.levels), ("stages", self.stages), ("roles", self.roles)):
            ids = [t.id for t in tiers]
            if len(set(ids)) != len(ids):
                problems.append(f"{kind}: duplicate ids")
            for tier in tiers:
                if tier.basis and tier.basis not in dims:
                    problems.append(f"{kind}.{tier.id}: unknown basis dimension {tier.basis}")
                for gate in tier.gates:
                    if gate.tag and gate.tag not in tags:
                        problems.append(f"{kind}.{tier.id}: no question has tag {gate.tag}")
                    if gate.dimension and gate.dimension not in dims:
                        problems.append(f"{kind}.{tier.id}: unknown dimension {gate.dimension}")
                    problems += [f"{kind}.{tier.id}: unknown question {q}" for q in gate.questions if q not in qids]
        for m in self.mappings:
            problems += [
                f"mapping from {m.from_version}: unknown dimension {d}" for d in m.dimensions.values() if d not in dims
            ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @cached_property
    def questions(self) -> dict[str, Question]:
        return {q.id: q for d in self.dimensions for q in d.questions}

    def dimension(self, dimension_id: str) -> Dimension:
        return next(d for d in self.dimensions if d.id == dimension_id)

    def mapping_from(self, version: str) -> dict[str, str] | None:
        """Dimension map from an earlier version; identity for the same version; None: not comparable."""
        if version == self.version:
            return {d.id: d.id for d in self.dimensions}
        return next((dict(m.dimensions) for m in self.mappings if m.from_version == version), None)


def load_file(path: Path) -> Instrument:
    try:
        return Instrument.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as exc:
        raise Invalid(N_("Instrument file is invalid."), fields={path.name: str(exc)}) from None
    except ValidationError as exc:
        raise Invalid(
            N_("Instrument file is invalid."),
            fields={f"{path.name}:{'.'.join(map(str, e['loc']))}": e["msg"] for e in exc.errors()},
        ) from None


def load_instruments(folder: Path = INSTRUMENTS) -> dict[tuple[str, str], Instrument]:
    """Every instrument version in the folder, keyed by (id, version); every problem reported at once."""
    found: dict[tuple[str, str], Instrument] = {}
    problems: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            inst = load_file(path)
        except Invalid as exc:
            problems |= exc.fields
            continue
        if (inst.id, inst.version) in found:
            problems[path.name] = f"duplicate instrument {inst.id} version {inst.version}"
        found[(inst.id, inst.version)] = inst
    if problems:
        raise Invalid(N_("Instrument files are invalid."), fields=problems)
    return found


@lru_cache
def registry() -> dict[tuple[str, str], Instrument]:
    return load_instruments()


def _version_key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in version.replace("-", ".").split("."))


def current() -> dict[str, Instrument]:
    """The latest version of each instrument, by id."""
    latest: dict[str, Instrument] = {}
    for (iid, _version), inst in sorted(registry().items(), key=lambda kv: (kv[0][0], _version_key(kv[0][1]))):
        latest[iid] = inst
    return latest


def get_instrument(instrument_id: str, version: str | None = None) -> Instrument:
    inst = current().get(instrument_id) if version is None else registry().get((instrument_id, version))
    if inst is None:
        raise NotFound(N_("Instrument not found."), instrument=instrument_id)
    return inst
