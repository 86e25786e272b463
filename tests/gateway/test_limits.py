"""Per-minute limits kept in the ledger (shared by every worker), and the order the ledger locks rows in."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from smeai.db import get_sessionmaker, utcnow
from smeai.gateway import ledger, proxy, service
from smeai.gateway.ledger import Metered, RateLimited
from smeai.gateway.models import Hold, Key, Usage, Wallet
from tests import aio
from tests.gateway.conftest import chat, setup_org


def _hold(session, secret: str, *, max_tokens: int = 10, now=None):
    key = service.authenticate(session, secret)
    ts = service.targets(session, key, "m")
    messages = [{"role": "user", "content": "x"}]
    return service.begin_call(
        session,
        key,
        "m",
        ts,
        messages=messages,
        tools=None,
        max_tokens=max_tokens,
        idempotency_key=None,
        fingerprint="f",
        now=now,
    )


def _key(session, key_id: int) -> Key:
    session.expire_all()
    key = session.get(Key, key_id)
    assert key is not None
    return key


def test_requests_per_minute_are_counted_in_the_keys_row(session, scripted):
    s = setup_org(session, scripted.base_url, key={"rpm": 3, "concurrency": 10})
    t0 = utcnow()
    for _ in range(3):
        _hold(session, s.secret, now=t0)
        session.commit()
    with pytest.raises(RateLimited) as refused:
        _hold(session, s.secret, now=t0 + timedelta(seconds=59))
    assert refused.value.fields == {} or refused.value.fields.get("limit") in (None, "rpm")
    assert "requests per minute" in refused.value.message
    session.rollback()
    assert _key(session, s.key_id).rate_requests == 3
    _hold(session, s.secret, now=t0 + timedelta(seconds=60))  # a new window opens a minute after the last
    session.commit()
    key = _key(session, s.key_id)
    assert (key.rate_requests, key.in_flight) == (1, 4)


def test_a_refused_hold_counts_no_request(session, scripted):
    s = setup_org(session, scripted.base_url, fen=0, key={"rpm": 1})
    for _ in range(3):
        with pytest.raises(ledger.InsufficientQuota):
            _hold(session, s.secret)
        session.rollback()
    assert _key(session, s.key_id).rate_requests == 0


def test_tokens_per_minute_count_the_bound_and_settlement_gives_back_the_unused(session, scripted):
    s = setup_org(session, scripted.base_url, key={"tpm": 350, "concurrency": 10})
    t0 = utcnow()
    first = _hold(session, s.secret, max_tokens=100, now=t0)
    session.commit()
    bound = first.input_bound + first.output_bound
    assert _key(session, s.key_id).rate_tokens == bound
    with pytest.raises(RateLimited) as refused:
        _hold(session, s.secret, max_tokens=100, now=t0)  # two bounds pass 350
    assert "tokens per minute" in refused.value.message
    session.rollback()
    ledger.settle_hold(
        session,
        service.get_hold(session, first.id),
        Metered(prompt_tokens=5, completion_tokens=5, estimated=False, status="ok"),
    )
    session.commit()
    assert _key(session, s.key_id).rate_tokens == 10  # the actual use stays counted; the rest is given back
    _hold(session, s.secret, max_tokens=100, now=t0)
    session.commit()
    voided = _hold(session, s.secret, max_tokens=10, now=t0)
    session.commit()
    before = _key(session, s.key_id).rate_tokens
    ledger.void_hold(session, service.get_hold(session, voided.id))
    session.commit()
    assert _key(session, s.key_id).rate_tokens == before - (voided.input_bound + voided.output_bound)
    with pytest.raises(RateLimited):  # one call's bound alone above the limit is never admitted
        _hold(session, s.secret, max_tokens=1000, now=t0 + timedelta(minutes=5))
    session.rollback()


def test_a_settlement_never_gives_back_tokens_to_a_later_window(session, scripted):
    s = setup_org(session, scripted.base_url, key={"tpm": 10_000, "concurrency": 10})
    t0 = utcnow() - timedelta(minutes=3)
    old = _hold(session, s.secret, max_tokens=100, now=t0)
    session.commit()
    _hold(session, s.secret, max_tokens=50, now=t0 + timedelta(minutes=2))  # a new window
    session.commit()
    now_counted = _key(session, s.key_id).rate_tokens
    ledger.settle_hold(
        session,
        service.get_hold(session, old.id),
        Metered(prompt_tokens=1, completion_tokens=1, estimated=False, status="ok"),
    )
    session.commit()
    assert _key(session, s.key_id).rate_tokens == now_counted


def test_a_settlement_locks_the_key_before_the_wallet_as_a_hold_does(session, scripted, db_url):
    """A hold locks the key's row, then the wallet's; a settlement that took them the other way round
    deadlocked against it on PostgreSQL (the settlement failed, and the hold waited for the sweeper)."""
    s = setup_org(session, scripted.base_url, key={"concurrency": 10})
    settling = _hold(session, s.secret)
    session.commit()
    sessions = get_sessionmaker(db_url)
    errors: list[BaseException] = []
    with sessions() as holder:
        # a hold in progress: its slot on the key's row taken, the wallet not yet
        holder.execute(update(Key).where(Key.id == s.key_id).values(in_flight=Key.in_flight + 1))

        def settle() -> None:
            try:
                with sessions() as other:
                    ledger.settle_hold(
                        other,
                        service.get_hold(other, settling.id),
                        Metered(prompt_tokens=1, completion_tokens=1, estimated=False, status="ok"),
                    )
                    other.commit()
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=settle)
        thread.start()
        thread.join(0.5)  # the settlement now waits for the key's row
        try:
            holder.execute(update(Wallet).where(Wallet.org_id == s.org_id).values(updated_at=utcnow()))
            holder.execute(update(Key).where(Key.id == s.key_id).values(in_flight=Key.in_flight - 1))
            holder.commit()
        except BaseException as exc:
            errors.append(exc)
            holder.rollback()
        thread.join(30)
    assert not errors, errors
    session.expire_all()
    assert service.get_hold(session, settling.id).state == "settled"


def test_a_hold_whose_wallet_moved_after_its_read_takes_one_slot_and_the_right_split(session, scripted, monkeypatch):
    """PostgreSQL takes a hold in one statement from a split read just before it (ledger._hold_at_once); when the
    wallet no longer matches that read, the statement takes the key's slot but not the wallet, and the hold goes
    on step by step from the wallet: one slot, the split of the wallet as it is, one hold entry."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite takes a hold step by step")
    s = setup_org(session, scripted.base_url, key={"concurrency": 2})
    real_split = ledger.split
    calls = []

    def stale_split(amount: int, rate_bp: int, voucher_available: int) -> tuple[int, int]:
        calls.append(amount)
        if len(calls) == 1:  # as if the wallet had moved: a part it cannot cover
            return amount + 10**12, 0
        return real_split(amount, rate_bp, voucher_available)

    monkeypatch.setattr(ledger, "split", stale_split)
    hold = _hold(session, s.secret)
    session.commit()
    assert len(calls) == 2  # the one statement's split, refused; then the wallet's as it is
    assert hold.own_mf == hold.amount_mf > 0 and hold.voucher_mf == 0
    assert _key(session, s.key_id).in_flight == 1
    session.expire_all()
    wallet = session.scalar(select(Wallet).where(Wallet.org_id == s.org_id))
    assert wallet is not None and wallet.own_held_mf == hold.own_mf
    assert ledger.audit(session).ok
    _hold(session, s.secret)  # the second slot of two
    session.commit()
    with pytest.raises(RateLimited):  # and no third: the first hold took one slot, not two
        _hold(session, s.secret)
    session.rollback()


def test_on_postgresql_a_hold_and_a_settlement_commit_alone_or_write_nothing(session, scripted, db_url, monkeypatch):
    """PostgreSQL first tries a call's hold and its settlement as one statement each in autocommit
    (proxy._write): committed alone, or nothing written, and then the steps in a transaction. A wallet that
    moved after its read fails the one statement whole (no slot kept without its hold); a hold the sweeper
    voided is settled by the steps, charged nothing."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite writes in its group commit")
    s = setup_org(session, scripted.base_url, key={"concurrency": 3})
    first = proxy._alone(db_url, proxy._prepare, (db_url, s.secret, chat(), None))
    assert isinstance(first, proxy.Prepared)
    assert _key(session, s.key_id).in_flight == 1  # committed: another session sees it
    assert session.get(Hold, first.held.id) is not None

    real_split = ledger.split
    calls = []

    def stale_split(amount: int, rate_bp: int, voucher_available: int) -> tuple[int, int]:
        calls.append(amount)
        if len(calls) == 1:  # as if the wallet had moved since its read: a part it cannot cover
            return amount + 10**12, 0
        return real_split(amount, rate_bp, voucher_available)

    monkeypatch.setattr(ledger, "split", stale_split)
    wallet_before = session.scalar(select(Wallet.own_held_mf).where(Wallet.org_id == s.org_id))
    with pytest.raises(ledger.NotAtOnce):
        proxy._alone(db_url, proxy._prepare, (db_url, s.secret, chat(), None))
    assert _key(session, s.key_id).in_flight == 1  # the slot the statement took went with it
    assert session.scalar(select(Wallet.own_held_mf).where(Wallet.org_id == s.org_id)) == wallet_before
    assert session.scalar(select(func.count()).select_from(Hold)) == 1
    calls.clear()
    # refused alone, then the steps
    second = aio.run(proxy._write(db_url, proxy._prepare, db_url, s.secret, chat(), None))
    assert isinstance(second, proxy.Prepared) and len(calls) == 2
    assert _key(session, s.key_id).in_flight == 2  # one slot for the second hold, not two

    used = Metered(prompt_tokens=3, completion_tokens=2, estimated=False, status="ok")
    aio.run(proxy._write(db_url, proxy._settle, first.held, used))  # alone
    with get_sessionmaker(db_url)() as other:
        ledger.void(other.connection(), second.held, note="swept")  # as the sweeper would
        other.commit()
    with pytest.raises(ledger.NotAtOnce):  # no longer held: the one statement writes nothing
        proxy._alone(db_url, proxy._settle, (second.held, used))
    assert session.scalar(select(func.count()).select_from(Usage)) == 1
    aio.run(proxy._write(db_url, proxy._settle, second.held, used))  # the steps: a record charged nothing
    session.expire_all()
    records = {u.hold_id: u for u in session.scalars(select(Usage))}
    assert records[first.held.id].cost_mf > 0 and records[second.held.id].cost_mf == 0
    assert records[second.held.id].loss_mf == records[second.held.id].list_mf > 0
    assert _key(session, s.key_id).in_flight == 0
    assert ledger.audit(session).ok
