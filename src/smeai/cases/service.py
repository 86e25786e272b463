"""The case library's rules: collection (征集) by enterprises, providers and the centre, review
(遴选) by operators, the 标杆 mark, and what each reader may see.

The public sees published cases; a submitter also sees its own organisation's; reviewers see all.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smeai.auth import audit
from smeai.auth.actor import Actor
from smeai.auth.permissions import Permission
from smeai.cases.index import CaseQuery, CaseResult, case_index, case_index_stamped
from smeai.cases.models import Case, case_offerings
from smeai.cases.schemas import CaseIn, CaseReviewIn, CaseStatus
from smeai.cases.visibility import visible_cases
from smeai.catalog import service as catalog_service
from smeai.catalog.models import Offering
from smeai.db import utcnow
from smeai.errors import Conflict, Invalid, NotFound
from smeai.i18n import N_

S = CaseStatus


class CaseWrongStatus(Conflict):
    code = "case_wrong_status"


def get_case(session: Session, actor: Actor | None, case_id: int) -> Case:
    case = session.scalar(select(Case).where(Case.id == case_id, visible_cases(actor)))
    if case is None:
        raise NotFound(N_("Case not found."))
    return case


def list_cases(session: Session, actor: Actor | None, *, status: CaseStatus | None = None) -> list[Case]:
    query = select(Case).where(visible_cases(actor))
    if status is not None:
        query = query.where(Case.status == status)
    return list(session.scalars(query.order_by(Case.is_benchmark.desc(), Case.published_at.desc(), Case.id.desc())))


def list_own_cases(session: Session, actor: Actor) -> list[Case]:
    actor.require(Permission.CASE_SUBMIT)
    if actor.org_id is None:
        return []
    query = select(Case).where(Case.submitted_by_org_id == actor.org_id, Case.deleted_at.is_(None))
    return list(session.scalars(query.order_by(Case.id.desc())))


def list_review_queue(session: Session, actor: Actor) -> list[Case]:
    actor.require(Permission.CASE_REVIEW)
    query = select(Case).where(Case.status == S.SUBMITTED, Case.deleted_at.is_(None))
    return list(session.scalars(query.order_by(Case.submitted_at, Case.id)))


def _published_offerings(session: Session, ext_ids: list[str]) -> list[Offering]:
    if not ext_ids:
        return []
    found = {
        o.ext_id: o
        for o in session.scalars(
            select(Offering).where(Offering.ext_id.in_(ext_ids), catalog_service.visible_offerings(None))
        )
    }
    missing = [e for e in ext_ids if e not in found]
    if missing:
        raise Invalid(N_("Unknown offering."), fields={"offering_ids": ", ".join(missing)})
    return [found[e] for e in dict.fromkeys(ext_ids)]


def submit_case(session: Session, actor: Actor, data: CaseIn) -> Case:
    """征集: an enterprise, a provider or the centre submits a case; it waits for review."""
    actor.require(Permission.CASE_SUBMIT)
    now = utcnow()
    values = data.model_dump(exclude={"offering_ids"})
    case = Case(
        **values,
        status=S.SUBMITTED,
        submitted_by_org_id=actor.org_id,
        submitted_by_user_id=actor.user_id,
        created_at=now,
        updated_at=now,
        submitted_at=now,
    )
    case.offerings = _published_offerings(session, data.offering_ids)
    if not case.providers:  # the providers of the offerings used, when the submitter named none
        case.providers = list(dict.fromkeys(o.provider.name for o in case.offerings))
    session.add(case)
    session.flush()
    return case


def publish_benchmark(
    session: Session, actor: Actor, data: CaseIn, *, org_id: int, user_id: int | None, comment: str
) -> Case:
    """A case selected in a collection campaign (案例征集, calls/) enters the library published as 标杆, filed
    under the organisation that submitted it; `data.source` names the campaign. The campaign's reviewers were
    its review, so it is submitted and reviewed here in one step, audited like any review."""
    actor.require(Permission.CASE_REVIEW)
    case = submit_case(session, actor, data)
    case.submitted_by_org_id, case.submitted_by_user_id = org_id, user_id
    session.flush()
    return review_case(session, actor, case.id, CaseReviewIn(approve=True, benchmark=True, comment=comment))


def review_case(session: Session, actor: Actor, case_id: int, decision: CaseReviewIn) -> Case:
    """遴选: publish (optionally as 标杆) or reject with a reason."""
    case = get_case(session, actor, case_id)
    actor.require(Permission.CASE_REVIEW)
    if case.status != S.SUBMITTED:
        raise CaseWrongStatus(N_("Only a submitted case can be reviewed."))
    comment = decision.comment.strip()
    if not decision.approve and not comment:
        raise Invalid(N_("Say why the case is rejected."), fields={"comment": "required to reject"})
    now = utcnow()
    case.status = S.PUBLISHED if decision.approve else S.REJECTED
    case.is_benchmark = decision.approve and decision.benchmark
    case.review_comment, case.reviewed_by_user_id, case.reviewed_at, case.updated_at = (
        comment or None,
        actor.user_id,
        now,
        now,
    )
    if decision.approve:
        case.published_at = now
    session.flush()
    audit.record(
        session,
        actor,
        "case.review",
        case,
        {"status": S.SUBMITTED},
        {"status": case.status, "benchmark": case.is_benchmark},
        org_id=case.submitted_by_org_id,
    )
    return case


def set_benchmark(session: Session, actor: Actor, case_id: int, benchmark: bool) -> Case:
    """Mark or unmark a published case as 标杆."""
    case = get_case(session, actor, case_id)
    actor.require(Permission.CASE_REVIEW)
    if case.status != S.PUBLISHED:
        raise CaseWrongStatus(N_("Only a published case can be a benchmark."))
    before = case.is_benchmark
    case.is_benchmark, case.updated_at = benchmark, utcnow()
    session.flush()
    after = {"benchmark": benchmark}
    audit.record(session, actor, "case.benchmark", case, {"benchmark": before}, after, org_id=case.submitted_by_org_id)
    return case


def delete_case(session: Session, actor: Actor, case_id: int) -> None:
    case = get_case(session, actor, case_id)
    actor.require(Permission.CASE_REVIEW)
    case.deleted_at = case.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, "case.delete", case, {"status": case.status}, org_id=case.submitted_by_org_id)


def cases_for_offering(session: Session, offering_id: int) -> list[Case]:
    """Published cases that used an offering, 标杆 first (shown on the offering's page)."""
    query = (
        select(Case)
        .join(case_offerings, case_offerings.c.case_id == Case.id)
        .where(case_offerings.c.offering_id == offering_id, visible_cases(None))
        .order_by(Case.is_benchmark.desc(), Case.published_at.desc())
    )
    return list(session.scalars(query))


def published_case_counts(session: Session) -> dict[str, int]:
    """Offering interchange id -> number of published cases that used it (matching's evidence)."""
    query = (
        select(Offering.ext_id, func.count(Case.id))
        .join(case_offerings, case_offerings.c.offering_id == Offering.id)
        .join(Case, Case.id == case_offerings.c.case_id)
        .where(visible_cases(None), catalog_service.visible_offerings(None))
        .group_by(Offering.ext_id)
    )
    return {ext_id: n for ext_id, n in session.execute(query)}


def to_out(case: Case) -> dict[str, object]:
    """CaseOut's input: the case's columns plus the interchange ids of its offerings."""
    data = {c.key: getattr(case, c.key) for c in Case.__table__.columns}
    return data | {"offering_ids": [o.ext_id for o in case.offerings]}


def search_stamp(session: Session) -> tuple[object, ...]:
    """The stamp the case search index answers at now (the table's size and newest change): search
    results are the same while it holds."""
    return case_index_stamped(session)[1]


def search_cases(session: Session, query: CaseQuery) -> tuple[CaseResult, list[Case]]:
    """Published cases only; the page's cases in ranked order."""
    result = case_index(session).search(query)
    if not result.ids:
        return result, []
    rows = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(result.ids), visible_cases(None)))}
    return result, [rows[i] for i in result.ids if i in rows]
