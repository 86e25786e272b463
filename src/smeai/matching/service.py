"""Needs (需求挖掘) and matching (技术匹配): rules, permissions and persistence.

Engagements live in engagements.py, challenges in challenges.py, the module menu in menu.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Set
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, false, func, select, true
from sqlalchemy.orm import Session

from smeai import taxonomy
from smeai.assessment import service as assessment_service
from smeai.auth import audit
from smeai.auth.actor import Actor
from smeai.auth.models import Organisation
from smeai.auth.permissions import OrgKind, Permission
from smeai.cases import service as cases_service
from smeai.cases.models import Case
from smeai.catalog.models import Offering
from smeai.db import utcnow
from smeai.errors import Invalid, NotFound
from smeai.i18n import N_, _, get_lang
from smeai.lru import Bounded
from smeai.matching import cues, pools, understanding
from smeai.matching.models import Need
from smeai.matching.ranker import RULES_VERSION, Match, Pool
from smeai.matching.ranker import Need as NeedQuery
from smeai.matching.reasons import localise_all
from smeai.matching.schemas import NeedIn, NeedRecord, NeedStatus, ShortlistOut, ShownMatchOut
from smeai.money import wan_to_fen
from smeai.subsidy import service as subsidy_service
from smeai.subsidy.models import Application
from smeai.subsidy.models import Pool as BudgetPool
from smeai.subsidy.schemas import PurchaseIn

SCENARIO_THRESHOLD = 0.5  # detected scenarios at least half as strong as the strongest are proposed


# --- the pool ---------------------------------------------------------------------------------


def current_pool(session: Session, pool: Pool | None = None) -> Pool:
    """The published offerings as a ranking pool (pools.py): rebuilt only when the catalog changed,
    served at once while its embeddings are computed in the background. With the published case
    counts (of `pool`, when the caller already has the latest pool)."""
    pool = pool or pools.latest(session)
    pool.set_case_counts(cases_service.published_case_counts(session))
    return pool


def match_records(session: Session, needs: list[NeedRecord], *, top: int = 10) -> list[list[Match]]:
    """`smeai match` and POST /api/v1/match: interchange needs against the published pool (public
    data; no actor needed)."""
    pool = current_pool(session)
    return [pool.match(_query(n), top=top) for n in needs]


def read_text(text: str) -> dict[str, tuple[Any, str]]:
    """The structured fields a need's words state, each as (value, the words that state it):
    industry, province_code, stage, budget_wan (万元), deployment (understanding.py)."""
    return understanding.understand(text)


def parse_record(raw: dict[str, Any]) -> dict[str, Any]:
    """`smeai need parse`: an interchange need with every field it omits but its text states filled
    in, given fields kept, plus `extracted` {field: {value, evidence}} for what was filled."""
    return understanding.parse_need(raw)


def _query(record: NeedRecord) -> NeedQuery:
    budget = None if record.budget_wan is None else float(record.budget_wan)  # exact Decimal in, float ranker
    return NeedQuery.from_record(record.model_dump(mode="json") | {"budget_wan": budget})


# --- needs ------------------------------------------------------------------------------------


def visible_needs(actor: Actor) -> ColumnElement[bool]:
    if actor.can(Permission.NEED_READ_ANY):
        return true()
    return Need.org_id == actor.org_id if actor.can(Permission.NEED_READ_OWN) else false()


def get_need(session: Session, actor: Actor, need_id: int) -> Need:
    need = session.scalar(select(Need).where(Need.id == need_id, visible_needs(actor)))
    if need is None:  # absent and not-yours look the same
        raise NotFound(N_("Need not found."))
    return need


def list_needs(session: Session, actor: Actor, *, status: NeedStatus | None = None, mine: bool = False) -> list[Need]:
    query = select(Need).where(visible_needs(actor))
    if status is not None:
        query = query.where(Need.status == str(status))
    if mine:  # a consultant's own enterprises: the needs they wrote
        query = query.where(Need.author_id == actor.user_id)
    return list(session.scalars(query.order_by(Need.id.desc())))


def detect_scenarios(text: str) -> list[str]:
    """The scenarios a need's words point to, strongest first (proposed, the author confirms)."""
    scen, _kinds = cues.detect(text)
    return [c for c, w in sorted(scen.items(), key=lambda kv: -kv[1]) if w >= SCENARIO_THRESHOLD][:3]


def _target_org(session: Session, actor: Actor, org_id: int | None) -> Organisation:
    own = org_id is None or org_id == actor.org_id
    actor.require(
        Permission.NEED_WRITE_OWN if own and not actor.can(Permission.NEED_WRITE_ANY) else Permission.NEED_WRITE_ANY
    )
    target = actor.org_id if org_id is None else org_id
    org = session.get(Organisation, target) if target else None
    if org is None or org.kind != OrgKind.ENTERPRISE:
        raise Invalid(N_("A need belongs to an enterprise."), fields={"org_id": "not an enterprise"})
    return org


def enterprise_choices(session: Session, actor: Actor) -> list[tuple[int, str]]:
    """The enterprises a consultant may write a need for (none for anyone else: they write for themselves)."""
    if not actor.can(Permission.NEED_WRITE_ANY):
        return []
    query = select(Organisation).where(Organisation.kind == str(OrgKind.ENTERPRISE)).order_by(Organisation.name)
    return [(o.id, o.name) for o in session.scalars(query)]


def _profile_industry(org: Organisation) -> str | None:
    if org.industry_section == "C" and org.mfg_division:
        return f"C{org.mfg_division}"
    return org.industry_section


MATURITY_INSTRUMENT = "smeai-ai-maturity"  # the self-diagnosis whose result carries the application stage


def latest_stage(session: Session, actor: Actor, org_id: int) -> int | None:
    """The application stage (0-4) of the enterprise's latest completed self-diagnosis, if any."""
    found = assessment_service.latest_completed(session, actor, org_id, MATURITY_INSTRUMENT)
    stage = (found.result or {}).get("stage") if found is not None else None
    return int(stage["rank"]) if isinstance(stage, dict) and "rank" in stage else None


def _from_text(data: NeedIn) -> dict[str, Any]:
    """The fields the need's words state and the form left blank, as stored values, with evidence:
    {field: {"value", "evidence"}} (budget as 万元 in `value`, fen in `stored`)."""
    given = {
        "industry": data.industry,
        "province_code": data.province_code,
        "stage": data.stage,
        "budget_wan": data.budget_fen,
        "deployment": data.deployment or None,
    }
    out: dict[str, Any] = {}
    for field_name, (value, evidence) in read_text(data.text).items():
        if given.get(field_name) is not None:
            continue
        if field_name == "deployment":
            value = [m for m in value if m in DEPLOYMENT_MODES]
            if not value:
                continue
        out[field_name] = {"value": value, "evidence": evidence}
    return out


DEPLOYMENT_MODES = ("saas", "private", "appliance", "edge", "api")


def _stored(field_name: str, value: Any) -> Any:
    return wan_to_fen(Decimal(str(value))) if field_name == "budget_wan" else value


def create_need(session: Session, actor: Actor, data: NeedIn, *, source: str = "text", package=None) -> Need:
    """A new need: what the author gives, then what the words state (proposed with their evidence,
    `Need.extracted`), then the profile (industry, province) and the latest self-diagnosis (stage).
    Its ranked list is computed and kept as its snapshot."""
    org = _target_org(session, actor, data.org_id)
    detected = detect_scenarios(data.text)
    read = _from_text(data)
    said = {k: _stored(k, v["value"]) for k, v in read.items()}
    stage = data.stage if data.stage is not None else said.get("stage")
    need = Need(
        org_id=org.id,
        author_id=actor.user_id,
        title=data.title,
        text=data.text,
        industry=data.industry or said.get("industry") or _profile_industry(org),
        province_code=data.province_code or said.get("province_code") or org.province_code,
        stage=stage if stage is not None else latest_stage(session, actor, org.id),
        budget_fen=data.budget_fen if data.budget_fen is not None else said.get("budget_wan"),
        deployment=[str(d) for d in data.deployment] or said.get("deployment", []),
        extracted=read,
        fields_confirmed=not read,
        scenarios=list(data.scenarios) if data.scenarios is not None else detected,
        scenarios_confirmed=data.scenarios is not None,
        urgency=str(data.urgency),
        status=str(NeedStatus.OPEN),
        source=source,
        package=package,
    )
    session.add(need)
    session.flush()
    snapshot(session, need)
    if org.id != actor.org_id or actor.on_behalf_of is not None:  # a consultant writing for an enterprise
        audit.record(session, actor, "need.create", need, after={"title": need.title})
    return need


def writable_need(session: Session, actor: Actor, need_id: int) -> Need:
    need = get_need(session, actor, need_id)
    if not (
        actor.can(Permission.NEED_WRITE_ANY) or (actor.can(Permission.NEED_WRITE_OWN) and need.org_id == actor.org_id)
    ):
        raise NotFound(N_("Need not found."))
    return need


def update_need(session: Session, actor: Actor, need_id: int, data: NeedIn, *, confirm_fields: bool = True) -> Need:
    """The author's edit: the words are stored as written; fields given win, a blank budget or
    deployment is read from the words again (or cleared when they say nothing). With `confirm_fields`
    (an edit of the whole need) the proposed fields count as confirmed."""
    need = writable_need(session, actor, need_id)
    need.title, need.text = data.title, data.text
    read = _from_text(data)
    if data.industry:
        need.industry = data.industry
    if data.province_code:
        need.province_code = data.province_code
    if data.stage is not None:
        need.stage = data.stage
    budget = read.get("budget_wan")
    need.budget_fen = data.budget_fen
    if need.budget_fen is None and budget is not None:
        need.budget_fen = _stored("budget_wan", budget["value"])
    need.deployment = [str(d) for d in data.deployment] or (read["deployment"]["value"] if "deployment" in read else [])
    # What the words state and the need now holds: the evidence the page highlights.
    held = {
        "industry": need.industry,
        "province_code": need.province_code,
        "stage": need.stage,
        "budget_wan": need.budget_fen,
        "deployment": need.deployment,
    }
    need.extracted = {
        k: {"value": v, "evidence": e}
        for k, (v, e) in read_text(data.text).items()
        if k in held and held[k] == _stored(k, v)
    }
    if confirm_fields:
        need.fields_confirmed = True
    if data.scenarios is not None:
        need.scenarios, need.scenarios_confirmed = list(data.scenarios), True
    elif not need.scenarios_confirmed:
        need.scenarios = detect_scenarios(data.text)
    need.urgency = str(data.urgency)
    need.updated_at = utcnow()
    session.flush()
    return need


def confirm_fields(session: Session, actor: Actor, need_id: int) -> Need:
    """The author accepts the fields read from the words as they are."""
    need = writable_need(session, actor, need_id)
    need.fields_confirmed = True
    need.updated_at = utcnow()
    session.flush()
    return need


def set_need_status(session: Session, actor: Actor, need_id: int, status: NeedStatus) -> Need:
    need = writable_need(session, actor, need_id)
    need.status = str(status)
    need.updated_at = utcnow()
    session.flush()
    return need


def _topic_text(need: Need) -> str:
    return understanding.topic_text(need.text, need.extracted)


def need_query(need: Need) -> NeedQuery:
    """A stored need as the ranker reads it; confirmed scenarios join the text as cue words."""
    names = " ".join(taxonomy.load().scenarios[s].zh for s in need.scenarios if s in taxonomy.load().scenarios)
    return NeedQuery(
        text=f"{need.title} {_topic_text(need)} {names}".strip(),
        industry=need.industry,
        province_code=need.province_code,
        stage=need.stage,
        budget_wan=None if need.budget_fen is None else need.budget_fen / 1_000_000,
        deployment=tuple(need.deployment),
        id=str(need.id),
    )


def match_need(session: Session, actor: Actor, need_id: int, *, top: int = 10) -> list[tuple[Match, Offering]]:
    """Ranked published offerings for a stored need, with the offering rows for display; where the
    enterprise qualifies for a subsidy programme, a reason gives the price after subsidy."""
    need = get_need(session, actor, need_id)
    matches = current_pool(session).match(need_query(need), top=top)
    query = select(Offering).where(Offering.ext_id.in_([m.id for m in matches]))
    rows = {o.ext_id: o for o in session.scalars(query)}
    out = [(m, rows[m.id]) for m in matches if m.id in rows]
    org = session.get(Organisation, need.org_id)
    for m, o in out:
        note = after_subsidy(session, org, o)
        if note:
            m.reasons.append(note)
    return out


# The subsidy note of (enterprise, offering) while nothing it reads changed (shows_mark): a snapshot lists
# up to 15 offerings and the calculator costs about 13 ms each; after a catalog change most are the same.
_NOTES: dict[tuple, str | None] = {}
NOTES_KEPT = 50_000


def after_subsidy(
    session: Session, org: Organisation | None, offering: Offering, *, mark: str | None = None
) -> str | None:
    """ "补贴后约 X 万元（programme）" when the enterprise qualifies for a programme on this offering;
    with `mark` (shows_mark for this enterprise), remembered until the mark or the offering changes."""
    if org is None or offering.entry_price_fen <= 0:
        return None
    key = (mark, get_lang(), org.id, offering.id, offering.updated_at, offering.entry_price_fen, offering.kind)
    if mark is not None and key in _NOTES:
        return _NOTES[key]
    note = _subsidy_note(session, org, offering)
    if mark is not None:
        if len(_NOTES) >= NOTES_KEPT:
            _NOTES.clear()
        _NOTES[key] = note
    return note


def _subsidy_note(session: Session, org: Organisation, offering: Offering) -> str | None:
    # the pool stores the price as integer fen (bounded by money.MAX_FEN): no float to round or overflow
    purchase = PurchaseIn(offering_id=offering.id, contract_fen=offering.entry_price_fen)
    quote = subsidy_service.calculate(session, org, purchase)
    if quote.total_fen <= 0:
        return None
    names = "、".join(p.name for p in quote.programmes if p.code in quote.best)
    return _("After subsidy about {price} wan yuan ({programmes})").format(
        price=f"{quote.net_fen / 1_000_000:.4g}", programmes=names
    )


# --- what a need's page shows: its snapshot ---------------------------------------------------

SHOWN = 10  # matches a need's page shows at most


@dataclass
class Shown:
    """A need's list as its page shows it: matches (above the floor, all constraints met), near misses
    (a separate group, each with why it missed), and the engaged offerings outside both lists."""

    matches: list[tuple[Match, Offering]]
    near: list[tuple[Match, Offering]]
    engaged: list[Offering]
    at: str | None


def need_key(need: Need) -> str:
    """What the ranking of a stored need depends on: a change of any of it recomputes the snapshot."""
    parts: list[object] = [need.title, need.text, need.industry, need.province_code, need.stage, need.budget_fen]
    parts += [sorted(need.deployment or []), list(need.scenarios or []), need.org_id, need.extracted]
    parts += [RULES_VERSION]  # a new ranking rule recomputes stored lists too
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False, default=str).encode()).hexdigest()[:32]


_PROGRAMMES: dict[int, tuple[object, str]] = {}


def _programmes_mark() -> str:
    """Changes when any voucher programme file changes (all_programmes() reloads then: a new dict)."""
    programmes = subsidy_service.all_programmes()
    kept = _PROGRAMMES.get(id(programmes))
    if kept is None or kept[0] is not programmes:
        data = {code: p.model_dump(mode="json") for code, p in sorted(programmes.items())}
        digest = hashlib.sha256(json.dumps(data, ensure_ascii=False, default=str).encode()).hexdigest()[:16]
        _PROGRAMMES.clear()
        kept = _PROGRAMMES[id(programmes)] = (programmes, digest)
    return kept[1]


def shows_mark(session: Session, org_id: int) -> str:
    """What a stored list shows besides the pool and the need: published cases (the evidence signal and
    "N 个案例"), and the after-subsidy notes, which read the voucher programmes, their budgets, this
    enterprise's profile and claims, and the day (programme periods). One query."""
    row = session.execute(
        select(
            select(func.max(Case.updated_at)).scalar_subquery(),
            select(func.max(Case.id)).scalar_subquery(),
            select(func.max(BudgetPool.updated_at)).scalar_subquery(),
            select(func.max(Application.updated_at)).where(Application.org_id == org_id).scalar_subquery(),
            select(Organisation.updated_at).where(Organisation.id == org_id).scalar_subquery(),
        )
    ).one()
    parts = [*row, _programmes_mark(), utcnow().date()]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def pool_key(pool: Pool) -> str:
    """The catalog's stamp and whether the embedding signal is on (it arrives in the background)."""
    return f"{pool.stamp}|emb={pool.embedder is not None}"


# A need's ranked list as a read (its page, the API's shortlist) computed it while the one stored on the need
# was out of date: kept in this worker, per database, need and everything the list depends on, instead of
# written by the GET. The stored list is written by writes only (a need created or edited, recommendations
# asked for, an engagement begun); a view in another worker computes its own, from the same data.
_RANKED: Bounded[dict] = Bounded(1024)


def snapshot(session: Session, need: Need, *, top: int = SHOWN, store: bool = True) -> dict:
    """The need's ranked list, from its snapshot when neither the need, the pool nor what the list shows
    (shows_mark: cases, programmes, the enterprise) changed since; computed otherwise, and stored on the
    need (`store`, for writes) or kept in this worker (reads, which write nothing). A recommendation is
    this, never an engagement.

    The check costs two index lookups (pools.catalog_mark) while the catalog is untouched; after a
    change it compares the published pool's stamp, so a draft edited elsewhere recomputes nothing.
    """
    key, mark, shows = need_key(need), pools.catalog_mark(session), shows_mark(session, need.org_id)
    remembered = (str(session.get_bind().engine.url), need.id, key, shows, top)
    candidates = [
        kept
        for kept in ([need.snapshot or {}] if store else [need.snapshot or {}, _RANKED.get(remembered) or {}])
        if kept.get("need") == key and kept.get("top") == top and kept.get("shows") == shows
    ]
    for kept in candidates:  # first the cheap check, for both: a stored list out of date, a current one kept here
        settled = kept.get("emb") or not pools.EMBEDDINGS  # embeddings may still arrive for this pool
        if kept.get("catalog") == mark and settled:
            return kept
    for kept in candidates:
        if kept.get("pool") == pool_key(pools.latest(session)):
            return _keep(session, need, remembered, kept | {"catalog": mark}, store=store)
    latest, now = pools.latest_stamped(session)
    pool = current_pool(session, latest)  # with the published case counts
    matches, near = pool.shortlist(need_query(need), top=top)
    org = session.get(Organisation, need.org_id)
    rows = _offerings(session, [m.id for m in (*matches, *near)])
    for m in (*matches, *near):
        note = after_subsidy(session, org, rows[m.id], mark=shows) if m.id in rows else None
        if note:
            m.reasons.append(note)

    def row(m: Match) -> dict:
        return {"id": m.id, "score": round(m.score, 4), "relevance": round(m.relevance, 4), "reasons": m.reasons} | (
            {"missed": m.missed} if m.missed else {}
        )

    computed = {
        "need": key,
        "pool": pool_key(pool),
        # Served an older pool while the new one is built elsewhere: check again next time.
        "catalog": mark if pool.stamp is None or pool.stamp == now else None,
        "emb": pool.embedder is not None,
        "shows": shows,
        "top": top,
        "at": utcnow().isoformat(timespec="seconds"),
        "matches": [row(m) for m in matches],
        "near": [row(m) for m in near],
    }
    return _keep(session, need, remembered, computed, store=store)


def _keep(session: Session, need: Need, remembered: tuple[Any, ...], snap: dict, *, store: bool) -> dict:
    if store:
        need.snapshot = snap
        session.flush()
    else:
        _RANKED.put(remembered, snap)
    return snap


def _offerings(session: Session, ext_ids: list[str]) -> dict[str, Offering]:
    if not ext_ids:
        return {}
    return {o.ext_id: o for o in session.scalars(select(Offering).where(Offering.ext_id.in_(ext_ids)))}


def shown_matches(
    session: Session,
    actor: Actor,
    need_id: int,
    *,
    engaged_ids: Set[int] = frozenset(),
    need: Need | None = None,
    snap: dict | None = None,
) -> Shown:
    """What a need's page lists (see Shown); `engaged_ids` are the offerings with an engagement. `need`: the
    row, when the caller has just read it through `get_need` (it is not asked for again); `snap`: its list,
    when the caller has just read it through `snapshot(store=False)`."""
    if need is None or need.id != need_id:
        need = get_need(session, actor, need_id)
    if snap is None:
        snap = snapshot(session, need, store=False)  # a read: nothing written
    rows = _offerings(session, [m["id"] for m in (*snap["matches"], *snap["near"])])

    def pairs(items: list[dict]) -> list[tuple[Match, Offering]]:
        return [
            (
                Match(
                    m["id"],
                    m["score"],
                    localise_all(m["reasons"]),  # stored in the language of whoever made the snapshot
                    m.get("relevance", 0.0),
                    localise_all(m.get("missed", [])),
                ),
                rows[m["id"]],
            )
            for m in items
            if m["id"] in rows
        ]

    matches, near = pairs(snap["matches"]), pairs(snap["near"])
    listed = {o.id for _m, o in (*matches, *near)}
    missing = sorted(engaged_ids - listed)
    engaged = list(session.scalars(select(Offering).where(Offering.id.in_(missing)))) if missing else []
    return Shown(matches, near, engaged, snap.get("at"))


def page_stamp(need: Need, snap: dict) -> tuple[object, ...] | None:
    """What a need's page shows of the need and of its list (`snap`, as `snapshot` returned it in this
    request), as the key of the rendered page (pages.py): the need's fields (need_key, and those the ranking
    does not read: status, urgency, what the author confirmed), the list itself (its matches, near misses and
    reasons), and the catalog's change stamp this request read, which every offering write and provider
    rename moves (the offerings' names, summaries and providers the page shows). None while the list comes
    from an older pool because a newer one is being built (`catalog` unset): rendered each time meanwhile."""
    if snap.get("catalog") is None:
        return None
    listed = json.dumps([snap.get("matches"), snap.get("near")], ensure_ascii=False, sort_keys=True, default=str)
    return (
        need.id,
        need_key(need),
        need.status,
        need.urgency,
        need.scenarios_confirmed,
        need.fields_confirmed,
        need.updated_at,
        snap["catalog"],
        hashlib.sha256(listed.encode()).hexdigest()[:32],
    )


def shortlist_out(session: Session, actor: Actor, need_id: int) -> ShortlistOut:
    """GET /api/v1/needs/{id}/shortlist: `shown_matches` with each engaged offering's state."""
    from smeai.matching.models import Engagement

    need = get_need(session, actor, need_id)
    states = dict(
        session.execute(select(Engagement.offering_id, Engagement.state).where(Engagement.need_id == need.id)).all()
    )
    shown = shown_matches(session, actor, need_id, engaged_ids={i for i in states if i is not None}, need=need)

    def out(m: Match | None, o: Offering) -> ShownMatchOut:
        return ShownMatchOut(
            id=o.ext_id,
            offering_id=o.id,
            name=o.name,
            score=round(m.score, 4) if m else 0.0,
            relevance=round(m.relevance, 4) if m else 0.0,
            reasons=m.reasons if m else [],
            missed=m.missed if m else [],
            engagement_state=states.get(o.id),
        )

    return ShortlistOut(
        matches=[out(m, o) for m, o in shown.matches],
        near=[out(m, o) for m, o in shown.near],
        engaged=[out(None, o) for o in shown.engaged],
        computed_at=shown.at,
    )
