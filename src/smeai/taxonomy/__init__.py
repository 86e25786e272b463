"""The taxonomy: the only source of industries, groups, links, scenarios, stages, roles, provinces.

Loaded from data/taxonomy.yaml (a copy of the report's reference taxonomy) plus English labels.
Other modules validate codes through `require_*` and read labels through `name()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import AfterValidator

from smeai.errors import Invalid
from smeai.i18n import N_, get_lang

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Term:
    code: str
    zh: str
    en: str
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.en if get_lang() == "en" and self.en else self.zh

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "name": {"zh": self.zh, "en": self.en}, **self.extra}

    @property
    def divisions(self) -> list[str]:
        """A group's manufacturing divisions ("13".."43"); empty for any other term."""
        value = self.extra.get("divisions")
        return [str(d) for d in value] if isinstance(value, list) else []


@dataclass(frozen=True, eq=False)  # hashed by identity: one instance, cached
class Taxonomy:
    sections: dict[str, Term]
    divisions: dict[str, Term]  # "13".."43"
    intensity_classes: dict[str, Term]
    groups: dict[str, Term]  # extra: class, divisions
    links: dict[str, Term]
    scenarios: dict[str, Term]  # extra: link, note
    stages: dict[str, Term]  # "1".."4"; extra: code
    roles: dict[str, Term]  # extra: focus, what
    provinces: dict[str, Term]  # "11".."82"

    def group_of_division(self, division: int | str) -> Term | None:
        return _division_to_group(self).get(str(division))

    def kinds(self) -> dict[str, dict[str, Term]]:
        return {
            "sections": self.sections,
            "divisions": self.divisions,
            "intensity_classes": self.intensity_classes,
            "groups": self.groups,
            "links": self.links,
            "scenarios": self.scenarios,
            "stages": self.stages,
            "roles": self.roles,
            "provinces": self.provinces,
        }


def _terms(zh: dict, en: dict | None, extra_keys: tuple[str, ...] = ()) -> dict[str, Term]:
    out: dict[str, Term] = {}
    for code, value in zh.items():
        key = str(code)
        if isinstance(value, dict):
            name = value.get("name", "")
            extra = {k: value[k] for k in extra_keys if k in value}
        else:
            name, extra = value, {}
        out[key] = Term(key, str(name), str((en or {}).get(code, (en or {}).get(key, "")) or ""), extra)
    return out


@lru_cache
def load() -> Taxonomy:
    raw = yaml.safe_load((DATA / "taxonomy.yaml").read_text(encoding="utf-8"))
    en = yaml.safe_load((DATA / "taxonomy_en.yaml").read_text(encoding="utf-8"))
    groups = {}
    for code, g in raw["manufacturing_groups"].items():
        extra = {"class": g["class"], "divisions": [str(d) for d in g["divisions"]]}
        groups[code] = Term(code, g["name"], str(en.get("manufacturing_groups", {}).get(code, "")), extra)
    return Taxonomy(
        sections=_terms(raw["sections"], en.get("sections")),
        divisions=_terms(raw["manufacturing_divisions"], en.get("manufacturing_divisions")),
        intensity_classes=_terms(raw["intensity_classes"], en.get("intensity_classes")),
        groups=groups,
        links=_terms(raw["links"], en.get("links")),
        scenarios=_terms(raw["scenarios"], en.get("scenarios"), ("link", "note")),
        stages=_terms(raw["application_stages"], en.get("application_stages"), ("code",)),
        roles=_terms(raw["ai_roles"], en.get("ai_roles"), ("focus", "what")),
        provinces=_terms(raw["provinces"], en.get("provinces")),
    )


@lru_cache
def _division_to_group(tax: Taxonomy) -> dict[str, Term]:
    return {d: g for g in tax.groups.values() for d in g.divisions}


def name(kind: str, code: str | int | None) -> str:
    """Label of a code in the current language; the code itself when unknown."""
    if code is None or code == "":
        return ""
    term = load().kinds()[kind].get(str(code))
    return term.name if term else str(code)


def _require(kind: str, codes: list[str] | tuple[str, ...] | set[str], field_name: str) -> None:
    known = load().kinds()[kind]
    bad = [c for c in codes if str(c) not in known]
    if bad:
        raise Invalid(N_("Unknown code."), fields={field_name: f"unknown {kind}: {', '.join(map(str, bad))}"})


def require_scenarios(codes: list[str], *, field: str = "scenarios") -> None:
    _require("scenarios", codes, field)


def _check(kind: str):
    def check(value: str) -> str:
        value = str(value)
        if value not in load().kinds()[kind]:
            raise ValueError(f"unknown {kind[:-1]} code {value!r}")
        return value

    return check


ProvinceCode = Annotated[str, AfterValidator(_check("provinces"))]
SectionCode = Annotated[str, AfterValidator(_check("sections"))]
ScenarioCode = Annotated[str, AfterValidator(_check("scenarios"))]
LinkCode = Annotated[str, AfterValidator(_check("links"))]


def division_code(value: int | str) -> str:
    v = str(value)
    if v not in load().divisions:
        raise ValueError(f"unknown manufacturing division {value!r} (13..43)")
    return v


DivisionCode = Annotated[str, AfterValidator(division_code)]


def choices(kind: str) -> list[tuple[str, str]]:
    """(code, label) pairs for a select box, labels in the current language (names only: no code on screen)."""
    terms = load().kinds()[kind]
    return [(t.code, t.name) for t in terms.values()]
