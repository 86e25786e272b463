"""The demo data show a working peer benchmark, from diagnoses the engine scored, on plausible dates."""

from __future__ import annotations

from smeai.assessment import benchmark, demo, service
from smeai.assessment.schemas import AssessmentStatus
from smeai.auth import demo as auth_demo
from smeai.auth import service as auth_service


def test_demo_peers_make_the_benchmark_work_for_the_tour_accounts(session):
    auth_demo.load(session, password="demo-password-for-tests")
    demo.load(session)
    demo.load(session)  # idempotent: a second run adds nothing
    optics = auth_service.actor_for_email(session, "optics@demo.smeai.cn")
    mine = service.list_assessments(session, optics, status=AssessmentStatus.COMPLETED)
    assert len(mine) == 2
    assert len({a.completed_at.date() for a in mine}) == 2  # a retake months later, not the same day
    bench = benchmark.benchmark(session, optics, mine[0].id, small_cell_min=10)
    assert not bench.suppressed and bench.peers >= 10
    assert "江西" in bench.peer_group_label  # its own industry and province, not all firms
    assert bench.dimension_medians and len(bench.quartiles) == 3
    metal = auth_service.actor_for_email(session, "metal@demo.smeai.cn")
    (a,) = service.list_assessments(session, metal)
    assert not benchmark.benchmark(session, metal, a.id, small_cell_min=10).suppressed
    system = auth_service.actor_for_email(session, "operator@demo.smeai.cn")
    everyone = service.list_assessments(session, system, status=AssessmentStatus.COMPLETED)
    assert len(everyone) == 2 + 1 + sum(g[0] for g in demo.PEER_GROUPS)
    scores = [a.overall for a in everyone]
    assert max(scores) - min(scores) > 30  # a plausible spread, not one figure repeated
    assert len({a.completed_at.date() for a in everyone}) > len(everyone) // 2


def test_a_suppressed_benchmark_says_how_many_peers_it_needs(session):
    auth_demo.load(session, password="demo-password-for-tests")
    demo.load(session)
    metal = auth_service.actor_for_email(session, "metal@demo.smeai.cn")
    (a,) = service.list_assessments(session, metal)
    bench = benchmark.benchmark(session, metal, a.id, small_cell_min=500)
    assert (
        bench.suppressed and bench.peers_needed == 500 and bench.peers == 1 + sum(g[0] for g in demo.PEER_GROUPS)
    )  # optics and the peers, not itself
