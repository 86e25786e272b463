"""Form input to a pydantic model: empty strings mean missing, errors become field messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from smeai.errors import Invalid, fields_from_validation
from smeai.i18n import N_

M = TypeVar("M", bound=BaseModel)


def parse_form(model: type[M], form: Mapping[str, object]) -> M:
    data = {k: (v if not (isinstance(v, str) and v.strip() == "") else None) for k, v in form.items()}
    data = {k: v for k, v in data.items() if v is not None and k != "csrf_token"}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(
            N_("Please correct the marked fields."), fields=fields_from_validation([dict(e) for e in exc.errors()])
        ) from None
