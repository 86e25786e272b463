"""The checks on hand-worked rows: what passes, what fails, and how judge verdicts and votes add up."""

from __future__ import annotations

import pytest

from smeai.trials import checks


def test_exact_ignores_width_case_space_and_final_punctuation():
    assert checks.exact("７天。", "7天").passed
    assert checks.exact(" OK ", "ok").passed
    assert not checks.exact("7天内", "7天").passed


def test_contains_any_and_all():
    answer = "支持七天无理由退货，运费由买家承担。"
    assert checks.contains_any(answer, ["7天", "七天"]).passed
    assert checks.contains_any(answer, ["7天", "七天"]).detail == "七天"
    assert not checks.contains_any(answer, ["十五天"]).passed
    assert checks.contains_all(answer, ["七天", "运费"]).passed
    result = checks.contains_all(answer, ["七天", "发票"])
    assert not result.passed and "发票" in result.detail


def test_regex_reads_full_width_digits():
    assert checks.regex("邮编：１００００１", r"\d{6}").passed
    assert not checks.regex("邮编未知", r"\d{6}").passed


def test_number_within_tolerance_reads_separators_and_any_number_in_the_text():
    assert checks.number_within("合计 1,280.5 元（含税）", 1280, 1).passed
    assert not checks.number_within("合计 1,282 元", 1280, 1).passed
    assert checks.number_within("共 3 件，单价 99.9", 100, 0.2).passed
    assert not checks.number_within("没有数字", 1, 10).passed


def test_field_f1_hand_worked():
    reference = {"甲方": "冀中精工", "乙方": "杭芯视觉", "金额": 128000, "签订日期": "2026-03-01"}
    # 3 of 4 predicted fields right (金额 wrong), 1 extra field, 签订日期 missing:
    predicted = {"甲方": "冀中精工", "乙方": "杭芯视觉", "金额": 12800, "期限": "一年"}
    score = checks.field_f1(predicted, reference)
    assert (score.matched, score.predicted, score.expected) == (2, 4, 4)
    assert score.precision == pytest.approx(0.5)
    assert score.recall == pytest.approx(0.5)
    assert score.f1 == pytest.approx(0.5)
    # nested fields and numbers written as text or number are the same field
    nested = checks.field_f1({"付款": {"方式": "银行转账", "期数": "3"}}, {"付款": {"方式": "银行转账", "期数": 3}})
    assert nested.f1 == pytest.approx(1.0)
    # empty values are no field: precision is not punished, recall is
    partial = checks.field_f1({"甲方": "冀中精工", "乙方": ""}, {"甲方": "冀中精工", "乙方": "杭芯视觉"})
    assert (partial.precision, partial.recall) == (1.0, 0.5)
    assert partial.f1 == pytest.approx(2 / 3)


def test_json_check_validates_schema_and_scores_f1():
    schema = {
        "type": "object",
        "required": ["甲方", "金额"],
        "properties": {"甲方": {"type": "string"}, "金额": {"type": "number"}},
    }
    reference = {"甲方": "冀中精工", "金额": 128000}
    good = checks.json_fields('```json\n{"甲方": "冀中精工", "金额": 128000}\n```', schema=schema, reference=reference)
    assert good.passed and good.score == pytest.approx(1.0)
    wrong_type = checks.json_fields('{"甲方": "冀中精工", "金额": "十二万八"}', schema=schema, reference=reference)
    assert not wrong_type.passed and "金额" in wrong_type.detail
    assert wrong_type.score == pytest.approx(2 * 0.5 * 0.5 / 1.0)
    assert not checks.json_fields("抱歉，我无法提取。", schema=schema, reference=reference).passed
    # prose around the object is fine
    assert checks.json_fields(
        '结果如下：{"甲方": "冀中精工", "金额": 128000} 以上。', schema=schema, reference=reference
    ).passed


def test_parse_checks_compact_and_json_forms():
    specs = checks.parse_checks("contains_any:七天|7天; number:1280±5\nregex:^\\d+$")
    assert specs == [
        {"kind": "contains_any", "values": ["七天", "7天"]},
        {"kind": "number", "value": 1280.0, "tolerance": 5.0},
        {"kind": "regex", "pattern": "^\\d+$"},
    ]
    assert checks.parse_checks("包含任一：七天|7天\nall:退货") == [
        {"kind": "contains_any", "values": ["七天", "7天"]},
        {"kind": "contains_all", "values": ["退货"]},
    ]
    assert checks.parse_checks('[{"kind": "exact", "value": "是"}]') == [{"kind": "exact", "value": "是"}]
    for bad in ("colour:red", "number:abc", "regex:(", "contains_all:", "[1, 2]"):
        with pytest.raises(ValueError):
            checks.parse_checks(bad)


def test_run_check_uses_the_row_reference():
    assert checks.run_check({"kind": "exact"}, "是", reference="是", schema=None).passed
    ref = '{"单号": "A-1"}'
    assert checks.run_check({"kind": "json"}, '{"单号": "A-1"}', reference=ref, schema=None).passed


def test_rubric_score_parsing():
    assert checks.parse_rubric_score("理由……评分：4") == pytest.approx(0.75)
    assert checks.parse_rubric_score("Score: [[5]]") == pytest.approx(1.0)
    assert checks.parse_rubric_score("1") == pytest.approx(0.0)
    assert checks.parse_rubric_score("评分：9") is None
    assert checks.parse_rubric_score("无法评价") is None


def test_pairwise_parsing_takes_the_last_marker():
    assert checks.parse_pairwise("先看 [[A]] 的说法……最终：[[B]]") == "b"
    assert checks.parse_pairwise("[[C]]") == "tie"
    assert checks.parse_pairwise("都不错") is None


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("a", "b", "a"),  # X first and preferred; swapped, Y first and X (now B) preferred: X wins
        ("b", "a", "b"),  # Y wins in both orders
        ("a", "a", "tie"),  # the judge always picks position A: position bias, a tie
        ("b", "b", "tie"),
        ("a", "tie", "tie"),
        ("tie", "tie", "tie"),
        (None, "b", "tie"),  # an unreadable verdict never decides
    ],
)
def test_pairwise_with_swap_aggregation(first, second, expected):
    assert checks.aggregate_swap(first, second) == expected


def test_win_rate_counts_ties_half_with_a_wilson_interval():
    rate = checks.win_rate(wins=6, losses=2, ties=2)
    assert rate.n == 10
    assert rate.rate == pytest.approx(0.7)
    # Wilson 95 % for 7/10: 0.3968 .. 0.8922 (hand-worked: centre 0.6446, half-width 0.2477)
    assert rate.low == pytest.approx(0.3968, abs=1e-3)
    assert rate.high == pytest.approx(0.8922, abs=1e-3)
    assert checks.win_rate(0, 0, 0).rate == 0.0
    assert checks.wilson(0, 0) == (0.0, 1.0)
    low, high = checks.wilson(5, 5)
    assert high == 1.0 and low == pytest.approx(0.5655, abs=1e-3)


def test_percentiles():
    assert checks.percentile([], 50) is None
    assert checks.percentile([10, 20, 30, 40], 50) == pytest.approx(25)
    assert checks.percentile(range(1, 101), 95) == pytest.approx(95.05)


def test_model_family_and_same_family_flag():
    assert checks.model_family("qwen-plus") == "Qwen"
    assert checks.model_family("Qwen2.5-72B-Instruct") == "Qwen"
    assert checks.model_family("deepseek-chat") == "DeepSeek"
    assert checks.model_family("smollm2-135m") == "SmolLM"
    assert checks.same_family("qwen-max", "qwen-turbo")
    assert not checks.same_family("deepseek-chat", "glm-4")
    assert checks.model_family("house-model") == "house-model"
