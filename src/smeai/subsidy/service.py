"""Subsidy rules: the flow apply → approve (reserve) → redeem → verify (payout), and idempotency keys.
The calculator lives in calculator.py and is re-exported here (`service.calculate`).

Enterprises apply for their own organisation and see only their own applications; operators review any;
providers never act on, or see, an enterprise's claim (a foreign or invisible application is NotFound).
Services never commit: the API route, page or CLI command commits once.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, delete, false, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from smeai.auth import account as auth_account
from smeai.auth import audit as audit_log  # subsidy's own audit() checks the ledger
from smeai.auth.actor import Actor
from smeai.auth.models import Organisation
from smeai.auth.permissions import OrgKind, Permission
from smeai.db import rows_matched, utcnow
from smeai.errors import Conflict, Invalid, NotFound
from smeai.i18n import N_
from smeai.subsidy import ledger
from smeai.subsidy.calculator import (  # noqa: F401  (calculate, programme_out, list_programmes: the public API)
    assess,
    best_combination,
    budget_year,
    calculate,
    check_dates,
    committed_totals,
    contract_ref,
    counter_keys,
    get_programme,
    grouped_programmes,
    list_programmes,
    listed_in_of,
    money,
    profile_of,
    programme_name,
    programme_out,
    resolve_purchase,
    stacking_names,
)
from smeai.subsidy.models import (
    AcceptanceRecord,
    Application,
    ApplicationEvent,
    ClaimLock,
    Document,
    IdempotencyKey,
    LedgerEntry,
)
from smeai.subsidy.programme_files import upload_programme  # noqa: F401  (the public API)
from smeai.subsidy.programmes import (  # noqa: F401  (programmes_stamp: the public API)
    Programme,
    all_programmes,
    programmes_stamp,
    stacking_partners,
)
from smeai.subsidy.schemas import (
    ApplicationIn,
    ApplicationState,
    ReasonOut,
    describe,
)

S = ApplicationState


class NotEligible(Invalid):
    """A programme rule refuses the claim; `fields` names each failed rule and why."""

    code = "not_eligible"


class AlreadyClaimed(Conflict):
    """The contract is already claimed under this programme or one it may not be combined with."""

    code = "already_claimed"


class WrongState(Conflict):
    """The application's state does not allow this step (e.g. approving a withdrawn claim)."""

    code = "wrong_state"


class MissingDocuments(Conflict):
    """A step needs documents not yet uploaded; `fields` names each missing kind."""

    code = "missing_documents"


class AcceptancePending(Conflict):
    """A post-completion programme's claim is approved only by a passed acceptance (acceptance.py)."""

    code = "acceptance_pending"


class IdempotencyKeyInFlight(Conflict):
    """A request with the same Idempotency-Key was running at the same moment; retrying gets its answer."""

    code = "idempotency_key_in_flight"


class IdempotencyKeyReused(Conflict):
    """An Idempotency-Key was sent again with a different request."""

    code = "idempotency_key_reused"


# --- applications ---------------------------------------------------------------------------------------


def visible_applications(actor: Actor) -> ColumnElement[bool]:
    if actor.can(Permission.SUBSIDY_READ_ANY):
        return true()
    if actor.can(Permission.SUBSIDY_APPLY) and actor.org_id is not None:
        return Application.org_id == actor.org_id
    return false()


def get_application(session: Session, actor: Actor, application_id: int) -> Application:
    app = session.scalar(select(Application).where(Application.id == application_id, visible_applications(actor)))
    if app is None:  # absent and not-yours look the same
        raise NotFound(N_("Application not found."))
    return app


def applications_query(
    actor: Actor,
    *,
    state: ApplicationState | None = None,
    programme_code: str | None = None,
    org_id: int | None = None,
) -> Select[Application]:
    """The applications the actor may see under the filters, newest first: a select, so the API pages it
    in SQL (`web.paging.page_select`)."""
    query = select(Application).where(visible_applications(actor))
    if state is not None:
        query = query.where(Application.state == state)
    if programme_code:
        query = query.where(Application.programme_code == programme_code)
    if org_id is not None:
        query = query.where(Application.org_id == org_id)
    return query.order_by(Application.id.desc())


def list_applications(
    session: Session,
    actor: Actor,
    *,
    state: ApplicationState | None = None,
    programme_code: str | None = None,
    org_id: int | None = None,
) -> list[Application]:
    query = applications_query(actor, state=state, programme_code=programme_code, org_id=org_id)
    return list(session.scalars(query))


def events(session: Session, actor: Actor, application_id: int) -> list[ApplicationEvent]:
    get_application(session, actor, application_id)
    return list(
        session.scalars(
            select(ApplicationEvent)
            .where(ApplicationEvent.application_id == application_id)
            .order_by(ApplicationEvent.id)
        )
    )


def lock_keys(programmes: dict[str, Programme], p: Programme, ref: str, service_year: int) -> set[str]:
    """Exclusivity as unique keys: two live claims that may not coexist produce the same key."""
    keys: set[str] = set()
    ex = p.exclusivity
    if ex.one_claim_per_contract or ex.one_side_per_contract:  # 每份合同只能申领一次; 供方或需方, 不得双方
        keys.add(f"claim:{p.code}:{ref}")
    if ex.one_claim_per_service_year:
        keys.add(f"claim:{p.code}:{ref}:year-{service_year}")
    for other in stacking_partners(programmes, p.code):  # 不得叠加: the pair's key, whichever files first
        a, b = sorted((p.code, other))
        keys.add(f"stack:{a}|{b}:{ref}")
    return keys


def _event(
    session: Session, app: Application, actor: Actor, action: str, from_state: str | None, note: str | None = None
) -> None:
    session.add(
        ApplicationEvent(
            application_id=app.id,
            action=action,
            from_state=from_state,
            to_state=app.state,
            actor_user_id=actor.user_id,
            note=note,
        )
    )


def submit_application(
    session: Session, actor: Actor, data: ApplicationIn, *, today: date | None = None
) -> Application:
    """申领: the enterprise claims under one programme; refused unless every rule passes, with each failure named."""
    actor.require(Permission.SUBSIDY_APPLY)
    if actor.org_id is None or actor.org_kind is not OrgKind.ENTERPRISE:
        raise NotFound(N_("Organisation not found."))
    today = today or utcnow().date()  # the application's date: the server's, never the applicant's
    p = get_programme(data.programme_code, field="programme_code")
    filled, offering = resolve_purchase(session, actor, data)
    data = ApplicationIn.model_validate(filled.model_dump())
    if not data.supplier_name:
        raise Invalid(N_("Please correct the marked fields."), fields={"supplier_name": "This field is required."})
    check_dates(p, data, today)
    org = session.get(Organisation, actor.org_id)
    assert org is not None
    committed = committed_totals(session, [k for k in counter_keys(p, org.id, data, today) if k])
    reasons, result = assess(
        p, org.id, profile_of(org), data, today=today, committed=committed, listed_in=listed_in_of(offering)
    )
    failed = [r for r in reasons if not r.ok]
    if failed:
        raise NotEligible(
            N_("Not eligible for this programme."),
            fields={r.rule: describe(r.rule, r.message, dict(r.params)) for r in failed},
        )
    if result.amount_fen <= 0:
        raise ledger.CapReached(N_("Nothing is left to claim under this programme's caps."))
    year = budget_year(p, data.signed_on, today)
    ledger.require_open(session, p, year)  # an annual pool's year is opened by an operator, never by a claim
    ref = contract_ref(data.supplier_name, data.contract_no)
    app = Application(
        programme_code=p.code,
        programme_version=p.version or None,
        org_id=org.id,
        applicant_id=actor.user_id,
        state=S.SUBMITTED,
        offering_id=data.offering_id,
        description=data.description or "",
        kind=data.kind,
        supplier_name=data.supplier_name or "",
        supplier_affiliated=data.supplier_affiliated,
        contract_no=data.contract_no,
        contract_ref=ref,
        contract_fen=data.contract_fen,
        signed_on=data.signed_on,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        paid_on=data.paid_on,
        service_year=data.service_year,
        flags=sorted(data.flags),
        applied_on=today,
        budget_year=year,
        requested_fen=result.amount_fen,
        explanation=[ReasonOut.of(r).model_dump(exclude={"text"}) for r in [*reasons, *result.reasons]],
    )
    session.add(app)
    session.flush()
    try:
        with session.begin_nested():
            session.add_all(
                ClaimLock(key=k, application_id=app.id)
                for k in sorted(lock_keys(all_programmes(), p, ref, data.service_year))
            )
            session.flush()
    except IntegrityError:
        raise AlreadyClaimed(
            N_("This contract is already claimed under this programme or one it may not be combined with."),
            fields={"contract_no": "already claimed"},
        ) from None
    _event(session, app, actor, "submit", None)
    return app


def _transition(
    session: Session,
    app: Application,
    actor: Actor,
    action: str,
    from_states: set[S],
    to: S,
    note: str | None = None,
    *,
    metered: bool | None = None,
    **values: object,
) -> None:
    """Move APP from one of FROM_STATES to TO in one conditional UPDATE: two operators cannot both decide.
    METERED True or False: only an application that does (or does not) fund a model-gateway wallet moves."""
    before = app.state
    only = []
    if metered is not None:
        only.append(Application.metered_at.is_not(None) if metered else Application.metered_at.is_(None))
    done = rows_matched(
        session,
        update(Application)
        .where(Application.id == app.id, Application.state.in_([s.value for s in from_states]), *only)
        .values(state=to.value, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False),
    )
    if done != 1:
        if metered is False and app.metered_at is not None:
            raise WrongState(
                N_("This voucher pays for metered model calls: the model gateway settles it, not invoices."),
                state=before,
            )
        raise WrongState(N_("The application is not in a state that allows this."), state=before)
    for key, value in {"state": to.value, **values}.items():
        set_committed_value(app, key, value)
    _event(session, app, actor, action, before, note)
    audit_log.record(session, actor, f"voucher.{action}", app, {"state": before}, {"state": to.value, **values})
    if f"voucher.{action}" in auth_account.NOTICES:  # the centre's decisions reach the enterprise by email too
        path = f"/subsidy/applications/{app.id}"
        auth_account.notify_event(session, f"voucher.{action}", org_id=app.org_id, path=path)


transition = _transition  # acceptance.py moves an application the same way


def _release_locks(session: Session, app: Application) -> None:
    session.execute(delete(ClaimLock).where(ClaimLock.application_id == app.id))


def _documents_present(session: Session, app: Application, kinds: tuple[str, ...]) -> None:
    have = set(session.scalars(select(Document.kind).where(Document.application_id == app.id)))
    missing = [k for k in kinds if k not in have]
    if missing:
        raise MissingDocuments(N_("Upload the required documents first."), fields={k: "missing" for k in missing})


def approve_application(
    session: Session,
    actor: Actor,
    application_id: int,
    *,
    amount_fen: int | None = None,
    note: str | None = None,
    today: date | None = None,
) -> Application:
    """Approve and reserve: the state moves and the amount is reserved against the pool and every cap,
    in this one transaction, or nothing happens."""
    app = get_application(session, actor, application_id)
    actor.require(Permission.SUBSIDY_REVIEW)
    p = get_programme(app.programme_code)
    value = amount_fen or app.requested_fen
    if value > app.requested_fen:
        raise Invalid(N_("Please correct the marked fields."), fields={"amount_fen": "over the computed amount"})
    _documents_present(session, app, tuple(p.documents.apply))
    if p.acceptance.required and not session.scalar(
        select(AcceptanceRecord.passed).where(AcceptanceRecord.application_id == app.id)
    ):  # 改造后补贴: the award is reserved once the finished project passed 验收, never before
        raise AcceptancePending(N_("The project has not passed acceptance yet."))
    today = today or utcnow().date()
    _transition(
        session,
        app,
        actor,
        "approve",
        {S.SUBMITTED},
        S.APPROVED,
        note,
        approved_fen=value,
        decision_note=note,
        redeem_by_on=today + timedelta(days=p.redeem_within_days),
    )
    ledger.reserve(session, p, app, value, actor.user_id)
    return app


def reject_application(session: Session, actor: Actor, application_id: int, *, reasons: str) -> Application:
    app = get_application(session, actor, application_id)
    actor.require(Permission.SUBSIDY_REVIEW)
    _transition(session, app, actor, "reject", {S.SUBMITTED}, S.REJECTED, reasons, decision_note=reasons)
    _release_locks(session, app)
    return app


def withdraw_application(session: Session, actor: Actor, application_id: int) -> Application:
    """The enterprise withdraws its own claim; an approved amount goes back to the pool."""
    app = get_application(session, actor, application_id)
    actor.require(Permission.SUBSIDY_APPLY)
    before, held = app.state, app.approved_fen or 0
    _transition(session, app, actor, "withdraw", {S.SUBMITTED, S.APPROVED}, S.WITHDRAWN)
    if before == S.APPROVED:
        ledger.release(session, get_programme(app.programme_code), app, held, actor.user_id)
    _release_locks(session, app)
    return app


def submit_redemption(session: Session, actor: Actor, application_id: int, *, today: date | None = None) -> Application:
    """兑付: the enterprise asks for payment once invoice, payment and delivery documents are uploaded."""
    app = get_application(session, actor, application_id)
    actor.require(Permission.SUBSIDY_APPLY)
    p = get_programme(app.programme_code)
    today = today or utcnow().date()
    if app.redeem_by_on is not None and today > app.redeem_by_on:
        raise WrongState(N_("The approval has expired."), state=app.state)
    if p.acceptance.required:  # the evidence came with the application; the centre pays after acceptance
        raise WrongState(
            N_("The centre pays this award after acceptance; there is nothing to redeem."), state=app.state
        )
    _documents_present(session, app, tuple(p.documents.redeem))
    _transition(session, app, actor, "redeem", {S.APPROVED}, S.REDEEMING, metered=False)
    return app


def return_redemption(session: Session, actor: Actor, application_id: int, *, reasons: str) -> Application:
    """The operator sends the redemption back (documents insufficient); the reservation stays."""
    app = get_application(session, actor, application_id)
    actor.require(Permission.SUBSIDY_REVIEW)
    _transition(session, app, actor, "return", {S.REDEEMING}, S.APPROVED, reasons, metered=False, decision_note=reasons)
    return app


def verify_redemption(
    session: Session, actor: Actor, application_id: int, *, paid_fen: int | None = None, note: str | None = None
) -> Application:
    """The operator verifies the documents and records the payout; any unpaid remainder is released."""
    app = get_application(session, actor, application_id)
    actor.require(Permission.SUBSIDY_REVIEW)
    approved = app.approved_fen or 0
    value = paid_fen or approved
    if value > approved:
        raise Invalid(N_("Please correct the marked fields."), fields={"paid_fen": "over the approved amount"})
    _transition(session, app, actor, "verify", {S.REDEEMING}, S.PAID, note, metered=False, paid_fen=value)
    ledger.payout(session, get_programme(app.programme_code), app, value, actor.user_id)
    ledger.release(session, get_programme(app.programme_code), app, approved - value, actor.user_id)
    return app


def start_metered_redemption(session: Session, actor: Actor, application_id: int) -> Application:
    """A 模型券 whose amount now funds metered calls (the model gateway): the application is being redeemed
    as it is spent, so it can no longer be withdrawn or expire while calls draw on its reservation."""
    app = get_application(session, actor, application_id)
    actor.require(Permission.SUBSIDY_REVIEW)
    _transition(
        session,
        app,
        actor,
        "redeem",
        {S.APPROVED},
        S.REDEEMING,
        "metered by the model gateway",
        metered=False,
        metered_at=utcnow(),
    )
    return app


def settle_metered(
    session: Session, actor: Actor, application_id: int, *, paid_fen: int, note: str | None = None
) -> Application:
    """Close a voucher that was spent by metered use (模型券 through the model gateway) at its period's end:
    what was used is paid out of the pool, the rest released, in one step. The metering is the proof of
    use, so no redemption documents are asked for; the caller (gateway/flows.py) supplies the amount."""
    app = get_application(session, actor, application_id)
    actor.require(Permission.SUBSIDY_REVIEW)
    approved = app.approved_fen or 0
    if not 0 <= paid_fen <= approved:
        raise Invalid(N_("Please correct the marked fields."), fields={"paid_fen": "over the approved amount"})
    _transition(session, app, actor, "verify", {S.REDEEMING}, S.PAID, note, metered=True, paid_fen=paid_fen)
    p = get_programme(app.programme_code)
    if paid_fen:
        ledger.payout(session, p, app, paid_fen, actor.user_id)
    ledger.release(session, p, app, approved - paid_fen, actor.user_id)
    return app


def expire_applications(session: Session, actor: Actor, *, today: date | None = None) -> list[Application]:
    """Approvals not redeemed by their date expire, and their reservations go back to the pool."""
    actor.require(Permission.SUBSIDY_REVIEW)
    today = today or utcnow().date()
    due = list(
        session.scalars(select(Application).where(Application.state == S.APPROVED, Application.redeem_by_on < today))
    )
    expired = []
    for app in due:
        held = app.approved_fen or 0
        try:
            _transition(session, app, actor, "expire", {S.APPROVED}, S.EXPIRED)
        except WrongState:  # withdrawn or redeemed meanwhile; the conditional UPDATE changed nothing
            continue
        ledger.release(session, get_programme(app.programme_code), app, held, actor.user_id)
        _release_locks(session, app)
        expired.append(app)
    return expired


def budget_years(p: Programme, today: date) -> range:
    """The years an operator may open an annual pool for: within the programme's period, none before 2000,
    none after next year (a budget is set for the coming year at the latest)."""
    first = max(2000, p.pool.period_starts_on.year if p.pool.period_starts_on else 2000)
    last = min(today.year + 1, p.pool.period_ends_on.year if p.pool.period_ends_on else 2100)
    return range(first, last + 1)


def set_pool_budget(
    session: Session,
    actor: Actor,
    programme_code: str,
    budget_fen: int | None,
    *,
    year: int | None = None,
    today: date | None = None,
) -> None:
    """The pool's budget; for an annual pool, that of YEAR (default: this year), which this opens."""
    actor.require(Permission.PROGRAMME_MANAGE)
    p = get_programme(programme_code)
    today = today or utcnow().date()
    year = year or today.year
    years = budget_years(p, today)
    if p.pool.annual and year not in years:
        raise Invalid(
            N_("Please correct the marked fields."),
            fields={"year": f"a budget year from {years.start} to {years.stop - 1}"},
        )
    if not ledger.set_budget(session, p, budget_fen, year, actor.user_id):
        raise Conflict(N_("The budget cannot be below what is already reserved and paid."))
    audit_log.record(
        session, actor, "pool.budget", ("pool", ledger.pool_key(p, year)), after={"budget_fen": budget_fen}
    )


def ledger_query(actor: Actor, *, application_id: int | None = None) -> Select[LedgerEntry]:
    """The ledger in the order it was written (operators only): a select, so the API pages it in SQL."""
    actor.require(Permission.SUBSIDY_READ_ANY)
    query = select(LedgerEntry).order_by(LedgerEntry.id)
    if application_id is not None:
        query = query.where(LedgerEntry.application_id == application_id)
    return query


def ledger_entries(session: Session, actor: Actor, *, application_id: int | None = None) -> list[LedgerEntry]:
    return list(session.scalars(ledger_query(actor, application_id=application_id)))


def audit(session: Session, actor: Actor) -> ledger.AuditReport:
    actor.require(Permission.SUBSIDY_READ_ANY)
    return ledger.audit(session, all_programmes())


# --- idempotency ----------------------------------------------------------------------------------------


def fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def claim_idempotency_key(session: Session, actor: Actor, key: str | None, print_: str) -> dict | None:
    """The stored answer of an earlier request with KEY, or None once KEY is claimed for this request.

    The key row is written first in the request's transaction and commits (or rolls back) with the
    request's own work: a request that failed leaves no key, so its retry runs afresh. A concurrent twin
    waits on the row (PostgreSQL's unique index, SQLite's write lock) and is then refused; its retry gets the
    stored answer. No SAVEPOINT here: with pysqlite an outermost SAVEPOINT would commit on release.
    """
    if key is None:
        return None
    user, key = actor.user_id or 0, key[:100]
    row = session.scalar(select(IdempotencyKey).where(IdempotencyKey.user_id == user, IdempotencyKey.key == key))
    if row is not None:
        if row.fingerprint != print_ or row.response is None:
            raise IdempotencyKeyReused(N_("This idempotency key was used for a different request."))
        return row.response
    session.add(IdempotencyKey(user_id=user, key=key, fingerprint=print_))
    try:
        session.flush()
    except IntegrityError:
        raise IdempotencyKeyInFlight(N_("A request with this idempotency key is in progress; retry it.")) from None
    return None


def remember_response(session: Session, actor: Actor, key: str | None, response: BaseModel) -> None:
    if key is None:
        return
    session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.user_id == (actor.user_id or 0), IdempotencyKey.key == key[:100])
        .values(response=response.model_dump(mode="json"))
        .execution_options(synchronize_session=False)
    )
