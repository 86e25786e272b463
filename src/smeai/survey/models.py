"""Survey waves, their imports (with the error file), uploads being imported, and the responses: one row per
firm."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
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


class SurveyUpload(Base):
    """A file uploaded through the page, imported in the background (survey/uploads.py): its state, its
    progress and its outcome. The file waits in the store (`file_key`) until the import has finished; the
    wave and its rows appear only when the import committed whole (then `import_id` names it).

    A runner claims the upload with one conditional UPDATE (queued, or running with a lapsed claim), so of
    several workers and the `survey-imports` job exactly one runs it; a runner that dies leaves a claim that
    lapses at `claimed_until`, and the job takes the upload up again (or fails it after MAX_ATTEMPTS)."""

    __tablename__ = "survey_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    wave_code: Mapped[str] = mapped_column(String(40))
    wave_name: Mapped[str | None] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    file_key: Mapped[str] = mapped_column(String(500))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(12), index=True)  # queued validating importing done failed
    rows_done: Mapped[int] = mapped_column(Integer, default=0)  # valid rows written so far
    rows_total: Mapped[int | None] = mapped_column(Integer)  # rows of the file, known once validated
    import_id: Mapped[int | None] = mapped_column(ForeignKey("survey_imports.id", ondelete="SET NULL"))
    already_imported: Mapped[bool] = mapped_column(Boolean, default=False)
    unmapped: Mapped[list] = mapped_column(JSON, default=list)
    reasons: Mapped[list] = mapped_column(JSON, default=list)  # the first reasons, as Reason.as_dict()
    n_reasons: Mapped[int] = mapped_column(Integer, default=0)
    error_message: Mapped[str] = mapped_column(String(500), default="")  # an English msgid; shown translated
    error_fields: Mapped[dict] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
