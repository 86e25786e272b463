"""A match's reasons are shown in the reader's language, whatever language its snapshot was made in."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup

from smeai.i18n import set_lang
from smeai.matching.reasons import localise
from tests import builders
from tests.matching.builders import offering
from tests.matching.test_pages import PROFILE

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_stored_chinese_reasons_read_in_english_and_back():
    set_lang("en")
    try:
        assert localise("免费起步") == "Free to start"
        assert localise("不覆盖本省") == "Does not serve your province"
        assert localise("适合当前应用阶段") == "Suits your application stage"
        assert localise("适用行业：不限行业") == "Industry: any"
        assert (
            localise("首年约 3 万元，超出预算（2 万元）")
            == "First year about 3 wan yuan, above the budget of 2 wan yuan"
        )
        assert localise("需本地、端侧部署") == "Needs on-premises、edge deployment"
        assert localise("有 4 个落地案例") == "4 published case(s)"
        scenario = localise("场景：质量管理/智能质检")
        assert scenario.startswith("Scenario: ") and not CJK.search(scenario)
        assert localise("a wording no reason has") == "a wording no reason has"
    finally:
        set_lang("zh_Hans")
    assert localise("Free to start") == "免费起步"
    assert localise("Industry: any") == "适用行业：不限行业"
    assert localise("First year about 3 wan yuan, within budget") == "首年约 3 万元，符合预算"


def test_a_need_listed_for_a_chinese_reader_shows_english_reasons_to_an_english_one(session, page_client_for):
    firm = builders.enterprise(session, profile=PROFILE)
    builders.provider(session, "甲视觉")
    offering(session, "甲视觉", id="fit")
    session.commit()
    web = page_client_for(firm)
    r = web.post(
        "/matching/needs/new",
        data={"csrf_token": web.csrf, "title": "螺栓外观检测", "text": "出货前靠老师傅拿眼睛挑，裂纹经常漏掉。"},
        follow_redirects=True,
    )
    assert "适用行业" in BeautifulSoup(r.text, "html.parser").select_one("#matches").text  # the snapshot is Chinese
    need_id = int(str(r.url).rsplit("/", 1)[1])
    page = BeautifulSoup(web.get(f"/matching/needs/{need_id}?lang=en").text, "html.parser")
    reasons = [s.text for s in page.select("#matches .reasons span")]
    assert reasons and any(r.startswith("Industry: ") for r in reasons)
    assert not [r for r in reasons if CJK.search(r)]
