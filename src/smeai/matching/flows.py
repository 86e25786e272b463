"""Work that starts in matching and reaches another domain (Dispatch's flows.py): the services keep
their own rules; a flow calls them in order, in the caller's transaction, and the route commits once.

- An enterprise's outcome report may also be shared as a case: the case library's service receives it
  as a submission, and its review decides whether it is published.
"""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy.orm import Session

from smeai.auth.actor import Actor
from smeai.cases import service as cases_service
from smeai.cases.schemas import CaseIn
from smeai.errors import Invalid, fields_from_validation
from smeai.i18n import N_
from smeai.matching import engagements
from smeai.matching.models import Engagement
from smeai.matching.schemas import OutcomeIn


def report_outcome(session: Session, actor: Actor, engagement_id: int, data: OutcomeIn) -> Engagement:
    """The outcome of a delivered engagement (engagements.report_outcome), and with `share_as_case` a case
    submission made from it; a case the outcome cannot make refuses the whole report."""
    e = engagements.report_outcome(session, actor, engagement_id, data)
    if data.share_as_case:
        e.case_id = cases_service.submit_case(session, actor, case_from_outcome(e, data.effect)).id
        session.flush()
    return e


def case_from_outcome(e: Engagement, effect: str) -> CaseIn:
    """The case an engagement's outcome tells: the need's problem, the offering's answer, the effect."""
    need, org, offering = e.need, e.enterprise, e.offering
    if not need.scenarios or not need.province_code or not need.industry:
        raise Invalid(N_("A case needs the need's scenarios, province and industry."), fields={"need": "incomplete"})
    try:  # a need's text may be longer, or an effect shorter, than a case allows: a field error, not a 500
        return CaseIn(
            title=need.title if len(need.title) >= 2 else need.text[:60],
            enterprise_name=org.name if org else None,
            province_code=need.province_code,
            city=org.city if org else None,
            industry=need.industry,
            scenarios=list(need.scenarios),
            problem=need.text[:4000],
            solution=((offering.summary if offering else e.provider_response) or need.text)[:4000],
            effect=effect,
            offering_ids=[offering.ext_id] if offering else [],
        )
    except ValidationError as exc:
        fields = {f"case.{k}": v for k, v in fields_from_validation(exc.errors()).items()}
        raise Invalid(N_("This outcome cannot be shared as a case."), fields=fields) from None
