"""`/metrics` in Prometheus's text format (prometheus-client).

Two kinds of figures:
- request counts and latency histograms by method, route template and status, counted in this process
  by `observe`, which the request log middleware calls (with several workers set PROMETHEUS_MULTIPROC_DIR,
  see docs/deploy.md, and every worker's counts are summed at scrape time);
- domain figures computed from the database at scrape time (`DomainCollector`): they agree whichever
  worker answers, and no service counts anything for them.

Reading is allowed with `SMEAI_METRICS_TOKEN` as a bearer token, or from `SMEAI_METRICS_NETWORKS`; anyone
else gets 404, as if there were nothing here.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smeai.assessment.models import Assessment
from smeai.config import Settings, app_settings
from smeai.db import DbSession
from smeai.errors import NotFound
from smeai.i18n import N_
from smeai.matching.models import Engagement, Need
from smeai.subsidy.models import Application
from smeai.survey.models import SurveyImport
from smeai.web.client import client_address

REQUESTS_REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "smeai_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=REQUESTS_REGISTRY,
)
LATENCY = Histogram(
    "smeai_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REQUESTS_REGISTRY,
)

router = APIRouter(include_in_schema=False)


def observe(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request (RequestLogMiddleware calls it beside its log line)."""
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


class DomainCollector(Collector):
    """What the centre has done, read from the database at scrape time."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def collect(self) -> Iterator[Metric]:
        s = self.session
        done = GaugeMetricFamily("smeai_assessments_completed", "Assessments completed.")
        done.add_metric([], s.scalar(select(func.count()).where(Assessment.completed_at.is_not(None))) or 0)
        yield done
        needs = GaugeMetricFamily("smeai_needs_created", "Needs written (all states).")
        needs.add_metric([], s.scalar(select(func.count()).select_from(Need)) or 0)
        yield needs
        engagements = GaugeMetricFamily("smeai_engagements", "Engagements by state.", labels=["state"])
        for state, n in s.execute(select(Engagement.state, func.count()).group_by(Engagement.state)):
            engagements.add_metric([state], n)
        yield engagements
        apps = GaugeMetricFamily("smeai_voucher_applications", "Voucher applications by state.", labels=["state"])
        amounts = GaugeMetricFamily(
            "smeai_voucher_approved_fen",
            "Approved voucher amounts (fen) by the application's state now.",
            labels=["state"],
        )
        query = select(Application.state, func.count(), func.coalesce(func.sum(Application.approved_fen), 0))
        for state, n, fen in s.execute(query.group_by(Application.state)):
            apps.add_metric([state], n)
            amounts.add_metric([state], int(fen or 0))
        yield apps
        yield amounts
        imports = GaugeMetricFamily("smeai_survey_imports", "Survey imports recorded.")
        rejected = GaugeMetricFamily("smeai_survey_rejected_rows", "Rows rejected by survey imports.")
        n, bad = s.execute(select(func.count(), func.coalesce(func.sum(SurveyImport.n_rejected), 0))).one()
        imports.add_metric([], n)
        rejected.add_metric([], int(bad))
        yield imports
        yield rejected


def allowed(request: Request, settings: Settings) -> bool:
    if settings.metrics_token:
        given = request.headers.get("authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {settings.metrics_token}".encode()):
            return True
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:  # the test client's "testclient", a Unix socket
        return False
    return any(address in net for net in _networks(settings))


def _networks(settings: Settings) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in settings.metrics_networks)


def exposition(session: Session) -> bytes:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(DomainCollector(session))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # several workers: sum every worker's counts
        requests = CollectorRegistry()
        MultiProcessCollector(requests)
        return generate_latest(requests) + generate_latest(registry)
    return generate_latest(REQUESTS_REGISTRY) + generate_latest(registry)


@router.get("/metrics")
def metrics(request: Request, session: DbSession) -> Response:
    if not allowed(request, app_settings(request)):
        raise NotFound(N_("Nothing is found at this address."))
    return Response(exposition(session), media_type=CONTENT_TYPE_LATEST)
