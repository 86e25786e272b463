"""Work that spans the gateway and the subsidy domain: 模型券 that pay for real calls.

An approved 模型券 application funds the enterprise's wallet voucher part with its approved amount, at its
programme's rate (the voucher's share of each call). Its money stays reserved in the programme's pool while
calls spend it, so the pool can never be overspent: the wallet's voucher part is at most what was reserved.
At the period's end (the approval's redeem-by date, or an operator closing it) what was spent is paid out of
the pool through the subsidy ledger and the rest is released, in one transaction with the wallet's release.
While it funds the wallet the application is being redeemed (兑付中): it can be neither withdrawn nor expired,
either of which would release the reservation that backs the money calls are spending.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from smeai.auth import audit as audit_log
from smeai.auth.actor import Actor
from smeai.auth.permissions import Permission
from smeai.db import utcnow
from smeai.errors import Conflict, Invalid, NotFound
from smeai.gateway import ledger, service
from smeai.gateway.models import VoucherGrant
from smeai.i18n import N_
from smeai.subsidy import service as subsidy
from smeai.subsidy.models import Application
from smeai.subsidy.programmes import VoucherType
from smeai.subsidy.schemas import ApplicationState


def fund_from_voucher(
    session: Session, actor: Actor, application_id: int, *, ends_on: date | None = None
) -> VoucherGrant:
    """Fund the enterprise's wallet from its approved 模型券 application (an operator's act, audited)."""
    actor.require(Permission.GATEWAY_MANAGE)
    app = subsidy.get_application(session, actor, application_id)
    p = subsidy.get_programme(app.programme_code)
    if p.voucher is not VoucherType.MODEL:
        raise Invalid(
            N_("Only a 模型券 (model voucher) can fund model calls."), fields={"application_id": "not a 模型券"}
        )
    if session.scalar(select(VoucherGrant.id).where(VoucherGrant.application_id == app.id)) is not None:
        raise Conflict(N_("This voucher already funds a wallet."))
    if app.state != ApplicationState.APPROVED or not app.approved_fen:
        raise Conflict(N_("The application is not in a state that allows this."), state=app.state)
    rate_bp = int(p.rate * ledger.BP)
    grant = VoucherGrant(
        org_id=app.org_id,
        application_id=app.id,
        programme_code=p.code,
        rate_bp=rate_bp,
        funded_mf=app.approved_fen * 1000,
        spent_mf=0,
        ends_on=ends_on or app.redeem_by_on,
        created_by_id=actor.user_id,
        created_at=utcnow(),
    )
    session.add(grant)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(N_("This voucher already funds a wallet.")) from None
    ledger.fund_voucher(session, grant, actor.user_id)
    # Redeeming from now on: a withdrawal or the subsidy's expiry would release the reservation that backs
    # the wallet's voucher part while calls still spend it.
    subsidy.start_metered_redemption(session, actor, app.id)
    audit_log.record(
        session,
        actor,
        "gateway.voucher_fund",
        grant,
        after={"application_id": app.id, "funded_mf": grant.funded_mf, "rate_bp": rate_bp},
    )
    return grant


def close_voucher(session: Session, actor: Actor, grant_id: int) -> VoucherGrant:
    """Period end: release the unspent voucher money from the wallet and settle the application: what was
    spent (whole fen; the part of a fen below is the centre's) is paid out of the pool, the rest released."""
    actor.require(Permission.GATEWAY_MANAGE)
    grant = session.get(VoucherGrant, grant_id)
    if grant is None:
        raise NotFound(N_("Voucher not found."))
    if grant.closed_at is not None:
        raise Conflict(N_("This voucher is already closed."))
    session.refresh(grant)
    ledger.release_voucher(session, grant, actor.user_id)
    session.refresh(grant)  # spent_mf as the settlements left it
    paid_fen = grant.spent_mf // 1000
    subsidy.settle_metered(session, actor, grant.application_id, paid_fen=paid_fen, note="metered by the gateway")
    grant.closed_at, grant.paid_fen = utcnow(), paid_fen
    session.flush()
    audit_log.record(
        session, actor, "gateway.voucher_close", grant, after={"spent_mf": grant.spent_mf, "paid_fen": paid_fen}
    )
    return grant


def close_due_vouchers(session: Session, actor: Actor, *, today: date | None = None) -> list[VoucherGrant]:
    """Close every open voucher whose period ended before TODAY (the scheduled job); one with calls still
    holding its money waits for the next run."""
    actor.require(Permission.GATEWAY_MANAGE)
    today = today or utcnow().date()
    due = session.scalars(
        select(VoucherGrant.id).where(VoucherGrant.closed_at.is_(None), VoucherGrant.ends_on < today)
    ).all()
    closed = []
    for grant_id in due:
        try:
            closed.append(close_voucher(session, actor, grant_id))
        except Conflict:
            continue
    return closed


def list_grants(session: Session, actor: Actor, *, org_id: int | None = None) -> list[VoucherGrant]:
    query = select(VoucherGrant).order_by(VoucherGrant.id.desc())
    if actor.can(Permission.GATEWAY_MANAGE):
        if org_id is not None:
            query = query.where(VoucherGrant.org_id == org_id)
    else:
        actor.require(Permission.GATEWAY_USE)
        query = query.where(VoucherGrant.org_id == actor.org_id)
    return list(session.scalars(query))


def audit(session: Session, actor: Actor) -> ledger.AuditReport:
    """The gateway's books, and that each voucher grant agrees with its application in the subsidy ledger."""
    actor.require(Permission.GATEWAY_MANAGE)
    grants = list(session.scalars(select(VoucherGrant)))
    apps = {
        a.id: a
        for a in session.scalars(select(Application).where(Application.id.in_([g.application_id for g in grants])))
    }
    report = service.audit(session, actor, {i: a.approved_fen or 0 for i, a in apps.items()})
    for g in grants:
        app = apps.get(g.application_id)
        if app is None:
            report.problems.append(f"voucher grant {g.id}: no application {g.application_id}")
        elif g.closed_at is None and app.state not in (ApplicationState.APPROVED, ApplicationState.REDEEMING):
            report.problems.append(f"voucher grant {g.id}: open, but application {app.id} is {app.state}")
        elif g.closed_at is not None and (app.state != ApplicationState.PAID or app.paid_fen != g.paid_fen):
            report.problems.append(
                f"voucher grant {g.id}: paid {g.paid_fen} fen at close, application {app.id} is {app.state} "
                f"with {app.paid_fen} paid"
            )
        if g.paid_fen is not None and g.paid_fen * 1000 > g.spent_mf:
            report.problems.append(f"voucher grant {g.id}: paid {g.paid_fen} fen, more than its calls spent")
    return report
