"""The operator's view of the money: pools, burn over time, by programme / region / industry, applications
by state, and the Excel workbook for the finance bureau. Everything is derived from the ledger."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO
from typing import Any, TypedDict

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from smeai import taxonomy
from smeai.auth.actor import Actor
from smeai.auth.models import Organisation
from smeai.auth.permissions import Permission
from smeai.db import utcnow
from smeai.subsidy.models import Application, LedgerEntry, Pool
from smeai.subsidy.programmes import all_programmes
from smeai.subsidy.schemas import ApplicationState, PoolOut
from smeai.web.downloads import row


@dataclass(frozen=True)
class Slice:
    key: str
    label: str
    committed_fen: int  # reserved + paid
    paid_fen: int


class BurnDay(TypedDict):
    day: str  # ISO date
    reserved_fen: int  # outstanding at the end of the day
    paid_fen: int  # cumulative


@dataclass(frozen=True)
class Dashboard:
    pools: list[PoolOut]
    totals: dict[str, int]
    burn: list[BurnDay]
    by_programme: list[Slice]
    by_region: list[Slice]
    by_industry: list[Slice]
    by_state: dict[str, int]


def pools(session: Session, actor: Actor) -> list[PoolOut]:
    """Every pool: one per programme, or one per budget year for an annual pool (the opened years and this
    year's, shown as not opened until an operator sets its budget)."""
    actor.require(Permission.SUBSIDY_READ_ANY)
    rows = {p.programme_code: p for p in session.scalars(select(Pool))}
    this_year = utcnow().year
    out = []
    for code, p in all_programmes().items():
        if p.pool.annual:
            years = sorted({int(k.split("@", 1)[1]) for k in rows if k.startswith(f"{code}@")} | {this_year})
            keys: list[tuple[str, int | None]] = [(f"{code}@{y}", y) for y in years]
        else:
            keys = [(code, None)]
        for key, year in keys:
            row = rows.get(key)
            opened = row.opened_at is not None if row else not p.pool.annual  # a single pool: its file opens it
            budget = row.budget_fen if row else (p.pool.budget_fen if opened else None)
            reserved, paid = (row.reserved_fen, row.paid_fen) if row else (0, 0)
            out.append(
                PoolOut(
                    programme_code=code,
                    year=year,
                    name=str(p.name),
                    currency=p.currency,
                    opened=opened,
                    budget_fen=budget,
                    reserved_fen=reserved,
                    paid_fen=paid,
                    remaining_fen=None if budget is None or not opened else budget - reserved - paid,
                )
            )
    return out


def _slices(session: Session, column: InstrumentedAttribute[Any], label: Callable[[str], str]) -> list[Slice]:
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = session.execute(
        select(column, LedgerEntry.kind, func.sum(LedgerEntry.amount_fen))
        .join(Organisation, Organisation.id == LedgerEntry.org_id)
        .group_by(column, LedgerEntry.kind)
    )
    for key, kind, total in rows:
        sums[str(key or "")][kind] += int(total or 0)
    out = [Slice(k, label(k), v["reserve"] - v["release"], v["payout"]) for k, v in sums.items()]
    return sorted(out, key=lambda s: -s.committed_fen)


def build(session: Session, actor: Actor) -> Dashboard:
    actor.require(Permission.SUBSIDY_READ_ANY)
    pool_rows = pools(session, actor)
    programmes = all_programmes()
    # burn: the outstanding reservations and the cumulative payouts at the end of each day
    per_day: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    day = func.date(LedgerEntry.created_at)
    for d, kind, total in session.execute(
        select(day, LedgerEntry.kind, func.sum(LedgerEntry.amount_fen)).group_by(day, LedgerEntry.kind).order_by(day)
    ):
        per_day[str(d)][kind] += int(total or 0)
    burn: list[BurnDay] = []
    reserved = paid = 0
    if per_day:  # start the curve at zero on the day before the first entry
        from datetime import date, timedelta

        first = date.fromisoformat(min(per_day)[:10])
        burn.append({"day": (first - timedelta(days=1)).isoformat(), "reserved_fen": 0, "paid_fen": 0})
    for d in sorted(per_day):
        s = per_day[d]
        reserved += s["reserve"] - s["release"] - s["payout"]
        paid += s["payout"]
        burn.append({"day": d, "reserved_fen": reserved, "paid_fen": paid})
    by_state = {s.value: 0 for s in ApplicationState}
    for state, n in session.execute(select(Application.state, func.count()).group_by(Application.state)):
        by_state[state] = int(n)
    cny = [p for p in pool_rows if p.currency == "CNY"]  # totals never add yuan to dollars
    totals = {
        "budget_fen": sum(p.budget_fen or 0 for p in cny),
        "reserved_fen": sum(p.reserved_fen for p in cny),
        "paid_fen": sum(p.paid_fen for p in cny),
        "remaining_fen": sum(p.remaining_fen for p in cny if p.remaining_fen is not None),
    }
    return Dashboard(
        pools=pool_rows,
        totals=totals,
        burn=burn,
        by_programme=_slices(
            session, LedgerEntry.programme_code, lambda c: str(programmes[c].name) if c in programmes else c
        ),
        by_region=_slices(session, Organisation.province_code, lambda c: taxonomy.name("provinces", c) or "—"),
        by_industry=_slices(session, Organisation.industry_section, lambda c: taxonomy.name("sections", c) or "—"),
        by_state=by_state,
    )


def export_xlsx(session: Session, actor: Actor) -> bytes:
    """Pools, applications and the full ledger, one sheet each, amounts in 元 with two decimals."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    actor.require(Permission.SUBSIDY_READ_ANY)
    wb = Workbook()
    ws = wb.active
    ws.title = "资金池 Pools"
    ws.append(
        row(
            [
                "项目代码 code",
                "项目 programme",
                "预算 budget (元)",
                "已预留 reserved (元)",
                "已兑付 paid (元)",
                "剩余 remaining (元)",
            ]
        )
    )
    for p in pools(session, actor):
        ws.append(
            row(
                [
                    p.programme_code,
                    p.name,
                    _yuan(p.budget_fen),
                    _yuan(p.reserved_fen),
                    _yuan(p.paid_fen),
                    _yuan(p.remaining_fen),
                ]
            )
        )
    orgs = {o.id: o for o in session.scalars(select(Organisation))}
    wa = wb.create_sheet("申领 Applications")
    wa.append(
        row(
            [
                "编号 id",
                "项目 programme",
                "企业 enterprise",
                "地区 province",
                "行业 section",
                "状态 state",
                "采购 purchase",
                "供应商 supplier",
                "合同号 contract",
                "合同金额 contract (元)",
                "测算 requested (元)",
                "批准 approved (元)",
                "兑付 paid (元)",
                "申请时间 created (UTC)",
            ]
        )
    )
    for a in session.scalars(select(Application).order_by(Application.id)):
        org = orgs.get(a.org_id)
        wa.append(
            row(
                [
                    a.id,
                    a.programme_code,
                    org.name if org else a.org_id,
                    org.province_code if org else "",
                    org.industry_section if org else "",
                    a.state,
                    a.description,
                    a.supplier_name,
                    a.contract_no,
                    _yuan(a.contract_fen),
                    _yuan(a.requested_fen),
                    _yuan(a.approved_fen),
                    _yuan(a.paid_fen),
                    a.created_at.replace(tzinfo=None),
                ]
            )
        )
    wl = wb.create_sheet("台账 Ledger")
    wl.append(
        row(
            [
                "编号 id",
                "类型 kind",
                "项目 programme",
                "申领 application",
                "企业 enterprise",
                "年度 year",
                "金额 amount (元)",
                "时间 at (UTC)",
            ]
        )
    )
    for e in session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)):
        wl.append(
            row(
                [
                    e.id,
                    e.kind,
                    e.programme_code,
                    e.application_id,
                    e.org_id,
                    e.budget_year,
                    _yuan(e.amount_fen),
                    e.created_at.replace(tzinfo=None),
                ]
            )
        )
    for sheet in wb.worksheets:
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for column in sheet.columns:
            sheet.column_dimensions[column[0].column_letter].width = 18
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else Decimal(fen) / 100  # exact: no float touches money
