"""Domain errors. Services raise these; app.py and cli.main() map them in one place each."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from smeai.i18n import N_


class SmeaiError(Exception):
    """Any domain error without a more specific code."""

    code = "error"  # stable and machine-readable; listed in docs/errors.md

    def __init__(self, message: str, /, *, fields: dict[str, str] | None = None, **params: object):
        super().__init__(message)
        self.message, self.fields, self.params = message, fields or {}, params


class NotAuthenticated(SmeaiError):
    """No valid login session or token."""

    code = "not_authenticated"


class Forbidden(SmeaiError):
    """The caller's role does not allow this (or a CSRF check failed)."""

    code = "forbidden"


class NotFound(SmeaiError):
    """No such record, or not one the caller may see: the two look alike."""

    code = "not_found"


class Conflict(SmeaiError):
    """Wrong state, duplicate, or budget spent."""

    code = "conflict"  # wrong state, duplicate, budget spent


class Invalid(SmeaiError):
    """Well-formed but wrong input; `fields` says where and why."""

    code = "invalid"  # well-formed but wrong; `fields` says where


class Throttled(SmeaiError):
    """Too many failed attempts; try again later."""

    code = "throttled"  # too many failed attempts; try again later


HTTP_STATUS: dict[type[SmeaiError], int] = {
    NotAuthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    Throttled: 429,
    SmeaiError: 400,
}


def http_status(exc: SmeaiError) -> int:
    """The status of the nearest class along the MRO, so domain refinements need no entry."""
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 400


def all_error_classes() -> list[type[SmeaiError]]:
    """Every SmeaiError subclass imported so far (docs/errors.md must list each code)."""
    seen: list[type[SmeaiError]] = []
    stack: list[type[SmeaiError]] = [SmeaiError]
    while stack:
        cls = stack.pop()
        seen.append(cls)
        stack.extend(cls.__subclasses__())
    return seen


# pydantic error types -> plain messages (msgids, translated where shown)
VALIDATION_MESSAGES = {
    "missing": N_("This field is required."),
    "int_parsing": N_("Enter a whole number."),
    "int_type": N_("Enter a whole number."),
    "float_parsing": N_("Enter a number."),
    "float_type": N_("Enter a number."),
    "decimal_parsing": N_("Enter a number."),
    "decimal_type": N_("Enter a number."),
    "decimal_max_places": N_("Too many decimal places."),
    "finite_number": N_("Enter a number."),
    "string_type": N_("Enter text."),
    "bool_parsing": N_("Choose yes or no."),
    "list_type": N_("Enter a list."),
    "json_invalid": N_("Not valid JSON."),
    "enum": N_("Choose one of the listed values."),
    "literal_error": N_("Choose one of the listed values."),
    "string_too_short": N_("Too short."),
    "string_too_long": N_("Too long."),
    "string_pattern_mismatch": N_("Not in the expected format."),
    "greater_than_equal": N_("Too small."),
    "greater_than": N_("Too small."),
    "less_than_equal": N_("Too large."),
    "less_than": N_("Too large."),
    "extra_forbidden": N_("Unknown field."),
    "too_short": N_("Choose at least one."),  # a list below its min_length (strings have string_too_short)
    "too_long": N_("Too many items."),
    "value_error.email": N_("Not a valid email address."),
}


def fields_from_validation(errors: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """pydantic's error list as {field: reason}; a model-level 'field: reason' message names its field."""
    out: dict[str, str] = {}
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        msg = VALIDATION_MESSAGES.get(str(err.get("type")), str(err.get("msg", "invalid")))
        msg = msg.removeprefix("Value error, ")
        if not loc and ": " in msg:
            head, _, tail = msg.partition(": ")
            if head.isidentifier():
                loc, msg = [head], tail
        key = ".".join(loc) or "__all__"
        out[key] = f"{out[key]}; {msg}" if key in out else msg
    return out
