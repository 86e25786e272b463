"""Subsidy tables: pools and counters (guarded totals), applications, claim locks, the ledger, documents,
idempotency keys. No rules here; see service.py and ledger.py.

The database itself refuses an overspend: CHECK constraints hold every guarded total within its cap, so a
bug in a code path fails loudly instead of paying out money the pool does not have.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column

from smeai.db import Base, UTCDateTime, utcnow


class Pool(Base):
    """A programme's budget pool. reserved + paid never exceed budget (NULL budget: none stated).

    A row exists only once the pool is open: a programme's single pool when its file is first used, an annual
    pool's year (`code@2026`) when an operator sets that year's budget (opened_at, opened_by_id). No claim
    ever creates one.
    """

    __tablename__ = "subsidy_pools"
    __table_args__ = (
        CheckConstraint("reserved_fen >= 0", name="reserved_not_negative"),
        CheckConstraint("paid_fen >= 0", name="paid_not_negative"),
        CheckConstraint("budget_fen IS NULL OR reserved_fen + paid_fen <= budget_fen", name="within_budget"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_code: Mapped[str] = mapped_column(String(60), unique=True)
    budget_fen: Mapped[int | None] = mapped_column(BigInteger)
    reserved_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # NULL: never opened (an old version's row)
    opened_by_id: Mapped[int | None] = mapped_column(Integer)  # the operator; NULL for the system or the file
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Counter(Base):
    """A guarded running total: per enterprise per year, per contract. committed = reserved + paid."""

    __tablename__ = "subsidy_counters"
    __table_args__ = (
        CheckConstraint("committed_fen >= 0", name="committed_not_negative"),
        CheckConstraint("cap_fen IS NULL OR committed_fen <= cap_fen", name="within_cap"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    committed_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    cap_fen: Mapped[int | None] = mapped_column(BigInteger)


class Application(Base):
    """An enterprise's claim under one programme for one purchase (申领 then 兑付)."""

    __tablename__ = "subsidy_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_code: Mapped[str] = mapped_column(String(60), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(20), index=True)  # ApplicationState
    # the purchase
    offering_id: Mapped[int | None] = mapped_column(Integer)  # resource pool offering, when there is one
    description: Mapped[str] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(String(20))
    supplier_name: Mapped[str] = mapped_column(String(200))
    supplier_affiliated: Mapped[bool] = mapped_column(Boolean, default=False)
    contract_no: Mapped[str | None] = mapped_column(String(100))
    contract_ref: Mapped[str] = mapped_column(String(300), index=True)  # normalised supplier + contract no.
    contract_fen: Mapped[int] = mapped_column(BigInteger)
    signed_on: Mapped[date | None] = mapped_column(Date)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    paid_on: Mapped[date | None] = mapped_column(Date)
    service_year: Mapped[int] = mapped_column(Integer, default=1)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    applied_on: Mapped[date | None] = mapped_column(Date)  # the server's date at submission (NULL: before 0010)
    budget_year: Mapped[int] = mapped_column(Integer)  # by the programme's cap_year_basis, from applied_on
    # the decision
    requested_fen: Mapped[int] = mapped_column(BigInteger)  # computed at application
    # the programme file's version (programmes.version_of) the amount and rules were decided under; NULL: before 0015
    programme_version: Mapped[str | None] = mapped_column(String(12))
    explanation: Mapped[list[dict]] = mapped_column(JSON, default=list)  # the rules that decided
    approved_fen: Mapped[int | None] = mapped_column(BigInteger)
    paid_fen: Mapped[int | None] = mapped_column(BigInteger)
    decision_note: Mapped[str | None] = mapped_column(Text)
    redeem_by_on: Mapped[date | None] = mapped_column(Date)
    # a 模型券 that funds a model-gateway wallet since then: it is redeemed by metered use (gateway/flows.py)
    # and never through the invoice path (submit, return, verify), so the same voucher cannot pay twice
    metered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ApplicationEvent(Base):
    """What happened to an application, by whom, and why (the timeline both sides see)."""

    __tablename__ = "subsidy_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("subsidy_applications.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClaimLock(Base):
    """Exclusivity as a unique key: one claim per contract, one side per contract, no stacking.

    Held while an application is live; deleted when it is rejected, withdrawn or expires.
    """

    __tablename__ = "subsidy_claim_locks"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(400), unique=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("subsidy_applications.id"), index=True)


class LedgerEntry(Base):
    """Append-only: a reservation, a release or a payout. Balances are sums over these rows."""

    __tablename__ = "subsidy_ledger_entries"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), index=True)  # reserve / release / payout
    programme_code: Mapped[str] = mapped_column(String(60), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("subsidy_applications.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    budget_year: Mapped[int] = mapped_column(Integer)
    contract_ref: Mapped[str] = mapped_column(String(300))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


@event.listens_for(LedgerEntry, "before_update")
@event.listens_for(LedgerEntry, "before_delete")
def _append_only(_mapper: object, _conn: object, _target: object) -> None:
    raise RuntimeError("the subsidy ledger is append-only")


class Document(Base):
    """An uploaded file (contract, invoice, payment, delivery), stored under var_dir, never executable."""

    __tablename__ = "subsidy_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("subsidy_applications.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # DocKind
    filename: Mapped[str] = mapped_column(String(200))  # sanitised original name, for display
    stored_name: Mapped[str] = mapped_column(String(200))  # relative to var_dir
    content_type: Mapped[str] = mapped_column(String(60))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyKey(Base):
    """A mutating call's key and its answer: a retried request gets the first answer, not a second effect."""

    __tablename__ = "subsidy_idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)  # 0 for the system actor
    key: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AcceptanceRecord(Base):
    """验收 of a finished project under a post-completion programme (改造后补贴): the before/after
    measurements, the reviewers and their conclusion, the site visit. One per application; the award is
    reserved only when it passed."""

    __tablename__ = "subsidy_acceptances"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("subsidy_applications.id"), unique=True)
    passed: Mapped[bool] = mapped_column(Boolean)
    conclusion: Mapped[str] = mapped_column(Text)
    reviewers: Mapped[list[str]] = mapped_column(JSON, default=list)  # the panel's names, as signed
    measurements: Mapped[list[dict]] = mapped_column(JSON, default=list)  # {name, unit, before, after}
    site_visit_on: Mapped[date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
