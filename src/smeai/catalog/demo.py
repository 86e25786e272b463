"""The resource pool's share of `smeai demo`: the demo pool (data/demo-pool.jsonl, imported and so
published at once) and a provider's own listings in draft and under review, all through the service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from smeai.auth import service as auth_service
from smeai.auth.actor import Actor
from smeai.catalog import service
from smeai.catalog.schemas import OfferingFields
from smeai.errors import Invalid
from smeai.i18n import N_

DATA = Path(__file__).parent / "data" / "demo-pool.jsonl"
PROVIDER_EMAIL = "heihu@demo.smeai.cn"  # 黑湖科技 (auth/data/demo.yaml)

OWN_LISTINGS: list[tuple[str, dict[str, Any]]] = [
    (
        "submitted",
        {
            "name": "黑湖设备点检智能体",
            "kind": "agent",
            "summary": "巡检员拍照或说一句话，自动生成点检记录，发现异常直接派维修工单。",
            "industries": ["C"],
            "scenarios": ["equipment_maintenance"],
            "deployment": ["saas"],
            "pricing": {"model": "subscription", "entry_price_wan": 1.5},
            "regions": ["*"],
            "min_stage": 0,
            "max_stage": 3,
            "tags": ["点检", "工单", "巡检"],
        },
    ),
    (
        "draft",
        {
            "name": "黑湖能耗看板（内测）",
            "kind": "saas",
            "summary": "按工序和订单统计水电气消耗，找出高耗能环节。",
            "industries": ["C"],
            "scenarios": ["energy_management"],
            "deployment": ["saas"],
            "pricing": {"model": "subscription", "entry_price_wan": 2},
            "regions": ["*"],
        },
    ),
]


def load(session: Session) -> None:
    report = service.import_records(session, Actor.system(), DATA.read_text(encoding="utf-8").splitlines())
    if report.problems:
        raise Invalid(
            N_("The demo pool is invalid."),
            fields={f"line {p.line}": f"{p.field}: {p.reason}" for p in report.problems},
        )
    user = auth_service.find_user_by_email(session, PROVIDER_EMAIL)
    if user is None:
        return
    provider = auth_service.actor_for(user)
    names = {o.name for o in service.list_own_offerings(session, provider)}
    for status, data in OWN_LISTINGS:
        if data["name"] in names:
            continue
        offering = service.create_offering(session, provider, OfferingFields.model_validate(data))
        if status == "submitted":
            service.submit_offering(session, provider, offering.id)
    session.flush()
