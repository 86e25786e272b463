"""A result page's body is rendered once and shared (assessment/pages.py _RESULT_HTML): every reader still
gets their own token and name, and what the body shows (the peers, the survey wave) shows at the next view."""

from __future__ import annotations

from bs4 import BeautifulSoup

from smeai.assessment import instruments, service
from tests import builders
from tests.assessment.answers import worst
from tests.catalog.test_workers import workers  # noqa: F401  (the two-worker fixture)

INST = instruments.get_instrument("smeai-ai-maturity")


def _done(session, firm):
    return service.submit_answer_file(session, firm, {"instrument": INST.id, "answers": worst(INST)})


def test_a_result_page_shows_each_reader_their_own_token_and_name(session, page_client_for):
    member = builders.enterprise(session, "结果缓存测试有限公司")
    colleague = builders.enterprise(session, "结果缓存测试有限公司")  # the same enterprise, another person
    done = _done(session, member)
    session.commit()
    readers = [page_client_for(a) for a in (member, colleague, builders.operator(session))]
    pages = [r.get(f"/assessment/{done.id}") for r in readers]
    assert all(p.status_code == 200 for p in pages)
    for i, (reader, page) in enumerate(zip(readers, pages, strict=True)):
        assert reader.csrf in page.text
        assert not any(other.csrf in page.text for j, other in enumerate(readers) if j != i)
    headers = {BeautifulSoup(p.text, "html.parser").select_one("header").get_text() for p in pages}
    assert len(headers) == 3  # each reader's own name
    retake = [BeautifulSoup(p.text, "html.parser").select_one("form[action='/assessment/start']") for p in pages]
    assert retake[0] is not None and retake[2] is None  # the enterprise may retake; the operator may not


def test_a_result_page_follows_its_peers(session, page_client_for):
    firm = builders.enterprise(session, profile={})
    done = _done(session, firm)
    session.commit()
    web = page_client_for(firm)

    def peers_so_far() -> str:
        page = BeautifulSoup(web.get(f"/assessment/{done.id}").text, "html.parser")
        return page.select_one("[data-suppressed]").get_text()

    assert "目前 0 家" in peers_so_far()
    _done(session, builders.enterprise(session, profile={}))  # a peer completes its diagnosis
    session.commit()
    assert "目前 1 家" in peers_so_far()


def test_a_result_page_follows_a_new_survey_wave(session, page_client_for):
    from smeai.survey import service as survey
    from smeai.survey import synth

    firm = builders.enterprise(session, profile={})
    done = _done(session, firm)
    session.commit()
    web = page_client_for(firm)
    assert "data-survey-stage" not in web.get(f"/assessment/{done.id}").text
    header, rows = synth.text_rows(synth.generate(150, 7))
    data = "\n".join(",".join(r) for r in [header, *rows]).encode()
    survey.import_file(session, builders.analyst(session), "2025", data, filename="s.csv")
    session.commit()
    assert "data-survey-stage" in web.get(f"/assessment/{done.id}").text


def test_a_result_page_follows_a_new_peer_in_the_other_worker(workers, session):  # noqa: F811
    # Each worker keeps the rendered result: a peer's completed diagnosis shows in both at the next view.
    import httpx

    from smeai.auth import service as auth_service
    from smeai.auth.deps import SESSION_COOKIE
    from smeai.auth.models import User

    firm = builders.enterprise(session, profile={})
    done = _done(session, firm)
    secret, _ = auth_service.issue_token(session, session.get(User, firm.user_id), kind="session", lifetime=None)
    session.commit()

    def peers_so_far(url: str) -> str:
        page = httpx.get(f"{url}/assessment/{done.id}", cookies={SESSION_COOKIE: secret}, timeout=10)
        assert page.status_code == 200, page.status_code
        return BeautifulSoup(page.text, "html.parser").select_one("[data-suppressed]").get_text()

    for url in workers:
        assert "目前 0 家" in peers_so_far(url) and "目前 0 家" in peers_so_far(url)  # rendered, then reused
    _done(session, builders.enterprise(session, profile={}))
    session.commit()
    for url in workers:
        assert "目前 1 家" in peers_so_far(url)


def test_the_peers_stamp_moves_with_an_import_into_the_same_wave(session):
    """A result page is keyed by the latest wave's version (its latest import), not by a count of its responses:
    a second file loaded into the same wave moves it, as it moves the survey's own figures."""
    from smeai.assessment import benchmark
    from smeai.survey import service as survey
    from smeai.survey import synth

    firm = builders.enterprise(session, profile={})
    analyst = builders.analyst(session)
    stamps = []
    for n, seed in ((60, 7), (40, 8)):
        header, rows = synth.text_rows(synth.generate(n, seed))
        data = "\n".join(",".join(r) for r in [header, *rows]).encode()
        survey.import_file(session, analyst, "2025", data, filename=f"s{seed}.csv")
        session.commit()
        stamps.append(benchmark.peers_stamp(session, firm))
    assert stamps[0][:-1] == stamps[1][:-1]  # the peers as they were: only the wave's part moved
    assert stamps[0][-1] != stamps[1][-1]
    assert benchmark.peers_stamp(session, firm) == stamps[1]  # and stays put while nothing changes
