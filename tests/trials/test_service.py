"""Trials through services: templates, test sets that never half-apply, candidates, the cost bound, a run
through the real gateway (local model), re-runs, isolation, blind votes and frozen reports."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from smeai.auth.actor import Actor
from smeai.db import utcnow
from smeai.errors import Conflict, Invalid, NotFound
from smeai.gateway import service as gateway
from smeai.gateway.models import Usage
from smeai.matching import service as matching
from smeai.matching.schemas import NeedIn
from smeai.trials import checks, pdf, reports, results, runner, service, testset, votes
from smeai.trials.models import TrialJudgement, TrialReport
from smeai.trials.schemas import CandidateIn, RowIn, SettingsIn, TrialIn
from tests import builders


def _trial(session, actor, **kw):
    return service.create_trial(session, actor, TrialIn(title="客服选型", **kw))


def test_trial_from_template_has_its_rows_and_checks(session, funded):
    trial = _trial(session, funded, template_code="customer-service")
    rows = service.rows_of(session, trial)
    assert len(rows) == 10
    assert all(r.reference and r.checks for r in rows)
    contract = _trial(session, funded, template_code="contract-extraction")
    assert contract.schema_json["required"][:2] == ["甲方", "乙方"]
    assert all(r.checks == [{"kind": "json", "threshold": 0.8}] for r in service.rows_of(session, contract))


def test_another_organisation_cannot_see_a_trial(session, funded):
    trial = _trial(session, funded)
    session.commit()
    other = builders.enterprise(session)
    session.expunge_all()
    with pytest.raises(NotFound):
        service.get_trial(session, other, trial.id)
    assert service.list_trials(session, other) == []
    provider = builders.provider(session)
    with pytest.raises(NotFound):
        service.get_trial(session, provider, trial.id)


def test_upload_names_every_bad_row_and_changes_nothing(session, funded):
    trial = _trial(session, funded, template_code="customer-service")
    csv = "input,reference,checks\n好的问题,好的答案,contains_any:好\n,缺输入,\n第三行,,number:abc\n".encode()
    with pytest.raises(Invalid) as caught:
        service.set_rows(session, funded, trial, testset.rows_from_file("set.csv", csv))
    assert set(caught.value.fields) == {"row 3", "row 4"}
    assert "input" in caught.value.fields["row 3"] and "checks" in caught.value.fields["row 4"]
    assert len(service.rows_of(session, trial)) == 10  # untouched
    with pytest.raises(Invalid) as unknown:
        testset.rows_from_file("set.csv", b"input,colour\na,b\n")
    assert "colour" in unknown.value.fields["row 1"]
    good = testset.rows_from_file("set.csv", "输入,参考答案\n几点发货？,16:00 前付款当天发\n".encode("gb18030"))
    service.set_rows(session, funded, trial, good)
    assert [r.input for r in service.rows_of(session, trial)] == ["几点发货？"]


def test_candidates_two_to_six_and_only_the_gateways_models(session, funded, local_gateway):
    trial = _trial(session, funded)
    with pytest.raises(Invalid):
        service.add_candidate(session, funded, trial, CandidateIn(model="no-such-model"))
    for _ in range(6):
        service.add_candidate(session, funded, trial, CandidateIn(model=local_gateway))
    with pytest.raises(Invalid):
        service.add_candidate(session, funded, trial, CandidateIn(model=local_gateway))


def test_estimate_is_the_gateways_hold_bound(session, funded, local_gateway):
    trial = _trial(session, funded)
    service.set_rows(session, funded, trial, [RowIn(input="你好")])
    service.add_candidate(session, funded, trial, CandidateIn(model=local_gateway, max_tokens=100))
    bound = service.estimate(session, funded, trial)
    # input: the messages' compact-JSON bytes + 64 overhead tokens at 1.2 fen/1k; output: 100 tokens at 3.6 fen/1k
    messages = '[{"role":"user","content":"你好"}]'
    expected = -(-(len(messages.encode()) + 64) * 1200 // 1000) + 100 * 3600 // 1000
    assert (bound.calls, bound.answer_mf, bound.judge_mf) == (1, expected, 0)
    assert bound.available_mf == 5_000_000 and bound.covered


def test_run_needs_two_candidates_and_a_covering_wallet(session, funded, local_gateway):
    trial = _trial(session, funded, template_code="customer-service")
    service.add_candidate(session, funded, trial, CandidateIn(model=local_gateway))
    with pytest.raises(Invalid):
        service.start_run(session, funded, trial)
    poor = builders.enterprise(session)
    theirs = _trial(session, poor, template_code="customer-service")
    for _ in range(2):
        service.add_candidate(session, poor, theirs, CandidateIn(model=local_gateway))
    with pytest.raises(Conflict):
        service.start_run(session, poor, theirs)


def _run(session, settings, actor, trial, gateway_client):
    plan = service.start_run(session, actor, trial)
    session.commit()
    runner.run(settings.database_url, plan, "http://testserver", gateway_client)
    session.expire_all()
    return plan


def test_a_run_goes_through_the_gateway_and_a_rerun_checks_the_same(
    session, settings, funded, local_gateway, gateway_client
):
    trial = _trial(session, funded)
    service.set_rows(
        session,
        funded,
        trial,
        [
            RowIn(input="What is 2+2?", checks=[{"kind": "regex", "pattern": "4"}]),
            RowIn(input="Say hello.", checks=[{"kind": "contains_any", "values": ["hello", "Hello"]}]),
        ],
    )
    service.add_candidate(session, funded, trial, CandidateIn(model=local_gateway, max_tokens=24))
    service.add_candidate(
        session, funded, trial, CandidateIn(model=f"{local_gateway}-b", system_prompt="Answer briefly.", max_tokens=24)
    )
    before = gateway.get_wallet(session, funded)
    first = _run(session, settings, funded, trial, gateway_client)
    trial = service.get_trial(session, funded, trial.id)
    assert trial.state == "done", trial.error
    answers = service.answers_of(session, trial)
    assert len(answers) == 4 and all(a.status == "ok" for a in answers)
    assert all(a.cost_milli_fen > 0 and a.completion_tokens > 0 and a.latency_ms > 0 for a in answers)
    # every answer is a usage record of the trial's own key, and the wallet paid exactly their cost
    usage = list(session.scalars(select(Usage).where(Usage.key_id == trial.gateway_key_id)))
    assert sorted(str(u.id) for u in usage) == sorted(a.usage_id for a in answers)
    after = gateway.get_wallet(session, funded)
    spent = sum(a.cost_milli_fen for a in answers)
    assert before.own_available_mf - after.own_available_mf == spent
    assert after.own_held_mf == 0
    # the run's key is revoked when the run ends
    assert gateway.get_key(session, funded, trial.gateway_key_id).revoked_at is not None
    second = _run(session, settings, funded, trial, gateway_client)
    assert second.run_no == first.run_no + 1
    assert service.check_signature(session, trial, first.run_no) == service.check_signature(
        session, trial, second.run_no
    )
    data = results.compute(session, trial)
    assert [c["answered"] for c in data["candidates"]] == [2, 2]
    assert data["candidates"][0]["latency_p50"] is not None


def _finished(session, settings, actor, gateway_client, model):
    trial = _trial(session, actor)
    service.set_rows(session, actor, trial, [RowIn(input=f"Count to {n}.") for n in (2, 3, 4)])
    service.add_candidate(session, actor, trial, CandidateIn(model=model, max_tokens=12))
    service.add_candidate(session, actor, trial, CandidateIn(model=f"{model}-b", max_tokens=12))
    _run(session, settings, actor, trial, gateway_client)
    return service.get_trial(session, actor, trial.id)


def test_blind_votes_reveal_after_voting_and_add_up(session, settings, funded, local_gateway, gateway_client):
    trial = _finished(session, settings, funded, gateway_client, local_gateway)
    names = results.candidate_names(session, trial)
    picked = []
    while (vote := votes.next_pair(session, funded, trial)) is not None:
        again = votes.next_pair(session, funded, trial)
        assert again.id == vote.id  # a reload shows the same pair in the same order
        left, right, _question = votes.pair_texts(session, vote)
        assert left.row_id == right.row_id and left.candidate_id != right.candidate_id
        votes.cast_vote(session, funded, trial, vote.id, "left")
        picked.append(names[left.candidate_id])
        with pytest.raises(Conflict):
            votes.cast_vote(session, funded, trial, vote.id, "right")
    assert votes.progress(session, funded, trial) == (3, 3)
    data = results.compute(session, trial)
    wins = {c["label"]: c["human_win"]["wins"] for c in data["candidates"]}
    assert sum(wins.values()) == 3 and wins == {n: picked.count(n) for n in wins}
    other = builders.enterprise(session)
    with pytest.raises(NotFound):
        votes.get_vote(session, other, trial, vote_id=1)


def test_frozen_report_link_expires_pdf_renders_and_attaches_to_own_need_only(
    session, settings, funded, local_gateway, gateway_client
):
    trial = _finished(session, settings, funded, gateway_client, local_gateway)
    report = reports.freeze(session, funded, trial, days=7)
    session.commit()
    assert reports.by_token(session, report.token).snapshot["title"] == "客服选型"
    body = pdf.render_pdf(report.snapshot, created_at=report.created_at, expires_at=report.expires_at)
    assert body.startswith(b"%PDF")
    need = matching.create_need(session, funded, NeedIn(title="客服机器人", text="想用大模型回答网店客服问题"))
    reports.attach(session, funded, report.id, "need", need.id)
    assert reports.attached_to(session, "need", need.id) == [report]
    other = builders.enterprise(session)
    theirs = matching.create_need(session, other, NeedIn(title="别家的需求", text="质检"))
    with pytest.raises(NotFound):
        reports.attach(session, funded, report.id, "need", theirs.id)
    with pytest.raises(NotFound):
        reports.get_report(session, other, report.id)
    session.get(TrialReport, report.id).expires_at = utcnow() - timedelta(seconds=1)
    session.flush()
    with pytest.raises(NotFound):
        reports.by_token(session, report.token)
    assert Actor.system().is_system


def test_pairwise_judge_runs_both_orders_and_flags_its_own_family(
    session, settings, funded, local_gateway, gateway_client
):
    trial = _trial(session, funded)
    service.set_rows(session, funded, trial, [RowIn(input="Name a colour.")])
    service.add_candidate(session, funded, trial, CandidateIn(model=local_gateway, max_tokens=8))
    service.add_candidate(session, funded, trial, CandidateIn(model=f"{local_gateway}-b", max_tokens=8))
    service.update_settings(
        session,
        funded,
        trial,
        SettingsIn(judge_mode="pairwise", judge_model=local_gateway, rubric="更准确、更简洁者为佳。"),
    )
    bound = service.estimate(session, funded, trial)
    assert bound.judge_mf > 0  # two judge calls (both orders) are in the bound shown before the run
    _run(session, settings, funded, trial, gateway_client)
    trial = service.get_trial(session, funded, trial.id)
    judged = list(session.scalars(select(TrialJudgement).where(TrialJudgement.trial_id == trial.id)))
    assert len(judged) == 1  # one pair, judged in both orders
    assert judged[0].outcome == checks.aggregate_swap(judged[0].first, judged[0].second)
    data = results.compute(session, trial)
    assert data["judge_family"] == "SmolLM"
    assert all(c["judge_same_family"] for c in data["candidates"])  # the judge is a candidate's family: flagged
    assert sum(c["judge_win"]["n"] for c in data["candidates"]) == 2
    # the judge's calls are the enterprise's too: every call of the trial's key is in its usage
    calls = session.scalar(select(func.count()).select_from(Usage).where(Usage.key_id == trial.gateway_key_id))
    assert calls == 2 + 2
