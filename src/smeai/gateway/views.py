"""What the gateway's pages and the usage export read: sums by day, model and key, names in place of ids,
price versions, funding history, losses by upstream, and money in 元. Read-only: every query goes through
service.py's scoped functions or checks the same permissions first, so a page shows nothing its reader
could not get from the API."""

from __future__ import annotations

import io
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smeai.auth import service as auth_service
from smeai.auth.actor import Actor
from smeai.auth.models import Organisation
from smeai.auth.permissions import OrgKind, Permission
from smeai.db import utcnow
from smeai.gateway import flows, service
from smeai.gateway.ledger import BP, EntryKind
from smeai.gateway.models import Price, Route, Upstream, Usage, VoucherGrant, WalletEntry
from smeai.gateway.schemas import UsageDayOut
from smeai.i18n import N_, _, get_lang
from smeai.subsidy import service as subsidy
from smeai.subsidy.models import Application
from smeai.subsidy.programmes import VoucherType, all_programmes
from smeai.subsidy.schemas import ApplicationState
from smeai.web.downloads import row as safe_row

MF_PER_YUAN = 100_000  # 1 元 = 100 fen = 100,000 milli-fen


def yuan(mf: int | None) -> str:
    """Milli-fen as people read money: 元 with two decimals, more (up to five) only where a small amount
    needs them (a call of 0.0032 元), 万元 from ten thousand 元 up; English: CNY."""
    if mf is None:
        return "—"
    amount = Decimal(mf) / MF_PER_YUAN  # exact: milli-fen are five decimals of a 元
    if get_lang() != "en" and abs(amount) >= 10_000:
        return f"{amount / 10_000:,.2f}".rstrip("0").rstrip(".") + " 万元"
    text = f"{amount:,.5f}".rstrip("0")
    if len(text.split(".")[1]) < 2:
        text = f"{amount:,.2f}"
    return f"CNY {text}" if get_lang() == "en" else f"{text} 元"


def _plain(number: Decimal) -> str:
    """A decimal without trailing zeros after its point (30, 0.08), never in exponent form."""
    text = f"{number:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fen_per_1k(mf_per_1k: int | None) -> str:
    """A price as the operator typed it: fen per 1,000 tokens (milli-fen per 1,000 over 1,000)."""
    return "—" if mf_per_1k is None else _plain(Decimal(mf_per_1k) / 1000)


def percent(bp: int) -> str:
    return _plain(Decimal(bp) * 100 / BP) + "%"


# --- usage sums ------------------------------------------------------------------------------------------


@dataclass
class Totals:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_mf: int = 0  # before the voucher
    voucher_mf: int = 0
    own_mf: int = 0  # after the voucher: what the enterprise pays

    def add(self, row: UsageDayOut) -> None:
        self.calls += row.calls
        self.prompt_tokens += row.prompt_tokens
        self.completion_tokens += row.completion_tokens
        self.cost_mf += row.cost_milli_fen
        self.voucher_mf += row.voucher_milli_fen
        self.own_mf += row.own_milli_fen


@dataclass
class UsageReport:
    """A reader's usage over a period, summed three ways (rows are service.usage_by_day's)."""

    rows: list[UsageDayOut]
    key_names: dict[int, str]
    org_names: dict[int, str] = field(default_factory=dict)
    total: Totals = field(default_factory=Totals)
    by_day: list[tuple[date, Totals]] = field(default_factory=list)
    by_model: list[tuple[str, Totals]] = field(default_factory=list)
    by_key: list[tuple[str, Totals]] = field(default_factory=list)


def _sum_by(rows: Iterable[UsageDayOut], group: Callable[[UsageDayOut], Hashable]) -> dict[Hashable, Totals]:
    out: dict[Hashable, Totals] = {}
    for row in rows:
        out.setdefault(group(row), Totals()).add(row)
    return out


def usage_report(
    session: Session,
    actor: Actor,
    *,
    org_id: int | None = None,
    day_from: date | None = None,
    day_to: date | None = None,
) -> UsageReport:
    rows = service.usage_by_day(session, actor, org_id=org_id, day_from=day_from, day_to=day_to)
    names = key_names(session, actor, org_id=org_id)
    report = UsageReport(rows=rows, key_names=names)
    for row in rows:
        report.total.add(row)
    days = _sum_by(rows, lambda r: r.day)
    report.by_day = sorted(((d, t) for d, t in days.items() if isinstance(d, date)), reverse=True)
    report.by_model = sorted(((str(m), t) for m, t in _sum_by(rows, lambda r: r.model).items()), key=lambda x: x[0])
    keys = _sum_by(rows, lambda r: r.key_id)
    report.by_key = sorted(((names.get(int(str(k)), "—"), t) for k, t in keys.items()), key=lambda x: x[0])
    return report


def key_names(session: Session, actor: Actor, *, org_id: int | None = None) -> dict[int, str]:
    """Key id → its name, for the keys the reader may see (an operator: every organisation's)."""
    return {k.id: k.name for k in service.list_keys(session, actor, org_id=org_id)}


def org_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    return dict(session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(wanted))).all())


def recent_calls(
    session: Session,
    actor: Actor,
    *,
    org_id: int | None = None,
    day_from: date | None = None,
    day_to: date | None = None,
    limit: int | None = 50,
) -> list[Usage]:
    """The latest calls (newest first), through the API's own scoped query."""
    query = service.usage_query(actor, org_id=org_id)
    if day_from is not None:
        query = query.where(Usage.day >= day_from)
    if day_to is not None:
        query = query.where(Usage.day <= day_to)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


# --- wallet ----------------------------------------------------------------------------------------------

FUNDING_KINDS = (EntryKind.FUND_OWN, EntryKind.FUND_VOUCHER, EntryKind.RELEASE_VOUCHER)


def funding_history(session: Session, actor: Actor, *, org_id: int | None = None) -> list[WalletEntry]:
    """Top-ups, voucher funding and releases of the reader's wallet (the operator: of ORG_ID's)."""
    wallet = service.get_wallet(session, actor, org_id=org_id)  # checks the reader may see this wallet
    return list(
        session.scalars(
            select(WalletEntry)
            .where(WalletEntry.org_id == wallet.org_id, WalletEntry.kind.in_(FUNDING_KINDS))
            .order_by(WalletEntry.id.desc())
            .limit(100)
        )
    )


def grants(session: Session, actor: Actor, *, org_id: int | None = None) -> list[VoucherGrant]:
    return flows.list_grants(session, actor, org_id=org_id)


def programme_name(code: str) -> str:
    return subsidy.programme_name(code)


def fundable_vouchers(session: Session, actor: Actor) -> list[Application]:
    """Approved 模型券 applications that fund no wallet yet: what an operator may turn into call money."""
    actor.require(Permission.GATEWAY_MANAGE)
    programmes = all_programmes()
    funded = set(session.scalars(select(VoucherGrant.application_id)))
    return [
        a
        for a in subsidy.list_applications(session, actor, state=ApplicationState.APPROVED)
        if a.id not in funded and getattr(programmes.get(a.programme_code), "voucher", None) is VoucherType.MODEL
    ]


def enterprise_choices(session: Session, actor: Actor) -> list[tuple[int, str]]:
    """(id, name) of every enterprise, for the operator's top-up form."""
    actor.require(Permission.GATEWAY_MANAGE)
    orgs = auth_service.list_organisations(session, actor, kind=OrgKind.ENTERPRISE)
    return sorted(((o.id, o.name) for o in orgs), key=lambda x: x[1])


# --- the operator's view -----------------------------------------------------------------------------------


@dataclass
class PriceVersion:
    route_id: int
    input_mf_per_1k: int
    output_mf_per_1k: int
    effective_from: datetime
    cached_input_mf_per_1k: int | None = None  # None: cached input tokens at the input price
    current: bool = False
    future: bool = False


def price_versions(session: Session, actor: Actor, *, now: datetime | None = None) -> dict[int, list[PriceVersion]]:
    """Every price of every model route, newest first, the one in force marked (operators only)."""
    actor.require(Permission.GATEWAY_MANAGE)
    now = now or utcnow()
    out: dict[int, list[PriceVersion]] = {}
    rows = session.scalars(select(Price).order_by(Price.route_id, Price.effective_from.desc(), Price.id.desc()))
    for p in rows:
        versions = out.setdefault(p.route_id, [])
        future = _aware(p.effective_from) > now
        current = not future and not any(v.current for v in versions)
        versions.append(
            PriceVersion(
                p.route_id,
                p.input_mf_per_1k,
                p.output_mf_per_1k,
                p.effective_from,
                p.cached_input_mf_per_1k,
                current=current,
                future=future,
            )
        )
    return out


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@dataclass
class LossLine:
    upstream: str
    model: str
    calls: int
    list_mf: int
    cost_mf: int
    loss_mf: int


def losses_by_upstream(session: Session, actor: Actor) -> list[LossLine]:
    """The operator's losses summed by upstream and model (calls whose list price passed their hold)."""
    actor.require(Permission.GATEWAY_MANAGE)
    rows = session.execute(
        select(
            func.coalesce(Upstream.name, ""),
            Usage.model,
            func.count(Usage.id),
            func.sum(Usage.list_mf),
            func.sum(Usage.cost_mf),
            func.sum(Usage.loss_mf),
        )
        .outerjoin(Upstream, Upstream.id == Usage.upstream_id)
        .where(Usage.loss_mf > 0)
        .group_by(Upstream.name, Usage.model)
        .order_by(func.sum(Usage.loss_mf).desc())
    )
    return [LossLine(str(u), str(m), int(n), int(lm), int(c), int(lo)) for u, m, n, lm, c, lo in rows]


def route_labels(session: Session, actor: Actor) -> list[tuple[int, str]]:
    """(route id, "alias · upstream") for the price form's choice of model."""
    actor.require(Permission.GATEWAY_MANAGE)
    rows = session.execute(
        select(Route.id, Route.alias, Upstream.name)
        .join(Upstream, Upstream.id == Route.upstream_id)
        .order_by(Route.alias, Upstream.name)
    )
    return [(rid, f"{alias} · {up}") for rid, alias, up in rows]


# --- the Excel export ------------------------------------------------------------------------------------

STATUS = {  # a usage record's status, in words
    "ok": N_("Completed"),
    "disconnected": N_("Client disconnected"),
    "upstream_error": N_("Upstream error"),
    "truncated": N_("Cut short"),
}
ENTRY_KINDS = {  # the wallet's funding entries, in words
    EntryKind.FUND_OWN: N_("Top-up"),
    EntryKind.FUND_VOUCHER: N_("Model voucher funded"),
    EntryKind.RELEASE_VOUCHER: N_("Voucher period ended: unspent money released"),
}


def _yuan_number(mf: int) -> Decimal:
    return Decimal(mf) / MF_PER_YUAN


def usage_xlsx(
    session: Session,
    actor: Actor,
    *,
    org_id: int | None = None,
    day_from: date | None = None,
    day_to: date | None = None,
) -> bytes:
    """The reader's usage as a workbook: every call, then sums by day, model and key, money in 元."""
    from openpyxl import Workbook  # heavy: loaded by the export only

    report = usage_report(session, actor, org_id=org_id, day_from=day_from, day_to=day_to)
    calls = recent_calls(session, actor, org_id=org_id, day_from=day_from, day_to=day_to, limit=None)
    manage = actor.can(Permission.GATEWAY_MANAGE)
    orgs = org_names(session, {c.org_id for c in calls}) if manage else {}
    money = [_("Cost before subsidy (元)"), _("Voucher pays (元)"), _("You pay (元)")]
    tokens = [_("Input tokens"), _("Output tokens")]
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _("Call details")[:31]
    who = [_("Enterprise")] if manage else []
    ws.append([_("Time (UTC)"), *who, _("Key"), _("Model"), *tokens, _("Counted by"), _("Status"), *money])
    for c in calls:
        ws.append(
            safe_row(
                [
                    c.created_at.replace(tzinfo=None),
                    *([orgs.get(c.org_id, "")] if manage else []),
                    report.key_names.get(c.key_id, ""),
                    c.model,
                    c.prompt_tokens,
                    c.completion_tokens,
                    _("Estimated") if c.estimated else _("Upstream"),
                    _(STATUS.get(c.status, c.status)),
                    _yuan_number(c.cost_mf),
                    _yuan_number(c.voucher_mf),
                    _yuan_number(c.own_mf),
                ]
            )
        )
    for title, first, groups in (
        (_("By day"), _("Day"), report.by_day),
        (_("By model"), _("Model"), report.by_model),
        (_("By key"), _("Key"), report.by_key),
    ):
        sheet = wb.create_sheet(title[:31])
        sheet.append([first, _("Calls"), *tokens, *money])
        for name, t in groups:
            sheet.append(
                safe_row(
                    [
                        name,
                        t.calls,
                        t.prompt_tokens,
                        t.completion_tokens,
                        _yuan_number(t.cost_mf),
                        _yuan_number(t.voucher_mf),
                        _yuan_number(t.own_mf),
                    ]
                )
            )
    for sheet in wb.worksheets:
        for cells in sheet.iter_rows(min_row=2):
            for cell in cells:
                if isinstance(cell.value, Decimal):
                    cell.number_format = "0.00000"
                elif isinstance(cell.value, datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm:ss"
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
