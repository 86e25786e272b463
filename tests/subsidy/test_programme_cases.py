"""Each shipped programme against applications worked by hand from its text: one that is eligible (with the
amount), one ineligible by each condition the programme states, one at its cap, and for a cap per enterprise
per year, the claim each side of the year boundary. Amounts are fen: 1 万元 = 1_000_000 fen (for SGD, GBP
and CAD programmes: cents and pence)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from smeai.subsidy import programmes as prog
from smeai.subsidy.programmes import Profile, Purchase, amount, eligibility, load_programmes

WAN = 1_000_000
ALL = load_programmes()
TODAY = date(2025, 9, 10)

# code: (profile, purchase overrides, day applied, contract, amount paid, contract at the cap, the cap)
CASES: dict[str, tuple[Profile, dict, date, int, int, int, int]] = {
    # 北京: 20%, 每个自然年度 ≤ 200 万; 软件信息服务业和制造业, 在京注册; 合同 ≤ 1 年, 2023-09-01 起, 凭已签合同申领
    "beijing-compute": (
        Profile(province_code="11", city="北京", industry_section="I"),
        {"signed_on": date(2025, 3, 1), "starts_on": date(2025, 3, 1), "ends_on": date(2026, 2, 28)},
        TODAY, 100 * WAN, 20 * WAN, 2000 * WAN, 200 * WAN,
    ),
    "shanghai-compute": (  # 市级最高 30%, 最多 1 年; no cap
        Profile(province_code="31", city="上海"),
        {"starts_on": date(2025, 9, 1), "ends_on": date(2026, 8, 31)},
        TODAY, 100 * WAN, 30 * WAN, 0, 0,
    ),
    "shanghai-model": (
        Profile(province_code="31", city="上海"), {}, TODAY, 100 * WAN, 50 * WAN, 2000 * WAN, 500 * WAN
    ),
    "shanghai-corpus": (
        Profile(province_code="31", city="上海"), {}, TODAY, 100 * WAN, 30 * WAN, 2000 * WAN, 500 * WAN
    ),
    # 杭州: 其他算力 20%, 备案模型或国产算力 30%, 每家每年 ≤ 800 万
    "hangzhou-compute": (
        Profile(province_code="33", city="杭州"), {}, TODAY, 100 * WAN, 20 * WAN, 5000 * WAN, 800 * WAN
    ),
    # 武汉: 50%, ≤ 20 万 (中小企业)
    "wuhan-compute": (
        Profile(province_code="42", city="武汉", size_class="small"), {}, TODAY, 30 * WAN, 15 * WAN, 100 * WAN, 20 * WAN
    ),
    "suzhou-ai-scenario": (
        Profile(province_code="32", city="苏州"), {"kind": "saas"}, TODAY, 100 * WAN, 20 * WAN, 2000 * WAN, 200 * WAN
    ),
    "jiangmen-compute": (
        Profile(province_code="44", city="江门", size_class="micro"), {}, TODAY, 10 * WAN, 3 * WAN, 100 * WAN, 5 * WAN
    ),
    # 扬州: 合同已签且已付款, 非关联
    "yangzhou-compute": (
        Profile(province_code="32", city="扬州"),
        {"signed_on": date(2025, 8, 1), "paid_on": date(2025, 8, 20)},
        TODAY, 100 * WAN, 30 * WAN, 0, 0,
    ),
    # 廊坊: 本地算力 50%, 牵头国家/省级项目 60%, 取高, 每单位每年 ≤ 100 万; 全额支付后申请
    "langfang-compute": (
        Profile(province_code="13", city="廊坊"),
        {"flags": frozenset({"national_project", "local_compute"}), "paid_on": date(2025, 9, 1)},
        TODAY, 100 * WAN, 60 * WAN, 500 * WAN, 100 * WAN,
    ),
    "qingyang-compute": (Profile(province_code="62", city="庆阳"), {}, TODAY, 100 * WAN, 30 * WAN, 0, 0),
    "huadu-tiered": (Profile(province_code="44", city="广州"), {"kind": "platform"}, TODAY, 10 * WAN, 10 * WAN, 0, 0),
    "canada-ai-compute": (Profile(country="CA", size_class="small"), {}, TODAY, 300_000, 150_000, 0, 0),
    "singapore-ai-cloud": (Profile(country="SG"), {}, TODAY, 100_000_00, 50_000_00, 200_000_000, 500_000_00),
    # PSG: 预先认证的方案, 签约或付款前申请
    "singapore-psg": (
        Profile(country="SG", size_class="small"),
        {"listed_in": frozenset({"singapore-psg"}), "starts_on": date(2025, 10, 1), "ends_on": date(2026, 9, 30)},
        TODAY, 10_000_00, 5_000_00, 0, 0,
    ),
    # UK: 50% of AI skills training, ≤ £10,000; closed on 2024-08-18
    "uk-ai-skills": (
        Profile(country="GB", size_class="medium"), {"kind": "training"}, date(2024, 6, 1), 8_000_00, 4_000_00,
        30_000_00, 10_000_00,
    ),
    "shenzhen-training": (
        Profile(province_code="44", city="深圳"), {}, TODAY, 100 * WAN, 50 * WAN, 3000 * WAN, 1000 * WAN
    ),
    "shenzhen-model": (
        Profile(province_code="44", city="深圳"), {"kind": "model"}, TODAY, 100 * WAN, 30 * WAN, 1000 * WAN, 100 * WAN
    ),
    "shenzhen-corpus": (
        Profile(province_code="44", city="深圳"), {"kind": "dataset"}, TODAY, 100 * WAN, 30 * WAN, 1000 * WAN, 200 * WAN
    ),
    "chengdu-compute": (
        Profile(province_code="51", city="成都"), {}, TODAY, 100 * WAN, 60 * WAN, 1000 * WAN, 500 * WAN
    ),
    "chengdu-model": (
        Profile(province_code="51", city="成都"), {"kind": "model"}, TODAY, 100 * WAN, 30 * WAN, 1000 * WAN, 100 * WAN
    ),
    # 相城智能化改造: 300 万元以上项目, 设备投入 10%, 最高 500 万; 非关联, 实付; 验收后拨付
    "xiangcheng-retrofit": (
        Profile(province_code="32", city="苏州"),
        {"kind": "appliance", "paid_on": date(2025, 8, 1)},
        TODAY, 400 * WAN, 40 * WAN, 6000 * WAN, 500 * WAN,
    ),
}  # fmt: skip

SUPPLIER_SIDE = {"suzhou-ai-supplier"}  # claimed by the supplier: computed, never a buyer's application


def purchase(code: str, contract_fen: int, **over: object) -> Purchase:
    p = ALL[code]
    kind = sorted(p.eligibility.kinds)[0] if p.eligibility.kinds else "compute"
    base = {"contract_fen": contract_fen, "kind": "compute" if "compute" in p.eligibility.kinds else kind}
    return Purchase(**(base | CASES[code][1] | over))  # type: ignore[arg-type]


def verdicts(code: str, org: Profile, buy: Purchase, day: date) -> dict[str, bool]:
    return {r.rule: r.ok for r in eligibility(ALL[code], org, buy, applied_on=day)}


def test_every_shipped_programme_has_hand_worked_cases():
    assert set(ALL) == set(CASES) | SUPPLIER_SIDE


@pytest.mark.parametrize("code", sorted(CASES))
def test_an_eligible_application_pays_the_hand_worked_amount(code: str):
    org, _, day, contract, paid, _, _ = CASES[code]
    buy = purchase(code, contract)
    ok = verdicts(code, org, buy, day)
    assert all(ok.values()), (code, ok)
    assert amount(ALL[code], buy).amount_fen == paid


# How each condition is broken: the rule's name -> (profile, purchase overrides, day) made to fail it.
def _breakers(code: str) -> dict[str, tuple[Profile, dict, date]]:
    org, over, day, *_ = CASES[code]
    p = ALL[code]
    elsewhere = Profile(province_code="65", city="乌鲁木齐") if p.region.country == "CN" else Profile()
    other_kind = next(k for k in ("training", "rnd", "appliance", "compute") if k not in p.eligibility.kinds)
    before = (p.pool.period_starts_on or date(2000, 1, 2)) - timedelta(days=1)
    after = (p.pool.period_ends_on or date(2099, 1, 1)) + timedelta(days=1)
    return {
        "region": (replace(elsewhere, size_class=org.size_class, industry_section=org.industry_section), {}, day),
        "size": (replace(org, size_class="large"), {}, day),
        "industry": (replace(org, industry_section="F"), {}, day),
        "kind": (org, {"kind": other_kind}, day),
        "not_affiliated": (org, {"supplier_affiliated": True}, day),
        "listed_offering": (org, {"listed_in": frozenset()}, day),
        "period": (org, {}, before if p.pool.period_starts_on else after),
        "signed_after": (org, {"signed_on": date(2023, 8, 31)}, day),
        "term": (org, {"ends_on": (over.get("starts_on") or day) + timedelta(days=400)}, day),
        "signed_first": (org, {"signed_on": day + timedelta(days=1)}, day),
        "paid_first": (org, {"paid_on": None}, day),
        "apply_first": (org, {"signed_on": day - timedelta(days=1)}, day),
        "min_contract": (org, {"contract_fen": (p.contract.min_fen or 1) - 1}, day),
    }


@pytest.mark.parametrize("code", sorted(CASES))
def test_each_condition_of_the_programme_refuses_on_its_own(code: str):
    org, _, day, contract, *_ = CASES[code]
    stated = set(verdicts(code, org, purchase(code, contract), day)) - {"attest", "dates"}
    breakers = _breakers(code)
    assert stated <= set(breakers), stated - set(breakers)
    for rule in stated:
        bad_org, over, bad_day = breakers[rule]
        over = dict(over)
        ok = verdicts(code, bad_org, purchase(code, over.pop("contract_fen", contract), **over), bad_day)
        assert ok[rule] is False, (code, rule)


@pytest.mark.parametrize("code", sorted(c for c, case in CASES.items() if case[5]))
def test_at_the_cap(code: str):
    *_, at_cap, cap = CASES[code]
    assert amount(ALL[code], purchase(code, at_cap)).amount_fen == cap
    assert amount(ALL[code], purchase(code, at_cap * 10)).amount_fen == cap


@pytest.mark.parametrize("code", sorted(c for c in CASES if ALL[c].caps.per_org_year_fen))
def test_the_yearly_cap_starts_afresh_across_the_year_boundary(code: str):
    """A cap per enterprise per year counts in the application's year (北京: 每个自然年度累计申领和兑付): spent on
    31 December, whole again on 1 January, whatever year the contract was signed."""
    p = ALL[code]
    *_, at_cap, cap = CASES[code]
    signed = date(2025, 11, 1)
    year_end, new_year = date(2025, 12, 31), date(2026, 1, 1)
    assert prog.budget_year(p, signed, year_end) == 2025 and prog.budget_year(p, signed, new_year) == 2026
    committed = {2025: cap}  # the enterprise used the whole cap in 2025
    for day, expected in ((year_end, 0), (new_year, cap)):
        year = prog.budget_year(p, signed, day)
        got = amount(p, purchase(code, at_cap), org_year_committed_fen=committed.get(year, 0)).amount_fen
        assert got == expected, (code, day)


def test_conditions_and_tiers_worked_by_hand():
    # 杭州: 依托备案模型 or 国产算力 30%
    assert amount(
        ALL["hangzhou-compute"], purchase("hangzhou-compute", 100 * WAN, flags={"filed_model"})
    ).amount_fen == (30 * WAN)
    # 廊坊: 本地算力 only 50%; neither condition: nothing
    assert amount(
        ALL["langfang-compute"], purchase("langfang-compute", 100 * WAN, flags={"local_compute"})
    ).amount_fen == (50 * WAN)
    assert amount(ALL["langfang-compute"], purchase("langfang-compute", 100 * WAN, flags=frozenset())).amount_fen == 0
    # 深圳训力券: 草创企业 60%
    assert amount(
        ALL["shenzhen-training"], purchase("shenzhen-training", 100 * WAN, flags={"early_stage"})
    ).amount_fen == (60 * WAN)
    # Canada: 2/3 on Canadian cloud, floored to the cent
    assert (
        amount(ALL["canada-ai-compute"], purchase("canada-ai-compute", 100, flags={"domestic_cloud"})).amount_fen == 66
    )
    # 花都: 100 % / 50 % / 30 % by service year, nothing in the fourth
    huadu = ALL["huadu-tiered"]
    assert [amount(huadu, purchase("huadu-tiered", 10 * WAN, service_year=y)).amount_fen for y in (1, 2, 3, 4)] == [
        10 * WAN,
        5 * WAN,
        3 * WAN,
        0,
    ]


def test_a_retrofit_award_worked_by_hand():
    """相城: 10 % of the equipment invested, from a 300 万元 project up, at most 500 万元; paid after 验收."""
    p = ALL["xiangcheng-retrofit"]
    assert p.acceptance.required and p.acceptance.site_visit
    assert amount(p, purchase("xiangcheng-retrofit", 300 * WAN)).amount_fen == 30 * WAN  # the smallest project
    assert amount(p, purchase("xiangcheng-retrofit", 4_567_891_23)).amount_fen == 456_789_12  # floored to the fen
    assert amount(p, purchase("xiangcheng-retrofit", 5000 * WAN)).amount_fen == 500 * WAN  # exactly at the cap
    org, _, day, *_ = CASES["xiangcheng-retrofit"]
    assert verdicts("xiangcheng-retrofit", org, purchase("xiangcheng-retrofit", 300 * WAN), day)["min_contract"]
    assert not verdicts("xiangcheng-retrofit", org, purchase("xiangcheng-retrofit", 300 * WAN - 1), day)["min_contract"]


def test_programmes_out_of_their_period_say_so():
    assert ALL["beijing-compute"].period_state(date(2026, 1, 1)) == "ended"
    assert ALL["uk-ai-skills"].period_state(date(2024, 8, 19)) == "ended"
    assert ALL["shenzhen-corpus"].period_state(date(2025, 8, 31)) == "not_started"
    assert ALL["shenzhen-corpus"].period_state(date(2025, 9, 1)) == "open"
    assert ALL["wuhan-compute"].period_state(date(2026, 12, 6)) == "open"  # no period stated


def test_a_supplier_side_award_is_computed_but_not_the_buyers():
    p = ALL["suzhou-ai-supplier"]
    assert p.eligibility.claimant == "supplier"
    assert amount(p, Purchase(contract_fen=1000 * WAN, kind="rnd")).amount_fen == 100 * WAN  # 20 %, ≤ 100 万


def test_one_money_format_per_currency():
    from smeai.i18n import set_lang
    from smeai.subsidy.calculator import money

    try:
        set_lang("zh_Hans")
        assert (money(200 * WAN), money(5_000_00), money(300_000_000_00, "CAD")) == (
            "200 万元",
            "5,000 元",
            "C$300,000,000",
        )
        assert (money(50_000_000, "SGD"), money(1_000_000, "GBP"), money(None)) == ("S$500,000", "£10,000", "—")
        set_lang("en")
        assert (money(200 * WAN), money(1), money(1_000_000, "GBP")) == ("CNY 2,000,000", "CNY 0.01", "£10,000")
    finally:
        set_lang("zh_Hans")
