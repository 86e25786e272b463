"""What a need's page shows (issue 12): fields read from the words proposed with their evidence, a
relevance floor without padding, near misses apart with why they missed, over budget below within
budget, engaged offerings kept in view, the list kept as the need's snapshot (not as engagements)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from smeai.db import get_engine
from smeai.errors import Forbidden
from smeai.matching import engagements, pools, service
from smeai.matching.ranker import Need, Pool
from smeai.matching.schemas import NeedIn
from smeai.migrate import upgrade
from tests import builders
from tests.cases import builders as case_builders
from tests.matching.builders import offering

PROFILE = {"industry_section": "C", "mfg_division": "33", "province_code": "33", "city": "湖州"}
SENTENCE = "我们是一家做汽车零部件的小厂，想用视觉检测代替人工目检，预算30万，希望本地部署"
VISION = {"scenarios": ["quality_inspection"], "industries": ["C"], "regions": ["*"]}


def _vision(session, provider, ext_id, **kw):
    return offering(session, provider, id=ext_id, **(VISION | kw))


def _sentence_need(session, firm, **kw):
    return service.create_need(session, firm, NeedIn(**({"title": "视觉检测", "text": SENTENCE} | kw)))


def test_the_words_fill_budget_deployment_and_industry_and_the_profile_the_rest(session):
    firm = builders.enterprise(session, profile=PROFILE)
    need = _sentence_need(session, firm)
    assert (need.budget_fen, need.deployment, need.industry) == (30_000_000, ["private"], "C36")  # words win
    assert need.province_code == "33"  # not in the words: from the profile
    assert need.extracted["budget_wan"] == {"value": 30, "evidence": "预算30万"}
    assert need.extracted["deployment"] == {"value": ["private"], "evidence": "希望本地部署"}
    assert "province_code" not in need.extracted and not need.fields_confirmed
    given = _sentence_need(session, firm, budget_fen=12_000_000, deployment=["edge"])  # the author's values win
    assert (given.budget_fen, given.deployment) == (12_000_000, ["edge"])
    assert "budget_wan" not in given.extracted and "deployment" not in given.extracted


def test_the_page_proposes_the_fields_with_their_evidence_and_the_owner_confirms_or_edits(session, page_client_for):
    firm = builders.enterprise(session, profile=PROFILE)
    session.commit()
    web = page_client_for(firm)
    r = web.post(
        "/matching/needs/new",
        data={"csrf_token": web.csrf, "title": "视觉检测", "text": SENTENCE},
        follow_redirects=True,
    )
    assert r.status_code == 200
    page = BeautifulSoup(r.text, "html.parser")
    proposal = " ".join(page.select_one("#proposed-fields").text.split())
    assert "根据描述识别：" in proposal and "请确认或修改" in proposal
    assert "预算 30 万元（“预算30万”）" in proposal and "本地部署（“希望本地部署”）" in proposal
    assert {m.text for m in page.select("#need-text mark")} >= {"预算30万", "希望本地部署"}
    assert page.select_one("#need-text").text == SENTENCE  # the owner's words, as written
    need_id = int(str(r.url).rsplit("/", 1)[1])

    r = web.post(f"/matching/needs/{need_id}/fields", data={"csrf_token": web.csrf}, follow_redirects=True)
    assert r.status_code == 200 and "— 请确认或修改" not in r.text and "已确认" in r.text

    form = BeautifulSoup(web.get(f"/matching/needs/{need_id}/edit").text, "html.parser")
    assert form.select_one("#f-industry option[selected]")["value"] == "C36"
    assert form.select_one("#f-province_code option[selected]")["value"] == "33"
    assert form.select_one("#f-budget_wan")["value"] == "30"
    edited = {"csrf_token": web.csrf, "title": "视觉检测", "text": SENTENCE, "budget_wan": "25", "deployment": "edge"}
    r = web.post(f"/matching/needs/{need_id}/edit", data=edited | {"industry": "C34"}, follow_redirects=True)
    assert r.status_code == 200
    need = service.get_need(session, firm, need_id)
    session.refresh(need)
    assert (need.text, need.budget_fen, need.deployment, need.industry) == (SENTENCE, 25_000_000, ["edge"], "C34")
    r = web.post(f"/matching/needs/{need_id}/edit", data=edited | {"budget_wan": "abc"})
    assert r.status_code == 422 and SENTENCE in r.text  # a bad edit keeps the owner's words on the form


def test_no_padding_near_misses_apart_with_why_and_over_budget_below_within(session, page_client_for):
    firm = builders.enterprise(session, profile=PROFILE)
    _vision(session, "甲视觉", "fit", deployment=["private"], pricing={"model": "one_off", "entry_price_wan": 25})
    _vision(session, "乙视觉", "dear", deployment=["private"], pricing={"model": "one_off", "entry_price_wan": 45})
    _vision(
        session, "丙视觉", "far-too-dear", deployment=["private"], pricing={"model": "one_off", "entry_price_wan": 80}
    )
    _vision(
        session, "丁视觉", "cloud-only", deployment=["saas"], pricing={"model": "subscription", "entry_price_wan": 5}
    )
    _vision(session, "戊视觉", "elsewhere", deployment=["private"], regions=["44"])
    offering(
        session,
        "己视觉",
        id="aps",
        name="智能排产 APS",
        summary="订单多、插单乱，自动排产排程，交期可视。",
        scenarios=["production_scheduling"],
        deployment=["private"],
        kind="saas",
    )
    need = _sentence_need(session, firm)
    shown = service.shown_matches(session, firm, need.id)
    ids = [o.ext_id for _m, o in shown.matches]
    assert ids == ["fit", "dear"]  # within budget first; nothing irrelevant added to fill the list
    near = {o.ext_id: m.missed for m, o in shown.near}
    assert near == {
        "far-too-dear": ["超出预算 50 万元"],
        "cloud-only": ["需云端部署"],
        "elsewhere": ["不覆盖本省"],
    }
    assert not {"aps"} & (set(ids) | set(near))
    session.commit()
    page = BeautifulSoup(page_client_for(firm).get(f"/matching/needs/{need.id}").text, "html.parser")
    assert len(page.select("#matches .match")) == 2 and len(page.select("#near-misses .match")) == 3
    assert page.select_one("#near-misses").find_previous("h2").text == "接近但不完全符合"
    assert "需云端部署" in page.select_one("#near-misses").text and "需云端部署" not in page.select_one("#matches").text


def test_over_budget_never_outranks_within_budget_of_similar_relevance():
    base = {"kind": "solution", "summary": "视觉检测外观缺陷", "industries": ["C"], "regions": ["*"]}
    base |= {"scenarios": ["quality_inspection"], "deployment": ["private"], "provider": "p"}
    pool = Pool(
        [
            base | {"id": "over", "name": "视觉检测外观缺陷 一体化", "pricing": {"entry_price_wan": 40}},
            base | {"id": "within", "name": "视觉检测", "pricing": {"entry_price_wan": 30}},
        ]
    )
    need = service.need_query(
        type(
            "N",
            (),
            {
                "title": "",
                "text": "视觉检测外观缺陷",
                "scenarios": [],
                "industry": "C36",
                "province_code": None,
                "stage": None,
                "budget_fen": 30_000_000,
                "deployment": [],
                "extracted": None,
                "id": 1,
            },
        )()
    )
    matches, _near = pool.shortlist(need)
    assert [m.id for m in matches] == ["within", "over"]
    assert [m.id for m in pool.match(need)] == ["within", "over"]  # the CLI's order too


def test_the_words_that_state_budget_and_deployment_do_not_match_offerings(session):
    # "预算30万，希望本地部署" would match every offering whose text says 本地部署; the topic is the rest.
    firm = builders.enterprise(session, profile=PROFILE)
    query = service.need_query(_sentence_need(session, firm))
    assert "视觉检测" in query.text and "汽车零部件" in query.text
    assert "预算30万" not in query.text and "本地部署" not in query.text


def test_a_near_miss_may_fail_two_constraints_and_an_off_topic_offering_is_no_match():
    base = {"kind": "solution", "industries": ["C"], "provider": "p", "pricing": {"entry_price_wan": 10}}
    pool = Pool(
        [
            # the most relevant offering: another province and another mode
            base
            | {
                "id": "far",
                "name": "视觉检测外观缺陷",
                "summary": "视觉检测外观缺陷",
                "regions": ["44"],
                "deployment": ["edge"],
                "scenarios": ["quality_inspection"],
            },
            # same business link (生产制造), other scenario, a word or two in common: above the relevance
            # floor on its link, but about something else
            base
            | {
                "id": "aps",
                "name": "智能排产",
                "summary": "排程排产优化外观缺陷",
                "regions": ["*"],
                "deployment": ["private"],
                "scenarios": ["production_scheduling"],
            },
        ]
    )
    need = Need(text="视觉检测外观缺陷 想找个解决方案", industry="C36", province_code="13", deployment=("private",))
    matches, near = pool.shortlist(need)
    assert [m.id for m in matches] == []  # the APS system is not a match for visual inspection
    assert [m.id for m in near] == ["far"] and len(near[0].missed) == 2


def test_an_engaged_offering_stays_visible_with_its_state(session, page_client_for):
    firm = builders.enterprise(session, profile=PROFILE)
    builders.provider(session, "甲视觉")
    item = _vision(
        session, "甲视觉", "fit", deployment=["private"], pricing={"model": "one_off", "entry_price_wan": 25}
    )
    need = _sentence_need(session, firm)
    engagements.express_interest(session, firm, need.id, item.id)
    service.update_need(  # now only SaaS will do: the offering is no longer a match
        session, firm, need.id, NeedIn(title="视觉检测", text="想用视觉检测代替人工目检", deployment=["saas"])
    )
    session.commit()
    page = BeautifulSoup(page_client_for(firm).get(f"/matching/needs/{need.id}").text, "html.parser")
    listed = page.select_one("#engaged") or page.select_one("#near-misses")
    assert listed is not None and "瑕疵眼" in listed.text
    assert listed.select_one('[data-state="interest"]') is not None


def test_a_stored_need_answers_from_its_snapshot_until_need_or_pool_changes(session, monkeypatch):
    firm = builders.enterprise(session, profile=PROFILE)
    _vision(session, "甲视觉", "fit", deployment=["private"], pricing={"model": "one_off", "entry_price_wan": 25})
    need = _sentence_need(session, firm)
    calls = []
    real = Pool.shortlist
    monkeypatch.setattr(Pool, "shortlist", lambda self, *a, **kw: calls.append(1) or real(self, *a, **kw))
    first = service.shown_matches(session, firm, need.id)
    again = service.shown_matches(session, firm, need.id)
    assert calls == [] and [o.ext_id for _m, o in first.matches] == [o.ext_id for _m, o in again.matches] == ["fit"]
    assert need.snapshot["pool"] and need.snapshot["matches"][0]["reasons"]
    service.update_need(session, firm, need.id, NeedIn(title="视觉检测", text=SENTENCE + "，越快越好"))
    service.shown_matches(session, firm, need.id)
    assert len(calls) == 1  # the need changed
    _vision(session, "乙视觉", "new", deployment=["private"], pricing={"model": "one_off", "entry_price_wan": 20})
    shown = service.shown_matches(session, firm, need.id)
    assert len(calls) == 2 and "new" in {o.ext_id for _m, o in shown.matches}  # the pool changed
    monkeypatch.setattr(service, "RULES_VERSION", service.RULES_VERSION + 1)
    service.shown_matches(session, firm, need.id)
    assert len(calls) == 3  # the ranking rules changed: stored lists are recomputed
    pools.reset()


def test_a_consultant_introduction_starts_an_engagement(session):
    firm = builders.enterprise(session, profile=PROFILE)
    builders.provider(session, "甲视觉")
    consultant = builders.operator(session)
    item = _vision(
        session, "甲视觉", "fit", deployment=["private"], pricing={"model": "one_off", "entry_price_wan": 25}
    )
    need = _sentence_need(session, firm)
    with pytest.raises(Forbidden):  # an enterprise does not introduce itself
        engagements.introduce(session, firm, need.id, item.id)
    e = engagements.introduce(session, consultant, need.id, item.id, note="中心牵线")
    assert e.state == "introduced" and [ev.to_state for ev in e.events] == ["introduced"]
    assert service.get_need(session, firm, need.id).status == "matched"


# --- migration 0012 ---------------------------------------------------------------------------


def test_0012_turns_bare_recommendations_into_the_needs_snapshot_and_keeps_real_engagements(fresh_url):
    upgrade(fresh_url, "0011")
    now = datetime.now(UTC)
    meta = sa.MetaData()
    with get_engine(fresh_url).begin() as conn:
        meta.reflect(conn, only=["organisations", "offerings", "needs", "engagements", "engagement_events"])
        t = meta.tables
        ent = conn.execute(
            t["organisations"].insert().values(name="厂", kind="enterprise", created_at=now, updated_at=now)
        ).inserted_primary_key[0]
        prov = conn.execute(
            t["organisations"].insert().values(name="商", kind="provider", created_at=now, updated_at=now)
        ).inserted_primary_key[0]
        offering_ids = []
        for ext_id in ("a", "b", "c"):
            offering_ids.append(
                conn.execute(
                    t["offerings"]
                    .insert()
                    .values(
                        ext_id=ext_id,
                        provider_id=prov,
                        name=ext_id,
                        kind="saas",
                        summary="s",
                        industries=["*"],
                        scenarios=[],
                        deployment=["saas"],
                        regions=["*"],
                        tags=[],
                        voucher_eligible=[],
                        pricing_model="one_off",
                        entry_price_fen=1,
                        min_stage=0,
                        max_stage=4,
                        status="published",
                        created_at=now,
                        updated_at=now,
                    )
                ).inserted_primary_key[0]
            )
        need = conn.execute(
            t["needs"]
            .insert()
            .values(
                org_id=ent,
                title="t",
                text="x",
                deployment=[],
                scenarios=[],
                scenarios_confirmed=False,
                urgency="normal",
                status="matched",
                source="text",
                created_at=now,
                updated_at=now,
            )
        ).inserted_primary_key[0]
        for offering_id, state, score in zip(
            offering_ids, ("recommended", "recommended", "interest"), (0.5, 0.9, 0.7), strict=True
        ):
            e = conn.execute(
                t["engagements"]
                .insert()
                .values(
                    need_id=need,
                    offering_id=offering_id,
                    enterprise_org_id=ent,
                    provider_org_id=prov,
                    state=state,
                    score=score,
                    reasons=["理由"],
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]
            conn.execute(t["engagement_events"].insert().values(engagement_id=e, to_state="recommended", at=now))
    upgrade(fresh_url, "0012")
    with get_engine(fresh_url).connect() as conn:
        states = conn.execute(sa.text("SELECT state FROM engagements")).scalars().all()
        events = conn.execute(sa.text("SELECT count(*) FROM engagement_events")).scalar_one()
        snapshot, confirmed = conn.execute(sa.text("SELECT snapshot, fields_confirmed FROM needs")).one()
    assert states == ["interest"] and events == 1
    snapshot = snapshot if isinstance(snapshot, dict) else __import__("json").loads(snapshot)
    assert [m["id"] for m in snapshot["matches"]] == ["b", "a"] and snapshot["pool"] is None
    assert confirmed in (False, 0)
    upgrade(fresh_url)


def test_a_stored_list_is_recomputed_when_what_it_shows_changes(session, monkeypatch):
    """Cases (evidence, "N 个案例"), voucher programmes and the enterprise's profile (the after-subsidy
    notes) are part of the snapshot's stamp, beside the need and the pool."""
    from smeai.auth import service as auth_service
    from smeai.auth.schemas import ProfileIn
    from smeai.subsidy import service as subsidy_service

    firm = builders.enterprise(session, profile=PROFILE)
    _vision(session, "甲视觉", "fit", deployment=["private"], pricing={"model": "one_off", "entry_price_wan": 25})
    need = _sentence_need(session, firm)
    calls = []
    real = Pool.shortlist
    monkeypatch.setattr(Pool, "shortlist", lambda self, *a, **kw: calls.append(1) or real(self, *a, **kw))
    before = service.shown_matches(session, firm, need.id).matches[0][0].reasons
    assert calls == []

    author, op = builders.enterprise(session), builders.operator(session)
    case_builders.published(session, author, op, ["fit"])
    after = service.shown_matches(session, firm, need.id).matches[0][0].reasons
    assert calls and len(after) == len(before) + 1  # the published case joins the reasons
    n = len(calls)

    programmes = dict(subsidy_service.all_programmes())
    programmes.pop(next(iter(programmes)))
    monkeypatch.setattr(subsidy_service, "all_programmes", lambda: programmes)
    service.shown_matches(session, firm, need.id)
    assert len(calls) == n + 1  # a programme file changed
    service.shown_matches(session, firm, need.id)
    assert len(calls) == n + 1  # nothing changed since

    profile = PROFILE | {"size_class": "micro", "revenue_band": "0-2"}
    auth_service.update_profile(session, firm, firm.org_id, ProfileIn(**profile))
    service.shown_matches(session, firm, need.id)
    assert len(calls) == n + 2  # the enterprise's profile (what vouchers it qualifies for) changed
    pools.reset()


def test_the_readme_sentence_finds_visual_inspection_solutions_for_hebei_on_the_demo_pool():
    """The README's tour: 冀中精工 (Hebei) writes SENTENCE; solutions that inspect by camera, within 30 万,
    serving Hebei and installable on premises come first, components after them."""
    import json
    from pathlib import Path

    from smeai.matching import understanding
    from smeai.matching.ranker import COMPONENT_KINDS

    demo = Path(service.__file__).parents[1] / "catalog" / "data" / "demo-pool.jsonl"
    records = [json.loads(line) for line in demo.read_text(encoding="utf-8").splitlines() if line.strip()]
    by_id = {r["id"]: r for r in records}
    parsed = understanding.parse_need({"text": SENTENCE, "province_code": "13"})
    topic = understanding.topic_text(SENTENCE, parsed["extracted"])
    matches, _near = Pool(records).shortlist(Need.from_record(parsed | {"text": f"视觉检测 {topic}"}))
    shown = [by_id[m.id] for m in matches]
    solutions = [o for o in shown if o["kind"] not in COMPONENT_KINDS]
    assert len(solutions) >= 3
    for o in solutions[:3]:
        assert "quality_inspection" in o["scenarios"] and o["pricing"]["entry_price_wan"] <= 30
        assert {"13", "*"} & set(o["regions"]) and "private" in o["deployment"]
    kinds = [o["kind"] in COMPONENT_KINDS for o in shown]
    assert kinds == sorted(kinds)  # no component above a solution


def test_a_solution_ranks_above_a_component_of_similar_relevance():
    base = {"industries": ["*"], "regions": ["*"], "deployment": ["private"], "scenarios": ["quality_inspection"]}
    base |= {"pricing": {"model": "one_off", "entry_price_wan": 5}, "summary": "产线缺陷视觉检测"}
    records = [
        base | {"id": "model", "kind": "model", "name": "缺陷检测视觉大模型"},
        base | {"id": "dataset", "kind": "dataset", "name": "缺陷检测图像数据集"},
        base | {"id": "solution", "kind": "appliance", "name": "缺陷检测工作站"},
    ]
    matches, _near = Pool(records).shortlist(Need(text="想用视觉检测代替人工挑缺陷"))
    assert matches[0].id == "solution"
