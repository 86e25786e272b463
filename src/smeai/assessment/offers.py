"""Offerings, cases and subsidy programmes that match a diagnosis, where those domains exist."""

from __future__ import annotations

from sqlalchemy.orm import Session

from smeai.assessment.schemas import RecommendationOut, ScoreOut
from smeai.auth.models import Organisation


def matching_offers(session: Session, org: Organisation | None, result: ScoreOut) -> list[RecommendationOut]:
    return []
