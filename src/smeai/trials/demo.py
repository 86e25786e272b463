"""The trials' share of `smeai demo`: 冀中精工 has run the 智能客服 template on two local candidates (the bundled
SmolLM2 model behind the gateway, with two system prompts) on its first five questions, rated three pairs blind
and frozen a report, so the demo shows a finished trial.

The run is real: every answer goes through the gateway's OpenAI-compatible endpoint (mounted in-process, the
same route the portal serves) with the trial's own key, held and settled on the enterprise's wallet. Running
the demo again changes nothing (the trial is found by its title and left as it is)."""

from __future__ import annotations

import random

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from smeai.auth import service as auth_service
from smeai.auth.actor import Actor
from smeai.config import Settings
from smeai.gateway import service as gateway
from smeai.gateway.api import plane
from smeai.gateway.models import Route, Upstream
from smeai.gateway.schemas import UpstreamIn
from smeai.trials import reports, runner, service, votes
from smeai.trials.models import Trial
from smeai.trials.presets import JudgeMode
from smeai.trials.schemas import CandidateIn, RowIn, SettingsIn, TrialIn

EMAIL = "fastener@demo.smeai.cn"
TITLE = "网店客服模型选型"
LOCAL_UPSTREAM = "local-smollm2"
DEMO_MAX_TOKENS = 24  # SmolLM2-135M on a demo machine's CPU: short answers keep `smeai demo` quick
DEMO_ROWS = 5
MONTHLY_CALLS = 30_000  # the shop's desk: about 1,000 questions a day


def _local_alias(session: Session) -> str:
    """A gateway alias served by the bundled local model: the gateway demo's, or one added here."""
    alias = session.scalar(
        select(Route.alias)
        .join(Upstream, Upstream.id == Route.upstream_id)
        .where(Upstream.base_url.startswith("local://"), Route.active.is_(True), Upstream.active.is_(True))
        .order_by(Route.id)
    )
    if alias is not None:
        return alias
    data = UpstreamIn.model_validate(
        {
            "name": LOCAL_UPSTREAM,
            "base_url": "local://smollm2",
            "models": {"smollm2-135m": "smollm2"},
            "price_in": "0.8",
            "price_out": "2",
        }
    )
    gateway.add_upstream(session, Actor.system(), data)
    session.flush()
    return "smollm2-135m"


def _gateway_client(url: str) -> TestClient:
    """The gateway's data plane, in-process: the same routes `smeai serve` mounts, over ASGI."""
    app = FastAPI()
    app.state.settings = Settings(database_url=url)
    app.include_router(plane)
    return TestClient(app)


def load(session: Session) -> None:
    user = auth_service.find_user_by_email(session, EMAIL)
    if user is None or user.org_id is None:
        return
    if session.scalar(select(Trial.id).where(Trial.org_id == user.org_id, Trial.title == TITLE)) is not None:
        return
    actor = auth_service.actor_for(user)
    alias = _local_alias(session)
    trial = service.create_trial(session, actor, TrialIn(title=TITLE, template_code="customer-service"))
    # the template's first five questions and two short system prompts: the demo's twenty answers would take
    # minutes of CPU on a small machine (the long shop-rules prompt is re-read on every call, cache off)
    rows = service.rows_of(session, trial)[:DEMO_ROWS]
    service.set_rows(
        session, actor, trial, [RowIn(input=r.input, reference=r.reference, checks=r.checks) for r in rows]
    )
    for prompt in ("你是冀中精工紧固件网店的客服，请礼貌、简洁地回答顾客的问题。", "请用一句话回答。"):
        service.add_candidate(
            session, actor, trial, CandidateIn(model=alias, system_prompt=prompt, max_tokens=DEMO_MAX_TOKENS)
        )
    service.update_settings(session, actor, trial, SettingsIn(judge_mode=JudgeMode.NONE, monthly_calls=MONTHLY_CALLS))
    bound = service.estimate(session, actor, trial)
    if not bound.covered:
        gateway.fund_wallet(session, Actor.system(), trial.org_id, 10_000, note="演示：试用选型")  # 100 元
    plan = service.start_run(session, actor, trial)
    session.commit()  # the run's own sessions must see the trial, its key and the wallet
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    runner.run(url, plan, "http://testserver", lambda: _gateway_client(url))
    session.expire_all()
    trial = service.get_trial(session, actor, trial.id)
    if trial.state != service.TrialState.DONE:
        return  # recorded on the trial (the page shows why); the demo goes on
    rng = random.Random(19)  # the same blind order on every machine
    for _ in range(3):
        vote = votes.next_pair(session, actor, trial, rng=rng)
        if vote is None:
            break
        left, right, _question = votes.pair_texts(session, vote)
        longer = "left" if len(left.text) >= len(right.text) else "right"
        votes.cast_vote(session, actor, trial, vote.id, longer)
    reports.freeze(session, actor, trial, days=365)
