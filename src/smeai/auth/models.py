"""Accounts: organisations, users, login sessions and API tokens, login attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from smeai.db import Base, UTCDateTime, utcnow


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # OrgKind
    # The profile an enterprise fills in once; other modules reuse it.
    industry_section: Mapped[str | None] = mapped_column(String(1))
    mfg_division: Mapped[str | None] = mapped_column(String(2))
    province_code: Mapped[str | None] = mapped_column(String(2))
    city: Mapped[str | None] = mapped_column(String(60))
    size_class: Mapped[str | None] = mapped_column(String(10))  # micro / small / medium / large
    revenue_band: Mapped[str | None] = mapped_column(String(10))  # 亿元 bands of the survey codebook
    employees: Mapped[int | None] = mapped_column(Integer)
    founded_year: Mapped[int | None] = mapped_column(Integer)
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    description: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Self-registered organisations wait for the centre (pending -> verified, or returned with a reason,
    # then pending again after a new licence); those an administrator created are verified.
    verification: Mapped[str] = mapped_column(String(10), default="verified", server_default="verified", index=True)
    verification_note: Mapped[str | None] = mapped_column(Text)  # the operator's reason for returning it
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    licence_file: Mapped[str | None] = mapped_column(String(200))  # 营业执照, under var/licences/
    licence_uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    users: Mapped[list[User]] = relationship(back_populates="organisation")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))  # Role
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    phone: Mapped[str | None] = mapped_column(String(30))
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: may not log in yet
    org_role: Mapped[str] = mapped_column(String(10), default="member", server_default="member")  # OrgRole
    # pending: registered with an existing credit code, waiting for the organisation's admin
    membership: Mapped[str] = mapped_column(String(10), default="active", server_default="active")
    privacy_version: Mapped[str | None] = mapped_column(String(20))  # the privacy notice consented to
    privacy_consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mail_optout: Mapped[list[str] | None] = mapped_column(JSON)  # notification categories turned off
    registered_from: Mapped[str | None] = mapped_column(String(64), index=True)  # client address (throttling)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # personal data erased

    organisation: Mapped[Organisation] = relationship(back_populates="users")


class AccessToken(Base):
    """A login session (cookie) or an API token; only the SHA-256 of the secret is stored."""

    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # session / api
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(100))
    # API tokens: "full" acts with the user's rights, "read" only reads (GET); sessions are "full".
    scope: Mapped[str] = mapped_column(String(10), default="full", server_default="full")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginAttempt(Base):
    """Failed logins, counted per account and per address to throttle guessing; `device` is set when the
    browser held a valid device cookie for the account (it then has a count of its own)."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    device: Mapped[str | None] = mapped_column(String(32))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Invitation(Base):
    """An organisation admin's emailed invitation; only the SHA-256 of its secret is stored."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    email: Mapped[str] = mapped_column(String(200))
    org_role: Mapped[str] = mapped_column(String(10))
    invited_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
