"""Survey waves: import files (all or nothing, idempotent), read indicators and the index, suppress.

Who may do what: SURVEY_IMPORT creates waves, imports files and reads error files (they hold raw
answers); SURVEY_READ reads published figures, where every cell resting on fewer firms than
`small_cell_min` is shown as "suppressed"; SURVEY_READ_UNSUPPRESSED (analysts) sees the numbers.
Services never commit: the edge does, once, so a failure anywhere leaves the database as it was.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from smeai import taxonomy
from smeai.auth.actor import Actor
from smeai.auth.permissions import Permission
from smeai.errors import Conflict, Invalid, NotFound
from smeai.i18n import N_
from smeai.survey import codebook, index, indicators
from smeai.survey.analysis import read_survey, reasons_csv
from smeai.survey.models import SurveyImport, SurveyResponse, SurveyWave

SUPPRESSED = "suppressed"
RESPONSE_COLUMNS = (
    "survey_year", "province_code", "city", "pilot_batch", "industry_section", "mfg_division", "founded_year",
    "employees", "revenue_wan", "ai_status", "ai_investment_wan", "ai_stage", *codebook.LINK_COLUMNS,
    "model_type",
)
ANSWER_COLUMNS = (*codebook.SCENARIO_COLUMNS, *codebook.BARRIER_COLUMNS)


class WaveExists(Conflict):
    code = "survey_wave_exists"


# --- waves --------------------------------------------------------------------------------------


def list_waves(session: Session, actor: Actor) -> list[tuple[SurveyWave, int]]:
    """Every wave with its number of responses (waves are published to every SURVEY_READ holder)."""
    actor.require(Permission.SURVEY_READ)
    counts = (
        select(SurveyResponse.wave_id, func.count().label("n")).group_by(SurveyResponse.wave_id).subquery()
    )
    rows = session.execute(
        select(SurveyWave, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.wave_id == SurveyWave.id)
        .order_by(SurveyWave.code)
    )
    return [(w, int(n)) for w, n in rows]


def find_wave(session: Session, code: str) -> SurveyWave | None:
    return session.scalar(select(SurveyWave).where(SurveyWave.code == code))


def get_wave(session: Session, actor: Actor, code: str) -> SurveyWave:
    actor.require(Permission.SURVEY_READ)
    wave = find_wave(session, code)
    if wave is None:
        raise NotFound(N_("Survey wave not found."))
    return wave


def create_wave(session: Session, actor: Actor, code: str, *, name: str | None = None) -> SurveyWave:
    actor.require(Permission.SURVEY_IMPORT)
    code = code.strip()
    if not code or len(code) > 40 or not all(ch.isalnum() or ch in "-_." for ch in code):
        raise Invalid(N_("A wave code is letters, digits, '-', '_' or '.' (at most 40)."),
                      fields={"code": "invalid"})
    if find_wave(session, code) is not None:
        raise WaveExists(N_("A wave with this code already exists."), fields={"code": "already exists"})
    wave = SurveyWave(code=code, name=(name or code).strip()[:200], created_by=actor.user_id)
    session.add(wave)
    session.flush()
    return wave


def wave_stats(session: Session, wave: SurveyWave) -> dict[str, int]:
    n = session.scalar(select(func.count()).where(SurveyResponse.wave_id == wave.id)) or 0
    rejected = session.scalar(
        select(func.coalesce(func.sum(SurveyImport.n_rejected), 0)).where(SurveyImport.wave_id == wave.id)
    )
    return {"n_responses": int(n), "n_rejected": int(rejected or 0)}


# --- import -------------------------------------------------------------------------------------


@dataclass
class ImportOutcome:
    record: SurveyImport
    reasons: list[codebook.Reason] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    already_imported: bool = False


def import_file(
    session: Session,
    actor: Actor,
    wave_code: str,
    data: bytes,
    *,
    filename: str,
    create: bool = True,
    wave_name: str | None = None,
) -> ImportOutcome:
    """Load a canonical or 问卷星 file into a wave: valid rows are kept, every rejected row reported.

    The same file twice changes nothing (the first import is returned); a response_id the wave already
    holds is counted, not duplicated; a file missing a required column is refused whole."""
    actor.require(Permission.SURVEY_IMPORT)
    wave = find_wave(session, wave_code)
    if wave is None:
        if not create:
            raise NotFound(N_("Survey wave not found."))
        wave = create_wave(session, actor, wave_code, name=wave_name)
    sha = hashlib.sha256(data).hexdigest()
    earlier = session.scalar(select(SurveyImport).where(SurveyImport.wave_id == wave.id, SurveyImport.sha256 == sha))
    if earlier is not None:
        return ImportOutcome(record=earlier, already_imported=True)

    validated, layout, unmapped = read_survey(data, filename=filename)

    existing = set(session.scalars(select(SurveyResponse.response_id).where(SurveyResponse.wave_id == wave.id)))
    record = SurveyImport(
        wave_id=wave.id, filename=filename[:255], layout=layout, sha256=sha, n_rows=validated.n_rows,
        n_inserted=0, n_existing=0, n_rejected=validated.n_rejected, errors_csv=reasons_csv(validated.reasons),
        imported_by=actor.user_id,
    )
    session.add(record)
    session.flush()
    records, n_existing = _response_records(validated.columns, wave.id, record.id, existing)
    if records:
        session.execute(insert(SurveyResponse.__table__), records)  # Core executemany: one batch, no ORM units
    record.n_inserted, record.n_existing = len(records), n_existing
    session.flush()
    return ImportOutcome(record=record, reasons=validated.reasons, unmapped=unmapped)


def _response_records(
    columns: dict[str, list[object]], wave_id: int, import_id: int, existing: set[str]
) -> tuple[list[dict[str, Any]], int]:
    out: list[dict[str, Any]] = []
    skipped = 0
    for i, rid in enumerate(columns["response_id"]):
        if rid in existing:
            skipped += 1
            continue
        rec: dict[str, Any] = {c: columns[c][i] for c in RESPONSE_COLUMNS}
        rec["submitted_at"] = columns["submitted_at"][i].isoformat(sep=" ")  # type: ignore[union-attr]
        rec["answers"] = {c: columns[c][i] for c in ANSWER_COLUMNS if columns[c][i] is not None}
        rec.update(wave_id=wave_id, import_id=import_id, row_no=columns["row"][i], response_id=rid)
        out.append(rec)
    return out, skipped


def get_import(session: Session, actor: Actor, import_id: int) -> SurveyImport:
    """An import and its error file (raw answers): for those who may import."""
    actor.require(Permission.SURVEY_IMPORT)
    record = session.get(SurveyImport, import_id)
    if record is None:
        raise NotFound(N_("Import not found."))
    return record


def list_imports(session: Session, actor: Actor, wave: SurveyWave) -> list[SurveyImport]:
    actor.require(Permission.SURVEY_IMPORT)
    return list(session.scalars(select(SurveyImport).where(SurveyImport.wave_id == wave.id)
                                .order_by(SurveyImport.id)))


# --- reading a wave -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    province: str | None = None
    section: str | None = None
    group: str | None = None

    def check(self) -> None:
        tax = taxonomy.load()
        problems = {}
        if self.province and self.province not in tax.provinces:
            problems["province"] = "unknown province"
        if self.section and self.section not in tax.sections:
            problems["section"] = "unknown section"
        if self.group and self.group not in tax.groups:
            problems["group"] = "unknown group"
        if problems:
            raise Invalid(N_("Unknown filter value."), fields=problems)


def wave_arrow(session: Session, wave: SurveyWave, filters: Filters | None = None) -> pa.Table:
    """The wave's responses (filtered) as a typed Arrow table, the input of the indicator expressions."""
    filters = filters or Filters()
    filters.check()
    query = select(*(getattr(SurveyResponse, c) for c in RESPONSE_COLUMNS)).where(SurveyResponse.wave_id == wave.id)
    if filters.province:
        query = query.where(SurveyResponse.province_code == filters.province)
    if filters.section:
        query = query.where(SurveyResponse.industry_section == filters.section)
    if filters.group:
        divisions = [int(d) for d in taxonomy.load().groups[filters.group].extra["divisions"]]  # type: ignore[union-attr]
        query = query.where(SurveyResponse.industry_section == "C", SurveyResponse.mfg_division.in_(divisions))
    rows = session.execute(query).all()
    schema = codebook.arrow_schema()
    arrays = {c: pa.array([r[i] for r in rows], type=schema.field(c).type) for i, c in enumerate(RESPONSE_COLUMNS)}
    return pa.table(arrays)


def may_see_small_cells(actor: Actor) -> bool:
    return actor.can(Permission.SURVEY_READ_UNSUPPRESSED)


def suppress(values: Any, bases: Any, k: int) -> Any:
    """Every cell resting on 1..k-1 firms becomes "suppressed" (a cell on 0 firms has no number)."""
    if isinstance(values, dict):
        return {key: suppress(values[key], bases[key], k) for key in values}
    if isinstance(bases, int) and 0 < bases < k and values is not None:
        return SUPPRESSED
    return values


def wave_indicators(
    session: Session, actor: Actor, code: str, *, filters: Filters | None = None, small_cell_min: int
) -> dict[str, Any]:
    """The indicators.md JSON of a wave (or a slice of it), suppressed unless the actor may see small cells."""
    wave = get_wave(session, actor, code)
    return _indicators(session, actor, wave, wave_arrow(session, wave, filters), small_cell_min)


def wave_index(
    session: Session, actor: Actor, code: str, *, filters: Filters | None = None, small_cell_min: int
) -> dict[str, list[dict[str, Any]]]:
    """The AI-application index by province, by group and by both, each with its firm count."""
    wave = get_wave(session, actor, code)
    return _index(actor, wave_arrow(session, wave, filters), small_cell_min)


def wave_figures(
    session: Session, actor: Actor, code: str, *, filters: Filters | None = None, small_cell_min: int
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """wave_indicators and wave_index together, reading the wave's responses once."""
    wave = get_wave(session, actor, code)
    table = wave_arrow(session, wave, filters)
    return _indicators(session, actor, wave, table, small_cell_min), _index(actor, table, small_cell_min)


def _indicators(session: Session, actor: Actor, wave: SurveyWave, table: pa.Table, k: int) -> dict[str, Any]:
    values, bases = indicators.assemble(indicators.execute_arrow(table),
                                        n_rejected=wave_stats(session, wave)["n_rejected"])
    bases["n_rejected"] = 0  # about the file, not about firms
    return values if may_see_small_cells(actor) else suppress(values, bases, k)


def _index(actor: Actor, table: pa.Table, k: int) -> dict[str, list[dict[str, Any]]]:
    result = index.compute_arrow(table)
    if may_see_small_cells(actor):
        return result
    for cells in result.values():
        for cell in cells:
            if cell["n"] < k:
                cell["index"] = SUPPRESSED
                cell["components"] = dict.fromkeys(cell["components"], SUPPRESSED)
                cell["n"] = SUPPRESSED
    return result


def latest_wave(session: Session, actor: Actor) -> SurveyWave | None:
    actor.require(Permission.SURVEY_READ)
    return session.scalar(select(SurveyWave).order_by(SurveyWave.created_at.desc(), SurveyWave.id.desc()).limit(1))
