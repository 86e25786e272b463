"""Subsidy test data, made through services."""

from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy.orm import Session

from smeai.auth.actor import Actor
from smeai.db import utcnow
from smeai.subsidy import documents, ledger, service
from smeai.subsidy.models import Application
from smeai.subsidy.programmes import DocKind, all_programmes
from smeai.subsidy.schemas import ApplicationIn
from tests import builders

WAN = 1_000_000
TODAY = date(2025, 6, 1)
PDF = b"%PDF-1.4\n% test document\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
_numbers = itertools.count(1)

BEIJING = {
    "industry_section": "I",
    "mfg_division": None,
    "province_code": "11",
    "city": "北京",
    "size_class": "small",
    "revenue_band": "0-2",
}


WUHAN = BEIJING | {"industry_section": "C", "mfg_division": "39", "province_code": "42", "city": "武汉"}


def wuhan_enterprise(session: Session, name: str | None = None, *, email: str | None = None) -> Actor:
    """Wuhan's voucher has no period and no contract-date rules: good for flows run 'today'. Its annual pool
    is open for TODAY's year and this year (an operator's step; the file's budget unless a test sets one)."""
    open_years(session, "wuhan-compute", TODAY.year, utcnow().year)
    return builders.enterprise(session, name, profile=WUHAN, email=email)


def open_years(session: Session, code: str, *years: int) -> None:
    """Open an annual pool's years, as an operator's first budget does; an open year is left as it is."""
    for year in years:
        ledger.open_pool(session, all_programmes()[code], year)


def beijing_enterprise(session: Session, name: str | None = None) -> Actor:
    return builders.enterprise(session, name, profile=BEIJING)


def compute_purchase(contract_fen: int = 100 * WAN, **over: object) -> ApplicationIn:
    data = {
        "programme_code": "beijing-compute",
        "description": "GPU 算力租用 A800 × 8",
        "kind": "compute",
        "supplier_name": "京算科技",
        "contract_no": f"HT-{next(_numbers):05d}",
        "contract_fen": contract_fen,
        "signed_on": date(2025, 3, 1),
        "starts_on": date(2025, 3, 1),
        "ends_on": date(2026, 2, 28),
    }
    return ApplicationIn.model_validate(data | over)


def apply(
    session: Session, actor: Actor, contract_fen: int = 100 * WAN, *, contract: bool = True, **over: object
) -> Application:
    app = service.submit_application(session, actor, compute_purchase(contract_fen, **over), today=TODAY)
    if contract:
        upload(session, actor, app.id, DocKind.CONTRACT)
    return app


def upload(
    session: Session, actor: Actor, application_id: int, kind: DocKind, data: bytes = PDF, filename: str = "文件.pdf"
) -> None:
    import tempfile
    from pathlib import Path

    from smeai.storage import LocalStorage

    store = LocalStorage(Path(tempfile.gettempdir()) / "smeai-subsidy-test-var")
    documents.add_document(
        session, actor, application_id, kind=kind, filename=filename, data=data, store=store, max_bytes=1_000_000
    )


def redeem_documents(session: Session, actor: Actor, application_id: int) -> None:
    for kind in (DocKind.INVOICE, DocKind.PAYMENT, DocKind.DELIVERY):
        upload(session, actor, application_id, kind)


TEST_SOURCE = "sources: [{id: t, title: 测试政策, issuer: 测试, url: 'https://example.org/policy'}]\n"


def sourced(text: str) -> str:
    """A test programme file made valid for the sources check: one source, and every rule it sets listed
    under an assumption (a test file has no clause to quote)."""
    import yaml

    from smeai.subsidy import programmes

    p = programmes.Programme.model_validate(yaml.safe_load(text + TEST_SOURCE))
    rules = ", ".join(sorted(programmes.rule_keys(p)))
    return text + TEST_SOURCE + f"assumptions: [{{why: a test programme, rules: [{rules}]}}]\n"
