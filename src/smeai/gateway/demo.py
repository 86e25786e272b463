"""The gateway's share of `smeai demo`: the bundled local model as an upstream with a price history, two
enterprises with keys and calls — 冀中精工 paying with its own money, and 蓉城智联 (成都) whose approved
成都 模型使用补贴 pays 30 % of every call — all through the gateway's services and ledger, idempotently.

The demo's calls are metered records, not live calls: starting llama.cpp on every `smeai demo` (and every
test that loads the demo) would cost seconds of CPU for answers nobody reads. Each record goes through the
same hold and settlement as a live call (take_hold, then settle_hold with counts like those llama.cpp reports
for SmolLM2), so wallets, holds, usage and the audit agree; one call was cut short by its client. Live
calls through `/gateway/v1` work on the demo as well: the upstream starts the local model on first use.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from smeai.auth import service as auth_service
from smeai.auth.actor import Actor
from smeai.auth.permissions import OrgKind, Role
from smeai.auth.schemas import OrganisationIn, ProfileIn, UserIn
from smeai.config import get_settings
from smeai.db import utcnow
from smeai.gateway import flows, ledger, service
from smeai.gateway.ledger import EntryKind, HoldRequest, Metered
from smeai.gateway.models import Usage, VoucherGrant, WalletEntry
from smeai.gateway.schemas import KeyIn, PriceIn, UpstreamIn
from smeai.storage import storage_for
from smeai.subsidy import documents
from smeai.subsidy import service as subsidy
from smeai.subsidy.models import Application
from smeai.subsidy.programmes import DocKind
from smeai.subsidy.schemas import ApplicationIn

UPSTREAM = "local"
ALIAS = "smollm2"
OPERATOR = "operator@demo.smeai.cn"
PDF = b"%PDF-1.4\n% smeai demo document\n%%EOF\n"
VOUCHER_ORG = ("蓉城智联科技有限公司", "chengdu@demo.smeai.cn", "何经理")
VOUCHER_PROFILE = {
    "industry_section": "C",
    "mfg_division": "39",
    "province_code": "51",
    "city": "成都",
    "size_class": "small",
    "revenue_band": "0-2",
    "employees": 60,
    "founded_year": 2020,
}
CONTRACT_NO = "RC-MX-2026-01"
# (enterprise, key name, own money 元, calls: (days ago, prompt tokens, completion tokens, status))
CALLS = [(1, 38, 96, "ok"), (1, 52, 128, "ok"), (2, 41, 64, "ok"), (3, 120, 256, "ok"), (3, 35, 17, "disconnected")]
ENTERPRISES = [
    ("冀中精工紧固件有限公司", "质检报告助手", 200, CALLS[:3]),
    (VOUCHER_ORG[0], "客服知识库问答", 100, CALLS),
]


def load(session: Session, *, password: str) -> list[tuple[str, str, str]]:
    operator_user = auth_service.find_user_by_email(session, OPERATOR)
    if operator_user is None:
        return []
    operator = auth_service.actor_for(operator_user)
    _upstream(session, operator)
    _voucher_enterprise(session, operator, password)
    for name, key_name, own_yuan, calls in ENTERPRISES:
        org = auth_service.find_organisation_by_name(session, name)
        if org is None:
            continue
        _wallet_and_key(session, operator, org.id, key_name, own_yuan, calls)
    session.flush()
    return [(str(Role.ENTERPRISE_MEMBER), VOUCHER_ORG[1], VOUCHER_ORG[0])]


def _upstream(session: Session, operator: Actor) -> None:
    """The local model at 0.8 元 in / 2 元 out per million tokens, and a cheaper price from next month."""
    if any(u.name == UPSTREAM for u in service.list_upstreams(session, operator)):
        return
    up = service.add_upstream(
        session,
        operator,
        UpstreamIn(
            name=UPSTREAM,
            base_url="local://smollm2",
            models={ALIAS: ALIAS},
            price_in="0.08",  # typed in fen per 1,000 tokens, as the form does
            price_out="0.2",
        ),
    )
    today = utcnow().date()
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    for route in up.routes:
        service.set_price(
            session,
            operator,
            route.id,
            PriceIn(
                price_in="0.06",
                price_out="0.16",
                effective_from=datetime.combine(next_month, time(), UTC),
            ),
        )


def _voucher_enterprise(session: Session, operator: Actor, password: str) -> None:
    """蓉城智联 (成都): a 模型券 application approved and funding its wallet's voucher part."""
    name, email, contact = VOUCHER_ORG
    system = Actor.system()
    org = auth_service.find_organisation_by_name(session, name) or auth_service.create_organisation(
        session, system, OrganisationIn(name=name, kind=OrgKind.ENTERPRISE)
    )
    if org.province_code is None:
        auth_service.update_profile(session, system, org.id, ProfileIn(**VOUCHER_PROFILE))
    user = auth_service.find_user_by_email(session, email)
    if user is None:
        user = auth_service.create_user(
            session,
            system,
            UserIn(email=email, display_name=contact, password=password, role=Role.ENTERPRISE_MEMBER, org_id=org.id),
        )
    session.flush()
    app_id = session.scalar(
        select(Application.id).where(Application.org_id == org.id, Application.contract_no == CONTRACT_NO)
    )
    if app_id is None:
        ent = auth_service.actor_for(user)
        app = subsidy.submit_application(
            session,
            ent,
            ApplicationIn(
                programme_code="chengdu-model",
                description="大模型 API 调用（客服知识库问答）",
                kind="model",
                supplier_name="佛山人工智能应用赋能中心平台",
                contract_no=CONTRACT_NO,
                contract_fen=2_000_000,  # 2 万元 of model calls
            ),
        )
        settings = get_settings()
        documents.add_document(
            session,
            ent,
            app.id,
            kind=DocKind.CONTRACT,
            filename="contract.pdf",
            data=PDF,
            store=storage_for(settings),
            max_bytes=settings.upload_max_bytes,
        )
        subsidy.approve_application(session, operator, app.id, note="模型调用合同齐全，同意。")
        app_id = app.id
    if session.scalar(select(VoucherGrant.id).where(VoucherGrant.application_id == app_id)) is None:
        flows.fund_from_voucher(session, operator, app_id)


def _wallet_and_key(
    session: Session,
    operator: Actor,
    org_id: int,
    key_name: str,
    own_yuan: int,
    calls: list[tuple[int, int, int, str]],
) -> None:
    funded = session.scalar(
        select(WalletEntry.id).where(WalletEntry.org_id == org_id, WalletEntry.kind == EntryKind.FUND_OWN).limit(1)
    )
    if funded is None:
        service.fund_wallet(session, operator, org_id, own_yuan * 100, note="对公转账，演示数据")
    keys = service.list_keys(session, operator, org_id=org_id)
    key = keys[0] if keys else service.create_key(session, operator, KeyIn(name=key_name), org_id=org_id)[0]
    if session.scalar(select(Usage.id).where(Usage.org_id == org_id).limit(1)) is not None:
        return
    targets = service.targets(session, key, ALIAS)
    messages = [{"role": "user", "content": "请把这批螺栓的抽检结果整理成一段质检结论。"}]
    today = datetime.combine(utcnow().date(), time(9, 30), UTC)
    for i, (days_ago, prompt, completion, status) in enumerate(calls):
        at = today - timedelta(days=days_ago, minutes=7 * i)
        bound_in, bound_out, price_in, price_out = service.hold_bound(targets, messages, None, key.max_tokens)
        hold = ledger.take_hold(
            session,
            HoldRequest(
                key=key,
                alias=ALIAS,
                route_id=targets[0].route_id,
                input_bound=bound_in,
                output_bound=bound_out,
                input_mf_per_1k=price_in,
                output_mf_per_1k=price_out,
                lifetime=timedelta(minutes=5),
                fingerprint=ledger.fingerprint("demo", org_id, i),
            ),
            now=at,
        )
        ledger.settle_hold(
            session,
            hold,
            Metered(
                prompt_tokens=prompt,
                completion_tokens=completion,
                estimated=status != "ok",  # a stream cut short carries no usage: the gateway counted its text
                status=status,
                stream=True,
                upstream_id=targets[0].upstream_id,
                upstream_model=targets[0].upstream_model,
                latency_ms=900 + 9 * completion,
                ttft_ms=180,
            ),
            now=at + timedelta(seconds=2),
        )
