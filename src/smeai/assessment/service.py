"""Stored assessments: start (or retake), save as you go, complete, compare. Every rule and check here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from smeai.assessment import instruments, offers
from smeai.assessment.diagnosis import evaluate
from smeai.assessment.instruments import Instrument
from smeai.assessment.models import Assessment
from smeai.assessment.recommend import Profile
from smeai.assessment.schemas import (
    AssessmentIn,
    AssessmentOut,
    AssessmentStatus,
    ComparisonOut,
    DimensionChange,
    ScoreOut,
    TierOut,
)
from smeai.assessment.scoring import AnswersInvalid, check_answer_file, check_answers
from smeai.auth.actor import Actor
from smeai.auth.models import Organisation
from smeai.auth.permissions import OrgKind, Permission
from smeai.db import utcnow
from smeai.errors import Conflict, Forbidden, NotFound
from smeai.i18n import N_, label


class NotComparable(Conflict):
    """Two assessments of different enterprises, instruments or unmapped versions cannot be compared."""

    code = "assessments_not_comparable"


class AssessmentClosed(Conflict):
    """The assessment is completed (answers are fixed; start a retake) or not completed yet."""

    code = "assessment_closed"


def visible_assessments(actor: Actor) -> ColumnElement[bool]:
    if actor.can(Permission.ASSESSMENT_READ_ANY):
        return true()
    if actor.can(Permission.ASSESSMENT_READ_OWN) and actor.org_id is not None:
        return Assessment.org_id == actor.org_id
    return false()


def get_assessment(session: Session, actor: Actor, assessment_id: int) -> Assessment:
    a = session.scalar(select(Assessment).where(Assessment.id == assessment_id, visible_assessments(actor)))
    if a is None:  # absent and not-yours look the same
        raise NotFound(N_("Assessment not found."))
    return a


def list_assessments(
    session: Session, actor: Actor, *, org_id: int | None = None, status: AssessmentStatus | None = None
) -> list[Assessment]:
    q = select(Assessment).where(visible_assessments(actor))
    if org_id is not None:
        q = q.where(Assessment.org_id == org_id)
    if status is not None:
        q = q.where(Assessment.status == status)
    return list(session.scalars(q.order_by(Assessment.created_at.desc(), Assessment.id.desc())))


def latest_completed(session: Session, actor: Actor, org_id: int, instrument_id: str) -> Assessment | None:
    return session.scalar(
        select(Assessment)
        .where(
            visible_assessments(actor),
            Assessment.org_id == org_id,
            Assessment.instrument_id == instrument_id,
            Assessment.status == AssessmentStatus.COMPLETED,
        )
        .order_by(Assessment.completed_at.desc(), Assessment.id.desc())
        .limit(1)
    )


def instrument_of(a: Assessment) -> Instrument:
    return instruments.get_instrument(a.instrument_id, a.instrument_version)


def _require_writer(session: Session, actor: Actor, org_id: int | None) -> Organisation:
    """Assessments are a self-diagnosis: only members of the enterprise itself answer them."""
    actor.require(Permission.ASSESSMENT_WRITE_OWN)
    if org_id is None or org_id != actor.org_id:
        raise Forbidden(N_("Only members of the enterprise can answer its assessment."))
    org = session.get(Organisation, org_id)
    if org is None or org.kind != OrgKind.ENTERPRISE:
        raise Forbidden(N_("Only enterprises take the self-diagnosis."))
    return org


def _carry_over(inst: Instrument, answers: dict[str, Any]) -> dict[str, Any]:
    """The answers of an earlier assessment that are still valid on this instrument version."""
    kept: dict[str, Any] = {}
    for qid, value in answers.items():
        try:
            kept |= check_answers(inst, {qid: value}, partial=True)
        except AnswersInvalid:
            continue  # a question or option that no longer exists: ask again
    return kept


def start_assessment(session: Session, actor: Actor, data: AssessmentIn) -> Assessment:
    """A draft on the latest version of the instrument: the open one if there is one, else a new one; a
    retake is always new and starts from an earlier assessment's answers."""
    org = _require_writer(session, actor, data.org_id if data.org_id is not None else actor.org_id)
    inst = instruments.get_instrument(data.instrument)
    if data.from_assessment_id is None:  # resume the open draft rather than leave a trail of empty ones
        draft = session.scalar(
            select(Assessment)
            .where(
                Assessment.org_id == org.id,
                Assessment.instrument_id == inst.id,
                Assessment.instrument_version == inst.version,
                Assessment.status == AssessmentStatus.DRAFT,
            )
            .order_by(Assessment.updated_at.desc(), Assessment.id.desc())
            .limit(1)
        )
        if draft is not None:
            return draft
    answers: dict[str, Any] = {}
    if data.from_assessment_id is not None:
        earlier = get_assessment(session, actor, data.from_assessment_id)
        if earlier.org_id != org.id or earlier.instrument_id != inst.id:
            raise NotFound(N_("Assessment not found."))
        answers = _carry_over(inst, earlier.answers)
    a = Assessment(
        org_id=org.id,
        created_by=actor.user_id,
        instrument_id=inst.id,
        instrument_version=inst.version,
        status=AssessmentStatus.DRAFT,
        answers=answers,
        previous_id=data.from_assessment_id,
    )
    session.add(a)
    session.flush()
    return a


def _own_draft(session: Session, actor: Actor, assessment_id: int) -> Assessment:
    a = get_assessment(session, actor, assessment_id)
    _require_writer(session, actor, a.org_id)
    if a.status != AssessmentStatus.DRAFT:
        raise AssessmentClosed(N_("This assessment is completed; start a retake to change answers."))
    return a


def save_answers(session: Session, actor: Actor, assessment_id: int, answers: dict[str, Any]) -> Assessment:
    """Save as you go: merge the given answers (null clears one); bad ones are refused, all listed."""
    a = _own_draft(session, actor, assessment_id)
    inst = instrument_of(a)
    cleared = {k for k, v in answers.items() if v is None}
    valid = check_answers(inst, {k: v for k, v in answers.items() if v is not None}, partial=True)
    unknown = {f"answers.{k}": "unknown question" for k in cleared if k not in inst.questions}
    if unknown:
        raise AnswersInvalid(N_("The answers are invalid."), fields=unknown)
    a.answers = {k: v for k, v in (a.answers | valid).items() if k not in cleared}  # a new dict: JSON change seen
    a.updated_at = utcnow()
    session.flush()
    return a


def level_name(a: Assessment) -> str:
    """The level of a completed assessment in the reader's language, from its own instrument version."""
    if a.level_rank is None:
        return ""
    levels = instrument_of(a).levels
    return str(levels[a.level_rank].name) if a.level_rank < len(levels) else ""


def progress(a: Assessment) -> tuple[int, int]:
    """(answered, total) questions."""
    inst = instrument_of(a)
    return sum(1 for q in inst.questions if q in a.answers), len(inst.questions)


def profile_of(org: Organisation | None) -> Profile:
    if org is None:
        return Profile()
    return Profile(section=org.industry_section, division=org.mfg_division, province=org.province_code)


def complete_assessment(session: Session, actor: Actor, assessment_id: int) -> Assessment:
    """Check every answer, score, and keep the result with the instrument id and version."""
    a = _own_draft(session, actor, assessment_id)
    inst = instrument_of(a)
    answers = check_answers(inst, a.answers)
    org = session.get(Organisation, a.org_id)
    result = evaluate(inst, answers, profile_of(org))
    offers.enrich(session, org, result)
    a.result = result.model_dump(mode="json")
    a.overall, a.level_rank = result.overall, result.level.rank
    a.status, a.completed_at = AssessmentStatus.COMPLETED, utcnow()
    session.flush()
    return a


def submit_answer_file(session: Session, actor: Actor, data: Any) -> Assessment:
    """Start, answer and complete in one step from {"instrument": ID, "answers": {...}}."""
    iid = data.get("instrument") if isinstance(data, dict) else None
    inst = instruments.get_instrument(str(iid or "smeai-ai-maturity"))
    answers = check_answer_file(inst, data)
    a = start_assessment(session, actor, AssessmentIn(instrument=inst.id))
    a.answers = dict(answers)
    return complete_assessment(session, actor, a.id)


def score_answers(session: Session, actor: Actor | None, instrument_id: str, data: Any) -> ScoreOut:
    """Score an answer file without storing it (API and CLI share this)."""
    inst = instruments.get_instrument(instrument_id)
    answers = check_answer_file(inst, data)
    org = session.get(Organisation, actor.org_id) if actor is not None and actor.org_id else None
    org = org if org is not None and org.kind == OrgKind.ENTERPRISE else None
    result = evaluate(inst, answers, profile_of(org))
    offers.enrich(session, org, result)
    return result


def result_of(session: Session, a: Assessment) -> ScoreOut:
    if a.result is None:
        raise AssessmentClosed(N_("This assessment is not completed yet."))
    return ScoreOut.model_validate(a.result)


def display_result(session: Session, a: Assessment) -> ScoreOut:
    """A completed assessment's result for a page or report: recomputed from its answers on its own
    instrument version (scoring is deterministic, so the numbers are the stored ones) so that texts are
    in the reader's language, with today's offerings, cases and programmes."""
    result_of(session, a)  # completed only
    inst = instrument_of(a)
    org = session.get(Organisation, a.org_id)
    result = evaluate(inst, check_answers(inst, a.answers), profile_of(org))
    offers.enrich(session, org, result)
    return result


def assessment_out(session: Session, a: Assessment) -> AssessmentOut:
    """An assessment as the API reads it: a completed one's result recomputed on read (same numbers, texts
    in the reader's language and from the current data files, e.g. level names), not the stored snapshot."""
    out = AssessmentOut.model_validate(a)
    if a.status == AssessmentStatus.COMPLETED and a.result is not None:
        out.result = display_result(session, a).model_dump(mode="json")
    return out


def compare_assessments(session: Session, actor: Actor, first_id: int, second_id: int) -> ComparisonOut:
    """Per-dimension change between two completed assessments of one enterprise, earlier first. Across
    instrument versions only when the later version declares a mapping from the earlier one."""
    one, two = get_assessment(session, actor, first_id), get_assessment(session, actor, second_id)
    if one.org_id != two.org_id:
        raise NotComparable(N_("Only assessments of the same enterprise can be compared."))
    if one.status != AssessmentStatus.COMPLETED or two.status != AssessmentStatus.COMPLETED:
        raise NotComparable(N_("Both assessments must be completed."))
    before, after = sorted((one, two), key=lambda a: (a.completed_at, a.id))
    if before.instrument_id != after.instrument_id:
        raise NotComparable(N_("The assessments use different instruments."))
    inst_after = instrument_of(after)
    mapping = inst_after.mapping_from(before.instrument_version)
    if mapping is None:
        raise NotComparable(N_("These instrument versions declare no mapping, so they cannot be compared."))
    r_before, r_after = result_of(session, before), result_of(session, after)
    changes = []
    for old_id, new_id in mapping.items():
        if old_id in r_before.dimensions and new_id in r_after.dimensions:
            b, c = r_before.dimensions[old_id], r_after.dimensions[new_id]
            name = label(inst_after.dimension(new_id).name.model_dump())
            changes.append(DimensionChange(dimension=new_id, name=name, before=b, after=c, change=round(c - b, 1)))
    return ComparisonOut(
        before_id=before.id,
        after_id=after.id,
        before_date=before.completed_at,
        after_date=after.completed_at,
        overall_before=r_before.overall,
        overall_after=r_after.overall,
        overall_change=round(r_after.overall - r_before.overall, 1),
        dimensions=changes,
        level_before=_named(before, r_before.level),
        level_after=_named(after, r_after.level),
    )


def _named(a: Assessment, tier: TierOut) -> TierOut:
    """A stored level with its name in the reader's language, from the assessment's instrument version."""
    levels = instrument_of(a).levels
    return tier.model_copy(update={"name": str(levels[tier.rank].name)}) if tier.rank < len(levels) else tier


def change_since_previous(session: Session, actor: Actor, a: Assessment) -> ComparisonOut | None:
    """Change since the previous completed assessment of the same enterprise, where comparable."""
    if a.completed_at is None:
        return None
    earlier = session.scalar(  # the id only: loading every completed row parsed each one's whole result JSON
        select(Assessment.id)
        .where(
            visible_assessments(actor),
            Assessment.org_id == a.org_id,
            Assessment.status == AssessmentStatus.COMPLETED,
            Assessment.id != a.id,
            Assessment.instrument_id == a.instrument_id,
            Assessment.completed_at.is_not(None),
            Assessment.completed_at <= a.completed_at,
        )
        .order_by(Assessment.created_at.desc(), Assessment.id.desc())
        .limit(1)
    )
    if earlier is None:
        return None
    try:
        return compare_assessments(session, actor, earlier, a.id)
    except Conflict:
        return None
