"""/metrics: Prometheus text with request counts by route template and the centre's figures from the
database; readable only with the token or from an allowed network."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from smeai.app import create_app
from smeai.matching import service as matching
from smeai.matching.schemas import NeedIn
from tests import builders


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_are_hidden_from_other_networks_and_open_with_the_token(settings, session):
    app = create_app(settings.model_copy(update={"metrics_token": "scrape-me"}))
    outsider = TestClient(app, client=("203.0.113.9", 5000))
    assert outsider.get("/metrics").status_code == 404
    assert outsider.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert outsider.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).status_code == 200
    local = TestClient(app, client=("127.0.0.1", 5000))
    assert local.get("/metrics").status_code == 200


def test_metrics_from_a_proxied_client_use_its_real_address(settings, session):
    app = create_app(settings.model_copy(update={"trusted_proxies": ["10.0.0.1/32"]}))
    via_proxy = TestClient(app, client=("10.0.0.1", 5000))
    assert via_proxy.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200
    assert via_proxy.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 404


def test_requests_are_counted_by_route_template_and_domain_figures_come_from_the_database(settings, session):
    firm = builders.enterprise(session)
    matching.create_need(session, firm, NeedIn(title="视觉检测", text="我们想用机器视觉检测产品表面缺陷"))
    session.commit()
    client = TestClient(create_app(settings), client=("127.0.0.1", 5000))
    before = _samples(client.get("/metrics").text)
    key = ("smeai_http_requests_total", (("method", "GET"), ("route", "/healthz"), ("status", "200")))
    client.get("/healthz")
    client.get("/healthz")
    after = _samples(client.get("/metrics").text)
    assert after[key] - before.get(key, 0) == 2
    assert after[("smeai_needs_created", ())] == 1
    assert after[("smeai_assessments_completed", ())] == 0
    assert ("smeai_http_request_duration_seconds_count", (("method", "GET"), ("route", "/healthz"))) in after
