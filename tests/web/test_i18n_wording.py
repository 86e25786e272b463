"""A msgid two domains word differently reads in each domain's own wording on that domain's pages."""

from __future__ import annotations

from smeai.i18n import catalog_translations, gettext, set_catalog, set_lang


def test_a_domain_reads_its_own_wording_first():
    set_lang("zh_Hans")
    try:
        set_catalog("events")
        assert gettext("Open") == catalog_translations("zh_Hans", "events").gettext("Open") == "报名中"
        set_catalog("matching")
        assert gettext("Open") == "进行中"
        set_catalog("assessment")
        assert gettext("Next") == "下一步"
        set_catalog("core")
        assert gettext("Next") == "下一页"
        # what a domain's catalog lacks comes from the merged one
        set_catalog("events")
        assert gettext("Log in") == catalog_translations("zh_Hans", None).gettext("Log in") != "Log in"
    finally:
        set_catalog(None)


def test_a_page_reads_in_its_domains_wording(session, page_client_for):
    # The questionnaire's "Next" is 下一步 (assessment's wording), not the pager's 下一页 (core's).
    from tests import builders

    firm = builders.enterprise(session, profile={})
    web = page_client_for(firm)
    web.cookies.set("smeai_lang", "zh_Hans")
    instrument = "smeai-ai-maturity"
    r = web.post("/assessment/start", data={"csrf_token": web.csrf, "instrument": instrument}, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    page = web.get(r.headers["location"]).text
    assert "下一步" in page and "下一页" not in page
