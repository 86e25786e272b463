"""Subsidy rules: the calculator, and the flow apply → approve (reserve) → redeem → verify (payout).

Enterprises apply for their own organisation and see only their own applications; operators review any;
providers never act on, or see, an enterprise's claim (a foreign or invisible application is NotFound).
Services never commit: the API route, page or CLI command commits once.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, delete, false, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from smeai import taxonomy
from smeai.auth.actor import Actor
from smeai.auth.models import Organisation
from smeai.auth.permissions import OrgKind, Permission
from smeai.db import utcnow
from smeai.domains import has_module
from smeai.errors import Conflict, Invalid, NotFound
from smeai.i18n import N_, get_lang, gettext
from smeai.subsidy import ledger
from smeai.subsidy.models import (
    Application,
    ApplicationEvent,
    ClaimLock,
    Counter,
    Document,
    IdempotencyKey,
    LedgerEntry,
)
from smeai.subsidy.programmes import (
    Amount,
    Profile,
    Programme,
    Purchase,
    PurchaseKind,
    Reason,
    all_programmes,
    amount,
    eligibility,
    format_rate,
    stacking_partners,
)
from smeai.subsidy.schemas import (
    ApplicationIn,
    ApplicationState,
    ProgrammeOut,
    ProgrammeQuote,
    PurchaseIn,
    QuoteOut,
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


class IdempotencyKeyInFlight(Conflict):
    """A request with the same Idempotency-Key was running at the same moment; retrying gets its answer."""

    code = "idempotency_key_in_flight"


class IdempotencyKeyReused(Conflict):
    """An Idempotency-Key was sent again with a different request."""

    code = "idempotency_key_reused"


# --- programmes -----------------------------------------------------------------------------------------


def get_programme(code: str, *, field: str | None = None) -> Programme:
    programme = all_programmes().get(code)
    if programme is None:
        if field:
            raise Invalid(N_("Unknown programme."), fields={field: f"unknown programme {code!r}"})
        raise NotFound(N_("Programme not found."))
    return programme


def _money(fen: int, currency: str) -> str:
    yuan = fen / 100
    if currency == "CNY" and get_lang() != "en" and yuan >= 10_000:
        return f"{yuan / 10_000:,.2f}".rstrip("0").rstrip(".") + " 万元"
    return f"{yuan:,.0f} {currency}"


def programme_out(p: Programme) -> ProgrammeOut:
    """A programme in a few words, in the reader's language (the catalog and matching show it too)."""
    caps = p.caps
    rate = " / ".join(format_rate(t.rate) for t in p.tiers) if p.tiers else format_rate(p.rate)
    parts = [gettext("Rate %(rate)s") % {"rate": rate}]
    parts += [f"{c.why}: {format_rate(c.rate)}" for c in p.conditions]
    for label, cap in ((N_("at most %(amount)s per claim"), caps.per_claim_fen),
                       (N_("at most %(amount)s per enterprise per year"), caps.per_org_year_fen),
                       (N_("at most %(amount)s per contract"), caps.per_contract_fen)):
        if cap is not None:
            parts.append(gettext(label) % {"amount": _money(cap, p.currency)})
    region = p.region.country if p.region.country != "CN" else (
        "、".join(p.region.cities) or "、".join(taxonomy.name("provinces", c) for c in sorted(p.region.provinces))
        or "CN")
    return ProgrammeOut(code=p.code, name=str(p.name), issuer=str(p.issuer), voucher=p.voucher.value,
                        currency=p.currency, region=region, rate=format_rate(p.rate),
                        summary=("; " if get_lang() == "en" else "；").join(parts),
                        source=p.source, documents_apply=[d.value for d in p.documents.apply],
                        documents_redeem=[d.value for d in p.documents.redeem], assumptions=list(p.assumptions))


def list_programmes() -> list[ProgrammeOut]:
    return [programme_out(p) for p in all_programmes().values()]


# --- the claimant and the purchase ----------------------------------------------------------------------


def profile_of(org: Organisation) -> Profile:
    return Profile(province_code=org.province_code, city=org.city, size_class=org.size_class,
                   revenue_band=org.revenue_band, industry_section=org.industry_section)


def _claimant(session: Session, who: Actor | Organisation | Profile) -> tuple[int | None, Profile, Actor]:
    """(org id, profile, actor for reads) of an actor's organisation, a given organisation, or a bare profile."""
    if isinstance(who, Profile):
        return None, who, Actor.system()
    if isinstance(who, Organisation):
        return who.id, profile_of(who), Actor.system()
    org = session.get(Organisation, who.org_id) if who.org_id is not None else None
    if org is None:
        return None, Profile(), who
    return org.id, profile_of(org), who


def _offering(session: Session, actor: Actor, offering_id: int) -> Any | None:
    """The resource pool's offering, when the catalog exists; its own visibility rules apply (NotFound)."""
    if not has_module("catalog", "service"):
        return None
    from smeai.catalog import service as catalog_service

    get = getattr(catalog_service, "get_offering", None)
    return get(session, actor, offering_id) if get is not None else None


def resolve_purchase(session: Session, actor: Actor, data: PurchaseIn) -> tuple[PurchaseIn, Any | None]:
    """Fill kind, supplier and description from the offering, where one is named and the catalog exists."""
    offering = _offering(session, actor, data.offering_id) if data.offering_id else None
    if offering is None:
        if data.offering_id and not data.description:
            raise Invalid(N_("Please correct the marked fields."),
                          fields={"description": "describe the purchase (the resource pool is not available)"})
        return data, None
    kind = data.kind
    if kind is None and getattr(offering, "kind", None) in PurchaseKind.__members__.values():
        kind = PurchaseKind(offering.kind)
    provider = getattr(offering, "provider", None)
    filled = data.model_copy(update={
        "kind": kind,
        "description": data.description or getattr(offering, "name", None),
        "supplier_name": data.supplier_name or getattr(provider, "name", None),
    })
    return filled, offering


def _purchase(data: PurchaseIn, listed_in: frozenset[str] = frozenset()) -> Purchase:
    return Purchase(contract_fen=data.contract_fen, kind=data.kind, offering_id=data.offering_id,
                    supplier_name=data.supplier_name, supplier_affiliated=data.supplier_affiliated,
                    signed_on=data.signed_on, starts_on=data.starts_on, ends_on=data.ends_on, paid_on=data.paid_on,
                    service_year=data.service_year, flags=frozenset(data.flags), listed_in=listed_in)


def _listed_in(offering: Any | None) -> frozenset[str]:
    return frozenset(getattr(offering, "voucher_eligible", None) or ())


def budget_year(data: PurchaseIn, today: date) -> int:
    """Caps per enterprise per year count by the year the contract was signed (or the application, if unsigned)."""
    return (data.signed_on or today).year


def contract_ref(supplier_name: str | None, contract_no: str | None) -> str:
    """One contract, however its supplier and number are spelt: case, spaces and punctuation dropped."""
    def norm(text: str | None) -> str:
        return re.sub(r"[\W_]+", "", (text or "").casefold())

    return f"{norm(supplier_name)}|{norm(contract_no)}"[:300]


def _counter_keys(p: Programme, org_id: int | None, data: PurchaseIn, today: date) -> tuple[str | None, str | None]:
    """The per-enterprise-year and per-contract counter keys this purchase would count against (if capped)."""
    org_year = (f"org-year:{p.code}:{org_id}:{budget_year(data, today)}"
                if org_id is not None and p.caps.per_org_year_fen is not None else None)
    per_contract = (f"contract:{p.code}:{contract_ref(data.supplier_name, data.contract_no)}"
                    if data.contract_no and p.caps.per_contract_fen is not None else None)
    return org_year, per_contract


def _committed(session: Session, keys: list[str]) -> dict[str, int]:
    """What each counter already holds, in one query (the calculator runs for whole lists of offerings)."""
    if not keys:
        return {}
    rows = session.execute(select(Counter.key, Counter.committed_fen).where(Counter.key.in_(keys)))
    return {key: int(value) for key, value in rows}


def _assess(p: Programme, org_id: int | None, profile: Profile, data: PurchaseIn, *, today: date,
            committed: dict[str, int], listed_in: frozenset[str] = frozenset()) -> tuple[list[Reason], Amount]:
    purchase = _purchase(data, listed_in)
    reasons = eligibility(p, profile, purchase, applied_on=today)
    if p.eligibility.claimant != "buyer":
        reasons.insert(0, Reason("claimant", False, N_("Claimed by the supplier, not the buyer."), {}))
    org_year, per_contract = _counter_keys(p, org_id, data, today)
    result = amount(p, purchase, org_year_committed_fen=committed.get(org_year or "", 0),
                    contract_committed_fen=committed.get(per_contract or "", 0))
    return reasons, result


def calculate(session: Session, actor_or_org: Actor | Organisation | Profile, purchase: PurchaseIn,
              *, today: date | None = None) -> QuoteOut:
    """Which programmes apply to this purchase, how much each pays (with the rules that decided), the best
    allowed combination under the exclusivity rules, and the net price.

    Other domains call this with an enterprise's Actor or Organisation (e.g. the offering page, the match
    reasons); a bare Profile works for anonymous "what if" questions.
    """
    today = today or utcnow().date()
    org_id, profile, reader = _claimant(session, actor_or_org)
    purchase, offering = resolve_purchase(session, reader, purchase)
    programmes = all_programmes()
    committed = _committed(session, [k for p in programmes.values()
                                     for k in _counter_keys(p, org_id, purchase, today) if k])
    quotes: list[ProgrammeQuote] = []
    for p in programmes.values():
        reasons, result = _assess(p, org_id, profile, purchase, today=today, committed=committed,
                                  listed_in=_listed_in(offering))
        eligible = all(r.ok for r in reasons) and result.amount_fen > 0
        quotes.append(ProgrammeQuote(
            code=p.code, name=str(p.name), currency=p.currency, eligible=eligible,
            amount_fen=result.amount_fen if eligible else 0, rate=format_rate(result.rate),
            reasons=[ReasonOut.of(r) for r in [*reasons, *result.reasons]],
            excludes=sorted(stacking_partners(programmes, p.code)),
        ))
    quotes.sort(key=lambda q: (not q.eligible, -q.amount_fen, q.code))
    best, total = best_combination(programmes, [q for q in quotes if q.eligible], purchase.contract_fen)
    explanation = [f"{q.name}: {q.amount_fen / 100:,.2f}" for q in quotes if q.code in best]
    return QuoteOut(contract_fen=purchase.contract_fen, programmes=quotes, best=best, total_fen=total,
                    net_fen=purchase.contract_fen - total, explanation=explanation)


def best_combination(programmes: dict[str, Programme], eligible: list[ProgrammeQuote],
                     contract_fen: int) -> tuple[list[str], int]:
    """The set of programmes paying most together, none excluding another, never more than the contract.

    Ties go to fewer programmes (fewer claims to file). Exhaustive: a purchase is eligible for a handful.
    """
    candidates = sorted(eligible, key=lambda q: -q.amount_fen)[:12]
    best: tuple[int, int, list[str]] = (0, 0, [])
    for size in range(1, len(candidates) + 1):
        for combo in itertools.combinations(candidates, size):
            codes = {q.code for q in combo}
            if any(stacking_partners(programmes, c) & codes for c in codes):
                continue
            total = min(contract_fen, sum(q.amount_fen for q in combo))
            if (total, -size) > (best[0], -len(best[2]) if best[2] else 0):
                best = (total, size, sorted(codes))
    return best[2], best[0]


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


def list_applications(session: Session, actor: Actor, *, state: ApplicationState | None = None,
                      programme_code: str | None = None, org_id: int | None = None) -> list[Application]:
    query = select(Application).where(visible_applications(actor))
    if state is not None:
        query = query.where(Application.state == state)
    if programme_code:
        query = query.where(Application.programme_code == programme_code)
    if org_id is not None:
        query = query.where(Application.org_id == org_id)
    return list(session.scalars(query.order_by(Application.id.desc())))


def events(session: Session, actor: Actor, application_id: int) -> list[ApplicationEvent]:
    get_application(session, actor, application_id)
    return list(session.scalars(select(ApplicationEvent).where(ApplicationEvent.application_id == application_id)
                                .order_by(ApplicationEvent.id)))


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


def _event(session: Session, app: Application, actor: Actor, action: str, from_state: str | None,
           note: str | None = None) -> None:
    session.add(ApplicationEvent(application_id=app.id, action=action, from_state=from_state, to_state=app.state,
                                 actor_user_id=actor.user_id, note=note))


def submit_application(session: Session, actor: Actor, data: ApplicationIn, *,
                       today: date | None = None) -> Application:
    """申领: the enterprise claims under one programme; refused unless every rule passes, with each failure named."""
    actor.require(Permission.SUBSIDY_APPLY)
    if actor.org_id is None or actor.org_kind is not OrgKind.ENTERPRISE:
        raise NotFound(N_("Organisation not found."))
    today = today or utcnow().date()
    p = get_programme(data.programme_code, field="programme_code")
    filled, offering = resolve_purchase(session, actor, data)
    data = ApplicationIn.model_validate(filled.model_dump())
    if not data.supplier_name:
        raise Invalid(N_("Please correct the marked fields."), fields={"supplier_name": "This field is required."})
    org = session.get(Organisation, actor.org_id)
    assert org is not None
    committed = _committed(session, [k for k in _counter_keys(p, org.id, data, today) if k])
    reasons, result = _assess(p, org.id, profile_of(org), data, today=today, committed=committed,
                              listed_in=_listed_in(offering))
    failed = [r for r in reasons if not r.ok]
    if failed:
        raise NotEligible(N_("Not eligible for this programme."),
                          fields={r.rule: describe(r.rule, r.message, dict(r.params)) for r in failed})
    if result.amount_fen <= 0:
        raise ledger.CapReached(N_("Nothing is left to claim under this programme's caps."))
    ref = contract_ref(data.supplier_name, data.contract_no)
    app = Application(
        programme_code=p.code, org_id=org.id, applicant_id=actor.user_id, state=S.SUBMITTED,
        offering_id=data.offering_id, description=data.description or "", kind=data.kind,
        supplier_name=data.supplier_name or "", supplier_affiliated=data.supplier_affiliated,
        contract_no=data.contract_no,
        contract_ref=ref, contract_fen=data.contract_fen, signed_on=data.signed_on, starts_on=data.starts_on,
        ends_on=data.ends_on, paid_on=data.paid_on, service_year=data.service_year, flags=sorted(data.flags),
        budget_year=budget_year(data, today), requested_fen=result.amount_fen,
        explanation=[ReasonOut.of(r).model_dump(exclude={"text"}) for r in [*reasons, *result.reasons]],
    )
    session.add(app)
    session.flush()
    try:
        with session.begin_nested():
            session.add_all(ClaimLock(key=k, application_id=app.id)
                            for k in sorted(lock_keys(all_programmes(), p, ref, data.service_year)))
            session.flush()
    except IntegrityError:
        raise AlreadyClaimed(N_("This contract is already claimed under this programme or one it may not be "
                                "combined with."), fields={"contract_no": "already claimed"}) from None
    _event(session, app, actor, "submit", None)
    return app


def _transition(session: Session, app: Application, actor: Actor, action: str, from_states: set[S], to: S,
                note: str | None = None, **values: object) -> None:
    """Move APP from one of FROM_STATES to TO in one conditional UPDATE: two operators cannot both decide."""
    before = app.state
    done = session.execute(
        update(Application)
        .where(Application.id == app.id, Application.state.in_([s.value for s in from_states]))
        .values(state=to.value, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise WrongState(N_("The application is not in a state that allows this."), state=before)
    for key, value in {"state": to.value, **values}.items():
        set_committed_value(app, key, value)
    _event(session, app, actor, action, before, note)


def _release_locks(session: Session, app: Application) -> None:
    session.execute(delete(ClaimLock).where(ClaimLock.application_id == app.id))


def _documents_present(session: Session, app: Application, kinds: tuple[str, ...]) -> None:
    have = set(session.scalars(select(Document.kind).where(Document.application_id == app.id)))
    missing = [k for k in kinds if k not in have]
    if missing:
        raise MissingDocuments(N_("Upload the required documents first."),
                               fields={k: "missing" for k in missing})


def approve_application(session: Session, actor: Actor, application_id: int, *, amount_fen: int | None = None,
                        note: str | None = None, today: date | None = None) -> Application:
    """Approve and reserve: the state moves and the amount is reserved against the pool and every cap,
    in this one transaction, or nothing happens."""
    app = get_application(session, actor, application_id)
    actor.require(Permission.SUBSIDY_REVIEW)
    p = get_programme(app.programme_code)
    value = amount_fen or app.requested_fen
    if value > app.requested_fen:
        raise Invalid(N_("Please correct the marked fields."), fields={"amount_fen": "over the computed amount"})
    _documents_present(session, app, tuple(p.documents.apply))
    today = today or utcnow().date()
    _transition(session, app, actor, "approve", {S.SUBMITTED}, S.APPROVED, note, approved_fen=value,
                decision_note=note, redeem_by_on=today + timedelta(days=p.redeem_within_days))
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


def submit_redemption(session: Session, actor: Actor, application_id: int, *,
                      today: date | None = None) -> Application:
    """兑付: the enterprise asks for payment once invoice, payment and delivery documents are uploaded."""
    app = get_application(session, actor, application_id)
    actor.require(Permission.SUBSIDY_APPLY)
    p = get_programme(app.programme_code)
    today = today or utcnow().date()
    if app.redeem_by_on is not None and today > app.redeem_by_on:
        raise WrongState(N_("The approval has expired."), state=app.state)
    _documents_present(session, app, tuple(p.documents.redeem))
    _transition(session, app, actor, "redeem", {S.APPROVED}, S.REDEEMING)
    return app


def return_redemption(session: Session, actor: Actor, application_id: int, *, reasons: str) -> Application:
    """The operator sends the redemption back (documents insufficient); the reservation stays."""
    app = get_application(session, actor, application_id)
    actor.require(Permission.SUBSIDY_REVIEW)
    _transition(session, app, actor, "return", {S.REDEEMING}, S.APPROVED, reasons, decision_note=reasons)
    return app


def verify_redemption(session: Session, actor: Actor, application_id: int, *, paid_fen: int | None = None,
                      note: str | None = None) -> Application:
    """The operator verifies the documents and records the payout; any unpaid remainder is released."""
    app = get_application(session, actor, application_id)
    actor.require(Permission.SUBSIDY_REVIEW)
    approved = app.approved_fen or 0
    value = paid_fen or approved
    if value > approved:
        raise Invalid(N_("Please correct the marked fields."), fields={"paid_fen": "over the approved amount"})
    _transition(session, app, actor, "verify", {S.REDEEMING}, S.PAID, note, paid_fen=value)
    ledger.payout(session, get_programme(app.programme_code), app, value, actor.user_id)
    ledger.release(session, get_programme(app.programme_code), app, approved - value, actor.user_id)
    return app


def expire_applications(session: Session, actor: Actor, *, today: date | None = None) -> list[Application]:
    """Approvals not redeemed by their date expire, and their reservations go back to the pool."""
    actor.require(Permission.SUBSIDY_REVIEW)
    today = today or utcnow().date()
    due = list(session.scalars(select(Application).where(Application.state == S.APPROVED,
                                                         Application.redeem_by_on < today)))
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


def set_pool_budget(session: Session, actor: Actor, programme_code: str, budget_fen: int | None, *,
                    year: int | None = None) -> None:
    """The pool's budget; for an annual pool, that of YEAR (default: this year)."""
    actor.require(Permission.PROGRAMME_MANAGE)
    year = year or utcnow().year
    if not ledger.set_budget(session, get_programme(programme_code), budget_fen, year):
        raise Conflict(N_("The budget cannot be below what is already reserved and paid."))


def ledger_entries(session: Session, actor: Actor, *, application_id: int | None = None) -> list[LedgerEntry]:
    actor.require(Permission.SUBSIDY_READ_ANY)
    query = select(LedgerEntry).order_by(LedgerEntry.id)
    if application_id is not None:
        query = query.where(LedgerEntry.application_id == application_id)
    return list(session.scalars(query))


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
    session.execute(update(IdempotencyKey)
                    .where(IdempotencyKey.user_id == (actor.user_id or 0), IdempotencyKey.key == key[:100])
                    .values(response=response.model_dump(mode="json"))
                    .execution_options(synchronize_session=False))
