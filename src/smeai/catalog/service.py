"""The resource pool's rules: who sees and changes which offering, the review (遴选) workflow,
interchange import and export.

Enterprises and the public see published offerings only; a provider member also sees its own
organisation's offerings in every state; reviewers see everything not deleted. A hidden offering
answers exactly like a missing one.
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from smeai import jsonl
from smeai.auth import account as auth_account
from smeai.auth import audit
from smeai.auth import service as auth_service
from smeai.auth.actor import Actor
from smeai.auth.models import Organisation
from smeai.auth.permissions import OrgKind, Permission
from smeai.auth.schemas import OrganisationIn
from smeai.catalog import index, stamp
from smeai.catalog.index import OfferingQuery, SearchResult
from smeai.catalog.models import Offering, OfferingEvent
from smeai.catalog.schemas import (
    ImportReport,
    OfferingFields,
    OfferingRecord,
    OfferingStatus,
    ReviewIn,
)
from smeai.catalog.visibility import visible_offerings
from smeai.db import utcnow
from smeai.errors import Conflict, Invalid, NotFound
from smeai.i18n import N_
from smeai.jsonl import BadLine
from smeai.money import fen_to_wan, wan_to_fen

S = OfferingStatus


class OfferingAction(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    DELETED = "deleted"
    IMPORTED = "imported"
    COMMENTED = "commented"


class OfferingNotEditable(Conflict):
    code = "offering_not_editable"


class OfferingWrongStatus(Conflict):
    code = "offering_wrong_status"


# The operator's 遴选 checklist: each item must be ticked to approve (msgids; shown translated).
CHECKLIST: dict[str, str] = {
    "provider_verified": N_("The provider is a real, registered organisation"),
    "description_accurate": N_("Name, summary and description are accurate and not misleading"),
    "classification_correct": N_("Industries, scenarios and kind are classified correctly"),
    "pricing_clear": N_("Pricing model and entry price are stated and plausible for an SME"),
    "deployment_compliant": N_("Deployment and data handling meet data-security requirements"),
}


# --- visibility -----------------------------------------------------------------------------


def _can_edit(actor: Actor, offering: Offering) -> bool:
    return actor.is_system or (actor.can(Permission.OFFERING_WRITE_OWN) and actor.org_id == offering.provider_id)


def get_offering(session: Session, actor: Actor | None, offering_id: int) -> Offering:
    offering = session.scalar(select(Offering).where(Offering.id == offering_id, visible_offerings(actor)))
    if offering is None:  # absent and not-yours look the same
        raise NotFound(N_("Offering not found."))
    return offering


def find_offering_by_ext_id(session: Session, ext_id: str) -> Offering | None:
    return session.scalar(select(Offering).where(Offering.ext_id == ext_id))


def get_offering_by_ext_id(session: Session, actor: Actor | None, ext_id: str) -> Offering:
    offering = session.scalar(select(Offering).where(Offering.ext_id == ext_id, visible_offerings(actor)))
    if offering is None:
        raise NotFound(N_("Offering not found."))
    return offering


def list_offerings(
    session: Session,
    actor: Actor | None,
    *,
    status: OfferingStatus | None = None,
    provider_id: int | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[Offering]:
    query = select(Offering).where(visible_offerings(actor))
    if status is not None:
        query = query.where(Offering.status == status)
    if provider_id is not None:
        query = query.where(Offering.provider_id == provider_id)
    return list(
        session.scalars(query.order_by(Offering.updated_at.desc(), Offering.id.desc()).limit(limit).offset(offset))
    )


def own_offerings_query(actor: Actor) -> Select[Offering]:
    """The provider workspace: every offering of the actor's organisation, any status, the latest change
    first (a select: the API pages it in SQL)."""
    actor.require(Permission.OFFERING_WRITE_OWN)
    query = select(Offering).where(Offering.provider_id == actor.org_id, Offering.deleted_at.is_(None))
    return query.order_by(Offering.updated_at.desc(), Offering.id.desc())


def list_own_offerings(session: Session, actor: Actor) -> list[Offering]:
    return list(session.scalars(own_offerings_query(actor)))


def review_queue_query(actor: Actor) -> Select[Offering]:
    """The operator workspace: offerings waiting for review, oldest first (a select: the API pages it in SQL)."""
    actor.require(Permission.OFFERING_REVIEW)
    query = select(Offering).where(Offering.status == S.SUBMITTED, Offering.deleted_at.is_(None))
    return query.order_by(Offering.submitted_at, Offering.id)


def list_review_queue(session: Session, actor: Actor) -> list[Offering]:
    return list(session.scalars(review_queue_query(actor)))


def status_counts(session: Session, actor: Actor) -> dict[str, int]:
    query = select(Offering.status, func.count()).where(visible_offerings(actor)).group_by(Offering.status)
    return {status: n for status, n in session.execute(query)}


def shows_public_view(actor: Actor | None, offering: Offering) -> bool:
    """Whether ACTOR sees OFFERING's page as every visitor does: a published listing that ACTOR may
    neither edit, nor review, nor read the history of (those add forms and events to the page)."""
    if offering.status != OfferingStatus.PUBLISHED:
        return False
    return actor is None or not (
        _can_edit(actor, offering) or actor.can(Permission.OFFERING_READ_ANY) or actor.can(Permission.OFFERING_REVIEW)
    )


def public_view_stamp(session: Session, offering: Offering) -> tuple[Any, ...]:
    """What the catalog shows on a published offering's public page changes only with this: the change
    stamp (the listing, the provider's other listings, its name) and the provider's row (its city and
    description, which move its `updated_at`). Read from the database, so an edit in any worker counts."""
    provider_changed = session.scalar(select(Organisation.updated_at).where(Organisation.id == offering.provider_id))
    return (*stamp.read(session), offering.id, provider_changed)


def history(session: Session, actor: Actor | None, offering_id: int) -> list[OfferingEvent]:
    """Edits, decisions and comments. The public sees none; owners and reviewers see all."""
    offering = get_offering(session, actor, offering_id)
    if actor is None or not (_can_edit(actor, offering) or actor.can(Permission.OFFERING_READ_ANY)):
        return []
    return list(offering.events)


# --- records --------------------------------------------------------------------------------


def to_record(offering: Offering) -> OfferingRecord:
    """An offering in interchange form (validated on the way in, so constructed without re-checking)."""
    return OfferingRecord.model_validate(_record_dict(offering))


def _record_dict(offering: Offering) -> dict[str, Any]:
    pricing: dict[str, Any] = {"model": offering.pricing_model, "entry_price_wan": fen_to_wan(offering.entry_price_fen)}
    if offering.pricing_note is not None:
        pricing["note"] = offering.pricing_note
    optional = {"description": offering.description} if offering.description is not None else {}
    return optional | {
        "id": offering.ext_id,
        "name": offering.name,
        "provider": offering.provider.name,
        "kind": offering.kind,
        "summary": offering.summary,
        "industries": list(offering.industries),
        "scenarios": list(offering.scenarios),
        "deployment": list(offering.deployment),
        "pricing": pricing,
        "regions": list(offering.regions),
        "min_stage": offering.min_stage,
        "max_stage": offering.max_stage,
        "tags": list(offering.tags),
        "voucher_eligible": list(offering.voucher_eligible),
    }


def _snapshot(offering: Offering) -> dict[str, Any]:
    return to_record(offering).to_interchange()


def _apply(offering: Offering, data: OfferingFields) -> None:
    offering.name = data.name
    offering.kind = str(data.kind)
    offering.summary = data.summary
    offering.description = data.description
    offering.industries = list(data.industries)
    offering.scenarios = list(data.scenarios)
    offering.deployment = [str(d) for d in data.deployment]
    offering.regions = list(data.regions)
    offering.tags = list(data.tags)
    offering.voucher_eligible = list(data.voucher_eligible)
    offering.pricing_model = str(data.pricing.model)
    offering.entry_price_fen = wan_to_fen(data.pricing.entry_price_wan)
    offering.pricing_note = data.pricing.note
    offering.min_stage = data.min_stage
    offering.max_stage = data.max_stage


def _event(
    session: Session,
    actor: Actor,
    offering: Offering,
    action: OfferingAction,
    *,
    from_status: str | None,
    comment: str | None = None,
    checklist: dict[str, bool] | None = None,
    snapshot: bool = False,
) -> OfferingEvent:
    event = OfferingEvent(
        offering=offering,
        action=str(action),
        from_status=from_status,
        to_status=offering.status,
        user_id=actor.user_id,
        comment=comment,
        checklist=checklist,
        snapshot=_snapshot(offering) if snapshot else None,
        at=utcnow(),
    )
    session.add(event)
    return event


def published_offering_records(session: Session) -> list[OfferingRecord]:
    """Every published, not deleted offering in interchange form (matching's pool), in pool order."""
    query = select(Offering).where(visible_offerings(None)).order_by(Offering.id)
    return [to_record(o) for o in session.scalars(query)]


# --- provider self-service ------------------------------------------------------------------


def create_offering(session: Session, actor: Actor, data: OfferingFields) -> Offering:
    """A provider member lists an offering for its organisation; it starts as a draft."""
    actor.require(Permission.OFFERING_WRITE_OWN)
    if actor.org_id is None or actor.org_kind != OrgKind.PROVIDER:
        raise Invalid(N_("Only a provider organisation can list offerings."))
    now = utcnow()
    offering = Offering(
        ext_id=f"smeai-{uuid.uuid4().hex[:12]}",
        provider_id=actor.org_id,
        status=S.DRAFT,
        created_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    _apply(offering, data)
    session.add(offering)
    session.flush()
    session.refresh(offering)
    _event(session, actor, offering, OfferingAction.CREATED, from_status=None, snapshot=True)
    session.flush()
    return offering


def update_offering(session: Session, actor: Actor, offering_id: int, data: OfferingFields) -> Offering:
    """Edit an own offering. A published one goes back to review: only reviewed text is public."""
    offering = get_offering(session, actor, offering_id)  # 404 before 403
    if not _can_edit(actor, offering):
        actor.require(Permission.OFFERING_WRITE_OWN)
        raise NotFound(N_("Offering not found."))
    if offering.status == S.SUBMITTED:
        raise OfferingNotEditable(N_("An offering under review cannot be edited; withdraw it first."))
    before = offering.status
    _apply(offering, data)
    offering.updated_at = utcnow()
    if before == S.PUBLISHED:
        offering.status, offering.submitted_at = S.SUBMITTED, offering.updated_at
    _event(session, actor, offering, OfferingAction.UPDATED, from_status=before, snapshot=True)
    session.flush()
    return offering


def _own_for_change(session: Session, actor: Actor, offering_id: int) -> Offering:
    offering = get_offering(session, actor, offering_id)
    if not _can_edit(actor, offering):
        actor.require(Permission.OFFERING_WRITE_OWN)
        raise NotFound(N_("Offering not found."))
    return offering


def submit_offering(session: Session, actor: Actor, offering_id: int) -> Offering:
    """Send a draft (or a rejected or withdrawn offering) to the centre for review."""
    offering = _own_for_change(session, actor, offering_id)
    if offering.status not in (S.DRAFT, S.REJECTED, S.WITHDRAWN):
        raise OfferingWrongStatus(N_("Only a draft, rejected or withdrawn offering can be submitted."))
    before = offering.status
    offering.status, offering.submitted_at = S.SUBMITTED, utcnow()
    offering.updated_at = offering.submitted_at
    _event(session, actor, offering, OfferingAction.SUBMITTED, from_status=before)
    session.flush()
    return offering


def withdraw_offering(session: Session, actor: Actor, offering_id: int) -> Offering:
    """Take a submitted or published offering off the pool; it can be edited and submitted again."""
    offering = _own_for_change(session, actor, offering_id)
    if offering.status not in (S.SUBMITTED, S.PUBLISHED):
        raise OfferingWrongStatus(N_("Only a submitted or published offering can be withdrawn."))
    before = offering.status
    offering.status, offering.updated_at = S.WITHDRAWN, utcnow()
    _event(session, actor, offering, OfferingAction.WITHDRAWN, from_status=before)
    session.flush()
    return offering


def delete_offering(session: Session, actor: Actor, offering_id: int) -> None:
    """Soft delete: gone from every list and page, its history kept."""
    offering = get_offering(session, actor, offering_id)
    if not (_can_edit(actor, offering) or actor.can(Permission.OFFERING_REVIEW)):
        actor.require(Permission.OFFERING_WRITE_OWN)
        raise NotFound(N_("Offering not found."))
    offering.deleted_at = offering.updated_at = utcnow()
    _event(session, actor, offering, OfferingAction.DELETED, from_status=offering.status)
    session.flush()
    if not _can_edit(actor, offering):  # a reviewer removing a provider's offering
        audit.record(
            session, actor, "offering.delete", offering, {"status": offering.status}, org_id=offering.provider_id
        )


# --- operator review (遴选) -----------------------------------------------------------------


def review_offering(session: Session, actor: Actor, offering_id: int, decision: ReviewIn) -> Offering:
    """Approve (publish) or reject a submitted offering. Approval needs every checklist item;
    a rejection needs a comment the provider can act on."""
    offering = get_offering(session, actor, offering_id)
    actor.require(Permission.OFFERING_REVIEW)
    if offering.status != S.SUBMITTED:
        raise OfferingWrongStatus(N_("Only a submitted offering can be reviewed."))
    unknown = sorted(set(decision.checklist) - set(CHECKLIST))
    if unknown:
        raise Invalid(N_("Unknown checklist item."), fields={"checklist": ", ".join(unknown)})
    checklist = {key: bool(decision.checklist.get(key)) for key in CHECKLIST}
    comment = decision.comment.strip()
    if decision.approve and not all(checklist.values()):
        missing = [k for k, v in checklist.items() if not v]
        raise Invalid(N_("Tick every checklist item before approving."), fields={"checklist": ", ".join(missing)})
    if not decision.approve and not comment:
        raise Invalid(N_("Say why the offering is rejected."), fields={"comment": "required to reject"})
    now = utcnow()
    if decision.approve:
        offering.status, offering.published_at = S.PUBLISHED, now
    else:
        offering.status = S.REJECTED
    offering.updated_at = now
    action = OfferingAction.APPROVED if decision.approve else OfferingAction.REJECTED
    _event(session, actor, offering, action, from_status=S.SUBMITTED, comment=comment or None, checklist=checklist)
    session.flush()
    audit.record(
        session,
        actor,
        "offering.review",
        offering,
        {"status": S.SUBMITTED},
        {"status": offering.status},
        org_id=offering.provider_id,
    )
    auth_account.notify_event(  # the provider hears of the outcome by email too
        session,
        "offering.approve" if decision.approve else "offering.reject",
        org_id=offering.provider_id,
        params={"name": offering.name},
        path=f"/catalog/offerings/{offering.id}",
    )
    return offering


def comment_offering(session: Session, actor: Actor, offering_id: int, comment: str) -> OfferingEvent:
    """A note in the offering's history, between the provider and the reviewers."""
    offering = get_offering(session, actor, offering_id)
    if not (_can_edit(actor, offering) or actor.can(Permission.OFFERING_REVIEW)):
        actor.require(Permission.OFFERING_REVIEW)
    text = comment.strip()
    if not text:
        raise Invalid(N_("Write a comment."), fields={"comment": "required"})
    event = _event(session, actor, offering, OfferingAction.COMMENTED, from_status=offering.status, comment=text)
    session.flush()
    return event


# --- interchange import and export ----------------------------------------------------------


def _problems(exc: ValidationError) -> Iterator[tuple[str, str, str]]:
    """(field, reason, code) of each error, in interchange terms."""
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = [str(p) for p in err["loc"] if not isinstance(p, int)]
        reason = err["msg"].removeprefix("Value error, ")
        head, sep, tail = reason.partition(": ")
        if sep and re.fullmatch(r"[a-z_][a-z0-9_.]*", head):  # a model-level rule names its field
            loc, reason = [*loc, head], tail
        if err["type"] == "missing":
            reason = "required field is missing"
        elif err["type"] == "extra_forbidden":
            reason = "unknown field"
        yield ".".join(loc) or "-", reason, err["type"]


# An offering has 15 fields: an object with far more is refused whole, not field by field.
MAX_FIELDS = 40


def parse_lines(lines: Iterable[str | BadLine], report: ImportReport) -> Iterator[tuple[int, OfferingRecord]]:
    """The valid records of an interchange file, one at a time, by line number; each invalid line's
    problems go to `report`. Reads one line at a time: memory does not grow with the file."""
    first_line: dict[str, int] = {}
    for number, raw in enumerate(jsonl.bounded(lines), 1):
        if isinstance(raw, BadLine):
            report.add_line(number, [("-", raw.reason, raw.code)])
            continue
        text = raw.strip().lstrip("\ufeff") if number == 1 else raw.strip()
        if not text:
            report.add_line(number, [("-", "blank line", "blank_line")])
            continue
        try:
            data = jsonl.loads(text)
        except jsonl.NotJson as exc:
            report.add_line(number, [("-", exc.reason, exc.code)])
            continue
        if not isinstance(data, dict):
            report.add_line(number, [("-", "not a JSON object", "not_object")])
            continue
        if len(data) > MAX_FIELDS:
            report.add_line(number, [("-", f"too many fields ({len(data)}; an offering has 15)", "too_many_fields")])
            continue
        try:
            record = OfferingRecord.model_validate(data)
        except ValidationError as exc:
            report.add_line(number, _problems(exc))
            continue
        if record.id in first_line:  # interchange.md: unique within the file
            report.add_line(number, [("id", f"duplicate id, first on line {first_line[record.id]}", "duplicate_id")])
            continue
        first_line[record.id] = number
        yield number, record


def _name_key(name: str) -> str:
    """What makes two organisation names look the same to a person: width (（ and (), case, spaces."""
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


class _Providers:
    """Resolves an interchange `provider` to a provider organisation, once per name per import.

    The key is the organisation's exact, unique name, and only provider organisations qualify: an
    enterprise or the centre that shares the name gets no offering (and so none of its engagements).
    A name that is new but looks like an existing organisation's (in width, case or spacing) is
    refused as ambiguous rather than made into a second, near-identical provider."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.found: dict[str, Organisation | str] = {}
        self._keys: dict[str, list[str]] | None = None

    def _by_key(self) -> dict[str, list[str]]:
        if self._keys is None:  # read once, and only when a name is not registered exactly
            self._keys = {}
            for existing in self.session.scalars(select(Organisation.name)):
                self._keys.setdefault(_name_key(existing), []).append(existing)
        return self._keys

    def resolve(self, name: str) -> Organisation | str:
        """The organisation, or the reason the name cannot be used."""
        if name not in self.found:
            self.found[name] = self._resolve(name)
        return self.found[name]

    def _resolve(self, name: str) -> Organisation | str:
        org = auth_service.find_organisation_by_name(self.session, name)
        if org is not None:
            if org.kind != OrgKind.PROVIDER:
                return f"{name} is not a provider organisation"
            return org
        similar = sorted(self._by_key().get(_name_key(name), []))
        if similar:
            return f"ambiguous: {name} is not registered, but {', '.join(similar)} is; use the exact name"
        try:
            data = OrganisationIn(name=name, kind=OrgKind.PROVIDER)
        except ValidationError:
            return "not a usable organisation name (2 to 200 characters)"
        # The importer is already authorised (catalog:import); creating the provider is part of the
        # import, so it runs as the system rather than needing user:manage.
        org = auth_service.create_organisation(self.session, Actor.system(), data)
        self._by_key().setdefault(_name_key(name), []).append(name)
        return org


class ImportRejected(Invalid):
    """A strict import found invalid lines and imported none; `report` lists them."""

    def __init__(self, report: ImportReport) -> None:
        first = report.problems[:5]
        super().__init__(
            N_("The file has invalid lines; a strict import imports nothing."),
            fields={f"line {p.line}": f"{p.field}: {p.reason}" for p in first},
        )
        self.report = report


def require_import(actor: Actor) -> None:
    """Checked before an upload is read, so a refused caller's file is not even stored."""
    actor.require(Permission.CATALOG_IMPORT)


IMPORT_BATCH = 500  # records written per round trip; also what the import holds in memory at once


def import_records(
    session: Session, actor: Actor, lines: Iterable[str | BadLine], *, strict: bool = False
) -> ImportReport:
    """Import an interchange file: valid lines are created or updated (by `id`) and published at
    once; invalid lines are reported with line, field and reason (the first MAX_REPORTED_PROBLEMS in
    full, all of them counted). Importing the same file again changes nothing.

    `lines` is read once, one line at a time (`jsonl.read_lines` over a file or an upload). With
    `strict`, any invalid line makes the whole import fail with ImportRejected after every line was
    checked: the edge then rolls back, so nothing of the file is committed."""
    require_import(actor)
    report = ImportReport()
    providers = _Providers(session)
    batch: list[tuple[int, OfferingRecord]] = []
    for item in parse_lines(lines, report):
        batch.append(item)
        if len(batch) >= IMPORT_BATCH:
            _import_batch(session, actor, batch, providers, report)
            batch = []
    _import_batch(session, actor, batch, providers, report)
    session.flush()
    if strict and report.problem_count:
        report.applied = False
        report.created = report.updated = report.unchanged = 0
        raise ImportRejected(report)
    if report.created or report.updated:
        # the log records changes to the published pool; a file imported again changes nothing (and
        # `smeai demo` run twice must leave every table as it was)
        counts = {"created": report.created, "updated": report.updated, "problems": report.problem_count}
        audit.record(session, actor, "catalog.import", ("catalog", "published"), after=counts)
    return report


def _import_batch(
    session: Session,
    actor: Actor,
    batch: list[tuple[int, OfferingRecord]],
    providers: _Providers,
    report: ImportReport,
) -> None:
    if not batch:
        return
    ids = [r.id for _, r in batch]
    existing = {o.ext_id: o for o in session.scalars(select(Offering).where(Offering.ext_id.in_(ids)))}
    for line, record in batch:
        org = providers.resolve(record.provider)
        if isinstance(org, str):
            report.add_line(line, [("provider", org, "provider")])
            continue
        offering = existing.get(record.id)
        now = utcnow()
        if offering is None:
            offering = Offering(
                ext_id=record.id,
                provider_id=org.id,
                provider=org,
                status=S.PUBLISHED,
                created_by_id=actor.user_id,
                created_at=now,
                updated_at=now,
                published_at=now,
            )
            _apply(offering, record)
            session.add(offering)
            session.flush()
            _event(session, actor, offering, OfferingAction.IMPORTED, from_status=None, snapshot=True)
            report.created += 1
            continue
        alive = offering.deleted_at is None and offering.status == S.PUBLISHED
        if alive and _snapshot(offering) == record.to_interchange():
            report.unchanged += 1
            continue
        before = offering.status
        _apply(offering, record)
        offering.provider_id, offering.provider = org.id, org
        offering.deleted_at, offering.status, offering.updated_at = None, S.PUBLISHED, now
        offering.published_at = offering.published_at or now
        _event(session, actor, offering, OfferingAction.IMPORTED, from_status=before, snapshot=True)
        report.updated += 1
    session.flush()


def export_records(session: Session, actor: Actor | None) -> list[dict[str, Any]]:
    """The published pool as interchange objects, one per line of the export."""
    return [r.to_interchange() for r in published_offering_records(session)]


def export_lines(session: Session, actor: Actor | None) -> list[str]:
    """The export file's lines. Strict JSON (allow_nan=False): a value that is not JSON fails here
    instead of reaching the interchange file other centres read."""
    lines = [json.dumps(r, ensure_ascii=False, allow_nan=False) + "\n" for r in export_records(session, actor)]
    if actor is not None:  # the published pool is public; an export by a signed-in user is recorded
        audit.record(session, actor, "catalog.export", ("catalog", "published"), after={"offerings": len(lines)})
    return lines


# --- search ---------------------------------------------------------------------------------


def refresh_search_index(session: Session) -> index.StoredIndex:
    """Store the search index as the catalog is now, for every worker to start from (a job, the CLI)."""
    return index.refresh_stored(session)


def search_offerings(session: Session, query: OfferingQuery) -> tuple[SearchResult, list[Offering]]:
    """Published offerings only, from the in-memory index; the page's rows in ranked order."""
    result = index.search_offerings(session, query)
    return result, offerings_by_ids(session, result.ids)


def search_stamp(session: Session) -> tuple[str | None, int]:
    """The change stamp the search index answers at now: search results are the same while it holds,
    so a cache of them keyed by it is never stale (catalog/stamp.py)."""
    return index.pool_index_stamped(session)[1]


def rendered_results_stamp(session: Session) -> tuple[str | None, int] | None:
    """The change stamp search results and the rows they show are current with, None while the index
    catches up after an import (then nothing rendered may be reused): catalog/index.py current_stamp."""
    return index.current_stamp(session)


def offerings_by_ids(session: Session, ids: list[int]) -> list[Offering]:
    """Published offerings with these ids, in the given order (for search hits and matching)."""
    if not ids:
        return []
    rows = {o.id: o for o in session.scalars(select(Offering).where(Offering.id.in_(ids), visible_offerings(None)))}
    return [rows[i] for i in ids if i in rows]
