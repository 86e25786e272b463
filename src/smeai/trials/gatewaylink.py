"""Everything the trials ask of the gateway, in one place: its models and prices, the wallet's available
money, the trial's own key, and the usage record of a call (found by the Idempotency-Key the runner sent).
The calls themselves go over HTTP to the gateway's OpenAI-compatible endpoint (runner.py), as any client's
would, so holds, settlement, latency and cost are the real ones."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from smeai.auth.actor import Actor
from smeai.db import utcnow
from smeai.errors import NotFound
from smeai.gateway import ledger
from smeai.gateway import service as gateway
from smeai.gateway.models import Hold, Key, Usage, Wallet
from smeai.gateway.schemas import KeyIn

KEY_LIFETIME = timedelta(hours=6)  # a run that outlives this fails its later calls rather than keeping a live key


def model_aliases(session: Session) -> list[str]:
    return gateway.list_models(session)


def hold_bound_mf(session: Session, alias: str, messages: list[dict[str, str]], max_tokens: int) -> int:
    """The hold the gateway will take for this call (the worst case over the alias's routes), in milli-fen;
    0 for a model it does not offer (add_candidate refuses those)."""
    anyone = Key(allowed_models=None)  # not added to the session: only read by gateway.targets
    try:
        targets = gateway.targets(session, anyone, alias)
    except NotFound:
        return 0
    bound_in, bound_out, price_in, price_out = gateway.hold_bound(targets, messages, None, max_tokens)
    return ledger.call_cost(bound_in, bound_out, price_in, price_out)


def price_mf_per_1k(session: Session, alias: str) -> tuple[int, int] | None:
    """(input, output) milli-fen per 1,000 tokens on the alias's first route, now."""
    try:
        target = gateway.targets(session, Key(allowed_models=None), alias)[0]
    except NotFound:
        return None
    return target.input_mf_per_1k, target.output_mf_per_1k


def available_mf(session: Session, org_id: int) -> int:
    """What the enterprise's wallet can hold now: its own part and its voucher part, less what is held."""
    w = session.scalar(select(Wallet).where(Wallet.org_id == org_id))
    if w is None:
        return 0
    return (w.own_balance_mf - w.own_held_mf) + (w.voucher_balance_mf - w.voucher_held_mf)


def issue_key(session: Session, actor: Actor, org_id: int, name: str, max_tokens: int) -> tuple[int, str]:
    """The trial's own key (one call at a time, so latency is measured without queueing); (id, secret)."""
    data = KeyIn(name=name[:100], concurrency=1, max_tokens=max_tokens, expires_at=utcnow() + KEY_LIFETIME)
    key, secret = gateway.create_key(session, actor, data, org_id=org_id)
    return key.id, secret


def revoke_key(session: Session, key_id: int) -> None:
    key = session.get(Key, key_id)
    if key is not None and key.revoked_at is None:
        gateway.revoke_key(session, Actor.system(), key_id)


def usage_for(session: Session, key_id: int, idempotency_key: str) -> Usage | None:
    hold = session.scalar(select(Hold).where(Hold.key_id == key_id, Hold.idempotency_key == idempotency_key))
    if hold is None:
        return None
    return session.scalar(select(Usage).where(Usage.hold_id == hold.id))
