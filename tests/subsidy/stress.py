"""Worker processes for the stress test: each has its own connections and session, like a separate server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from smeai.errors import SmeaiError
from smeai.storage import LocalStorage


def _work(url: str, var_dir: str, role: str, items: list[dict[str, Any]], barrier: Any, results: Any) -> None:
    from smeai.auth.actor import Actor
    from smeai.auth.permissions import OrgKind, Role
    from smeai.db import get_engine, get_sessionmaker
    from smeai.domains import import_all_models
    from smeai.subsidy import documents, service
    from smeai.subsidy.programmes import DocKind
    from smeai.subsidy.schemas import ApplicationIn, ApplicationOut

    import_all_models()
    get_engine(url).dispose(close=False)  # a fresh pool of this process's own
    make = get_sessionmaker(url)
    out: list[tuple[str, Any, str]] = []
    barrier.wait(timeout=60)  # everyone starts together: as much interleaving as two cores allow
    import time

    for item in items:
        started = time.perf_counter()
        session = make()
        try:
            if role == "apply":
                actor = Actor(
                    user_id=item["user_id"],
                    org_id=item["org_id"],
                    org_kind=OrgKind.ENTERPRISE,
                    roles=frozenset({Role.ENTERPRISE_MEMBER}),
                )
                app = service.submit_application(session, actor, ApplicationIn.model_validate(item["data"]))
                documents.add_document(
                    session,
                    actor,
                    app.id,
                    kind=DocKind.CONTRACT,
                    filename="合同.pdf",
                    data=b"%PDF-1.4 stress",
                    store=LocalStorage(Path(var_dir)),
                    max_bytes=10_000,
                )
                session.commit()
                out.append(("apply", app.id, "ok"))
            else:
                actor = Actor(
                    user_id=item["user_id"],
                    org_id=item["org_id"],
                    org_kind=OrgKind.CENTRE,
                    roles=frozenset({Role.OPERATOR}),
                )
                key = item.get("key")  # some pairs retry under one Idempotency-Key, as a client would
                stored = service.claim_idempotency_key(
                    session, actor, key, service.fingerprint("approve", item["application_id"])
                )
                if stored is not None:
                    session.rollback()
                    out.append(("approve", item["application_id"], "replayed"))
                    continue
                app = service.approve_application(session, actor, item["application_id"])
                service.remember_response(session, actor, key, ApplicationOut.model_validate(app))
                session.commit()
                out.append(("approve", item["application_id"], "ok"))
        except SmeaiError as exc:  # a definite, expected answer: budget, cap, state, duplicate
            session.rollback()
            out.append((role, item.get("application_id"), exc.code))
        except Exception as exc:  # reported to the test, which fails on any of these
            session.rollback()
            out.append((role, item.get("application_id"), f"error: {type(exc).__name__}: {exc}"[:300]))
        finally:
            session.close()
            out[-1] = (*out[-1], time.perf_counter() - started)  # (role, id, answer, seconds)
    results.put((os.getpid(), out))


def run_workers(url: str, var_dir: Path, role: str, chunks: list[list[dict[str, Any]]]) -> list[tuple]:
    """Run one process per chunk, all released together; every answer of every request, in no order."""
    import multiprocessing as mp

    from smeai.db import get_engine

    # fork (fast: nothing to re-import) after closing the pooled connections, so that no child shares a
    # socket with the parent; each child then opens its own connections through its own pool
    get_engine(url).dispose()
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(len(chunks))
    results = ctx.Queue()
    procs = [ctx.Process(target=_work, args=(url, str(var_dir), role, chunk, barrier, results)) for chunk in chunks]
    for p in procs:
        p.start()
    answers: list[tuple] = []
    for _ in procs:
        _pid, out = results.get(timeout=120)
        answers.extend(out)
    for p in procs:
        p.join(timeout=30)
    return answers
