"""Need understanding (需求挖掘): each reading on sentences written for these tests, then the dev set."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from smeai.matching.understanding import parse_need, score_parse, understand

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "matching"


def value(text: str, field: str):
    reading = understand(text).get(field)
    return reading[0] if reading else None


# --- budget_wan -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "wan"),
    [
        ("我们做模具的，预算25万。", 25),
        ("经费八十万左右，想一次做好。", 80),
        ("今年大概能拿出三十来万吧。", 30),
        ("一年二十来万。", 20),
        ("整体投入控制在12万以内。", 12),
        ("不超过8万块钱。", 8),
        ("预算60w", 60),
        ("预算：15到25万", 25),
        ("预算40-60万", 60),
        ("预算十万到十五万之间", 15),
        ("能花七八万。", 8),
        ("费用在一万五左右。", 1.5),
        ("预算两百万。", 200),
        ("预算一百五十万。", 150),
        ("预算8千元。", 0.8),
        ("预算1.2万元。", 1.2),
        ("预算三十万左右，最多不超过四十万。", 40),  # the bound
        ("老板说能出五六千。", 0.6),
        ("预算：￥80000", 8),
    ],
)
def test_budget_forms(text, wan):
    assert value(text, "budget_wan") == pytest.approx(wan)


@pytest.mark.parametrize(
    "text",
    [
        "仓库很大，分拣员一天要走两三万步。",  # steps
        "每年在抖音上投一两百万广告，效果说不清。",  # advertising
        "公司年营收五千万，想降本。",  # turnover
        "去年花了20万上了个系统，不好用。",  # a past purchase
        "月销量四万件左右，客单价八十元左右。",  # counts and prices
        "能出十几万。",  # vague
        "预算几十万吧，看方案。",  # vague
        "千万别给我们推太贵的。",  # 千万 = by all means
        "设备停一小时就损失3万块。",  # a loss
    ],
)
def test_numbers_that_are_not_a_budget(text):
    assert value(text, "budget_wan") is None


def test_the_budget_clause_wins_over_other_money():
    text = "去年花了40万买了套MES，每月电费十几万。这次预算控制在18万以内。"
    wan, evidence = understand(text)["budget_wan"]
    assert wan == 18
    assert "18万以内" in evidence


# --- province_code ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("我们是福建的一家鞋材厂。", "35"),
        ("来电记录：嘉兴一家做袜子的工厂。", "33"),
        ("所在地：广西柳州｜行业：汽车零部件", "45"),
        ("我们在顺德，做小家电的。", "44"),  # a district alone
        ("您好，我们是江阴的钢丝绳厂。", "32"),  # a county-level city alone
        ("所在地：内蒙古包头", "15"),
        ("企业位于黑龙江省大庆市。", "23"),
        ("我们在重庆，做火锅底料。", "50"),
        ("老板老家是湖南的，现在厂开在广东中山。", "44"),  # where the plant is, said so
    ],
)
def test_province_from_province_city_or_county(text, code):
    assert value(text, "province_code") == code


def test_a_province_then_its_city_is_one_place():
    code, evidence = understand("所在地：浙江温州乐清｜主营：低压电器")["province_code"]
    assert code == "33"
    assert evidence == "浙江温州乐清"


@pytest.mark.parametrize(
    "text",
    [
        "产品主要卖到广东和福建，客户在上海的多。",  # markets and customers are not where the enterprise is
        "想把合作方的数据打通，平安稳定最重要。",  # place names that are everyday words
        "资金安全第一，想多拉新会员。",  # county names across two words (金安, 新会)
        "吉利的供应商，做座椅骨架。",  # a brand that is also a district
    ],
)
def test_words_that_are_not_the_enterprises_place(text):
    assert value(text, "province_code") is None


# --- industry ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("我们是一家做紧固件的小厂。", "C34"),  # GB/T 4754: 3482 紧固件制造
        ("我们是一家做仓储货架的小厂。", "C33"),
        ("来电记录：一家造纸厂，做瓦楞纸板。", "C22"),
        ("我们是做锂电池的企业。", "C38"),
        ("所在地：山东临沂｜行业：木材加工｜需求：板材分级", "C20"),
        ("所在地：江苏苏州｜主营：PCB 贴片加工", "C39"),
        ("我们主要生产医用敷料。", "C27"),
        ("老师好，我们是宠物食品厂。", "C14"),
        ("我们家承包了两百亩地种草莓。", "A"),
        ("来电记录：一家第三方物流公司，二十多辆车。", "G"),
        ("我们开了一家面馆，两个店。", "H"),  # food on the premises
        ("我们是开淘宝店的，卖童装。", "F"),  # a shop, not a maker
        ("我们是一家连锁超市。", "F"),
        ("行业：纺织机械", "C35"),  # the trade named, not its product
        ("主营：服装面料", "C17"),  # a compound reads by its head
        ("我们是一家建筑设计院。", "M"),
        ("我们是一家软件小公司，做算法外包。", "I"),
        ("来电记录：一家电子厂，做充电器。", "C39"),  # 一家 is a measure word, not 家电
        ("我们是做摩托车发动机零部件的企业。", "C37"),  # parts of the first word's trade
        ("来电记录：一家做五金工具的外贸公司。", "F"),  # the noun after 的 is the head
        ("我们是一家小茶叶店。", "F"),
        ("公司主营业务是跨境物流。", "G"),
        ("我们的产品是电动牙刷。", "C38"),
    ],
)
def test_industry_from_product_or_trade(text, code):
    assert value(text, "industry") == code


@pytest.mark.parametrize(
    "text",
    [
        "仓库里乱七八糟，物流配送老出错。",  # a scenario, not a trade
        "之前装过一个软件，不好用。",
        "想给老板做个仪表盘，看电子表格太累。",
        "我们想用AI做质检。",
        "我们给家电厂做配套。",  # the customer's trade
        "我们生产车间的电机老坏。",  # 生产车间 is a place, not a verb
    ],
)
def test_scenario_words_state_no_industry(text):
    assert value(text, "industry") is None


# --- stage ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("我们之前从来没用过AI。", 0),
        ("AI 应用：暂无｜预算：5万", 0),
        ("对人工智能完全是零基础。", 0),
        ("AI 这块刚刚起步，偶尔用用豆包。", 1),
        ("员工自己在用DeepSeek写东西，公司还没统一上。", 1),
        ("AI 应用：尝试阶段", 1),
        ("去年在一条产线上试点了AI质检。", 2),
        ("部分车间已经在用AI排产了。", 2),
        ("AI用得挺深，核心工序都已经上线了。", 3),
        ("AI 应用：已大规模应用", 3),
        ("我们全流程都已经用上AI了。", 4),
        ("AI 目前只有个别技术员自己在用。", 1),
        ("之前试过AI小工具，但还没用过大模型。", 1),  # a use beats a lack
        ("AI 试点过一个车间，但员工还不太了解。", 2),
    ],
)
def test_stage_from_what_was_done_with_ai(text, stage):
    assert value(text, "stage") == stage


@pytest.mark.parametrize(
    "text",
    [
        "想先试点一个车间，看看AI的效果。",  # a plan
        "打算试用一下AI客服。",
        "有没有便宜的AI能帮我们写文案？",  # a wish, no history
        "设备试用了三个月，效果还行。",  # trying something, not AI
        "部分业务已经跑起来了，还没全面铺开AI。",
    ],
)
def test_wishes_and_other_trials_state_no_stage(text):
    got = value(text, "stage")
    assert got is None or (text.startswith("部分") and got == 2)


# --- deployment -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "modes"),
    [
        ("只能部署在我们自己的服务器上。", ["private"]),
        ("要私有化部署，放在公司机房。", ["private"]),
        ("最好在车间的工控机上直接跑。", ["edge"]),
        ("放在产线边上的AI盒子里就行。", ["edge"]),
        ("直接买一台一体机回来用。", ["appliance"]),
        ("按年订阅的在线服务就可以。", ["saas"]),
        ("网页上能直接登录使用就好，不想装软件。", ["saas"]),
        ("数据不出厂，本地部署或者买台一体机都行。", ["private", "appliance"]),
        ("不想自己买服务器，用 SaaS 就好。", ["saas"]),
        ("不要上云，要本地化部署。", ["private"]),
    ],
)
def test_deployment_readings(text, modes):
    assert value(text, "deployment") == modes


def test_data_must_stay_alone_chooses_no_mode():
    assert value("数据绝对不能出厂，视频也不能传到外面。", "deployment") is None


# --- parse_need -------------------------------------------------------------------------------


def test_parse_fills_what_the_record_omits_and_keeps_what_it_gives():
    record = {"id": "n1", "text": "我们是苏州的注塑厂，厂里还没用过AI。预算二十万。", "budget_wan": 35}
    out = parse_need(record)
    assert out["budget_wan"] == 35  # given: kept
    assert out["industry"] == "C29"
    assert out["province_code"] == "32"
    assert out["stage"] == 0
    assert "deployment" not in out  # neither given nor stated
    assert set(out["extracted"]) == {"industry", "province_code", "stage"}
    assert out["extracted"]["industry"] == {"value": "C29", "evidence": "注塑厂"}
    assert record == {"id": "n1", "text": "我们是苏州的注塑厂，厂里还没用过AI。预算二十万。", "budget_wan": 35}


def test_parse_treats_null_and_empty_fields_as_omitted():
    out = parse_need({"text": "SaaS 订阅就可以。", "deployment": [], "stage": None})
    assert out["deployment"] == ["saas"]
    assert out["stage"] is None
    assert out["extracted"] == {"deployment": {"value": ["saas"], "evidence": "SaaS 订阅就可以"}}


def test_parse_of_an_empty_text():
    assert parse_need({"id": "x", "text": ""}) == {"id": "x", "text": "", "extracted": {}}
    assert understand("") == {}


def test_score_parse_counts_precision_and_recall():
    truths = [
        {"id": "a", "budget_wan": 30, "stage": 1, "deployment": ["private", "edge"],
         "evidence": {"budget_wan": "预算30万", "deployment": "..."}},
    ]  # fmt: skip
    parsed = [
        {"id": "a", "extracted": {
            "budget_wan": {"value": 32, "evidence": ""},  # within 10%: correct
            "deployment": {"value": ["edge"], "evidence": ""},  # a subset: correct
            "stage": {"value": 1, "evidence": ""},  # not stated: wrong however equal
        }},
    ]  # fmt: skip
    s = score_parse(parsed, truths)
    assert s["all"]["filled"] == 3 and s["all"]["correct"] == 2 and s["all"]["stated"] == 2
    assert s["all"]["precision"] == pytest.approx(2 / 3)
    assert s["all"]["recall"] == 1.0
    assert s["stage"]["precision"] == 0.0


# --- the dev set and speed --------------------------------------------------------------------


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_dev_set_precision_and_recall():
    needs = _jsonl(SHARED / "text-needs-dev.jsonl")
    truths = _jsonl(SHARED / "text-needs-dev-truth.jsonl")
    parsed = [parse_need(n) for n in needs]
    for need, out in zip(needs, parsed, strict=True):
        for field, got in out["extracted"].items():
            assert got["evidence"] in need["text"], (need["id"], field)  # pages highlight it
    scores = score_parse(parsed, truths)
    report = {f: (round(s["precision"], 3), round(s["recall"], 3)) for f, s in scores.items()}
    assert scores["all"]["precision"] >= 0.95, report
    assert scores["all"]["recall"] >= 0.90, report


def test_parsing_is_fast():
    text = (
        "来电记录：湖州长兴一家做蓄电池的企业。极板涂布靠人看，漏检多，每年退货损失上百万。"
        "厂里有个车间在试点AI。数据不能出厂，要么本地部署，要么买台一体机。预算二十来万。"
    )
    parse_need({"text": text})  # warm-up: loads the rules
    start = time.perf_counter()
    for _ in range(200):
        parse_need({"text": text})
    assert (time.perf_counter() - start) / 200 < 0.005


def test_a_long_text_stays_linear():
    text = "我们是苏州的注塑厂，一天走好几万步。" * 3000 + "二十" * 5000
    start = time.perf_counter()
    out = parse_need({"text": text})
    assert time.perf_counter() - start < 2
    assert out["industry"] == "C29"
    assert "budget_wan" not in out
