"""Survey waves, their imports (with the error file) and the responses: one row per firm."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from smeai.db import Base, UTCDateTime, utcnow


class SurveyWave(Base):
    """A named round of the questionnaire (e.g. 2025, 2026); waves coexist and can be compared."""

    __tablename__ = "survey_waves"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class SurveyImport(Base):
    """One file loaded into a wave; the same file (by SHA-256) is loaded once per wave."""

    __tablename__ = "survey_imports"
    __table_args__ = (UniqueConstraint("wave_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("survey_waves.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    layout: Mapped[str] = mapped_column(String(20))  # canonical / wjx_coded / wjx_text
    sha256: Mapped[str] = mapped_column(String(64))
    n_rows: Mapped[int] = mapped_column(Integer)
    n_inserted: Mapped[int] = mapped_column(Integer)
    n_existing: Mapped[int] = mapped_column(Integer)  # valid rows whose response_id the wave already had
    n_rejected: Mapped[int] = mapped_column(Integer)
    errors_csv: Mapped[str] = mapped_column(Text)  # every reason of every rejected row
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class SurveyResponse(Base):
    """A valid row of the canonical file (codebook.md), typed; scenarios and barriers in `answers`."""

    __tablename__ = "survey_responses"
    __table_args__ = (UniqueConstraint("wave_id", "response_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("survey_waves.id", ondelete="CASCADE"), index=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("survey_imports.id", ondelete="CASCADE"), index=True)
    row_no: Mapped[int] = mapped_column(Integer)
    response_id: Mapped[str] = mapped_column(String(100))
    submitted_at: Mapped[str] = mapped_column(String(40))  # as answered (local time); its year is below
    survey_year: Mapped[int] = mapped_column(SmallInteger)
    province_code: Mapped[str] = mapped_column(String(2))
    city: Mapped[str | None] = mapped_column(String(60))
    pilot_batch: Mapped[int] = mapped_column(SmallInteger)
    industry_section: Mapped[str] = mapped_column(String(1))
    mfg_division: Mapped[int | None] = mapped_column(SmallInteger)
    founded_year: Mapped[int] = mapped_column(SmallInteger)
    employees: Mapped[int | None] = mapped_column(Integer)
    revenue_wan: Mapped[float] = mapped_column(Float)
    ai_status: Mapped[int] = mapped_column(SmallInteger)
    ai_investment_wan: Mapped[float | None] = mapped_column(Float)
    ai_stage: Mapped[int | None] = mapped_column(SmallInteger)
    link_rnd: Mapped[int | None] = mapped_column(SmallInteger)
    link_production: Mapped[int | None] = mapped_column(SmallInteger)
    link_supply_chain: Mapped[int | None] = mapped_column(SmallInteger)
    link_sales: Mapped[int | None] = mapped_column(SmallInteger)
    link_service: Mapped[int | None] = mapped_column(SmallInteger)
    link_management: Mapped[int | None] = mapped_column(SmallInteger)
    model_type: Mapped[int | None] = mapped_column(SmallInteger)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)  # scn_* and barrier_* that were answered
