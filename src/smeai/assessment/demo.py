"""The assessment share of `smeai demo`: completed diagnoses for two demo enterprises (one retaken), and
enough peer enterprises' diagnoses, answered through the engine, for a working peer benchmark."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from smeai.assessment import instruments, service
from smeai.assessment.instruments import Instrument, Question, QuestionType
from smeai.assessment.models import Assessment
from smeai.assessment.schemas import AssessmentIn
from smeai.auth import service as auth_service
from smeai.auth.actor import Actor
from smeai.auth.permissions import OrgKind, Role
from smeai.auth.schemas import OrganisationIn, ProfileIn

# 赣光电子: optics, piloting visual inspection, knowledge Q&A for onboarding (report case, 江西).
OPTICS: dict[str, Any] = {
    "s_leadership": "sponsor",
    "s_plan": "list",
    "s_goals": "some",
    "s_knowledge": 3,
    "d_quantity": 4,
    "d_quality": "3",
    "d_storage": "dept_systems",
    "d_management": "owner",
    "d_types": ["transactions", "production", "images", "documents"],
    "d_systems": ["finance", "erp", "mes"],
    "d_integration": "some",
    "t_staff": 3,
    "t_usage": 15,
    "t_training": "once",
    "t_process": "person",
    "i_compute": "api",
    "i_cloud": "2",
    "i_equipment": 40,
    "a_general": ["chat", "office", "meeting"],
    "v_amount": 30,
    "v_share": 0.8,
    "v_subsidy": "aware",
    "sec_rules": "verbal",
    "sec_measures": ["access", "backup"],
    "sec_incidents": "informal",
    "o_measured": "some",
    "o_efficiency": 8,
    "o_quality_cost": 10,
    "o_new_value": "none",
}
OPTICS_SCENARIOS = {
    "quality_inspection": "piloting",
    "knowledge_qa": "exploring",
    "office_collaboration": "scaling",
    "marketing_content": "exploring",
}
NOT_RELEVANT = ("generative_simulation", "warehouse_layout", "logistics_dispatch", "energy_management")

# 冀北金属制品: metal structures; scattered ERP/MES/SCM data, decisions by experience.
METAL: dict[str, Any] = {
    "s_leadership": "interested",
    "s_plan": "ideas",
    "s_goals": "none",
    "s_knowledge": 1,
    "d_quantity": 6,
    "d_quality": "2",
    "d_storage": "dept_systems",
    "d_management": "adhoc",
    "d_types": ["transactions", "production", "documents"],
    "d_systems": ["finance", "erp", "mes", "scm"],
    "d_integration": "isolated",
    "t_staff": 2,
    "t_usage": 5,
    "t_training": "none",
    "t_process": "none",
    "i_compute": "saas",
    "i_cloud": "1",
    "i_equipment": 20,
    "a_general": ["chat"],
    "v_amount": 5,
    "v_share": 0.2,
    "v_subsidy": "unaware",
    "sec_rules": "none",
    "sec_measures": ["backup"],
    "sec_incidents": "none",
    "o_measured": "impression",
    "o_efficiency": 0,
    "o_quality_cost": 0,
    "o_new_value": "n/a",
}
METAL_SCENARIOS = {"office_collaboration": "exploring", "safety_monitoring": "exploring"}


def _answers(base: dict[str, Any], scenarios: dict[str, str]) -> dict[str, Any]:
    inst = instruments.get_instrument("smeai-ai-maturity")
    out = dict(base)
    for q in inst.questions.values():
        if q.scenario:
            out[q.id] = scenarios.get(q.scenario, "n/a" if q.scenario in NOT_RELEVANT else "none")
    return out


def _dated(a: Assessment, when: datetime) -> None:
    """Demo diagnoses were taken on plausible days, not all at the moment `smeai demo` ran."""
    a.created_at, a.updated_at, a.completed_at = when - timedelta(minutes=25), when, when


def _take(session: Session, actor: Actor, rounds: list[tuple[dict[str, Any], datetime]]) -> None:
    previous = None
    for answers, when in rounds:
        a = service.start_assessment(session, actor, AssessmentIn(from_assessment_id=previous))
        service.save_answers(session, actor, a.id, answers)
        service.complete_assessment(session, actor, a.id)
        _dated(a, when)
        previous = a.id


def _load_one(session: Session, email: str, rounds: list[tuple[dict[str, Any], datetime]]) -> None:
    user = auth_service.find_user_by_email(session, email)
    if user is None:
        return
    actor = auth_service.actor_for(user)
    if service.list_assessments(session, actor):
        return  # idempotent: this enterprise already has its diagnoses
    _take(session, actor, rounds)


# Peer enterprises: fictional firms whose diagnoses make the peer benchmark work on demo data. Two groups
# are large enough on their own (metal products in Hebei, electronics in Jiangxi: the demo enterprises'
# peers); the rest spread over other industries and provinces. (count, section, division, province, cities)
PEER_GROUPS: tuple[tuple[int, str, str | None, str, tuple[str, ...]], ...] = (
    (12, "C", "33", "13", ("邢台", "保定", "沧州", "廊坊", "石家庄")),
    (12, "C", "39", "36", ("南昌", "吉安", "赣州", "九江")),
    (4, "C", "34", "33", ("宁波", "台州", "温州")),
    (4, "C", "26", "44", ("广州", "佛山", "中山")),
    (3, "C", "38", "32", ("苏州", "常州")),
    (3, "F", None, "44", ("深圳", "东莞")),
    (2, "I", None, "11", ("北京",)),
    (2, "C", "31", "13", ("唐山", "邯郸")),
)
PEER_WORDS = (
    "恒信",
    "宏达",
    "精诚",
    "瑞丰",
    "鼎盛",
    "华拓",
    "立新",
    "博远",
    "永泰",
    "金诺",
    "联创",
    "嘉和",
    "启航",
    "同益",
)
PEER_TRADES = {
    "33": "金属制品",
    "39": "电子科技",
    "34": "机械设备",
    "26": "化工材料",
    "38": "电气",
    "31": "钢铁",
    "F": "商贸",
    "I": "信息技术",
}
BANDS = ("0-2", "0-2", "2-4", "2-4", "4-6", "6-8", "8+")
SIZE = {"0-2": "small", "2-4": "small", "4-6": "medium", "6-8": "medium", "8+": "medium"}


def _pick(q: Question, level: float, rng: random.Random) -> Any:
    """An answer for a firm of maturity `level` (0-1): options ranked by points, chosen around the level."""
    x = min(max(rng.gauss(level, 0.2), 0.0), 0.999)
    if q.type == QuestionType.NUMBER:
        band = sorted(q.bands, key=lambda b: b.points)[int(x * len(q.bands))]
        return band.min if band.min is not None else 0
    if q.type == QuestionType.MULTI:
        plain = [o.id for o in q.options if not o.exclusive]
        return sorted(o for o in plain if rng.random() < x)
    ranked = sorted(q.options, key=lambda o: o.points)
    return ranked[int(x * len(ranked))].id


def generated_answers(inst: Instrument, level: float, rng: random.Random) -> dict[str, Any]:
    """A complete, valid answer set drawn around one maturity level; some scenarios do not apply (n/a)."""
    out = {}
    for q in inst.questions.values():
        if q.not_applicable and q.scenario and rng.random() < 0.25:
            out[q.id] = "n/a"
        elif q.scenario:  # scenarios: most firms use AI in few of them
            out[q.id] = _pick(q, level * 0.8 if rng.random() < 0.4 else 0.05, rng)
        else:
            out[q.id] = _pick(q, level, rng)
    return out


def load_peers(session: Session, *, seed: int = 2026) -> int:
    """Create the peer enterprises and one diagnosis each (dated over the last two years); idempotent.
    Returns how many were created."""
    rng = random.Random(seed)
    inst = instruments.get_instrument("smeai-ai-maturity")
    system, made, n = Actor.system(), 0, 0
    for count, section, division, province, cities in PEER_GROUPS:
        for i in range(count):
            n += 1
            city = cities[i % len(cities)]
            name = f"{city}{PEER_WORDS[n % len(PEER_WORDS)]}{PEER_TRADES[division or section]}有限公司"
            level = rng.betavariate(2.2, 3.0)  # most firms are early on, a few far along
            answers = generated_answers(inst, level, rng)
            when = datetime(2025, 1, 6, 9, tzinfo=UTC) + timedelta(
                days=rng.randrange(0, 680), hours=rng.randrange(0, 8)
            )
            band = rng.choice(BANDS)
            if auth_service.find_organisation_by_name(session, name) is not None:
                continue
            org = auth_service.create_organisation(session, system, OrganisationIn(name=name, kind=OrgKind.ENTERPRISE))
            profile = ProfileIn(
                industry_section=section,
                mfg_division=division,
                province_code=province,
                city=city,
                size_class=SIZE[band],
                revenue_band=band,
                employees=rng.randrange(40, 600),
            )
            auth_service.update_profile(session, system, org.id, profile)
            member = Actor(
                user_id=None, org_id=org.id, org_kind=OrgKind.ENTERPRISE, roles=frozenset({Role.ENTERPRISE_MEMBER})
            )
            _take(session, member, [(answers, when)])
            made += 1
    return made


def load(session: Session) -> None:
    first = _answers(OPTICS, OPTICS_SCENARIOS)
    later = _answers(
        OPTICS
        | {
            "d_integration": "core",
            "d_quality": "4",
            "t_training": "regular",
            "sec_rules": "written",
            "v_subsidy": "applied",
        },
        OPTICS_SCENARIOS | {"quality_inspection": "scaling", "knowledge_qa": "piloting"},
    )
    _load_one(
        session,
        "optics@demo.smeai.cn",
        [(first, datetime(2026, 3, 12, 10, 20, tzinfo=UTC)), (later, datetime(2026, 10, 21, 15, 5, tzinfo=UTC))],
    )
    _load_one(
        session, "metal@demo.smeai.cn", [(_answers(METAL, METAL_SCENARIOS), datetime(2026, 6, 9, 9, 40, tzinfo=UTC))]
    )
    load_peers(session)
    session.flush()
