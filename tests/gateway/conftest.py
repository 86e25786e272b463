"""Gateway fixtures: a scripted upstream (a real HTTP server in a subprocess a test may kill), the portal
served for real (uvicorn in a thread: real sockets, real disconnects), and a funded enterprise with a key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from smeai.auth.actor import Actor
from smeai.config import Settings
from smeai.gateway import localmodel, service
from smeai.gateway.schemas import KeyIn, UpstreamIn
from smeai.subsidy.models import Application
from tests import builders

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Scripted:
    port: int
    log: Path
    proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.gateway.scripted", "--port", str(self.port), "--log", str(self.log)],
            cwd=ROOT,
            env=env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("the scripted upstream did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def calls(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="session")
def scripted_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scripted]:
    s = Scripted(port=localmodel.free_port(), log=tmp_path_factory.mktemp("upstream") / "upstream.jsonl")
    s.start()
    try:
        yield s
    finally:
        s.kill()


@pytest.fixture
def scripted(scripted_server: Scripted) -> Scripted:
    """The session's scripted upstream with an empty log (running again if a test killed it)."""
    if scripted_server.proc is None or scripted_server.proc.poll() is not None:
        scripted_server.start()
    scripted_server.log.write_text("")
    return scripted_server


@pytest.fixture
def live(settings: Settings) -> Iterator[str]:
    """The portal served by uvicorn on a free port, in a thread of this process."""
    import uvicorn

    from smeai.app import create_app

    port = localmodel.free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False, log_config=None
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@dataclass
class Setup:
    actor: Actor
    org_id: int
    key_id: int
    secret: str


def setup_org(
    session: Session,
    base_url: str,
    *,
    fen: int = 1000,
    models: dict[str, str] | None = None,
    price_in: str = "10",
    price_out: str = "20",
    key: dict | None = None,
    **upstream: object,
) -> Setup:
    """An enterprise whose wallet holds FEN of its own money, an upstream, and a key; committed."""
    system = Actor.system()
    actor = builders.enterprise(session)
    assert actor.org_id is not None
    service.add_upstream(
        session,
        system,
        UpstreamIn.model_validate(
            {
                "name": f"up{actor.org_id}",
                "base_url": base_url,
                "models": models or {"m": "script"},
                "price_in": price_in,
                "price_out": price_out,
                **upstream,
            }
        ),
    )
    row, secret = service.create_key(session, actor, KeyIn.model_validate({"name": "k", **(key or {})}))
    if fen:
        service.fund_wallet(session, system, actor.org_id, fen)
    session.commit()
    return Setup(actor=actor, org_id=actor.org_id, key_id=row.id, secret=secret)


def chat(text: str = "hello", model: str = "m", **extra: object) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


def sse(lines: list[str]) -> list[dict | str]:
    """The events of an SSE body: parsed chunks, and '[DONE]'."""
    out: list[dict | str] = []
    for line in lines:
        if line.startswith("data: "):
            payload = line[6:]
            out.append(payload if payload == "[DONE]" else json.loads(payload))
    return out


PDF = b"%PDF-1.4\n% test\n%%EOF\n"


def approved_model_voucher(
    session: Session,
    enterprise: Actor,
    files: Path,
    *,
    description: str = "大模型 API 调用",
    contract_no: str = "GW-1",
    contract_fen: int = 1_000_000,
    fund: bool = True,
) -> Application:
    """An approved 成都 模型使用补贴 (30 %) application of ENTERPRISE (its contract stored under FILES) that
    funds its gateway wallet (FUND false: approved only, for the operator to fund); not committed."""
    from smeai.gateway import flows
    from smeai.storage import LocalStorage
    from smeai.subsidy import documents
    from smeai.subsidy import service as subsidy
    from smeai.subsidy.programmes import DocKind
    from smeai.subsidy.schemas import ApplicationIn

    op = builders.operator(session)
    app = subsidy.submit_application(
        session,
        enterprise,
        ApplicationIn(
            programme_code="chengdu-model",
            description=description,
            kind="model",
            supplier_name="某模型服务商",
            contract_no=contract_no,
            contract_fen=contract_fen,
        ),
    )
    documents.add_document(
        session,
        enterprise,
        app.id,
        kind=DocKind.CONTRACT,
        filename="c.pdf",
        data=PDF,
        store=LocalStorage(files),
        max_bytes=10_000,
    )
    subsidy.approve_application(session, op, app.id)
    if fund:
        flows.fund_from_voucher(session, op, app.id)
    return app
