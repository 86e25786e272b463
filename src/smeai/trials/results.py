"""A run's results as plain data (the page, the frozen report and the PDF read the same dict): the matrix of
answers, and per candidate pass rate, judge and human win rates with Wilson intervals (a tie counts half;
ties are also shown on their own), p50/p95 latency and time to first token, tokens, cost per row, the monthly
cost at the owner's volume and after the 模型券 it qualifies for."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smeai.subsidy import calculator
from smeai.subsidy.programmes import PurchaseKind, VoucherType
from smeai.subsidy.schemas import PurchaseIn
from smeai.trials import checks, presets, service
from smeai.trials.models import Trial, TrialAnswer, TrialCandidate, TrialJudgement, TrialVote
from smeai.trials.presets import JudgeMode

DAYS_PER_MONTH = 30


def _rate(w: checks.WinRate) -> dict[str, float | int]:
    return {"wins": w.wins, "losses": w.losses, "ties": w.ties, "n": w.n, "rate": w.rate, "low": w.low, "high": w.high}


def _tally(pairs: list[tuple[int, int, str]]) -> dict[int, checks.WinRate]:
    """Per candidate from (x, y, outcome a/b/tie) comparisons."""
    wins: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for x, y, outcome in pairs:
        if outcome == "a":
            wins[x][0] += 1
            wins[y][1] += 1
        elif outcome == "b":
            wins[y][0] += 1
            wins[x][1] += 1
        else:
            wins[x][2] += 1
            wins[y][2] += 1
    return {cid: checks.win_rate(*counts) for cid, counts in wins.items()}


def human_pairs(session: Session, trial: Trial, run_no: int) -> list[tuple[int, int, str]]:
    """Voted blind comparisons of this run as (left candidate, right candidate, outcome)."""
    answers = {a.id: a.candidate_id for a in service.answers_of(session, trial, run_no)}
    out = []
    for v in session.scalars(select(TrialVote).where(TrialVote.trial_id == trial.id, TrialVote.choice.is_not(None))):
        if v.left_id in answers and v.right_id in answers:
            outcome = {"left": "a", "right": "b"}.get(v.choice or "", "tie")
            out.append((answers[v.left_id], answers[v.right_id], outcome))
    return out


def model_voucher(session: Session, org_id: int, monthly_fen: int) -> dict[str, Any] | None:
    """The best 模型券 the enterprise qualifies for on a year of this spending (the subsidy calculator on its
    profile), as {programme, rate, monthly_subsidy_fen}; None when none applies or there is no volume."""
    if monthly_fen <= 0:
        return None
    from smeai.auth.models import Organisation

    org = session.get(Organisation, org_id)
    if org is None:
        return None
    purchase = PurchaseIn(
        kind=PurchaseKind.MODEL, description="模型 API 调用（试用选型）", contract_fen=monthly_fen * 12
    )
    quote = calculator.calculate(session, org, purchase)
    models = {p.code for p in calculator.all_programmes().values() if p.voucher == VoucherType.MODEL}
    best = next((q for q in quote.programmes if q.eligible and q.code in models and q.amount_fen > 0), None)
    if best is None:
        return None
    return {"programme": best.name, "rate": best.rate, "monthly_subsidy_fen": best.amount_fen // 12}


def compute(session: Session, trial: Trial, *, run_no: int | None = None) -> dict[str, Any]:
    run = trial.run_no if run_no is None else run_no
    rows = service.rows_of(session, trial)
    candidates = service.candidates_of(session, trial)
    answers = service.answers_of(session, trial, run)
    by_cell = {(a.row_id, a.candidate_id): a for a in answers}
    judge_family = checks.model_family(trial.judge_model) if trial.judge_model else None
    judge_pairs = [
        (j.x_id, j.y_id, j.outcome)
        for j in session.scalars(
            select(TrialJudgement).where(TrialJudgement.trial_id == trial.id, TrialJudgement.run_no == run)
        )
    ]
    judge_rates = _tally(judge_pairs)
    human_rates = _tally(human_pairs(session, trial, run))
    labels = candidate_labels(candidates)
    cands_out: list[dict[str, Any]] = []
    for c in candidates:
        mine = [a for a in answers if a.candidate_id == c.id]
        ok = [a for a in mine if a.status == "ok"]
        checked = [a for a in mine if a.passed is not None]
        cost_mf = sum(a.cost_milli_fen for a in mine)
        per_row_mf = cost_mf / len(mine) if mine else 0.0
        monthly_fen = int(per_row_mf * trial.monthly_calls / 1000) if trial.monthly_calls else 0
        scores = [a.judge_score for a in mine if a.judge_score is not None]
        cands_out.append(
            {
                "id": c.id,
                "label": labels[c.id],
                "model": c.model,
                "family": checks.model_family(c.model),
                "judge_same_family": bool(trial.judge_model and checks.same_family(trial.judge_model, c.model)),
                "temperature": c.temperature,
                "max_tokens": c.max_tokens,
                "answered": len(ok),
                "errors": len(mine) - len(ok),
                "passed": sum(1 for a in checked if a.passed),
                "checked": len(checked),
                "pass_rate": (sum(1 for a in checked if a.passed) / len(checked)) if checked else None,
                "judge_score": (sum(scores) / len(scores)) if scores else None,
                "judge_win": _rate(judge_rates[c.id]) if c.id in judge_rates else None,
                "human_win": _rate(human_rates[c.id]) if c.id in human_rates else None,
                "latency_p50": checks.percentile([a.latency_ms for a in ok], 50),
                "latency_p95": checks.percentile([a.latency_ms for a in ok], 95),
                "ttft_p50": checks.percentile([a.ttft_ms for a in ok if a.ttft_ms is not None], 50),
                "ttft_p95": checks.percentile([a.ttft_ms for a in ok if a.ttft_ms is not None], 95),
                "prompt_tokens": sum(a.prompt_tokens for a in mine),
                "completion_tokens": sum(a.completion_tokens for a in mine),
                "estimated_tokens": any(a.estimated for a in mine),
                "cache_n": sum(a.cache_n or 0 for a in mine) if any(a.cache_n is not None for a in mine) else None,
                "cost_milli_fen": cost_mf,
                "cost_per_row_fen": per_row_mf / 1000,
                "monthly_fen": monthly_fen,
                "voucher": model_voucher(session, trial.org_id, monthly_fen),
            }
        )
    for out in cands_out:
        v = out["voucher"]
        out["monthly_after_fen"] = out["monthly_fen"] - (v["monthly_subsidy_fen"] if v else 0)
    rows_out = []
    for r in rows:
        cells = []
        for c in candidates:
            a: TrialAnswer | None = by_cell.get((r.id, c.id))
            cells.append(
                None
                if a is None
                else {
                    "candidate_id": c.id,
                    "status": a.status,
                    "text": a.text,
                    "error": a.error,
                    "passed": a.passed,
                    "checks": a.checks,
                    "latency_ms": a.latency_ms,
                    "ttft_ms": a.ttft_ms,
                    "tokens": a.prompt_tokens + a.completion_tokens,
                    "cost_milli_fen": a.cost_milli_fen,
                    "judge_score": a.judge_score,
                }
            )
        rows_out.append({"position": r.position, "input": r.input, "reference": r.reference, "cells": cells})
    template = presets.templates().get(trial.template_code or "")
    return {
        "title": trial.title,
        "template": template.name.model_dump() if template else None,
        "run_no": run,
        "finished_at": trial.finished_at.isoformat() if trial.finished_at else None,
        "monthly_calls": trial.monthly_calls,
        "judge_mode": trial.judge_mode if trial.judge_model else JudgeMode.NONE.value,
        "judge_model": trial.judge_model,
        "judge_family": judge_family,
        "judge_pairs": len(judge_pairs),
        "votes": sum(1 for _ in human_pairs(session, trial, run)),
        "candidates": cands_out,
        "rows": rows_out,
    }


def candidate_labels(candidates: list[TrialCandidate]) -> dict[int, str]:
    """The model's alias, numbered where one alias is tried twice (with two prompts): "smollm2 · 2"."""
    counts: dict[str, int] = defaultdict(int)
    for c in candidates:
        counts[c.model] += 1
    return {c.id: c.model if counts[c.model] == 1 else f"{c.model} · {c.position}" for c in candidates}


def candidate_names(session: Session, trial: Trial) -> dict[int, str]:
    return candidate_labels(service.candidates_of(session, trial))
