"""Trials: every rule and permission check. A trial belongs to an enterprise; only its members see it (another
organisation's trial is not found, like a missing one). The run itself (HTTP calls through the gateway) is in
runner.py; results, votes and reports beside this module read trials through `get_trial`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, false, func, select, true, update
from sqlalchemy.orm import Session

from smeai.auth import audit
from smeai.auth.actor import Actor
from smeai.auth.permissions import Permission
from smeai.db import utcnow
from smeai.errors import Conflict, Invalid, NotFound
from smeai.i18n import N_
from smeai.trials import checks, gatewaylink, presets
from smeai.trials.models import Trial, TrialAnswer, TrialCandidate, TrialJudgement, TrialRow
from smeai.trials.presets import JudgeMode
from smeai.trials.schemas import MAX_CANDIDATES, MIN_CANDIDATES, CandidateIn, RowIn, SettingsIn, TrialIn


class TrialState:
    DRAFT = "draft"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


def visible_trials(actor: Actor) -> ColumnElement[bool]:
    """One's own enterprise's trials; the system (demo, bootstrap) sees all."""
    if actor.is_system:
        return true()
    if actor.can(Permission.TRIAL_RUN) and actor.org_id is not None:
        return Trial.org_id == actor.org_id
    return false()


def list_trials(session: Session, actor: Actor) -> list[Trial]:
    return list(session.scalars(select(Trial).where(visible_trials(actor)).order_by(Trial.id.desc())))


def get_trial(session: Session, actor: Actor, trial_id: int) -> Trial:
    trial = session.scalar(select(Trial).where(Trial.id == trial_id, visible_trials(actor)))
    if trial is None:  # absent and not-yours look the same
        raise NotFound(N_("Trial not found."))
    return trial


def rows_of(session: Session, trial: Trial) -> list[TrialRow]:
    return list(session.scalars(select(TrialRow).where(TrialRow.trial_id == trial.id).order_by(TrialRow.position)))


def candidates_of(session: Session, trial: Trial) -> list[TrialCandidate]:
    stmt = select(TrialCandidate).where(TrialCandidate.trial_id == trial.id).order_by(TrialCandidate.position)
    return list(session.scalars(stmt))


def _editable(trial: Trial) -> None:
    if trial.state == TrialState.RUNNING:
        raise Conflict(N_("The trial is running; wait until it finishes."))


# --- making a trial ----------------------------------------------------------------------------------------


def create_trial(session: Session, actor: Actor, data: TrialIn, *, org_id: int | None = None) -> Trial:
    """A trial, from a template (its rows, checks, schema and judge) or empty. ORG_ID: the system's demo only."""
    actor.require(Permission.TRIAL_RUN)
    owner = org_id if actor.is_system and org_id is not None else actor.org_id
    if owner is None:
        raise Invalid(N_("Trials belong to an enterprise."), fields={"org": N_("Act for an enterprise.")})
    trial = Trial(org_id=owner, created_by_id=actor.user_id, title=data.title, state=TrialState.DRAFT)
    session.add(trial)
    if data.template_code:
        template = presets.get_template(data.template_code)
        trial.template_code = template.code
        trial.schema_json = template.schema_
        if template.judge is not None:
            trial.judge_mode = template.judge.mode
            trial.rubric = template.judge.rubric.zh
        session.flush()
        rows = [
            RowIn(input=r.input, reference=r.reference, checks=list(r.checks or template.default_checks))
            for r in template.rows
        ]
        _replace_rows(session, trial, rows)
    session.flush()
    audit.record(session, actor, "trial.create", trial, after={"title": trial.title}, org_id=owner)
    return trial


def _replace_rows(session: Session, trial: Trial, rows: list[RowIn]) -> None:
    session.execute(delete(TrialRow).where(TrialRow.trial_id == trial.id))
    for i, row in enumerate(rows, start=1):
        session.add(
            TrialRow(trial_id=trial.id, position=i, input=row.input, reference=row.reference, checks=row.checks)
        )
    session.flush()


def set_rows(session: Session, actor: Actor, trial: Trial, rows: list[RowIn]) -> None:
    """Replace the test set (rows already validated whole: see testset.py). Earlier answers stay with their run."""
    actor.require(Permission.TRIAL_RUN)
    _editable(trial)
    for n, row in enumerate(rows, start=1):  # checks typed through the API are validated like a file's
        try:
            row.checks = [checks.validate_check(c) for c in row.checks]
        except ValueError as exc:
            raise Invalid(
                N_("Some rows of the test set are wrong; nothing was changed."), fields={f"row {n}": f"checks: {exc}"}
            ) from None
    session.execute(delete(TrialAnswer).where(TrialAnswer.trial_id == trial.id))
    session.execute(delete(TrialJudgement).where(TrialJudgement.trial_id == trial.id))
    _replace_rows(session, trial, rows)
    trial.state = TrialState.DRAFT


def add_candidate(session: Session, actor: Actor, trial: Trial, data: CandidateIn) -> TrialCandidate:
    actor.require(Permission.TRIAL_RUN)
    _editable(trial)
    existing = candidates_of(session, trial)
    if len(existing) >= MAX_CANDIDATES:
        raise Invalid(N_("A trial compares at most six candidates."), fields={"model": N_("Remove one first.")})
    if data.model not in gatewaylink.model_aliases(session):
        raise Invalid(
            N_("The gateway offers no such model."), fields={"model": N_("Choose a model the gateway offers.")}
        )
    position = max((c.position for c in existing), default=0) + 1
    candidate = TrialCandidate(trial_id=trial.id, position=position, **data.model_dump())
    session.add(candidate)
    session.flush()
    return candidate


def remove_candidate(session: Session, actor: Actor, trial: Trial, candidate_id: int) -> None:
    actor.require(Permission.TRIAL_RUN)
    _editable(trial)
    candidate = session.scalar(
        select(TrialCandidate).where(TrialCandidate.id == candidate_id, TrialCandidate.trial_id == trial.id)
    )
    if candidate is None:
        raise NotFound(N_("Candidate not found."))
    session.delete(candidate)
    session.flush()


def update_settings(session: Session, actor: Actor, trial: Trial, data: SettingsIn) -> None:
    actor.require(Permission.TRIAL_RUN)
    _editable(trial)
    if data.judge_mode != JudgeMode.NONE:
        if not data.judge_model:
            raise Invalid(N_("Choose the judge model."), fields={"judge_model": N_("Required for a judge.")})
        if data.judge_model not in gatewaylink.model_aliases(session):
            raise Invalid(
                N_("The gateway offers no such model."),
                fields={"judge_model": N_("Choose a model the gateway offers.")},
            )
        if not data.rubric.strip():
            raise Invalid(N_("The judge needs a rubric."), fields={"rubric": N_("Say what a good answer is.")})
    trial.judge_mode = data.judge_mode
    trial.judge_model = data.judge_model if data.judge_mode != JudgeMode.NONE else None
    trial.rubric = data.rubric
    trial.monthly_calls = data.monthly_calls
    session.flush()


# --- the cost before running ------------------------------------------------------------------------------


def messages_for(candidate: TrialCandidate, row: TrialRow) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": candidate.system_prompt}] if candidate.system_prompt else []
    return [*messages, {"role": "user", "content": row.input}]


@dataclass(frozen=True)
class Estimate:
    calls: int
    answer_mf: int  # the candidates' calls
    judge_mf: int  # the judge's calls (an upper bound too)
    available_mf: int  # what the wallet can cover now (own + voucher, less what is held)

    @property
    def total_mf(self) -> int:
        return self.answer_mf + self.judge_mf

    @property
    def covered(self) -> bool:
        return self.available_mf >= self.total_mf


JUDGE_MAX_TOKENS = 256


def judge_messages(trial: Trial, row: TrialRow, first: str, second: str | None) -> list[dict[str, str]]:
    """The judge's prompt (MT-Bench's single-answer and pairwise formats, in Chinese)."""
    if second is None:
        system = (
            "你是严格、公正的评审。请根据评分细则评价助手的回答，"
            "先给出简短理由，最后一行写“评分：N”（N 为 1 到 5 的整数）。\n"
            f"评分细则：{trial.rubric}"
        )
        user = (
            f"【问题】\n{row.input}\n\n"
            + (f"【参考答案】\n{row.reference}\n\n" if row.reference else "")
            + f"【回答】\n{first}"
        )
    else:
        system = (
            "你是严格、公正的评审。比较两个助手对同一问题的回答，不要因回答的先后顺序、长短或助手名称而偏向任何一方。"
            "先给出简短理由，最后一行只写 [[A]]（A 更好）、[[B]]（B 更好）或 [[C]]（平局）。\n"
            f"评价标准：{trial.rubric}"
        )
        user = (
            f"【问题】\n{row.input}\n\n"
            + (f"【参考答案】\n{row.reference}\n\n" if row.reference else "")
            + f"【助手 A 的回答】\n{first}\n\n【助手 B 的回答】\n{second}"
        )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def estimate(session: Session, actor: Actor, trial: Trial) -> Estimate:
    """An upper bound of the run's cost, computed as the gateway bounds each hold: input by its UTF-8 bytes,
    output by max_tokens, at the model's price now. Judge calls are bounded by the longest answers possible."""
    rows, candidates = rows_of(session, trial), candidates_of(session, trial)
    answer_mf = sum(
        gatewaylink.hold_bound_mf(session, c.model, messages_for(c, r), c.max_tokens) for r in rows for c in candidates
    )
    judge_mf = 0
    if trial.judge_mode != JudgeMode.NONE and trial.judge_model and candidates:
        longest = max(c.max_tokens for c in candidates)
        filler = "字" * (longest * 4)  # an answer of max_tokens tokens is at most 4 bytes per token in UTF-8
        for r in rows:
            if trial.judge_mode == JudgeMode.RUBRIC:
                one = gatewaylink.hold_bound_mf(
                    session, trial.judge_model, judge_messages(trial, r, filler, None), JUDGE_MAX_TOKENS
                )
                judge_mf += one * len(candidates)
            else:
                pairs = len(candidates) * (len(candidates) - 1) // 2
                one = gatewaylink.hold_bound_mf(
                    session, trial.judge_model, judge_messages(trial, r, filler, filler), JUDGE_MAX_TOKENS
                )
                judge_mf += one * pairs * 2
    return Estimate(len(rows) * len(candidates), answer_mf, judge_mf, gatewaylink.available_mf(session, trial.org_id))


# --- running ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunPlan:
    trial_id: int
    run_no: int
    api_key: str  # shown once by the gateway; kept in memory for the run only, never stored


def start_run(session: Session, actor: Actor, trial: Trial) -> RunPlan:
    """Check the trial can run and the wallet covers its bound, make the trial's own gateway key, mark it
    running. The gateway then holds and settles each call like any other; the runner sends them."""
    actor.require(Permission.TRIAL_RUN)
    rows, candidates = rows_of(session, trial), candidates_of(session, trial)
    problems = {}
    if not rows:
        problems["rows"] = N_("Add at least one input.")
    if len(candidates) < MIN_CANDIDATES:
        problems["model"] = N_("Add at least two candidates.")
    if problems:
        raise Invalid(N_("The trial is not ready to run."), fields=problems)
    bound = estimate(session, actor, trial)
    if not bound.covered:
        raise Conflict(N_("The wallet does not cover this trial's cost; top it up or shorten the test set."))
    # one conditional UPDATE: two clicks (or two workers) cannot start the same trial twice
    started = session.execute(
        update(Trial)
        .where(Trial.id == trial.id, Trial.state != TrialState.RUNNING)
        .values(
            state=TrialState.RUNNING,
            run_no=Trial.run_no + 1,
            calls_done=0,
            calls_total=bound.calls,
            estimate_milli_fen=bound.total_mf,
            started_at=utcnow(),
            finished_at=None,
            error="",
        )
        .execution_options(synchronize_session=False)
    )
    if started.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(N_("The trial is running; wait until it finishes."))
    session.refresh(trial)
    max_tokens = max([c.max_tokens for c in candidates] + [JUDGE_MAX_TOKENS])
    key_id, secret = gatewaylink.issue_key(
        session, actor, trial.org_id, f"试用选型：{trial.title[:60]}（第 {trial.run_no} 轮）", max_tokens
    )
    trial.gateway_key_id = key_id
    audit.record(
        session, actor, "trial.run", trial, after={"run": trial.run_no, "bound_mf": bound.total_mf}, org_id=trial.org_id
    )
    session.flush()
    return RunPlan(trial.id, trial.run_no, secret)


def load_for_run(session: Session, trial_id: int) -> tuple[Trial, list[TrialRow], list[TrialCandidate]]:
    trial = session.get(Trial, trial_id)
    if trial is None:
        raise NotFound(N_("Trial not found."))
    return trial, rows_of(session, trial), candidates_of(session, trial)


def check_answer(trial: Trial, row: TrialRow, text: str) -> tuple[list[dict[str, object]], bool | None]:
    """The row's checks on one answer: results as data, and whether all passed (None: no checks)."""
    results = [
        checks.run_check(spec, text, reference=row.reference or None, schema=trial.schema_json).as_dict()
        for spec in row.checks
    ]
    return results, (all(r["passed"] for r in results) if results else None)


def record_answer(
    session: Session, trial: Trial, row: TrialRow, candidate: TrialCandidate, run_no: int, **measured: object
) -> TrialAnswer:
    text = str(measured.get("text") or "")
    results, passed = (
        check_answer(trial, row, text) if measured.get("status") == "ok" else ([], False if row.checks else None)
    )
    answer = TrialAnswer(
        trial_id=trial.id,
        row_id=row.id,
        candidate_id=candidate.id,
        run_no=run_no,
        checks=results,
        passed=passed,
        **measured,
    )
    session.add(answer)
    session.execute(update(Trial).where(Trial.id == trial.id).values(calls_done=Trial.calls_done + 1))
    session.flush()
    return answer


def record_judge_score(session: Session, answer_id: int, score: float | None) -> None:
    session.execute(update(TrialAnswer).where(TrialAnswer.id == answer_id).values(judge_score=score))


def finish_run(session: Session, trial_id: int, *, error: str = "") -> None:
    session.execute(
        update(Trial)
        .where(Trial.id == trial_id)
        .values(state=TrialState.FAILED if error else TrialState.DONE, finished_at=utcnow(), error=error[:2000])
    )
    gatewaylink_revoke(session, trial_id)


def gatewaylink_revoke(session: Session, trial_id: int) -> None:
    """The trial's key is for its run only: revoked when the run ends."""
    trial = session.get(Trial, trial_id)
    if trial is not None and trial.gateway_key_id is not None:
        gatewaylink.revoke_key(session, trial.gateway_key_id)


def answers_of(session: Session, trial: Trial, run_no: int | None = None) -> list[TrialAnswer]:
    run = trial.run_no if run_no is None else run_no
    stmt = (
        select(TrialAnswer).where(TrialAnswer.trial_id == trial.id, TrialAnswer.run_no == run).order_by(TrialAnswer.id)
    )
    return list(session.scalars(stmt))


def runs_of(session: Session, trial: Trial) -> list[int]:
    stmt = select(TrialAnswer.run_no).where(TrialAnswer.trial_id == trial.id).group_by(TrialAnswer.run_no)
    return sorted(session.scalars(stmt))


def answer_count(session: Session, trial: Trial) -> int:
    stmt = select(func.count()).select_from(TrialAnswer).where(TrialAnswer.trial_id == trial.id)
    return int(session.scalar(stmt) or 0)


def check_signature(session: Session, trial: Trial, run_no: int) -> list[tuple[int, int, str]]:
    """(row position, candidate position, check results as JSON) of a run: two runs of temperature-0
    candidates give the same signature."""
    rows = {r.id: r.position for r in rows_of(session, trial)}
    cands = {c.id: c.position for c in candidates_of(session, trial)}
    return sorted(
        (rows[a.row_id], cands[a.candidate_id], json.dumps(a.checks, sort_keys=True, ensure_ascii=False))
        for a in answers_of(session, trial, run_no)
    )


def started_since(trial: Trial, now: datetime | None = None) -> float:
    if trial.started_at is None:
        return 0.0
    return ((now or utcnow()) - trial.started_at).total_seconds()
