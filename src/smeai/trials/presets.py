"""The trial templates (模板): data files in data/templates/*.json, each a ready test set with its checks,
system prompt, judge and (for extraction) JSON schema. A pydantic model is their schema."""

from __future__ import annotations

import json
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from smeai.errors import Invalid
from smeai.i18n import N_, get_lang
from smeai.trials import checks

DATA = Path(__file__).parent / "data" / "templates"


class JudgeMode(StrEnum):
    NONE = "none"
    RUBRIC = "rubric"  # the judge scores each answer 1-5 against the rubric
    PAIRWISE = "pairwise"  # the judge compares two answers, both orders


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)  # a misspelt key is an error, not a default


class Label(_Strict):
    zh: str = Field(min_length=1)
    en: str = ""

    def __str__(self) -> str:
        return self.en if get_lang() == "en" and self.en else self.zh


class Judge(_Strict):
    mode: JudgeMode
    rubric: Label


class TemplateRow(_Strict):
    input: str = Field(min_length=1)
    reference: str = ""
    checks: tuple[dict[str, Any], ...] = ()

    @field_validator("checks")
    @classmethod
    def _checks(cls, value: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
        return tuple(checks.validate_check(c) for c in value)


class Template(_Strict):
    code: str = Field(pattern=r"^[a-z0-9-]+$", max_length=60)
    name: Label
    description: Label
    system_prompt: str = ""
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    default_checks: tuple[dict[str, Any], ...] = ()  # added to every row that names none
    judge: Judge | None = None
    rows: tuple[TemplateRow, ...] = Field(min_length=1, max_length=200)

    @field_validator("default_checks")
    @classmethod
    def _defaults(cls, value: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
        return tuple(checks.validate_check(c) for c in value)

    @field_validator("schema_")
    @classmethod
    def _schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            import jsonschema  # type: ignore[import-untyped]

            jsonschema.Draft202012Validator.check_schema(value)
        return value


def load_templates(folder: Path = DATA) -> dict[str, Template]:
    """Every template file, by code; every problem in every file named at once."""
    out: dict[str, Template] = {}
    problems: dict[str, str] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            t = Template.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except ValueError as exc:  # JSON syntax and ValidationError alike
            if isinstance(exc, ValidationError):
                problems |= {f"{path.name}:{'.'.join(map(str, e['loc']))}": e["msg"] for e in exc.errors()}
            else:
                problems[path.name] = str(exc)
            continue
        out[t.code] = t
    if problems:
        raise Invalid(N_("Trial template files are invalid."), fields=problems)
    return out


@lru_cache
def templates() -> dict[str, Template]:
    return load_templates()


def get_template(code: str) -> Template:
    template = templates().get(code)
    if template is None:
        raise Invalid(N_("Unknown template."), fields={"template": N_("Choose one of the templates.")})
    return template
