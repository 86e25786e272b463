"""Rendered fragments (web/fragments.py) shared between requests: the same HTML for a key, this response's
CSP nonce in it, nothing of a visitor's, and a change to what they show visible at the next view."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from jinja2 import UndefinedError

from smeai.catalog import service
from smeai.web.fragments import NONCE_MARK, Fragments
from tests import builders
from tests.cases import builders as case_builders
from tests.catalog import builders as cb


class _Request:
    def __init__(self, nonce: str) -> None:
        self.scope = {"smeai.csp_nonce": nonce}


def test_a_fragment_is_rendered_once_per_key_with_each_responses_nonce():
    cache = Fragments(2)
    built = []

    def context() -> dict[str, object]:
        built.append(1)
        return {"fragment": "x"}

    first = cache.render(_Request("n1"), "k", "fragment.html", context)
    again = cache.render(_Request("n2"), "k", "fragment.html", context)
    assert str(first) == str(again) == "x" and len(built) == 1 and (cache.hits, cache.misses) == (1, 1)
    cache.render(_Request("n3"), "other", "fragment.html", context)
    cache.render(_Request("n3"), "third", "fragment.html", context)  # two at most: "k" goes
    cache.render(_Request("n3"), "k", "fragment.html", context)
    assert len(built) == 4


def test_a_fragment_cannot_use_what_it_was_not_given(tmp_path):
    # base.html shows the user and the CSRF token: rendered as a fragment without them, it fails loudly
    with pytest.raises(UndefinedError):
        Fragments(1).render(_Request("n"), "k", "base.html", lambda: {"nav": [], "languages": {}})


def _nonces(response) -> tuple[str, list[str]]:
    header = re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"])
    assert header is not None
    scripts = [s["nonce"] for s in BeautifulSoup(response.text, "html.parser").select("script[nonce]")]
    return header.group(1), scripts


def test_catalog_results_follow_an_edit_and_carry_each_responses_nonce(session, page_client_for):
    cb.imported(session, cb.record(id="p-1", name="纺织疵点检测一体机"))
    session.commit()
    reader = page_client_for(builders.enterprise(session))
    first = reader.get("/catalog", params={"q": "验布"})
    second = reader.get("/catalog", params={"q": "验布"})
    assert first.status_code == second.status_code == 200
    for r in (first, second):
        header, scripts = _nonces(r)
        assert all(n == header for n in scripts) and NONCE_MARK not in r.text
    assert "纺织疵点检测一体机" in second.text
    offering = service.find_offering_by_ext_id(session, "p-1")
    offering.name = "纺织疵点检测一体机二代"
    session.commit()  # bumps the catalog's change stamp: the stored results are not shown again
    assert "纺织疵点检测一体机二代" in reader.get("/catalog", params={"q": "验布"}).text
    fragment = reader.get("/catalog", params={"q": "验布"}, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "纺织疵点检测一体机二代" in fragment.text


def test_catalog_results_show_no_visitors_token(session, page_client_for):
    cb.imported(session, cb.record(id="p-1", name="纺织疵点检测一体机"))
    session.commit()
    one, two = page_client_for(builders.enterprise(session)), page_client_for(builders.enterprise(session))
    a, b = one.get("/catalog?q=验布"), two.get("/catalog?q=验布")
    assert one.csrf != two.csrf
    assert one.csrf in a.text and two.csrf not in a.text
    assert two.csrf in b.text and one.csrf not in b.text


def test_survey_figures_carry_each_responses_nonce(session, page_client_for):
    from tests.survey.test_dashboard_cache import _import

    analyst = page_client_for(builders.analyst(session))
    _import(analyst, "a.csv")
    pages = [analyst.get("/survey"), analyst.get("/survey"), analyst.get("/survey", headers={"HX-Request": "true"})]
    headers = set()
    for r in pages:
        header, scripts = _nonces(r)
        assert scripts and all(n == header for n in scripts) and NONCE_MARK not in r.text
        headers.add(header)
    assert len(headers) == 3
    assert "<html" not in pages[2].text and 'id="kpi-n"' in pages[2].text


def _offering(session, **overrides):
    provider, op = builders.provider(session, "苏州片段测试科技"), builders.operator(session)
    offering = cb.published(session, provider, op, name="布面瑕疵检测", **overrides)
    session.commit()
    return offering, provider, op


def test_an_offering_page_shows_no_other_visitors_token_or_name(session, page_client_for):
    offering, _provider, _op = _offering(session)
    one, two = page_client_for(builders.enterprise(session)), page_client_for(builders.enterprise(session))
    a, b = one.get(f"/catalog/offerings/{offering.id}"), two.get(f"/catalog/offerings/{offering.id}")
    assert a.status_code == b.status_code == 200 and "布面瑕疵检测" in b.text
    assert one.csrf != two.csrf
    assert one.csrf in a.text and two.csrf not in a.text
    assert two.csrf in b.text and one.csrf not in b.text
    names = [BeautifulSoup(r.text, "html.parser").select_one("header").get_text() for r in (a, b)]
    assert names[0] != names[1]  # each sees their own name in the header, the body being shared
    for r in (a, b):
        header, scripts = _nonces(r)
        assert all(n == header for n in scripts) and NONCE_MARK not in r.text


def test_an_offering_page_follows_its_cases_and_its_provider(session, page_client_for):
    from smeai.auth.models import Organisation

    offering, provider, op = _offering(session)
    reader = page_client_for(builders.enterprise(session))
    address = f"/catalog/offerings/{offering.id}"
    assert "零部件外观检测" not in reader.get(address).text
    case_builders.published(session, builders.enterprise(session), op, [offering.ext_id])
    session.commit()
    assert "零部件外观检测" in reader.get(address).text  # a published case that used it
    session.get(Organisation, provider.org_id).description = "专注纺织行业的视觉检测"
    session.commit()
    assert "专注纺织行业的视觉检测" in reader.get(address).text  # the provider's description


def test_an_offering_page_still_shows_its_owner_and_reviewer_their_forms(session, page_client_for):
    offering, provider, op = _offering(session)
    address = f"/catalog/offerings/{offering.id}"
    assert page_client_for(builders.enterprise(session)).get(address).status_code == 200  # the shared body stored
    owner = page_client_for(provider)
    page = owner.get(address).text
    assert f"/catalog/offerings/{offering.id}/edit" in page and owner.csrf in page  # history with its comment form
    operator = page_client_for(op)
    assert operator.csrf in operator.get(address).text
