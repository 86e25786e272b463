"""Survey waves: import files (all or nothing, idempotent), read indicators and the index, suppress.

Who may do what: SURVEY_IMPORT creates waves, imports files and reads error files (they hold raw
answers); SURVEY_READ reads published figures, where every cell resting on fewer firms than
`small_cell_min` is shown as "suppressed"; SURVEY_READ_UNSUPPRESSED (analysts) sees the numbers.
Services never commit: the edge does, once, so a failure anywhere leaves the database as it was.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import ScalarSelect

from smeai import taxonomy
from smeai.auth import audit
from smeai.auth.actor import Actor
from smeai.auth.models import User
from smeai.auth.permissions import Permission
from smeai.errors import Conflict, Forbidden, Invalid, NotFound
from smeai.i18n import N_
from smeai.lru import Bounded
from smeai.survey import codebook, index, indicators, loading
from smeai.survey.analysis import check_file, reasons_csv, valid_batches
from smeai.survey.models import SurveyImport, SurveyResponse, SurveyWave

if TYPE_CHECKING:
    import pyarrow as pa

SUPPRESSED = "suppressed"
RESPONSE_COLUMNS = (
    "survey_year",
    "province_code",
    "city",
    "pilot_batch",
    "industry_section",
    "mfg_division",
    "founded_year",
    "employees",
    "revenue_wan",
    "ai_status",
    "ai_investment_wan",
    "ai_stage",
    *codebook.LINK_COLUMNS,
    "model_type",
)
ANSWER_COLUMNS = (*codebook.SCENARIO_COLUMNS, *codebook.BARRIER_COLUMNS)


class WaveExists(Conflict):
    code = "survey_wave_exists"


# --- waves --------------------------------------------------------------------------------------


def list_waves(session: Session, actor: Actor) -> list[tuple[SurveyWave, int]]:
    """Every wave with its number of responses (waves are published to every SURVEY_READ holder)."""
    return [(wave, n) for wave, n, _version in waves_with_versions(session, actor)]


# A wave's number of responses per version of the wave (its latest import, as for the figures): counting them
# (a scan of every response) was the dashboard's costliest query, asked on every view; the count moves only
# with an import, which moves the version, so an entry is never read once it is out of date.
_counts: Bounded[int] = Bounded(256)


def waves_with_versions(session: Session, actor: Actor) -> list[tuple[SurveyWave, int, int]]:
    """Every wave by code, with its number of responses and its version (`wave_version`): one query."""
    actor.require(Permission.SURVEY_READ)
    database = str(session.get_bind().engine.url)
    out = []
    for wave, found in session.execute(select(SurveyWave, _version_of_wave()).order_by(SurveyWave.code)).all():
        key = (database, wave.id, wave.created_at, int(found))  # the database and creation too, as for figures
        n = _counts.get(key)
        if n is None:  # read after the version: a count is never older than the version it is kept under
            n = int(session.scalar(select(func.count()).where(SurveyResponse.wave_id == wave.id)) or 0)
            _counts.put(key, n)
        out.append((wave, n, int(found)))
    return out


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
    code = check_wave_code(code)
    if find_wave(session, code) is not None:
        raise WaveExists(N_("A wave with this code already exists."), fields={"code": "already exists"})
    wave = SurveyWave(code=code, name=(name or code).strip()[:200], created_by=actor.user_id)
    session.add(wave)
    session.flush()
    return wave


def check_wave_code(code: str) -> str:
    """The code stripped, if it may name a wave; Invalid if not."""
    code = code.strip()
    if not code or len(code) > 40 or not all(ch.isalnum() or ch in "-_." for ch in code):
        raise Invalid(N_("A wave code is letters, digits, '-', '_' or '.' (at most 40)."), fields={"code": "invalid"})
    return code


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


# what an import reports as it goes: (stage, rows done, rows in all) with stage "validating" or "importing"
Progress = Callable[[str, int, int | None], None]
INSERT_BATCH = 5_000  # rows per INSERT: progress moves between batches, and no list of every row is built


def import_file(
    session: Session,
    actor: Actor,
    wave_code: str,
    data: bytes | Path,
    *,
    filename: str,
    create: bool = True,
    wave_name: str | None = None,
    progress: Progress | None = None,
) -> ImportOutcome:
    """Load a canonical or 问卷星 file into a wave: valid rows are kept, every rejected row reported.

    The same file twice changes nothing (the first import is returned); a response_id the wave already
    holds is counted, not duplicated; a file missing a required column is refused whole. The file is
    checked before anything is written (a new wave included), so `progress` may be reported from another
    session while the file is checked, even on SQLite (one writer at a time)."""
    actor.require(Permission.SURVEY_IMPORT)
    report = progress or (lambda stage, done, total: None)
    wave = find_wave(session, wave_code)
    if wave is None:
        if not create:
            raise NotFound(N_("Survey wave not found."))
        check_wave_code(wave_code)
    sha = _sha256(data)
    if wave is not None:
        earlier = session.scalar(
            select(SurveyImport).where(SurveyImport.wave_id == wave.id, SurveyImport.sha256 == sha)
        )
        if earlier is not None:
            return ImportOutcome(record=earlier, already_imported=True)

    report("validating", 0, None)
    con = loading.connect()
    try:
        checked, layout, unmapped = check_file(con, data, filename=filename, max_rows=codebook.MAX_ROWS)
        report("importing", 0, checked.n_valid)
        if wave is None:
            wave = create_wave(session, actor, wave_code, name=wave_name)
        existing = set(session.scalars(select(SurveyResponse.response_id).where(SurveyResponse.wave_id == wave.id)))
        record = SurveyImport(
            wave_id=wave.id,
            filename=filename[:255],
            layout=layout,
            sha256=sha,
            n_rows=checked.n_rows,
            n_inserted=0,
            n_existing=0,
            n_rejected=checked.n_rejected,
            errors_csv=reasons_csv(checked.reasons),
            imported_by=actor.user_id,
        )
        session.add(record)
        session.flush()
        done = 0
        # the valid rows come out of DuckDB a batch at a time: never every row of the file as Python values
        for columns in valid_batches(con, INSERT_BATCH):
            for batch, skipped in _response_records(columns, wave.id, record.id, existing):
                if batch:
                    session.execute(insert(SurveyResponse), batch)  # Core executemany: no ORM units
                record.n_inserted += len(batch)
                record.n_existing += skipped
                done += len(batch) + skipped
                report("importing", done, checked.n_valid)
    finally:
        con.close()
    session.flush()
    counts = {"wave": wave.code, "inserted": record.n_inserted, "rejected": record.n_rejected}
    audit.record(session, actor, "survey.import", record, after=counts)
    return ImportOutcome(record=record, reasons=checked.reasons, unmapped=unmapped)


def _sha256(data: bytes | Path) -> str:
    """The file's SHA-256, read in blocks (an upload streamed to disk is never in memory whole)."""
    if isinstance(data, bytes):
        return hashlib.sha256(data).hexdigest()
    digest = hashlib.sha256()
    with data.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _response_records(
    columns: dict[str, list[object]], wave_id: int, import_id: int, existing: set[str], size: int = INSERT_BATCH
) -> Iterator[tuple[list[dict[str, Any]], int]]:
    """The rows to insert in batches of `size` valid rows, each with how many of them the wave already had."""
    out: list[dict[str, Any]] = []
    skipped = 0
    for i, rid in enumerate(columns["response_id"]):
        if rid in existing:
            skipped += 1
        else:
            rec: dict[str, Any] = {c: columns[c][i] for c in RESPONSE_COLUMNS}
            submitted = columns["submitted_at"][i]
            assert isinstance(submitted, datetime)  # codebook.validate keeps only rows with a parsed time
            rec["submitted_at"] = submitted.isoformat(sep=" ")
            rec["answers"] = {c: columns[c][i] for c in ANSWER_COLUMNS if columns[c][i] is not None}
            rec.update(wave_id=wave_id, import_id=import_id, row_no=columns["row"][i], response_id=rid)
            out.append(rec)
        if len(out) + skipped >= size:
            yield out, skipped
            out, skipped = [], 0
    if out or skipped:
        yield out, skipped


def get_import(session: Session, actor: Actor, import_id: int) -> SurveyImport:
    """An import and its error file (raw answers): for those who may import, of their own organisation's
    imports (an import by the system, as the demo's, is the centre's: any importer's)."""
    actor.require(Permission.SURVEY_IMPORT)
    record = session.get(SurveyImport, import_id)
    if record is None or not _own_import(session, actor, record):
        raise NotFound(N_("Import not found."))
    return record


def _own_import(session: Session, actor: Actor, record: SurveyImport) -> bool:
    if actor.is_system or record.imported_by is None:
        return True
    org = session.scalar(select(User.org_id).where(User.id == record.imported_by))
    return org is None or org == actor.org_id


def list_imports(session: Session, actor: Actor, wave: SurveyWave) -> list[SurveyImport]:
    actor.require(Permission.SURVEY_IMPORT)
    return list(session.scalars(select(SurveyImport).where(SurveyImport.wave_id == wave.id).order_by(SurveyImport.id)))


# --- reading a wave -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    province: str | None = None
    section: str | None = None
    group: str | None = None

    def __bool__(self) -> bool:
        return bool(self.province or self.section or self.group)

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
    import pyarrow as pa

    filters = filters or Filters()
    filters.check()
    query = select(*(getattr(SurveyResponse, c) for c in RESPONSE_COLUMNS)).where(SurveyResponse.wave_id == wave.id)
    if filters.province:
        query = query.where(SurveyResponse.province_code == filters.province)
    if filters.section:
        query = query.where(SurveyResponse.industry_section == filters.section)
    if filters.group:
        divisions = [int(d) for d in taxonomy.load().groups[filters.group].divisions]
        query = query.where(SurveyResponse.industry_section == "C", SurveyResponse.mfg_division.in_(divisions))
    rows = session.execute(query).all()
    schema = codebook.arrow_schema()
    arrays = {c: pa.array([r[i] for r in rows], type=schema.field(c).type) for i, c in enumerate(RESPONSE_COLUMNS)}
    return pa.table(arrays)


def may_see_small_cells(actor: Actor) -> bool:
    return actor.can(Permission.SURVEY_READ_UNSUPPRESSED)


def may_filter(actor: Actor) -> bool:
    """Slicing by province, section or group is for those who see small cells anyway (analysts).

    Two published slices subtract: a province's figures with and without one section are the
    figures of the few firms in between, however large each slice is. The published view is one
    table per wave, the whole wave, with its own cells protected (`_secondary`)."""
    return may_see_small_cells(actor)


def _require_filter_right(actor: Actor, filters: Filters | None) -> None:
    if filters and not may_filter(actor):
        raise Forbidden(
            N_(
                "Only analysts may filter survey figures: two filtered views could be subtracted to reveal one "
                "firm's answers."
            ),
            fields={name: "analysts only" for name in ("province", "section", "group") if getattr(filters, name)},
        )


def suppress(values: Any, bases: Any, k: int) -> Any:
    """Every cell resting on 1..k-1 firms becomes "suppressed" (a cell on 0 firms has no number)."""
    if isinstance(values, dict):
        return {key: suppress(values[key], bases[key], k) for key in values}
    if isinstance(bases, int) and 0 < bases < k and values is not None:
        return SUPPRESSED
    return values


def _hide(values: Any) -> Any:
    """Every number under `values` as "suppressed" (no number stays no number)."""
    if isinstance(values, dict):
        return {key: _hide(v) for key, v in values.items()}
    return values if values is None else SUPPRESSED


def wave_indicators(
    session: Session, actor: Actor, code: str, *, filters: Filters | None = None, small_cell_min: int
) -> dict[str, Any]:
    """The indicators.md JSON of a wave (or a slice of it), suppressed unless the actor may see small cells."""
    return wave_figures(session, actor, code, filters=filters, small_cell_min=small_cell_min)[0]


def wave_index(
    session: Session, actor: Actor, code: str, *, filters: Filters | None = None, small_cell_min: int
) -> dict[str, list[dict[str, Any]]]:
    """The AI-application index by province, by group and by both, each with its firm count."""
    return wave_figures(session, actor, code, filters=filters, small_cell_min=small_cell_min)[1]


# A wave's figures, computed once per version of the wave: the key holds the wave's last import, so
# an import (in this process or any other) makes a new key, and a stale entry is never read again.
FIGURES_CACHED = 64
_figures: Bounded[tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]] = Bounded(FIGURES_CACHED)


def _version_of_wave() -> ScalarSelect[int]:
    """`wave_version` as a column of a query over the waves."""
    return (
        select(func.coalesce(func.max(SurveyImport.id), 0)).where(SurveyImport.wave_id == SurveyWave.id)
    ).scalar_subquery()


def wave_version(session: Session, wave: SurveyWave) -> int:
    """What changes whenever the wave's responses do: its latest import (imports are only ever added)."""
    return int(
        session.scalar(select(func.coalesce(func.max(SurveyImport.id), 0)).where(SurveyImport.wave_id == wave.id)) or 0
    )


def wave_figures(
    session: Session, actor: Actor, code: str, *, filters: Filters | None = None, small_cell_min: int
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """wave_indicators and wave_index together, reading the wave's responses once.

    Filters are for analysts (`may_filter`); everyone else reads the whole wave, where a cell on
    1..k-1 firms is suppressed, and so is every further cell that would let it be worked out by
    subtraction from a published total (`_secondary`). Kept per version of the wave (FIGURES_CACHED
    views), so the dashboard reads them in milliseconds until the next import."""
    wave = get_wave(session, actor, code)
    _require_filter_right(actor, filters)
    key = (  # the database and the wave's creation too: a test's fresh database may reuse ids
        str(session.get_bind().engine.url),
        wave.id,
        wave.created_at,
        wave_version(session, wave),
        filters or Filters(),
        may_see_small_cells(actor),
        small_cell_min,
    )
    found = _figures.get(key)
    if found is not None:
        return copy.deepcopy(found)
    figures = _compute_figures(session, actor, wave, filters, small_cell_min)
    _figures.put(key, copy.deepcopy(figures))
    return figures


def _compute_figures(
    session: Session, actor: Actor, wave: SurveyWave, filters: Filters | None, small_cell_min: int
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    table = wave_arrow(session, wave, filters)
    frames = indicators.execute_arrow(table)
    values, bases = indicators.assemble(frames, n_rejected=wave_stats(session, wave)["n_rejected"])
    idx = index.compute_arrow(table)
    if may_see_small_cells(actor):
        return values, idx
    k = small_cell_min
    bases["n_rejected"] = 0  # about the file, not about firms
    hidden = _secondary(bases, idx, k, manufacturing=indicators.count(frames["sections"], is_mfg=True))
    values = suppress(values, bases, k)
    for key, bands in (
        ("adoption_by_age", hidden.age),
        ("adoption_by_revenue", hidden.revenue),
        ("intensity_bucket_counts", hidden.buckets),
        ("link_usage_by_group", hidden.groups),
    ):
        for band in bands:
            values[key][band] = _hide(values[key][band])
    for cells, hide in (
        ("by_province", lambda c: c["province_code"] in hidden.provinces),
        ("by_group", lambda c: c["group"] in hidden.groups),
        ("by_province_group", lambda c: (c["province_code"], c["group"]) in hidden.cells),
    ):
        for cell in idx[cells]:
            if hide(cell) or cell["n"] < k:
                cell["index"] = SUPPRESSED
                cell["components"] = dict.fromkeys(cell["components"], SUPPRESSED)
                cell["n"] = SUPPRESSED
    return values, idx


# --- secondary suppression ----------------------------------------------------------------------


@dataclass
class Hidden:
    """The parts of the published tables that are suppressed: small ones and those hiding them."""

    provinces: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    cells: set[tuple[str, str]] = field(default_factory=set)  # province × group
    age: set[str] = field(default_factory=set)
    revenue: set[str] = field(default_factory=set)
    buckets: set[str] = field(default_factory=set)


def _complete(parts: dict[Any, int], hidden: set[Any], k: int, *, rest: int = 0) -> None:
    """Hide parts of a published total (small ones first, then the smallest shown) until the total minus
    the shown parts rests on no firm or on at least k (`rest`: firms of the total in no part)."""
    hidden |= {p for p, n in parts.items() if 0 < n < k}
    while 0 < rest + sum(parts[p] for p in hidden if p in parts) < k:
        shown = [p for p, n in parts.items() if p not in hidden and n > 0]
        if not shown:
            break
        hidden.add(min(shown, key=lambda p: (parts[p], str(p))))


def _secondary(bases: dict[str, Any], idx: dict[str, list[dict[str, Any]]], k: int, *, manufacturing: int) -> Hidden:
    """What to hide so that no published total minus its published parts rests on 1..k-1 firms.

    The totals and their parts: all firms by province, by age band and by revenue band; adopters by
    intensity bucket; manufacturing firms by group, and each intensity class by its groups; each
    province by its province × group cells (its other firms being the rest), each group by them too.
    A province or group hidden hides its cells. Repeated until nothing changes."""
    h = Hidden()
    first = lambda table: next(iter(table.values()))  # noqa: E731  (every status shares the band's base)
    age = {b: first(v) for b, v in bases["adoption_by_age"].items()}
    revenue = {b: first(v) for b, v in bases["adoption_by_revenue"].items()}
    adopters = bases["investment_bands"]["<=100"]
    buckets = dict(bases["intensity_bucket_counts"])
    _complete(age, h.age, k)
    _complete(revenue, h.revenue, k)
    _complete(buckets, h.buckets, k, rest=adopters - sum(buckets.values()))

    provinces = {c["province_code"]: c["n"] for c in idx["by_province"]}
    groups = {c["group"]: c["n"] for c in idx["by_group"]}
    cells = {(c["province_code"], c["group"]): c["n"] for c in idx["by_province_group"]}
    classes: dict[str, list[str]] = {}
    for code, g in indicators.groups().items():
        classes.setdefault(g["class"], []).append(code)

    def size() -> int:
        return len(h.provinces) + len(h.groups) + len(h.cells)

    before = -1
    while before != size():  # hiding a part may leave another total's rest too small: again until stable
        before = size()
        _complete(provinces, h.provinces, k)
        _complete(groups, h.groups, k, rest=manufacturing - sum(groups.values()))
        for members in classes.values():
            _complete({g: groups.get(g, 0) for g in members}, h.groups, k)
        h.cells |= {(p, g) for (p, g) in cells if p in h.provinces or g in h.groups}
        for p, n in provinces.items():
            row = {g: m for (pp, g), m in cells.items() if pp == p}
            hidden = {g for (pp, g) in h.cells if pp == p}
            _complete(row, hidden, k, rest=n - sum(row.values()))
            h.cells |= {(p, g) for g in hidden}
        for g in groups:
            column = {p: m for (p, gg), m in cells.items() if gg == g}
            hidden = {p for (p, gg) in h.cells if gg == g}
            _complete(column, hidden, k)
            h.cells |= {(p, g) for p in hidden}
        if before == size():
            _unpin(provinces, cells, h, k, classes={g: c for c, members in classes.items() for g in members})
    return h


def _unpin(
    provinces: dict[str, int], cells: dict[tuple[str, str], int], h: Hidden, k: int, *, classes: dict[str, str]
) -> None:
    """Hide one more province or cell when the shown rows and columns pin a small hidden cell down alone.

    The hidden cells of the province × group table are edges between their province and their group;
    every vertex's total is known (a shown province or group; the hidden provinces together, the
    hidden groups of each intensity class together, and the firms outside any group, by subtraction
    from published totals).
    An edge that is a bridge (no cycle through it) is then determined exactly: the rows minus the
    columns on one side of it. A bridge on 1..k-1 firms gets a cycle: a shown cell across it is hidden,
    or else a province on each side, which merges them."""

    def row(p: str) -> tuple[str, str]:
        return ("row", "*" if p in h.provinces else p)

    def col(g: str) -> tuple[str, str]:
        return ("col", "*" + classes.get(g, "") if g in h.groups else g)

    weight: dict[tuple[tuple[str, str], tuple[str, str]], int] = {}
    for p, g in h.cells:
        weight[(row(p), col(g))] = weight.get((row(p), col(g)), 0) + cells[(p, g)]
    for p, n in provinces.items():  # the province's firms outside any group
        if rest := n - sum(m for (pp, _g), m in cells.items() if pp == p):
            weight[(row(p), ("col", "rest"))] = weight.get((row(p), ("col", "rest")), 0) + rest
    near: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for u, v in weight:
        near.setdefault(u, set()).add(v)
        near.setdefault(v, set()).add(u)

    def side(start: tuple[str, str], cut: set[tuple[str, str]]) -> set[tuple[str, str]]:
        seen, todo = {start}, [start]
        while todo:
            x = todo.pop()
            for y in near[x] - seen:
                if {x, y} != cut:
                    seen.add(y)
                    todo.append(y)
        return seen

    for (u, v), w in sorted(weight.items()):
        if not 0 < w < k:
            continue
        a, b = side(u, {u, v}), side(v, {u, v})
        if v in a:
            continue  # on a cycle: not pinned
        across = [
            (m, key)
            for key, m in cells.items()
            if key not in h.cells and {row(key[0]), col(key[1])} & a and {row(key[0]), col(key[1])} & b
        ]
        if across:
            h.cells.add(min(across)[1])
            return
        merge = [
            min((provinces[x[1]], x[1]) for x in part if x[0] == "row")[1]
            for part in (a, b)
            if ("row", "*") not in part and any(x[0] == "row" for x in part)
        ]
        if len(merge) == 2 - any(("row", "*") in part for part in (a, b)):  # one row each side ends up in *
            h.provinces |= set(merge)
            return


def latest_wave(session: Session, actor: Actor) -> SurveyWave | None:
    actor.require(Permission.SURVEY_READ)
    return session.scalar(select(SurveyWave).order_by(SurveyWave.created_at.desc(), SurveyWave.id.desc()).limit(1))


def latest_wave_version(session: Session, actor: Actor) -> tuple[SurveyWave, int] | None:
    """The latest wave (as `latest_wave`) with its version (`wave_version`), in one query."""
    actor.require(Permission.SURVEY_READ)
    query = select(SurveyWave, _version_of_wave()).order_by(SurveyWave.created_at.desc(), SurveyWave.id.desc())
    row = session.execute(query.limit(1)).first()
    return None if row is None else (row[0], int(row[1]))
