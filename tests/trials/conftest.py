"""A gateway with the real local model behind it (llama.cpp serving SmolLM2-135M, started in-process by the
gateway on first use of a `local://smollm2` upstream) and a funded wallet: the trials run through it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from smeai.auth.actor import Actor
from smeai.gateway import service as gateway
from smeai.gateway.schemas import UpstreamIn
from tests import builders

MODEL = "smollm2"
PRICE_IN_FEN, PRICE_OUT_FEN = "1.2", "3.6"  # per 1,000 tokens


@pytest.fixture
def local_gateway(session):
    """The local model as gateway alias `smollm2` (and `smollm2-b`, the same model under a second name)."""
    data = UpstreamIn.model_validate(
        {
            "name": "local",
            "base_url": "local://smollm2",
            "models": {MODEL: "smollm2", f"{MODEL}-b": "smollm2"},
            "price_in": PRICE_IN_FEN,
            "price_out": PRICE_OUT_FEN,
        }
    )
    gateway.add_upstream(session, Actor.system(), data)
    session.flush()
    return MODEL


@pytest.fixture
def funded(session, local_gateway):
    """An enterprise member whose wallet holds 50 元 of its own."""
    actor = builders.enterprise(session)
    gateway.fund_wallet(session, Actor.system(), actor.org_id, 5000)
    session.commit()
    return actor


@pytest.fixture
def gateway_client(app):
    """The runner's HTTP client: the portal in-process (the gateway's endpoint is one of its routes)."""
    return lambda: TestClient(app)
