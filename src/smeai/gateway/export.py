"""Usage as an Excel workbook: every call, and the sums by day, model and key, with the cost before the
voucher and after it. Amounts in 元 to five decimals (a milli-fen is 0.00001 元), exact: no float touches money."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import BytesIO

from sqlalchemy.orm import Session

from smeai.auth.actor import Actor
from smeai.auth.permissions import Permission
from smeai.gateway import service
from smeai.gateway.models import Key
from smeai.web.downloads import row


def yuan(milli_fen: int) -> Decimal:
    return Decimal(milli_fen) / 100_000


def usage_xlsx(
    session: Session,
    actor: Actor,
    *,
    org_id: int | None = None,
    day_from: date | None = None,
    day_to: date | None = None,
) -> bytes:
    """The actor's usage (an operator's: ORG_ID's or everyone's), one sheet per view."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    if not actor.can(Permission.GATEWAY_MANAGE):
        actor.require(Permission.GATEWAY_USE)
    keys = {k.id: k for k in service.list_keys(session, actor, org_id=org_id)}
    wb = Workbook()
    ws = wb.active
    ws.title = "按日 By day"
    ws.append(
        row(
            [
                "日期 day",
                "模型 model",
                "密钥 key",
                "调用 calls",
                "输入 tokens in",
                "输出 tokens out",
                "费用 cost (元)",
                "模型券 voucher (元)",
                "自付 after voucher (元)",
            ]
        )
    )
    for d in service.usage_by_day(session, actor, org_id=org_id, day_from=day_from, day_to=day_to):
        ws.append(
            row(
                [
                    d.day.isoformat(),
                    d.model,
                    _key_name(keys, d.key_id),
                    d.calls,
                    d.prompt_tokens,
                    d.completion_tokens,
                    yuan(d.cost_milli_fen),
                    yuan(d.voucher_milli_fen),
                    yuan(d.own_milli_fen),
                ]
            )
        )
    wc = wb.create_sheet("调用 Calls")
    wc.append(
        row(
            [
                "编号 id",
                "时间 time (UTC)",
                "模型 model",
                "密钥 key",
                "输入 tokens in",
                "输出 tokens out",
                "估算 estimated",
                "状态 status",
                "费用 cost (元)",
                "模型券 voucher (元)",
                "自付 after voucher (元)",
            ]
        )
    )
    for u in service.list_usage(session, actor, org_id=org_id):
        if (day_from and u.day < day_from) or (day_to and u.day > day_to):
            continue
        wc.append(
            row(
                [
                    u.id,
                    u.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    u.model,
                    _key_name(keys, u.key_id),
                    u.prompt_tokens,
                    u.completion_tokens,
                    "是 yes" if u.estimated else "",
                    u.status,
                    yuan(u.cost_mf),
                    yuan(u.voucher_mf),
                    yuan(u.own_mf),
                ]
            )
        )
    for sheet in (ws, wc):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _key_name(keys: dict[int, Key], key_id: int) -> str:
    key = keys.get(key_id)
    return f"{key.name} ({key.prefix}…)" if key else str(key_id)
