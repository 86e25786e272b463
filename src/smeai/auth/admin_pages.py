"""The admin console (/admin): users, organisations and their consultants, the audit log and its export.

Every route checks its permission in the service it calls (admin.py, consultants.py, audit.py), so a page
shows only what the reader may see: users need USER_MANAGE, organisations ORG_READ_ANY, the audit log
AUDIT_READ and its export AUDIT_EXPORT. The JSON API of the audit log is GET /api/v1/audit.
"""

from __future__ import annotations

import csv
import io
from functools import partial
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Table, select

from smeai.auth import admin, audit, consultants
from smeai.auth.actor import Actor
from smeai.auth.deps import CurrentActor, PageActor
from smeai.auth.models import Organisation, User
from smeai.auth.permissions import OrgKind, Permission, Role
from smeai.db import Base, DbSession
from smeai.errors import Forbidden, Invalid, NotFound
from smeai.i18n import N_, _, translations
from smeai.inputs import RecordId
from smeai.subsidy.calculator import programme_name
from smeai.web.csrf import csrf_protect
from smeai.web.downloads import attachment, row
from smeai.web.flash import redirect_with_message
from smeai.web.paging import Page, PageParams, Paging, page_select, paginate_select
from smeai.web.render import render, templates

router = APIRouter()

PER_PAGE = 50
ROLE_LABELS: dict[str, str] = {
    Role.ENTERPRISE_MEMBER: N_("Enterprise member"),
    Role.PROVIDER_MEMBER: N_("Provider member"),
    Role.OPERATOR: N_("Operator"),
    Role.CONSULTANT: N_("Consultant"),
    Role.ANALYST: N_("Analyst"),
    Role.ADMIN: N_("Administrator"),
}
KIND_LABELS: dict[str, str] = {
    OrgKind.ENTERPRISE: N_("Enterprise"),
    OrgKind.PROVIDER: N_("Provider"),
    OrgKind.CENTRE: N_("Centre"),
    OrgKind.GOVERNMENT: N_("Government department"),
}
ACTION_LABELS: dict[str, str] = {
    "offering.review": N_("Offering reviewed"),
    "case.review": N_("Case reviewed"),
    "case.benchmark": N_("Benchmark mark changed"),
    "case.delete": N_("Case deleted"),
    "offering.delete": N_("Offering removed by the centre"),
    "catalog.import": N_("Resource pool imported"),
    "survey.import": N_("Survey data imported"),
    "survey.upload": N_("Survey file uploaded for import"),
    "survey.upload_failed": N_("Survey import failed"),
    "voucher.approve": N_("Voucher approved"),
    "voucher.reject": N_("Voucher rejected"),
    "voucher.withdraw": N_("Voucher withdrawn"),
    "voucher.redeem": N_("Redemption submitted"),
    "voucher.return": N_("Redemption returned"),
    "voucher.verify": N_("Redemption verified and paid"),
    "voucher.expire": N_("Approval expired"),
    "voucher.pay": N_("Post-completion award paid"),
    "campaign.select": N_("Campaign case selected"),
    "scenario.select": N_("Scenario provider selected"),
    "pool.budget": N_("Pool budget set"),
    "user.role": N_("Role changed"),
    "user.disable": N_("Account disabled"),
    "user.enable": N_("Account enabled"),
    "consultant.assign": N_("Consultant assigned"),
    "catalog.export": N_("Resource pool exported"),
    "survey.export": N_("Survey report exported"),
    "need.create": N_("Need written on behalf"),
    "engagement.introduce": N_("Enterprise introduced to a provider"),
    "organisation.verify": N_("Organisation verified"),
    "organisation.return": N_("Organisation returned"),
    "member.role": N_("Member's role changed"),
    "member.remove": N_("Member removed"),
    "member.join": N_("Member accepted"),
    "audit.export": N_("Audit log exported"),
    "event.publish": N_("Event published"),
    "event.cancel": N_("Event cancelled"),
    "gateway.key_create": N_("Model access key created"),
    "gateway.key_revoke": N_("Model access key revoked"),
    "gateway.wallet_fund": N_("Model access wallet topped up"),
    "gateway.upstream_add": N_("Model upstream added"),
    "gateway.upstream_update": N_("Model upstream changed"),
    "gateway.price_set": N_("Model price set"),
    "gateway.voucher_fund": N_("Model voucher funds a wallet"),
    "gateway.voucher_close": N_("Model voucher closed"),
    "trial.create": N_("Model trial created"),
    "trial.run": N_("Model trial run"),
    "trial.report_share": N_("Model trial report shared"),
}
TARGET_LABELS: dict[str, str] = {
    "offerings": N_("Offering"),
    "cases": N_("Case"),
    "subsidy_applications": N_("Voucher application"),
    "pool": N_("Voucher pool"),
    "users": N_("User"),
    "organisations": N_("Organisation"),
    "catalog": N_("Resource pool"),
    "survey_waves": N_("Survey wave"),
    "survey_imports": N_("Survey import"),
    "survey_uploads": N_("Survey file"),
    "needs": N_("Need"),
    "engagements": N_("Engagement"),
    "events": N_("Event"),
    "call_entries": N_("Campaign entry"),
    "call_scenarios": N_("Open scenario"),
    "gateway_keys": N_("Model access key"),
    "gateway_wallet": N_("Model access wallet"),
    "gateway_upstreams": N_("Model upstream"),
    "gateway_prices": N_("Model price"),
    "gateway_voucher_grants": N_("Model voucher funding"),
    "trials": N_("Model trial"),
}


# How an entry's before/after reads: field names and the values that are codes, in words.
FIELD_LABELS: dict[str, str] = {
    "state": N_("State"),
    "status": N_("Status"),
    "approved_fen": N_("Approved amount"),
    "paid_fen": N_("Paid amount"),
    "budget_fen": N_("Budget"),
    "decision_note": N_("Note"),
    "redeem_by_on": N_("Redeem by"),
    "benchmark": N_("Benchmark case"),
    "role": N_("Role"),
    "active": N_("May log in"),
    "tokens_ended": N_("Sessions and tokens ended"),
    "consultant_id": N_("Consultant"),
    "title": N_("Title"),
    "need": N_("Need"),
    "offerings": N_("Offerings"),
    "rows": N_("Entries"),
    "created": N_("Created"),
    "updated": N_("Updated"),
    "problems": N_("Invalid lines"),
    "wave": N_("Survey wave"),
    "inserted": N_("Rows added"),
    "rejected": N_("Rows rejected"),
    "format": N_("Format"),
    "verification": N_("Verification"),
    "verification_note": N_("Reason"),
    "verified_at": N_("Verified at"),
    "metered_at": N_("Paid by model calls since"),
    "org_role": N_("Role in the organisation"),
    "membership": N_("Membership"),
    "is_active": N_("May log in"),
    # model access (gateway): amounts in milli-fen (1/1000 fen) and prices per 1,000 tokens
    "name": N_("Name"),
    "max_tokens": N_("Most output tokens a call"),
    "concurrency": N_("Calls at once"),
    "revoked_at": N_("Revoked at"),
    "fen": N_("Amount"),
    "base_url": N_("Address"),
    "api_key_env": N_("API key variable"),
    "models": N_("Models"),
    "price_in_mf": N_("Input price (milli-fen per 1,000 tokens)"),
    "price_out_mf": N_("Output price (milli-fen per 1,000 tokens)"),
    "input_mf_per_1k": N_("Input price (milli-fen per 1,000 tokens)"),
    "output_mf_per_1k": N_("Output price (milli-fen per 1,000 tokens)"),
    "route_id": N_("Model route"),
    "application_id": N_("Voucher application"),
    "funded_mf": N_("Funded (milli-fen)"),
    "spent_mf": N_("Spent (milli-fen)"),
    "rate_bp": N_("Voucher share (basis points)"),
    # model trials: the run's number, its cost bound as the gateway holds it, a shared report's lifetime
    "run": N_("Run"),
    "bound_mf": N_("Cost bound (milli-fen)"),
    "days": N_("Days the link lasts"),
}
# Codes whose words depend on the field (an organisation's "admin" is not the platform's).
FIELD_VALUES: dict[str, dict[str, str]] = {
    "role": ROLE_LABELS,
    "org_role": {"admin": N_("Organisation administrator"), "member": N_("Member")},
    "verification": {"pending": N_("Waiting for verification"), "verified": N_("Verified"), "returned": N_("Returned")},
    "membership": {"pending": N_("Waiting for the organisation"), "active": N_("Active")},
}
VALUE_LABELS: dict[str, str] = {
    "submitted": N_("Awaiting review"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "published": N_("Published"),
    "redeeming": N_("Redemption under review"),
    "paid": N_("Paid"),
    "withdrawn": N_("Withdrawn"),
    "expired": N_("Expired"),
}


def person_name(name: str) -> str:
    """An account's name; one named after its role (the demo's 系统管理员) as the role in the reader's language."""
    for text in ROLE_LABELS.values():
        if name in (text, translations("zh_Hans").gettext(text)):
            return _(text)
    return name


def describe(entry: audit.AuditEntry, users: dict[int, str], *, money: Any) -> list[tuple[str, str | None, str]]:
    """(field, before, after) of ENTRY in words: labels for codes, money in yuan, people by name."""

    def word(key: str, value: object) -> str:
        if value is None:
            return "—"
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        if (key.endswith("_fen") or key == "fen") and isinstance(value, int):
            return str(money(value))
        if key == "consultant_id" and isinstance(value, int):
            return users.get(value, _("Former user"))
        labels = FIELD_VALUES.get(key, VALUE_LABELS)
        if isinstance(value, str) and value in labels:
            return _(labels[value])
        if isinstance(value, dict):
            return ", ".join(f"{k}={v}" for k, v in value.items() if v) or "—"
        return str(value)

    before, after = entry.before or {}, entry.after or {}
    out = []
    for key in [*after, *(k for k in before if k not in after)]:
        label = _(FIELD_LABELS[key]) if key in FIELD_LABELS else key
        was = word(key, before[key]) if key in before and before[key] != after.get(key) else None
        out.append((label, was, word(key, after.get(key)) if key in after else "—"))
    return out


def _offset(page: int) -> Paging:
    return Paging(limit=PER_PAGE, offset=max(0, min(page - 1, 19_999)) * PER_PAGE)


def _pages(total: int, page: int, base: str, query: dict[str, Any]) -> dict[str, Any]:
    last = max(1, -(-total // PER_PAGE))
    keep = {k: v for k, v in query.items() if v not in (None, "")}

    def href(n: int) -> str:
        return f"{base}?{urlencode(keep | {'page': n})}"

    return {
        "page": page,
        "last": last,
        "total": total,
        "prev": href(page - 1) if page > 1 else None,
        "next": href(page + 1) if page < last else None,
    }


# --- console home ---------------------------------------------------------------------------------------


CONSOLE_RIGHTS = (Permission.USER_MANAGE, Permission.ORG_READ_ANY, Permission.AUDIT_READ)


# Pages other domains own that the console links to, shown when the reader holds the right: the first
# GET page whose path contains the word (the verification queue is the accounts pages').
CONSOLE_LINKS = (
    (
        "verification",
        Permission.ORG_WRITE_ANY,
        N_("Verification queue"),
        N_("Organisations waiting for the centre to check their licence."),
    ),
    (
        "/subsidy/programmes",
        Permission.PROGRAMME_MANAGE,
        N_("Programme files"),
        N_("Voucher programmes, their rules and pools."),
    ),
)


def _console_links(request: Request, actor: Actor) -> list[dict[str, str]]:
    paths = [
        str(getattr(r, "path", ""))
        for r in request.app.routes
        if "GET" in (getattr(r, "methods", None) or set()) and "{" not in str(getattr(r, "path", "{"))
    ]
    out = []
    for word, right, title, blurb in CONSOLE_LINKS:
        found = next((p for p in paths if word in p and not p.startswith("/api/")), None)
        if found is None and word.startswith("/"):
            found = "/" + word.strip("/").split("/")[0]
        if found is not None and actor.can(right):
            out.append({"href": found, "title": title, "blurb": blurb})
    return out


@router.get("/admin", include_in_schema=False)
def console(request: Request, actor: PageActor) -> Response:
    if not any(actor.can(p) for p in CONSOLE_RIGHTS):
        raise Forbidden(N_("You are not allowed to do this."), permission=str(Permission.ORG_READ_ANY))
    return render(request, "admin/console.html", active="admin", can=actor.can, links=_console_links(request, actor))


# --- users ----------------------------------------------------------------------------------------------


@router.get("/admin/users", include_in_schema=False)
def users_page(
    request: Request,
    session: DbSession,
    actor: PageActor,
    q: Annotated[str | None, Query(max_length=100)] = None,
    role: str | None = None,
    page: Annotated[int, Query(ge=1, le=20_000)] = 1,
) -> Response:
    chosen = Role(role) if role in set(Role) else None
    rows, total = paginate_select(session, admin.users_query(actor, q=q, role=chosen), _offset(page))
    return render(
        request,
        "admin/users.html",
        active="admin",
        users=rows,
        q=q or "",
        role=chosen or "",
        roles=ROLE_LABELS,
        pager=_pages(total, page, "/admin/users", {"q": q, "role": chosen}),
        me=actor.user_id,
        person_name=person_name,
    )


def _back(request: Request, default: str) -> str:
    ref = request.headers.get("referer", "")
    path = ref.split("://", 1)[-1].split("/", 1)[-1] if "://" in ref else ""
    return "/" + path if path.startswith("admin/") else default


@router.post("/admin/users/{user_id}/role", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def change_role(request: Request, user_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    form = await request.form()
    value = str(form.get("role", ""))
    if value not in set(Role):
        raise Invalid(N_("Please correct the marked fields."), fields={"role": "unknown role"})
    user = admin.change_role(session, actor, user_id, Role(value))
    session.commit()
    text = _("Role of %(name)s: %(role)s.") % {"name": user.display_name, "role": _(ROLE_LABELS[value])}
    return redirect_with_message(request, _back(request, "/admin/users"), text)


@router.post("/admin/users/{user_id}/active", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def set_active(request: Request, user_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    form = await request.form()
    active = str(form.get("active", "")) == "1"
    user = admin.set_active(session, actor, user_id, active)
    session.commit()
    text = (_("%(name)s may log in again.") if active else _("%(name)s is disabled; their sessions have ended.")) % {
        "name": user.display_name
    }
    return redirect_with_message(request, _back(request, "/admin/users"), text)


# --- organisations --------------------------------------------------------------------------------------


@router.get("/admin/organisations", include_in_schema=False)
def organisations_page(
    request: Request,
    session: DbSession,
    actor: PageActor,
    q: Annotated[str | None, Query(max_length=100)] = None,
    kind: str | None = None,
    page: Annotated[int, Query(ge=1, le=20_000)] = 1,
) -> Response:
    chosen = OrgKind(kind) if kind in set(OrgKind) else None
    rows, total = paginate_select(session, admin.organisations_query(actor, q=q, kind=chosen), _offset(page))
    ids = [o.id for o in rows]
    may_assign = actor.can(Permission.CONSULTANT_ASSIGN)
    return render(
        request,
        "admin/organisations.html",
        active="admin",
        orgs=rows,
        members=admin.member_counts(session, actor, ids),
        consultant_of=consultants.consultant_names(session, actor, set(ids)),
        advisers=consultants.consultants(session, actor) if may_assign else [],
        may_assign=may_assign,
        may_audit=actor.can(Permission.AUDIT_READ),
        may_users=actor.can(Permission.USER_MANAGE),
        q=q or "",
        kind=chosen or "",
        kinds=KIND_LABELS,
        pager=_pages(total, page, "/admin/organisations", {"q": q, "kind": chosen}),
    )


@router.post("/admin/organisations/{org_id}/consultant", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def assign_consultant(request: Request, org_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    form = await request.form()
    raw = str(form.get("consultant_id", "")).strip()
    if raw and not raw.isdigit():
        raise Invalid(N_("Choose a consultant."), fields={"consultant_id": "not an active consultant"})
    consultants.assign(session, actor, org_id, int(raw) if raw else None)
    session.commit()
    return redirect_with_message(request, _back(request, "/admin/organisations"), _("Consultant saved."))


# --- audit log ------------------------------------------------------------------------------------------


class AuditFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_type: str | None = None
    target_id: str | None = None
    action: str | None = None
    org_id: int | None = None


def audit_filters(
    target_type: Annotated[
        str | None, Query(max_length=40, description="What was acted on, e.g. `applications`.")
    ] = None,
    target_id: Annotated[str | None, Query(max_length=64, description="Its id (with target_type).")] = None,
    action: Annotated[str | None, Query(max_length=60, description="e.g. `voucher.approve`.")] = None,
    org_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="The organisation concerned.")] = None,
) -> AuditFilters:
    return AuditFilters(
        target_type=target_type or None, target_id=target_id or None, action=action or None, org_id=org_id
    )


Filters = Annotated[AuditFilters, Depends(audit_filters)]


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: Any
    actor_id: int | None
    on_behalf_of: int | None
    action: str
    target_type: str
    target_id: str
    org_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None


@router.get("/api/v1/audit", tags=["accounts"], summary="The audit log, newest first, filtered by target")
def audit_api(session: DbSession, actor: CurrentActor, paging: PageParams, filters: Filters) -> Page[AuditEntryOut]:
    query = audit.entries_query(actor, **filters.model_dump())
    return page_select(session, query, paging, AuditEntryOut.model_validate)


def _names(session: DbSession, entries: list[audit.AuditEntry]) -> tuple[dict[int, str], dict[int, str]]:
    user_ids = {e.actor_id for e in entries if e.actor_id is not None}
    user_ids |= {int(e.target_id) for e in entries if e.target_type == "users" and e.target_id.isdigit()}
    for e in entries:
        for side in (e.before or {}, e.after or {}):
            if isinstance(side.get("consultant_id"), int):
                user_ids.add(side["consultant_id"])
    org_ids = {o for e in entries for o in (e.org_id, e.on_behalf_of) if o is not None}
    people: list[User] = list(session.scalars(select(User).where(User.id.in_(user_ids)))) if user_ids else []
    users = {u.id: person_name(u.display_name) for u in people}
    orgs = {o.id: o.name for o in session.query(Organisation).filter(Organisation.id.in_(org_ids))} if org_ids else {}
    return users, orgs


# What names a target in the log, by its table: the column itself, or (column, table it points to by the
# column, the name there). The log stores targets by table and id (audit.py), so the names are read from
# those tables, not through the domains above this one.
NAME_COLUMNS: dict[str, str | tuple[str, str, str]] = {
    "cases": "title",
    "offerings": "name",
    "needs": "title",
    "survey_waves": "name",
    "survey_imports": ("wave_id", "survey_waves", "name"),
    "survey_uploads": "filename",
    "engagements": ("need_id", "needs", "title"),
}


def _table(name: str) -> Table | None:
    return Base.metadata.tables.get(name)


def target_names(
    session: DbSession, entries: list[audit.AuditEntry], orgs: dict[int, str]
) -> dict[tuple[str, str], str]:
    """The name of each entry's target, by (type, id): a case's title, a wave's name, a voucher application's
    programme and applicant; a removed record by the title its entry kept, else not at all."""
    wanted: dict[str, set[int]] = {}
    for e in entries:
        if e.target_id.isdigit() and (e.target_type in NAME_COLUMNS or e.target_type == "subsidy_applications"):
            wanted.setdefault(e.target_type, set()).add(int(e.target_id))
    out: dict[tuple[str, str], str] = {}
    for kind, ids in wanted.items():
        table = _table(kind)
        if table is None:
            continue
        if kind == "subsidy_applications":
            rows = session.execute(
                select(table.c.id, table.c.programme_code, table.c.org_id).where(table.c.id.in_(ids))
            ).all()
            extra = {r.org_id for r in rows} - set(orgs)
            if extra:
                orgs = orgs | {o.id: o.name for o in session.query(Organisation).filter(Organisation.id.in_(extra))}
            for r in rows:
                who = orgs.get(r.org_id)
                out[(kind, str(r.id))] = " · ".join(x for x in (programme_name(r.programme_code), who) if x)
            continue
        how = NAME_COLUMNS[kind]
        if isinstance(how, str):
            query = select(table.c.id, table.c[how]).where(table.c.id.in_(ids))
        else:
            column, other_name, name_column = how
            other = _table(other_name)
            if other is None:
                continue
            query = (
                select(table.c.id, other.c[name_column])
                .join(other, other.c.id == table.c[column])
                .where(table.c.id.in_(ids))
            )
        out |= {(kind, str(ident)): str(name) for ident, name in session.execute(query).all() if name}
    for e in entries:  # a removed case or offering: the title its entry kept
        key = (e.target_type, e.target_id)
        if key not in out:
            kept = (e.before or {}).get("title") or (e.after or {}).get("title") or (e.before or {}).get("name")
            if isinstance(kept, str) and kept:
                out[key] = kept
    return out


@router.get("/admin/audit", include_in_schema=False)
def audit_page(
    request: Request,
    session: DbSession,
    actor: PageActor,
    filters: Filters,
    page: Annotated[int, Query(ge=1, le=20_000)] = 1,
) -> Response:
    query = audit.entries_query(actor, **filters.model_dump())
    rows, total = paginate_select(session, query, _offset(page))
    users, orgs = _names(session, rows)
    chosen = filters.model_dump()
    return render(
        request,
        "admin/audit.html",
        active="admin",
        entries=rows,
        users=users,
        orgs=orgs,
        names=target_names(session, rows, orgs),
        f=chosen,
        types=audit.target_types(session, actor),
        actions=ACTION_LABELS,
        targets=TARGET_LABELS,
        describe=partial(describe, money=templates().env.filters["yuan"]),
        may_export=actor.can(Permission.AUDIT_EXPORT),
        export_query=urlencode({k: v for k, v in chosen.items() if v is not None}),
        pager=_pages(total, page, "/admin/audit", chosen),
    )


EXPORT_COLUMNS = (
    "id",
    "at",
    "actor",
    "on_behalf_of",
    "action",
    "target_type",
    "target_id",
    "organisation",
    "before",
    "after",
    "request_id",
)
EXPORT_MAX = 100_000


def _export_rows(session: DbSession, actor: Actor, filters: AuditFilters) -> list[list[object]]:
    actor.require(Permission.AUDIT_EXPORT)
    entries = list(session.scalars(audit.entries_query(actor, **filters.model_dump()).limit(EXPORT_MAX)))
    users, orgs = _names(session, entries)
    out: list[list[object]] = []
    for e in entries:
        out.append(
            row(
                [
                    e.id,
                    e.at.isoformat(timespec="seconds"),
                    users.get(e.actor_id, "") if e.actor_id is not None else "system",
                    orgs.get(e.on_behalf_of, "") if e.on_behalf_of is not None else "",
                    e.action,
                    e.target_type,
                    e.target_id,
                    orgs.get(e.org_id, "") if e.org_id is not None else "",
                    _json(e.before),
                    _json(e.after),
                    e.request_id or "",
                ]
            )
        )
    return out


def _json(value: object) -> str:
    import json

    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


@router.get("/admin/audit.{fmt}", include_in_schema=False)
def audit_export(fmt: str, session: DbSession, actor: PageActor, filters: Filters) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise NotFound(N_("Page not found."))
    rows = _export_rows(session, actor, filters)
    # An export is itself a privileged action.
    audit.record(
        session,
        actor,
        "audit.export",
        ("audit_log", fmt),
        after={"rows": len(rows), **filters.model_dump(exclude_none=True)},
    )
    session.commit()
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
        writer.writerows(rows)
        body = ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel and WPS read the Chinese right
        return Response(body, media_type="text/csv; charset=utf-8", headers=attachment("audit-log.csv"))
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("audit")
    sheet.append(list(EXPORT_COLUMNS))
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(out.getvalue(), media_type=media, headers=attachment("audit-log.xlsx"))
