"""Every seeded programme's arithmetic against hand-worked cases: rates, conditions, tiers, caps, contract
rules and exclusivity. Amounts are fen: 1 万元 = 1_000_000 fen."""

from __future__ import annotations

import shutil
from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest

from smeai.errors import Forbidden, Invalid
from smeai.storage import LocalStorage
from smeai.subsidy import programmes as prog
from smeai.subsidy.programmes import Profile, Purchase, amount, eligibility, load_programmes, stacking_partners
from smeai.subsidy.schemas import ProgrammeQuote
from smeai.subsidy.service import best_combination

WAN = 1_000_000  # fen in 1 万元
ALL = load_programmes()
TODAY = date(2025, 6, 1)


def pay(code: str, contract_fen: int, **kw: object) -> int:
    committed = {k: kw.pop(k) for k in ("org_year_committed_fen", "contract_committed_fen") if k in kw}
    return amount(ALL[code], Purchase(contract_fen=contract_fen, **kw), **committed).amount_fen  # type: ignore[arg-type]


def verdicts(code: str, org: Profile, **kw: object) -> dict[str, bool]:
    purchase = Purchase(**({"contract_fen": 100 * WAN} | kw))  # type: ignore[arg-type]
    return {r.rule: r.ok for r in eligibility(ALL[code], org, purchase, applied_on=TODAY)}


BEIJING = Profile(province_code="11", city="北京", size_class="small", revenue_band="0-2", industry_section="I")
BEIJING_DEAL = {
    "kind": "compute",
    "signed_on": date(2025, 3, 1),
    "starts_on": date(2025, 3, 1),
    "ends_on": date(2026, 2, 28),
}


def test_every_shipped_programme_loads_and_names_its_source():
    assert len(ALL) >= 22
    for p in ALL.values():
        assert p.sources and p.name.zh and p.issuer.zh
        assert all(s.url.startswith("http") and s.title for s in p.sources)
        assert prog.unsourced_rules(p) == {}, p.code  # every rule: a quoted clause or an assumption with why
        assert len(p.version) == 12


# Beijing's file as it read before the sources check: it barred stacking with every compute voucher. The
# text bars only other *municipal* compute subsidies (an attestation now), so stacking is tested on this copy.
EXCLUSIVE = ALL | {
    "beijing-compute": ALL["beijing-compute"].model_copy(
        update={"exclusivity": prog.Exclusivity(one_claim_per_contract=True, no_stacking_with_vouchers={"compute"})}
    )
}


# --- 北京市算力券: 20 %, ≤ 200 万/家/年, ≤ 1 年, 2023-09-01 起, 一合同一次, 非关联, 不与其他算力券叠加 ---


def test_beijing_pays_20_percent():
    assert pay("beijing-compute", 500 * WAN) == 100 * WAN


def test_beijing_caps_at_200_wan_per_enterprise_per_year():
    assert pay("beijing-compute", 1500 * WAN) == 200 * WAN  # 20 % of 1,500 万 is 300 万
    assert pay("beijing-compute", 500 * WAN, org_year_committed_fen=150 * WAN) == 50 * WAN
    assert pay("beijing-compute", 500 * WAN, org_year_committed_fen=200 * WAN) == 0


def test_beijing_eligibility_rules_each_decide():
    ok = verdicts("beijing-compute", BEIJING, **BEIJING_DEAL)
    assert all(ok.values()), ok
    assert not verdicts("beijing-compute", BEIJING, **BEIJING_DEAL | {"signed_on": date(2023, 8, 31)})["signed_after"]
    assert not verdicts("beijing-compute", BEIJING, **BEIJING_DEAL | {"ends_on": date(2026, 3, 1)})["term"]
    assert not verdicts("beijing-compute", BEIJING, **BEIJING_DEAL | {"supplier_affiliated": True})["not_affiliated"]
    assert not verdicts("beijing-compute", BEIJING, **BEIJING_DEAL | {"kind": "model"})["kind"]
    retail, hebei = Profile(province_code="11", industry_section="F"), Profile(province_code="13", industry_section="C")
    assert not verdicts("beijing-compute", retail, **BEIJING_DEAL)["industry"]
    assert not verdicts("beijing-compute", hebei, **BEIJING_DEAL)["region"]
    assert not verdicts("beijing-compute", BEIJING, **BEIJING_DEAL | {"signed_on": date(2025, 7, 1)})["signed_first"]


def test_beijing_bars_only_other_municipal_compute_subsidies_which_the_applicant_attests():
    assert stacking_partners(ALL, "beijing-compute") == frozenset()  # no other Beijing municipal scheme is shipped
    attested = [str(a) for a in ALL["beijing-compute"].eligibility.attestations]
    assert "未获得其他市级财政资金的相关智能算力补贴支持" in attested
    ok = verdicts("beijing-compute", BEIJING, **BEIJING_DEAL)
    assert ok["attest"] and "no_stacking" not in ok


def test_a_voucher_type_exclusion_is_symmetric_and_spares_other_types():
    partners = stacking_partners(EXCLUSIVE, "beijing-compute")
    assert {"wuhan-compute", "shanghai-compute", "hangzhou-compute"} <= partners
    assert "shanghai-model" not in partners
    assert "beijing-compute" in stacking_partners(EXCLUSIVE, "wuhan-compute")  # symmetric


def test_contract_term_counts_whole_months_inclusive():
    assert prog.contract_months(date(2024, 1, 1), date(2024, 12, 31)) == 12
    assert prog.contract_months(date(2024, 1, 1), date(2025, 1, 1)) == 13
    assert prog.contract_months(date(2024, 1, 15), date(2025, 1, 14)) == 12


# --- the report's programmes ---


def test_wuhan_50_percent_capped_at_20_wan():
    assert pay("wuhan-compute", 30 * WAN) == 15 * WAN
    assert pay("wuhan-compute", 60 * WAN) == 20 * WAN
    org = Profile(province_code="42", city="武汉市", size_class="large")
    assert not verdicts("wuhan-compute", org, kind="compute")["size"]
    assert verdicts("wuhan-compute", org, kind="compute")["region"]


def test_suzhou_buyer_award_20_percent_capped_at_200_wan_per_claim():
    assert pay("suzhou-ai-scenario", 500 * WAN) == 100 * WAN
    assert pay("suzhou-ai-scenario", 2000 * WAN) == 200 * WAN


def test_suzhou_supplier_award_20_percent_capped_at_100_wan_and_is_for_suppliers():
    assert pay("suzhou-ai-supplier", 300 * WAN, kind="rnd") == 60 * WAN
    assert pay("suzhou-ai-supplier", 1000 * WAN, kind="rnd") == 100 * WAN
    assert ALL["suzhou-ai-supplier"].eligibility.claimant == "supplier"


def test_huadu_tiers_first_year_free_then_50_then_30():
    assert [pay("huadu-tiered", 10 * WAN, service_year=y) for y in (1, 2, 3, 4)] == [10 * WAN, 5 * WAN, 3 * WAN, 0]


def test_jiangmen_30_percent_capped_at_5_wan_and_pool_of_1000_wan():
    assert pay("jiangmen-compute", 10 * WAN) == 3 * WAN
    assert pay("jiangmen-compute", 50 * WAN) == 5 * WAN
    assert ALL["jiangmen-compute"].pool.budget_fen == 1000 * WAN


def test_canada_two_thirds_on_canadian_cloud_else_half():
    assert pay("canada-ai-compute", 9_000_000, flags=frozenset({"domestic_cloud"})) == 6_000_000
    assert pay("canada-ai-compute", 9_000_000) == 4_500_000
    assert pay("canada-ai-compute", 100, flags=frozenset({"domestic_cloud"})) == 66  # floored to the cent
    assert ALL["canada-ai-compute"].rate == Fraction(1, 2)


def test_uk_half_of_training_costs():
    assert pay("uk-ai-skills", 200_000) == 100_000
    assert not verdicts("uk-ai-skills", Profile(province_code="11"), kind="training")["region"]


def test_singapore_ai_cloud_capped_at_500k_sgd_per_firm():
    assert pay("singapore-ai-cloud", 100_000_000) == 50_000_000


def test_singapore_psg_refuses_an_application_after_signing_or_paying():
    org = Profile(country="SG", size_class="small")
    assert verdicts("singapore-psg", org, signed_on=date(2025, 7, 1))["apply_first"]
    assert not verdicts("singapore-psg", org, signed_on=date(2025, 5, 1))["apply_first"]
    assert not verdicts("singapore-psg", org, paid_on=date(2025, 5, 1))["apply_first"]
    assert pay("singapore-psg", 1_000_000) == 500_000


def test_shanghai_compute_model_and_corpus_vouchers():
    assert pay("shanghai-compute", 100 * WAN) == 30 * WAN
    assert pay("shanghai-model", 2000 * WAN) == 500 * WAN  # 50 % is 1,000 万, capped at 500 万
    assert pay("shanghai-corpus", 100 * WAN) == 30 * WAN
    sh = Profile(province_code="31", city="上海")
    assert not verdicts("shanghai-compute", sh, kind="compute", starts_on=date(2025, 1, 1), ends_on=date(2026, 1, 1))[
        "term"
    ]


def test_hangzhou_30_percent_for_domestic_chips_or_filed_models_else_20():
    assert pay("hangzhou-compute", 100 * WAN) == 20 * WAN
    assert pay("hangzhou-compute", 100 * WAN, flags=frozenset({"domestic_chip"})) == 30 * WAN
    assert pay("hangzhou-compute", 100 * WAN, flags=frozenset({"filed_model"})) == 30 * WAN
    assert pay("hangzhou-compute", 5000 * WAN, flags=frozenset({"domestic_chip"})) == 800 * WAN


def test_yangzhou_needs_the_contract_signed_and_paid_first():
    org = Profile(province_code="32", city="扬州")
    assert not verdicts("yangzhou-compute", org, kind="compute", signed_on=date(2025, 5, 1))["paid_first"]
    assert verdicts("yangzhou-compute", org, kind="compute", signed_on=date(2025, 5, 1), paid_on=date(2025, 5, 2))[
        "paid_first"
    ]
    assert pay("yangzhou-compute", 100 * WAN) == 30 * WAN


def test_langfang_takes_the_highest_applicable_rate_and_caps_at_100_wan():
    assert pay("langfang-compute", 100 * WAN) == 0
    assert pay("langfang-compute", 100 * WAN, flags=frozenset({"local_compute"})) == 50 * WAN
    both = frozenset({"local_compute", "national_project"})
    assert pay("langfang-compute", 100 * WAN, flags=both) == 60 * WAN
    assert pay("langfang-compute", 300 * WAN, flags=both) == 100 * WAN


def test_qingyang_one_side_per_contract():
    assert ALL["qingyang-compute"].exclusivity.one_side_per_contract
    assert pay("qingyang-compute", 100 * WAN) == 30 * WAN


def test_the_rule_that_decided_is_named():
    result = amount(ALL["beijing-compute"], Purchase(contract_fen=1500 * WAN))
    assert [r.rule for r in result.reasons] == ["rate", "gross", "cap_org_year"]
    tiered = amount(ALL["huadu-tiered"], Purchase(contract_fen=WAN, service_year=2))
    assert tiered.reasons[0].rule == "tier" and tiered.reasons[0].params["rate"] == "50%"


# --- exclusivity: the best allowed combination ---


def _q(code: str, fen: int) -> ProgrammeQuote:
    return ProgrammeQuote(
        code=code, name=code, currency="CNY", eligible=True, amount_fen=fen, rate="", reasons=[], excludes=[]
    )


def test_best_combination_never_stacks_excluded_programmes():
    quotes = [_q("beijing-compute", 100), _q("wuhan-compute", 80), _q("shanghai-model", 50)]
    assert best_combination(EXCLUSIVE, quotes, 10_000) == (["beijing-compute", "shanghai-model"], 150)
    assert best_combination(ALL, quotes, 10_000) == (["beijing-compute", "shanghai-model", "wuhan-compute"], 230)


def test_best_combination_never_pays_more_than_the_contract():
    quotes = [_q("beijing-compute", 100), _q("shanghai-model", 50)]
    codes, total = best_combination(ALL, quotes, 120)
    assert total == 120
    assert codes == ["beijing-compute", "shanghai-model"]


# --- the loader: every problem, with file and field ---


def test_a_broken_copy_names_every_bad_file_and_field(tmp_path: Path):
    shutil.copy(prog.DATA / "wuhan-compute.yaml", tmp_path / "good.yaml")
    (tmp_path / "typo.yaml").write_text(
        (prog.DATA / "beijing-compute.yaml").read_text(encoding="utf-8").replace("rate: 20%", "rate_pct: 20"),
        encoding="utf-8",
    )
    (tmp_path / "bad.yaml").write_text(
        "code: Bad Code\nname: {zh: 坏}\nissuer: {zh: 某}\nvoucher: compute\nsources: []\nrate: 150%\n"
        "region: {provinces: ['99']}\n",
        encoding="utf-8",
    )
    (tmp_path / "broken.yaml").write_text("code: [unclosed\n", encoding="utf-8")
    with pytest.raises(Invalid) as caught:
        load_programmes(tmp_path)
    fields = caught.value.fields
    assert "typo.yaml:rate_pct" in fields and "typo.yaml:rate" in fields
    assert {"bad.yaml:code", "bad.yaml:rate", "bad.yaml:region.provinces.0", "bad.yaml:sources"} <= set(fields)
    assert "broken.yaml:(file)" in fields
    assert not any(k.startswith("good.yaml") for k in fields)


def test_duplicate_codes_and_unknown_stacking_partners_are_reported(tmp_path: Path):
    text = (prog.DATA / "wuhan-compute.yaml").read_text(encoding="utf-8")
    (tmp_path / "a.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(
        text.replace("one_claim_per_contract: true", "one_claim_per_contract: true\n  no_stacking_with: [nowhere]"),
        encoding="utf-8",
    )
    with pytest.raises(Invalid) as caught:
        load_programmes(tmp_path)
    assert "b.yaml:code" in caught.value.fields
    assert any("no_stacking_with" in k for k in caught.value.fields)


def test_rates_parse_exactly():
    assert prog.parse_rate("2/3") == Fraction(2, 3)
    assert prog.parse_rate("20%") == prog.parse_rate(20) == Fraction(1, 5)
    with pytest.raises(ValueError):
        prog.parse_rate(0.2)


def test_psg_pays_only_for_listed_solutions():
    org = Profile(country="SG", size_class="small")
    assert not verdicts("singapore-psg", org)["listed_offering"]
    assert verdicts("singapore-psg", org, listed_in=frozenset({"singapore-psg"}))["listed_offering"]


def test_an_offering_listed_for_a_programme_vouches_for_its_supplier(tmp_path: Path):
    text = (prog.DATA / "beijing-compute.yaml").read_text(encoding="utf-8")
    (tmp_path / "b.yaml").write_text(
        text.replace(
            "supplier_not_affiliated: true", "supplier_not_affiliated: true\n  approved_suppliers: [京算科技]"
        ).replace(
            "rules: [eligibility.kinds, eligibility.supplier_not_affiliated]",
            "rules: [eligibility.kinds, eligibility.supplier_not_affiliated, eligibility.approved_suppliers]",
        ),
        encoding="utf-8",
    )
    p = load_programmes(tmp_path)["beijing-compute"]

    def ok(**kw: object) -> bool:
        purchase = Purchase(**({"contract_fen": WAN} | BEIJING_DEAL | kw))  # type: ignore[arg-type]
        return {r.rule: r.ok for r in eligibility(p, BEIJING, purchase, applied_on=TODAY)}["supplier_list"]

    assert ok(supplier_name="京算科技") and not ok(supplier_name="别家")
    assert ok(supplier_name="别家", listed_in=frozenset({"beijing-compute"}))


def test_a_later_service_years_tier_needs_that_year_to_have_begun():
    huadu = Profile(province_code="44", city="广州")
    deal = {"kind": "platform"}
    assert "service_year" not in verdicts("huadu-tiered", huadu, **deal)  # year 1: from the start
    for year, starts, ok in (
        (2, date(2024, 6, 2), False),
        (2, date(2024, 6, 1), True),
        (3, date(2024, 6, 1), False),
        (3, date(2023, 6, 1), True),
        (3, None, False),
    ):
        got = verdicts("huadu-tiered", huadu, **deal, service_year=year, starts_on=starts)["service_year"]
        assert got is ok, (year, starts)


def test_beijing_counts_its_yearly_cap_by_the_year_of_the_claim():
    p = ALL["beijing-compute"]
    assert p.cap_year_basis == "claim"
    assert prog.budget_year(p, date(2024, 12, 20), applied_on=date(2025, 1, 3)) == 2025
    signed = p.model_copy(update={"cap_year_basis": "signed"})
    assert prog.budget_year(signed, date(2024, 12, 20), applied_on=date(2025, 1, 3)) == 2024
    assert prog.budget_year(signed, None, applied_on=date(2025, 1, 3)) == 2025


def test_programme_files_bound_their_amounts_and_periods(tmp_path: Path):
    base = (
        "code: x\nname: {zh: 券}\nissuer: {zh: 某市}\nvoucher: compute\nrate: 20%\n"
        "sources: [{id: s, title: t, issuer: i, url: 'https://example.org'}]\n"
    )
    for extra, field in (
        ("caps: {per_org_year_fen: 1e999}\n", "caps.per_org_year_fen"),
        ("pool: {budget_fen: 100000000000000000000}\n", "pool.budget_fen"),
        ("redeem_within_days: 99999999999\n", "redeem_within_days"),
        ("contract: {max_term_months: 99999999999}\n", "contract.max_term_months"),
        ("cap_year_basis: signing\n", "cap_year_basis"),
    ):
        (tmp_path / "x.yaml").write_text(base + extra, encoding="utf-8")
        assert f"x.yaml:{field}" in prog.load_folder(tmp_path)[1], extra


# --- an operator's file: uploaded, validated, versioned, history kept --------------------------------------


def test_an_uploaded_file_is_checked_kept_and_in_force(session, tmp_path: Path, monkeypatch):
    from smeai.subsidy import programme_files
    from tests import builders
    from tests.subsidy import builders as sb

    monkeypatch.setattr(prog, "operator_store", lambda: LocalStorage(tmp_path))
    op, ent = builders.operator(session), sb.wuhan_enterprise(session)
    shipped = (prog.DATA / "wuhan-compute.yaml").read_text(encoding="utf-8")
    with pytest.raises(Forbidden):
        programme_files.upload_programme(session, ent, shipped.encode())
    unsourced = shipped.replace("rate: 50%", "rate: 40%\nrate_mode: first")  # a new rule with no source
    with pytest.raises(Invalid) as caught:
        programme_files.upload_programme(session, op, unsourced.encode())
    assert "wuhan-compute.yaml:rate_mode" in caught.value.fields
    assert prog.all_programmes()["wuhan-compute"].rate == Fraction(1, 2)  # nothing changed
    changed = shipped.replace("rate: 50%", "rate: 40%")  # 40 % stays under the quoted clause's rule
    p = programme_files.upload_programme(session, op, changed.encode(), uploaded_by="王运营")
    assert prog.all_programmes()["wuhan-compute"].rate == Fraction(2, 5)
    history = programme_files.versions("wuhan-compute")
    assert [v.version for v in history] == [p.version, prog.version_of(shipped)]
    assert history[0].current and history[0].uploaded_by == "王运营" and history[1].uploaded_at is None
    assert programme_files.version_text("wuhan-compute", prog.version_of(shipped)) == shipped
    assert programme_files.version_text("wuhan-compute", p.version) == changed


def test_an_application_keeps_the_version_it_was_decided_under(session, tmp_path: Path, monkeypatch):
    from smeai.subsidy import programme_files, service
    from tests import builders
    from tests.subsidy import builders as sb

    monkeypatch.setattr(prog, "operator_store", lambda: LocalStorage(tmp_path))
    ent, op = sb.wuhan_enterprise(session), builders.operator(session)
    first = sb.apply(session, ent, 30 * WAN, programme_code="wuhan-compute")
    before = prog.all_programmes()["wuhan-compute"].version
    assert first.programme_version == before and first.requested_fen == 15 * WAN
    text = (prog.DATA / "wuhan-compute.yaml").read_text(encoding="utf-8").replace("rate: 50%", "rate: 40%")
    after = programme_files.upload_programme(session, op, text.encode()).version
    second = sb.apply(session, ent, 30 * WAN, programme_code="wuhan-compute")
    assert (second.programme_version, second.requested_fen) == (after, 12 * WAN)
    session.expire_all()
    assert service.get_application(session, op, first.id).programme_version == before  # kept as decided


def test_uploads_at_the_same_moment_each_keep_their_line_in_the_history(db_url, session, tmp_path, monkeypatch):
    """Two operators uploading at once: each upload is its own history entry (a shared log read and written
    back whole lost one of them)."""
    from concurrent.futures import ThreadPoolExecutor

    from smeai.db import session_scope
    from smeai.subsidy import programme_files
    from tests import builders

    monkeypatch.setattr(prog, "operator_store", lambda: LocalStorage(tmp_path))
    op = builders.operator(session)
    session.commit()
    shipped = (prog.DATA / "wuhan-compute.yaml").read_text(encoding="utf-8")
    texts = [shipped.replace("rate: 50%", f"rate: {40 - i}%") for i in range(6)]

    def upload(i: int) -> str:
        with session_scope(db_url) as s:
            return programme_files.upload_programme(s, op, texts[i].encode(), uploaded_by=f"运营{i}").version

    with ThreadPoolExecutor(6) as pool:
        uploaded = set(pool.map(upload, range(6)))
    history = programme_files.versions("wuhan-compute")
    assert {v.version for v in history if v.uploaded_at is not None} == uploaded
    assert sorted(v.uploaded_by for v in history if v.uploaded_at is not None) == [f"运营{i}" for i in range(6)]
    assert [v.uploaded_at for v in history[:-1]] == sorted((v.uploaded_at for v in history[:-1]), reverse=True)
