"""/api/v1/subsidy: programmes, the calculator, applications and their documents, pools, ledger, audit.

Every mutating call accepts an `Idempotency-Key` header: a retry with the same key and body gets the first
answer back and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, File, Form, Header, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel

from smeai.auth import service as auth_service
from smeai.auth.actor import Actor
from smeai.auth.deps import CurrentActor
from smeai.config import app_settings
from smeai.db import DbSession, utcnow
from smeai.inputs import RecordId
from smeai.storage import storage_for
from smeai.subsidy import dashboard, documents, service
from smeai.subsidy.programmes import DocKind
from smeai.subsidy.schemas import (
    ApplicationIn,
    ApplicationList,
    ApplicationOut,
    ApplicationState,
    ApproveIn,
    AuditOut,
    BudgetIn,
    DocumentOut,
    EventOut,
    LedgerEntryOut,
    PoolOut,
    ProgrammeOut,
    PurchaseIn,
    QuoteOut,
    ReasonsIn,
    VerifyIn,
)
from smeai.web.downloads import attachment
from smeai.web.limits import upload_route
from smeai.web.paging import Page, PageParams, page_of, page_select

router = APIRouter(prefix="/api/v1/subsidy", tags=["subsidy"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=100)]
M = TypeVar("M", bound=BaseModel)


def _once(
    session: DbSession, actor: Actor, key: str | None, request: tuple, act: Callable[[], M], schema: type[M]
) -> M:
    """Run ACT once per idempotency key (the stored answer otherwise), then commit."""
    stored = service.claim_idempotency_key(session, actor, key, service.fingerprint(*request))
    if stored is not None:
        return schema.model_validate(stored)
    out = act()
    service.remember_response(session, actor, key, out)
    session.commit()
    return out


def _app_out(session: DbSession, actor: Actor, application_id: RecordId) -> ApplicationOut:
    return ApplicationOut.model_validate(service.get_application(session, actor, application_id))


@router.get("/programmes", summary="Subsidy programmes in force")
def list_programmes(actor: CurrentActor, paging: PageParams) -> Page[ProgrammeOut]:
    return page_of(service.list_programmes(), paging)


@router.get("/programmes/{code}", summary="One programme's rules")
def read_programme(code: str, actor: CurrentActor) -> dict:
    return service.get_programme(code).model_dump(mode="json")


@router.post("/calculate", summary="Which programmes pay for a purchase, the best combination, the net price")
def calculate(data: PurchaseIn, session: DbSession, actor: CurrentActor, org_id: RecordId | None = None) -> QuoteOut:
    who = auth_service.get_organisation(session, actor, org_id) if org_id is not None else actor
    return service.calculate(session, who, data)


@router.get("/applications", summary="Applications the caller may see")
def list_applications(
    session: DbSession,
    actor: CurrentActor,
    paging: PageParams,
    state: ApplicationState | None = None,
    programme: str | None = None,
) -> Page[ApplicationOut]:
    query = service.applications_query(actor, state=state, programme_code=programme)
    return page_select(session, query, paging, ApplicationOut.model_validate)


@router.post("/applications", status_code=201, summary="Apply for a subsidy (申领)")
def submit_application(
    data: ApplicationIn, session: DbSession, actor: CurrentActor, key: IdempotencyKey = None
) -> ApplicationOut:
    return _once(
        session,
        actor,
        key,
        ("apply", data.model_dump(mode="json")),
        lambda: ApplicationOut.model_validate(service.submit_application(session, actor, data)),
        ApplicationOut,
    )


@router.get("/applications/{application_id}", summary="One application with the rules that decided it")
def read_application(application_id: RecordId, session: DbSession, actor: CurrentActor) -> ApplicationOut:
    return _app_out(session, actor, application_id)


@router.get("/applications/{application_id}/events", summary="An application's history")
def list_events(
    application_id: RecordId, session: DbSession, actor: CurrentActor, paging: PageParams
) -> Page[EventOut]:
    return page_of(service.events(session, actor, application_id), paging, EventOut.model_validate)


@router.post("/applications/{application_id}/approve", summary="Approve and reserve the amount (operator)")
def approve(
    application_id: RecordId, data: ApproveIn, session: DbSession, actor: CurrentActor, key: IdempotencyKey = None
) -> ApplicationOut:
    return _once(
        session,
        actor,
        key,
        ("approve", application_id, data.model_dump()),
        lambda: ApplicationOut.model_validate(
            service.approve_application(session, actor, application_id, amount_fen=data.amount_fen, note=data.note)
        ),
        ApplicationOut,
    )


@router.post("/applications/{application_id}/reject", summary="Reject with reasons (operator)")
def reject(
    application_id: RecordId, data: ReasonsIn, session: DbSession, actor: CurrentActor, key: IdempotencyKey = None
) -> ApplicationOut:
    return _once(
        session,
        actor,
        key,
        ("reject", application_id, data.model_dump()),
        lambda: ApplicationOut.model_validate(
            service.reject_application(session, actor, application_id, reasons=data.reasons)
        ),
        ApplicationOut,
    )


@router.post("/applications/{application_id}/withdraw", summary="Withdraw an application (enterprise)")
def withdraw(
    application_id: RecordId, session: DbSession, actor: CurrentActor, key: IdempotencyKey = None
) -> ApplicationOut:
    return _once(
        session,
        actor,
        key,
        ("withdraw", application_id),
        lambda: ApplicationOut.model_validate(service.withdraw_application(session, actor, application_id)),
        ApplicationOut,
    )


@router.post("/applications/{application_id}/redeem", summary="Ask for payment with the documents (兑付)")
def redeem(
    application_id: RecordId, session: DbSession, actor: CurrentActor, key: IdempotencyKey = None
) -> ApplicationOut:
    return _once(
        session,
        actor,
        key,
        ("redeem", application_id),
        lambda: ApplicationOut.model_validate(service.submit_redemption(session, actor, application_id)),
        ApplicationOut,
    )


@router.post("/applications/{application_id}/return", summary="Send a redemption back for better documents")
def return_redemption(
    application_id: RecordId, data: ReasonsIn, session: DbSession, actor: CurrentActor, key: IdempotencyKey = None
) -> ApplicationOut:
    return _once(
        session,
        actor,
        key,
        ("return", application_id, data.model_dump()),
        lambda: ApplicationOut.model_validate(
            service.return_redemption(session, actor, application_id, reasons=data.reasons)
        ),
        ApplicationOut,
    )


@router.post("/applications/{application_id}/verify", summary="Verify the redemption and record the payout")
def verify(
    application_id: RecordId, data: VerifyIn, session: DbSession, actor: CurrentActor, key: IdempotencyKey = None
) -> ApplicationOut:
    return _once(
        session,
        actor,
        key,
        ("verify", application_id, data.model_dump()),
        lambda: ApplicationOut.model_validate(
            service.verify_redemption(session, actor, application_id, paid_fen=data.paid_fen, note=data.note)
        ),
        ApplicationOut,
    )


@router.post("/applications/{application_id}/documents", status_code=201, summary="Upload a document")
@upload_route  # a file: up to SMEAI_UPLOAD_MAX_BYTES, not the 1 MiB JSON/form limit
async def upload_document(
    application_id: RecordId,
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    kind: Annotated[DocKind, Form()],
    file: Annotated[UploadFile, File()],
    key: IdempotencyKey = None,
) -> DocumentOut:
    settings = app_settings(request)
    data = await file.read(settings.upload_max_bytes + 1)
    return _once(
        session,
        actor,
        key,
        ("upload", application_id, kind, service.fingerprint(data.hex()[:2048])),
        lambda: DocumentOut.model_validate(
            documents.add_document(
                session,
                actor,
                application_id,
                kind=kind,
                filename=file.filename or "",
                data=data,
                store=storage_for(settings),
                max_bytes=settings.upload_max_bytes,
            )
        ),
        DocumentOut,
    )


@router.get("/applications/{application_id}/documents", summary="An application's documents")
def list_documents(
    application_id: RecordId, session: DbSession, actor: CurrentActor, paging: PageParams
) -> Page[DocumentOut]:
    return page_of(documents.list_documents(session, actor, application_id), paging, DocumentOut.model_validate)


@router.get("/applications/{application_id}/documents/{document_id}", summary="Download a document")
def download_document(
    application_id: RecordId, document_id: RecordId, request: Request, session: DbSession, actor: CurrentActor
) -> Response:
    doc, body = documents.read_document(session, actor, application_id, document_id, storage_for(app_settings(request)))
    ext = doc.stored_name.rsplit(".", 1)[-1]
    # always a download (never rendered inline); the middleware adds X-Content-Type-Options: nosniff
    return Response(body, media_type=doc.content_type, headers=attachment(f"document-{doc.id}.{ext}"))


@router.get("/pools", summary="Budget, reserved, paid and remaining per programme (operator)")
def list_pools(session: DbSession, actor: CurrentActor, paging: PageParams) -> Page[PoolOut]:
    return page_of(dashboard.pools(session, actor), paging)


@router.put("/pools/{code}", summary="Set a programme's pool budget (operator)")
def set_pool_budget(
    code: str, data: BudgetIn, session: DbSession, actor: CurrentActor, key: IdempotencyKey = None
) -> PoolOut:
    def act() -> PoolOut:
        service.set_pool_budget(session, actor, code, data.budget_fen, year=data.year)
        mine = [p for p in dashboard.pools(session, actor) if p.programme_code == code]
        return next((p for p in mine if p.year in (None, data.year or utcnow().year)), mine[0])

    return _once(session, actor, key, ("budget", code, data.budget_fen, data.year), act, PoolOut)


@router.get("/ledger", summary="The ledger entries (operator)")
def list_ledger(
    session: DbSession, actor: CurrentActor, paging: PageParams, application_id: RecordId | None = None
) -> Page[LedgerEntryOut]:
    query = service.ledger_query(actor, application_id=application_id)
    return page_select(session, query, paging, LedgerEntryOut.model_validate)


@router.get("/audit", summary="Recompute every balance from the ledger and check every invariant")
def audit(session: DbSession, actor: CurrentActor) -> AuditOut:
    report = service.audit(session, actor)
    return AuditOut(ok=report.ok, checked=report.checked, problems=report.problems)


@router.post("/expire", summary="Expire approvals not redeemed in time (operator)")
def expire(session: DbSession, actor: CurrentActor, key: IdempotencyKey = None) -> ApplicationList:
    return _once(
        session,
        actor,
        key,
        ("expire",),
        lambda: ApplicationList(
            [ApplicationOut.model_validate(a) for a in service.expire_applications(session, actor)]
        ),
        ApplicationList,
    )


@router.get("/export.xlsx", summary="Pools, applications and ledger as Excel (operator)")
def export(session: DbSession, actor: CurrentActor) -> Response:
    body = dashboard.export_xlsx(session, actor)
    return Response(
        body,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=attachment("subsidy.xlsx"),
    )
