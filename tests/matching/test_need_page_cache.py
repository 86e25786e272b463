"""A need's page below the header is rendered once and shared (matching/pages.py _NEED_HTML) by the readers
with the same rights: what it shows (an engagement's state, the need, the catalog) shows at the next view,
each reader gets their own CSRF token and buttons, and the page is the one rendered afresh."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup

from smeai.matching import engagements, pages, service
from smeai.matching.schemas import NeedIn, ResponseIn
from smeai.web.fragments import CSRF_MARK, NONCE_MARK
from tests import builders
from tests.catalog.test_workers import workers  # noqa: F401  (the two-worker fixture)
from tests.matching.builders import offering

PROFILE = {"industry_section": "C", "mfg_division": "33", "province_code": "44", "city": "广州"}


def _need(session, name: str | None = None):
    firm = builders.enterprise(session, name, profile=PROFILE)
    vendor = builders.provider(session, "甲视觉")
    item = offering(session, "甲视觉", id="fit")
    need = service.create_need(session, firm, NeedIn(title="螺栓外观检测", text="想用视觉检测代替人工目检外观缺陷"))
    session.commit()
    return firm, vendor, item, need


def _body(response) -> BeautifulSoup:
    assert response.status_code == 200, response.status_code
    return BeautifulSoup(response.text, "html.parser").select_one("main")


def test_a_need_page_follows_an_engagement_an_edit_and_the_catalog(session, page_client_for):
    firm, vendor, item, need = _need(session)
    web = page_client_for(firm)
    address = f"/matching/needs/{need.id}"
    first = _body(web.get(address))
    assert first.select_one(f"button[data-offering='{item.ext_id}']") is not None
    hits = pages._NEED_HTML.hits
    assert _body(web.get(address)).select_one(f"button[data-offering='{item.ext_id}']") is not None
    assert pages._NEED_HTML.hits == hits + 1  # the second view is the stored page
    e = engagements.express_interest(session, firm, need.id, item.id)
    session.commit()
    assert _body(web.get(address)).select_one("[data-state]")["data-state"] == "interest"
    engagements.respond(session, vendor, e.id, ResponseIn(accept=True, note="欢迎详谈"))
    session.commit()  # the provider's step: the enterprise sees it at its next view
    assert _body(web.get(address)).select_one("[data-state]")["data-state"] == "introduced"
    service.update_need(session, firm, need.id, NeedIn(title="螺栓裂纹检测", text="想用视觉检测代替人工目检外观缺陷"))
    session.commit()
    assert _body(web.get(address)).select_one("h1").get_text().startswith("螺栓裂纹检测")
    offering(session, "甲视觉", id="fit", name="瑕疵眼二代·外观缺陷检测云")  # the catalog: a rename
    session.commit()
    assert "瑕疵眼二代·外观缺陷检测云" in _body(web.get(address)).get_text()


def test_readers_with_other_rights_get_their_own_buttons_and_tokens(session, page_client_for):
    firm, _vendor, item, need = _need(session, "需求页缓存测试有限公司")
    colleague = builders.enterprise(session, "需求页缓存测试有限公司")  # the same enterprise, another person
    owner, operator = page_client_for(firm), page_client_for(builders.operator(session))
    address = f"/matching/needs/{need.id}"
    mine, theirs = owner.get(address), operator.get(address)
    for reader, page, other in ((owner, mine, operator), (operator, theirs, owner)):
        assert reader.csrf in page.text and other.csrf not in page.text
        assert CSRF_MARK not in page.text and NONCE_MARK not in page.text
    assert _body(mine).select_one(f"button[data-introduce='{item.ext_id}']") is None  # the enterprise: interest only
    assert _body(mine).select_one(f"button[data-offering='{item.ext_id}']") is not None
    assert _body(theirs).select_one(f"button[data-introduce='{item.ext_id}']") is not None  # the centre introduces
    outsider = page_client_for(builders.enterprise(session, profile=PROFILE))
    assert outsider.get(address).status_code == 404  # the stored page is for those who may see the need
    hits = pages._NEED_HTML.hits
    other = page_client_for(colleague)
    shared = other.get(address)
    assert pages._NEED_HTML.hits == hits + 1  # the same rights: the owner's page, stored, with their own token
    assert other.csrf in shared.text and owner.csrf not in shared.text
    names = [BeautifulSoup(r.text, "html.parser").select_one("header").get_text() for r in (mine, shared)]
    assert names[0] != names[1]  # each sees their own name in the header


def _normalised(html: str) -> str:
    """The page below the header, with the response's nonce set aside (it differs per response)."""
    return re.sub(r'nonce="[^"]*"', 'nonce=""', str(BeautifulSoup(html, "html.parser").select_one("main")))


def test_the_stored_page_is_the_page_rendered_afresh(session, page_client_for, monkeypatch):
    firm, _vendor, item, need = _need(session)
    engagements.express_interest(session, firm, need.id, item.id)
    offering(session, "乙视觉", id="second", name="乙视觉·外观检测工位")
    session.commit()
    address = f"/matching/needs/{need.id}"
    for actor in (firm, builders.operator(session)):
        reader = page_client_for(actor)
        stored = [reader.get(address).text for _ in range(2)]  # rendered and stored, then reused
        with monkeypatch.context() as m:
            m.setattr(service, "page_stamp", lambda *_a: None)  # no key: rendered each time, as before
            fresh = reader.get(address).text
        assert _normalised(stored[0]) == _normalised(stored[1]) == _normalised(fresh)
        assert reader.csrf in fresh and "乙视觉·外观检测工位" in fresh


def test_a_need_page_follows_an_engagement_in_the_other_worker(workers, session):  # noqa: F811
    # Each worker keeps the rendered page: a step of the engagement shows in both at the next view.
    import httpx

    from smeai.auth import service as auth_service
    from smeai.auth.deps import SESSION_COOKIE
    from smeai.auth.models import User

    firm, vendor, item, need = _need(session)
    e = engagements.express_interest(session, firm, need.id, item.id)
    secret, _ = auth_service.issue_token(session, session.get(User, firm.user_id), kind="session", lifetime=None)
    session.commit()

    def state(url: str) -> str:
        page = httpx.get(f"{url}/matching/needs/{need.id}", cookies={SESSION_COOKIE: secret}, timeout=10)
        assert page.status_code == 200, page.status_code
        return BeautifulSoup(page.text, "html.parser").select_one("[data-state]")["data-state"]

    for url in workers:
        assert state(url) == state(url) == "interest"  # rendered, then reused
    engagements.respond(session, vendor, e.id, ResponseIn(accept=True, note="欢迎详谈"))
    session.commit()
    for url in workers:
        assert state(url) == "introduced"


def test_a_need_quoting_the_marks_shows_them_as_text_not_the_readers_token(session, page_client_for):
    firm = builders.enterprise(session, profile=PROFILE)
    offering(session, "甲视觉", id="fit")
    quoted = f"视觉检测代替人工目检 {CSRF_MARK} {NONCE_MARK}"
    need = service.create_need(session, firm, NeedIn(title="螺栓外观检测", text=quoted))
    session.commit()
    web = page_client_for(firm)
    for _view in range(2):  # rendered, then the stored fragment
        page = web.get(f"/matching/needs/{need.id}")
        assert page.status_code == 200
        token = BeautifulSoup(page.text, "html.parser").select_one("input[name=csrf_token]")["value"]
        assert quoted in _body(page).get_text()  # the marks as the enterprise wrote them
        assert token not in _body(page).get_text() and CSRF_MARK not in page.text and NONCE_MARK not in page.text
