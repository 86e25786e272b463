"""The case library (最佳实践案例库): cases collected (征集), reviewed (遴选) and published."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from smeai.auth.models import Organisation
from smeai.catalog.models import Offering
from smeai.db import Base, UTCDateTime, utcnow

case_offerings = Table(
    "case_offerings",
    Base.metadata,
    Column("case_id", ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    Column("offering_id", ForeignKey("offerings.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    enterprise_name: Mapped[str | None] = mapped_column(String(200))  # may be anonymised ("河北某紧固件企业")
    province_code: Mapped[str] = mapped_column(String(2), index=True)
    city: Mapped[str | None] = mapped_column(String(60))
    industry: Mapped[str] = mapped_column(String(4), index=True)  # section letter or C + division
    scenarios: Mapped[list[str]] = mapped_column(JSON, default=list)
    problem: Mapped[str] = mapped_column(Text)
    solution: Mapped[str] = mapped_column(Text)  # what was done
    effect: Mapped[str] = mapped_column(Text)  # measurable effect
    providers: Mapped[list[str]] = mapped_column(JSON, default=list)  # providers involved, by name
    media: Mapped[list[str]] = mapped_column(JSON, default=list)  # links to pictures, videos, reports
    source: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), index=True)  # CaseStatus
    is_benchmark: Mapped[bool] = mapped_column(Boolean, default=False)  # 标杆案例
    submitted_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    submitted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    review_comment: Mapped[str | None] = mapped_column(Text)
    reviewed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    offerings: Mapped[list[Offering]] = relationship(secondary=case_offerings, order_by=Offering.id)
    submitted_by_org: Mapped[Organisation | None] = relationship()
