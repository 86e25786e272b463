"""Peer benchmark: percentile and distribution among peers from stored assessments.

Peers are other enterprises' latest completed assessment on the same instrument (a comparable version).
The peer group starts narrow (same manufacturing group or section, revenue band and province) and widens
one criterion at a time until it holds Settings.small_cell_min firms; if even all firms are fewer, the
benchmark is suppressed: small cells are never shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from statistics import median, quantiles
from typing import Any

from sqlalchemy import and_, case, distinct, func, select
from sqlalchemy.orm import Session

from smeai import taxonomy
from smeai.assessment import instruments
from smeai.assessment.instruments import get_instrument
from smeai.assessment.models import Assessment
from smeai.assessment.schemas import AssessmentStatus, BenchmarkOut, DistributionBin, SurveyStageOut
from smeai.assessment.service import get_assessment, result_of
from smeai.auth.actor import Actor
from smeai.auth.models import Organisation
from smeai.auth.permissions import OrgKind, Permission
from smeai.i18n import _
from smeai.survey import service as survey
from smeai.survey.indicators import revenue_band
from smeai.survey.models import SurveyResponse

# Widening order: drop province, then revenue band, then industry.
LADDER: tuple[tuple[str, ...], ...] = (
    ("industry", "revenue_band", "province"),
    ("industry", "revenue_band"),
    ("industry", "province"),
    ("industry",),
    ("province",),
    (),
)


@dataclass(frozen=True)
class Peer:
    org_id: int
    overall: float
    dimensions: dict[str, float]
    industry: str | None  # manufacturing group code, or section code outside manufacturing
    revenue_band: str | None
    province: str | None


def _industry(section: str | None, division: str | int | None) -> str | None:
    if section == "C" and division:
        group = taxonomy.load().group_of_division(division)
        if group:
            return group.code
    return section


def industry_of(org: Organisation) -> str | None:
    """The manufacturing group for manufacturers, else the section: the industry peers share."""
    return _industry(org.industry_section, org.mfg_division)


def _criterion_label(kind: str, code: str) -> str:
    if kind == "industry":
        kinds = "groups" if code in taxonomy.load().groups else "sections"
        return taxonomy.name(kinds, code)
    if kind == "province":
        return taxonomy.name("provinces", code)
    return _("revenue %(band)s hundred million yuan") % {"band": code}


def _comparable_versions(instrument_id: str, version: str) -> list[str]:
    inst = get_instrument(instrument_id, version)
    return [v for (iid, v) in instruments.registry() if iid == instrument_id and inst.mapping_from(v) is not None]


def _where(instrument_id: str, version: str, criteria: dict[str, str], exclude_org: int | None) -> list[Any]:
    """SQL conditions for the peers of one ladder step."""
    clauses: list[Any] = [
        Assessment.instrument_id == instrument_id,
        Assessment.status == AssessmentStatus.COMPLETED,
        Assessment.instrument_version.in_(_comparable_versions(instrument_id, version)),
        Organisation.kind == OrgKind.ENTERPRISE,
    ]
    if exclude_org is not None:
        clauses.append(Assessment.org_id != exclude_org)
    return clauses + _criteria(criteria)


def _criteria(criteria: dict[str, str]) -> list[Any]:
    """SQL conditions for one ladder step's criteria (industry, revenue band, province)."""
    clauses: list[Any] = []
    industry = criteria.get("industry")
    if industry in taxonomy.load().groups:
        divisions = taxonomy.load().groups[industry].extra["divisions"]
        clauses += [Organisation.industry_section == "C", Organisation.mfg_division.in_(divisions)]  # type: ignore[arg-type]
    elif industry:
        clauses.append(Organisation.industry_section == industry)
    if criteria.get("revenue_band"):
        clauses.append(Organisation.revenue_band == criteria["revenue_band"])
    if criteria.get("province"):
        clauses.append(Organisation.province_code == criteria["province"])
    return clauses


def ladder_counts(
    session: Session, instrument_id: str, version: str, me: dict[str, str | None], exclude_org: int | None = None
) -> list[tuple[dict[str, str], int]]:
    """Each ladder step the enterprise's profile allows, narrowest first, with its number of peers: one
    query for the whole ladder (a count per step was up to six queries per result page)."""
    steps = [{c: str(me[c]) for c in criteria} for criteria in LADDER if all(me[c] is not None for c in criteria)]
    counts = [
        func.count(distinct(case((and_(*_criteria(step)), Assessment.org_id)) if step else Assessment.org_id))
        for step in steps
    ]
    row = session.execute(
        select(*counts)
        .join(Organisation, Organisation.id == Assessment.org_id)
        .where(*_where(instrument_id, version, {}, exclude_org))
    ).one()
    return [(step, int(n or 0)) for step, n in zip(steps, row, strict=True)]


def peers(
    session: Session,
    instrument_id: str,
    version: str,
    criteria: dict[str, str] | None = None,
    exclude_org: int | None = None,
) -> list[Peer]:
    """The latest completed assessment of every enterprise matching `criteria`, on versions comparable
    with `version`; dimension scores mapped onto that version's dimensions."""
    inst = get_instrument(instrument_id, version)
    rows = session.execute(
        select(
            Assessment.org_id,
            Assessment.instrument_version,
            Assessment.overall,
            Assessment.result["dimensions"].label("dimensions"),
            Organisation.industry_section,
            Organisation.mfg_division,
            Organisation.revenue_band,
            Organisation.province_code,
        )
        .join(Organisation, Organisation.id == Assessment.org_id)
        .where(*_where(instrument_id, version, criteria or {}, exclude_org))
        .order_by(Assessment.org_id, Assessment.completed_at.desc(), Assessment.id.desc())
    ).all()  # only the dimension scores of each stored result: the whole result JSON is 20x larger
    out: dict[int, Peer] = {}
    for r in rows:
        if r.org_id in out or r.dimensions is None:
            continue
        mapping = inst.mapping_from(r.instrument_version) or {}
        raw = r.dimensions
        dims = (
            raw
            if all(k == v for k, v in mapping.items())
            else {new: raw[old] for old, new in mapping.items() if old in raw}
        )
        out[r.org_id] = Peer(
            r.org_id,
            float(r.overall or 0),
            dims,
            _industry(r.industry_section, r.mfg_division),
            r.revenue_band,
            r.province_code,
        )
    return list(out.values())


def _widest_group(
    me: dict[str, str | None], rows: list[Any], small_cell_min: int, get: Callable[[Any, str], object] = getattr
) -> tuple[dict[str, str], list[Any]] | None:
    """The narrowest peer group on the ladder holding at least small_cell_min rows, with its rows."""
    for criteria in LADDER:
        if any(me[c] is None for c in criteria):
            continue
        group = [r for r in rows if all(get(r, c) == me[c] for c in criteria)]
        if len(group) >= small_cell_min:
            return {c: str(me[c]) for c in criteria}, group
    return None


# A wave's firms as the stage comparison needs them, per wave and its contents: loading and reshaping a whole
# wave took about 300 ms of every result page; one aggregate query now says whether the wave has changed.
_WAVE_ROWS: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
# ... and the peer group and its stage counts per wave version, enterprise profile and cell minimum: finding
# the group scanned the whole wave on every view (about 9 ms of the page). Counts of surveyed firms only,
# keyed by everything they depend on, so one organisation's view never shows another's group.
_STAGE_GROUPS: dict[tuple[Any, ...], tuple[dict[str, str], int, list[int]] | None] = {}


def _wave_key(session: Session, wave: Any) -> tuple[Any, ...]:
    stamp = session.execute(
        select(func.count(), func.max(SurveyResponse.id), func.max(SurveyResponse.import_id)).where(
            SurveyResponse.wave_id == wave.id
        )
    ).one()
    return (str(session.get_bind().engine.url), wave.id, *(int(v or 0) for v in stamp))


def _wave_rows(session: Session, wave: Any, key: tuple[Any, ...] | None = None) -> list[dict[str, Any]]:
    key = key or _wave_key(session, wave)
    rows = _WAVE_ROWS.get(key)
    if rows is None:
        rows = [
            {
                "industry": _industry(r.get("industry_section"), r.get("mfg_division")),
                "revenue_band": revenue_band(r.get("revenue_wan")),
                "province": r.get("province_code"),
                "stage": (r.get("ai_stage") or 0) if r.get("ai_status") == 1 else 0,
            }
            for r in survey.wave_arrow(session, wave).to_pylist()
        ]
        if len(_WAVE_ROWS) >= 8:  # a few waves at most; an old version of a wave is never asked for again
            _WAVE_ROWS.clear()
        _WAVE_ROWS[key] = rows
    return rows


def _stage_group(
    session: Session, wave: Any, me: dict[str, str | None], small_cell_min: int
) -> tuple[dict[str, str], int, list[int]] | None:
    """The peer group among the wave's firms, its size, and how many of them are at each of the 5 stages."""
    key = _wave_key(session, wave)
    group_key = (*key, tuple(sorted(me.items())), small_cell_min)
    if group_key in _STAGE_GROUPS:
        return _STAGE_GROUPS[group_key]
    found = _widest_group(me, _wave_rows(session, wave, key), small_cell_min, dict.__getitem__)
    value = None
    if found is not None:
        chosen, group = found
        value = chosen, len(group), [sum(1 for r in group if r["stage"] == k) for k in range(5)]
    if len(_STAGE_GROUPS) >= 4096:
        _STAGE_GROUPS.clear()
    _STAGE_GROUPS[group_key] = value
    return value


def survey_stage(
    session: Session,
    actor: Actor,
    me: dict[str, str | None],
    stage_rank: int,
    stage_ids: list[str],
    *,
    small_cell_min: int,
) -> SurveyStageOut | None:
    """Where the enterprise's application stage stands among surveyed firms (latest wave), same widening
    and suppression as the assessment peers. None without survey access, a wave or enough firms."""
    if not actor.can(Permission.SURVEY_READ) or len(stage_ids) != 5:
        return None
    wave = survey.latest_wave(session, actor)
    if wave is None:
        return None
    found = _stage_group(session, wave, me, small_cell_min)
    if found is None:
        return None
    chosen, n, counts = found
    below = sum(counts[:stage_rank])
    return SurveyStageOut(
        wave=wave.code,
        peer_group=chosen,
        peer_group_label=" · ".join(_criterion_label(k, v) for k, v in chosen.items()) or _("All enterprises"),
        firms=n,
        shares={stage_ids[k]: round(100 * counts[k] / n, 1) for k in range(5)},
        stage=stage_ids[stage_rank],
        percentile=round(100 * (below + counts[stage_rank] / 2) / n, 1),
    )


def peers_stamp(session: Session, actor: Actor) -> tuple[Any, ...]:
    """What `benchmark` and `service.change_since_previous` answer for besides the assessment itself and the
    cell minimum: the completed assessments (how many, the newest change, the highest id), the organisations'
    newest change (a profile edit moves a firm between peer groups) and, for a reader of the survey, its
    latest wave and that wave's version (its latest import: a wave's responses change only by an import, as
    the survey's own figures rely on; counting the wave's responses instead scanned them all on every view).
    One query, one more for a survey reader; a cache of a result page is keyed by it, so a peer completing an
    assessment or a new import, in any worker, shows at the next view."""
    row = session.execute(
        select(
            func.count(Assessment.id),
            func.max(Assessment.updated_at),
            func.max(Assessment.id),
            select(func.max(Organisation.updated_at)).scalar_subquery(),
        ).where(Assessment.status == AssessmentStatus.COMPLETED)
    ).one()
    wave = None
    if actor.can(Permission.SURVEY_READ):
        latest = survey.latest_wave_version(session, actor)
        if latest is not None:
            wave = (str(session.get_bind().engine.url), latest[0].id, latest[0].code, latest[0].created_at, latest[1])
    return (*row, wave)


def benchmark(session: Session, actor: Actor, assessment_id: int, *, small_cell_min: int) -> BenchmarkOut:
    a = get_assessment(session, actor, assessment_id)
    result = result_of(session, a)
    org = session.get(Organisation, a.org_id)
    me = {
        "industry": industry_of(org) if org else None,
        "revenue_band": org.revenue_band if org else None,
        "province": org.province_code if org else None,
    }
    surveyed = None
    if result.stage is not None:
        stage_ids = [t.id for t in get_instrument(a.instrument_id, a.instrument_version).stages]
        surveyed = survey_stage(session, actor, me, result.stage.rank, stage_ids, small_cell_min=small_cell_min)
    ladder = ladder_counts(session, a.instrument_id, a.instrument_version, me, a.org_id)  # count in SQL, then
    chosen = next((step for step, n in ladder if n >= small_cell_min), None)  # fetch only a group large enough
    group = peers(session, a.instrument_id, a.instrument_version, chosen, a.org_id) if chosen is not None else []
    if chosen is None or len(group) < small_cell_min:
        return BenchmarkOut(  # how many there are (a count reveals no firm) and how many are needed
            assessment_id=a.id,
            instrument=a.instrument_id,
            peer_group={},
            peer_group_label="",
            peers=ladder[-1][1],  # the last step has no criteria: every peer
            suppressed=True,
            overall=result.overall,
            survey_stage=surveyed,
            peers_needed=small_cell_min,
        )
    scores = sorted(p.overall for p in group)
    below = sum(1 for s in scores if s < result.overall)
    ties = sum(1 for s in scores if s == result.overall)
    bins = [
        DistributionBin(
            lower=lo, upper=lo + 10, count=sum(1 for s in scores if lo <= s < lo + 10 or (lo == 90 and s == 100))
        )
        for lo in range(0, 100, 10)
    ]
    dims = {
        d: round(median(p.dimensions[d] for p in group if d in p.dimensions), 1)
        for d in result.dimensions
        if any(d in p.dimensions for p in group)
    }
    quartiles = quantiles(scores, n=4, method="inclusive") if len(scores) > 1 else scores * 3
    label = " · ".join(_criterion_label(k, v) for k, v in chosen.items()) or _("All enterprises")
    return BenchmarkOut(
        assessment_id=a.id,
        instrument=a.instrument_id,
        peer_group=chosen,
        peer_group_label=label,
        peers=len(group),
        suppressed=False,
        percentile=round(100 * (below + ties / 2) / len(scores), 1),
        overall=result.overall,
        distribution=bins,
        quartiles=[round(q, 1) for q in quartiles],
        dimension_medians=dims,
        survey_stage=surveyed,
        peers_needed=small_cell_min,
    )
