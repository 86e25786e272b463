"""Trial tables: a trial, its test rows and candidates, the answers a run collected, judge verdicts, blind
votes, frozen reports and where a report is attached. No rules here; see service.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from smeai.db import Base, UTCDateTime, utcnow


class Trial(Base):
    """An enterprise's trial: a test set run on 2-6 candidates through the gateway."""

    __tablename__ = "trials"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    template_code: Mapped[str | None] = mapped_column(String(60))
    # the JSON schema JSON checks validate against (contract and document templates), when there is one
    schema_json: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    judge_mode: Mapped[str] = mapped_column(String(12), default="none")  # JudgeMode
    judge_model: Mapped[str | None] = mapped_column(String(120))  # a gateway model alias
    rubric: Mapped[str] = mapped_column(Text, default="")
    monthly_calls: Mapped[int] = mapped_column(Integer, default=0)  # the owner's expected volume
    state: Mapped[str] = mapped_column(String(12), default="draft", index=True)  # TrialState
    run_no: Mapped[int] = mapped_column(Integer, default=0)  # the latest run; answers keep theirs
    calls_done: Mapped[int] = mapped_column(Integer, default=0)  # progress of the current run
    calls_total: Mapped[int] = mapped_column(Integer, default=0)
    estimate_milli_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # upper bound shown before the run
    gateway_key_id: Mapped[int | None] = mapped_column(Integer)  # the key the trial made for itself
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TrialRow(Base):
    """One test input, with its reference answer and checks."""

    __tablename__ = "trial_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    input: Mapped[str] = mapped_column(Text)
    reference: Mapped[str] = mapped_column(Text, default="")
    checks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class TrialCandidate(Base):
    """A model as the trial calls it: the gateway alias, the system prompt and the sampling settings."""

    __tablename__ = "trial_candidates"

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(120))
    system_prompt: Mapped[str] = mapped_column(Text, default="")
    temperature: Mapped[float] = mapped_column(Float, default=0.0)
    max_tokens: Mapped[int] = mapped_column(Integer, default=512)


class TrialAnswer(Base):
    """What one candidate answered to one row in one run, measured fresh: latency, time to first token,
    tokens and cost as the gateway metered them, and the checks' results."""

    __tablename__ = "trial_answers"
    __table_args__ = (UniqueConstraint("row_id", "candidate_id", "run_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), index=True)
    row_id: Mapped[int] = mapped_column(ForeignKey("trial_rows.id", ondelete="CASCADE"))
    candidate_id: Mapped[int] = mapped_column(ForeignKey("trial_candidates.id", ondelete="CASCADE"))
    run_no: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))  # "ok" | "error"
    text: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    estimated: Mapped[bool] = mapped_column(Boolean, default=False)  # tokens counted, not reported upstream
    cost_milli_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    ttft_ms: Mapped[int | None] = mapped_column(Integer)
    cache_n: Mapped[int | None] = mapped_column(Integer)  # llama.cpp's timings.cache_n when reported
    usage_id: Mapped[str | None] = mapped_column(String(80))  # the gateway's record or response id
    checks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    passed: Mapped[bool | None] = mapped_column(Boolean)  # None: the row has no checks
    judge_score: Mapped[float | None] = mapped_column(Float)  # rubric judge, 0..1
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrialJudgement(Base):
    """A pairwise judge verdict on one row, both orders kept: `first` with X shown as A, `second` swapped."""

    __tablename__ = "trial_judgements"

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), index=True)
    run_no: Mapped[int] = mapped_column(Integer)
    row_id: Mapped[int] = mapped_column(ForeignKey("trial_rows.id", ondelete="CASCADE"))
    x_id: Mapped[int] = mapped_column(ForeignKey("trial_candidates.id", ondelete="CASCADE"))
    y_id: Mapped[int] = mapped_column(ForeignKey("trial_candidates.id", ondelete="CASCADE"))
    first: Mapped[str | None] = mapped_column(String(4))
    second: Mapped[str | None] = mapped_column(String(4))
    outcome: Mapped[str] = mapped_column(String(4))  # "a": X wins, "b": Y wins, "tie"


class TrialVote(Base):
    """A blind comparison shown to one person: two answers in random order; `choice` once they voted."""

    __tablename__ = "trial_votes"

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), index=True)
    voter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    left_id: Mapped[int] = mapped_column(ForeignKey("trial_answers.id", ondelete="CASCADE"))
    right_id: Mapped[int] = mapped_column(ForeignKey("trial_answers.id", ondelete="CASCADE"))
    choice: Mapped[str | None] = mapped_column(String(8))  # "left" | "right" | "tie"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    voted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TrialReport(Base):
    """A frozen report: the results as they were, behind an expiring link anyone holding it may open."""

    __tablename__ = "trial_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TrialAttachment(Base):
    """A report attached to a need, an engagement or a voucher application (kept here, on the trial's side:
    the other domains' tables are theirs)."""

    __tablename__ = "trial_attachments"
    __table_args__ = (UniqueConstraint("report_id", "kind", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("trial_reports.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # "need" | "engagement" | "application"
    target_id: Mapped[int] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
