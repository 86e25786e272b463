"""问卷星 exports of the shipped template: both layouts, their quirks, and what cannot be mapped."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smeai import taxonomy
from smeai.survey import analysis, codebook, synth, wjx
from tests.survey import wjx_reference

SCENARIOS = [t.zh for t in taxonomy.load().scenarios.values()]

META = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP", "总分"]
CODED = [
    *META,
    "1、贵企业所在省份（自治区、直辖市）",
    "3、贵企业所在城市是否为中小企业数字化转型试点城市",
    "4、贵企业所属国民经济行业门类(单选题 *必答)",
    "5、贵企业所属制造业行业大类（仅制造业企业填写）",
    "6、贵企业成立年份",
    "8、贵企业近三年年均营业收入（万元）",
    "9、贵企业在生产经营中应用人工智能（AI）的情况",
    "10、近三年贵企业年均AI技术应用资金投入（万元）",
    "11、贵企业AI应用所处阶段",
    "第12题(研发设计)",
    "第12题(生产制造)",
    "12(供应链)",
    "12(营销销售)",
    "12(售后服务)",
    "12(经营管理)",
    *(f"13({name})" for name in SCENARIOS),
    "13(其他【请注明】)",
    "16、您对本次调查的意见",
]
TEXT = [
    *META,
    "1、贵企业所在省份（自治区、直辖市）",
    "3、贵企业所在城市是否为中小企业数字化转型试点城市",
    "4、贵企业所属国民经济行业门类",
    "5、贵企业所属制造业行业大类（仅制造业企业填写）",
    "6、贵企业成立年份",
    "8、贵企业近三年年均营业收入（万元）",
    "9、贵企业在生产经营中应用人工智能（AI）的情况",
    "10、近三年贵企业年均AI技术应用资金投入（万元）",
    "11、贵企业AI应用所处阶段",
    "12、贵企业在哪些业务环节应用了AI(多选题 *必答)",
    "13、贵企业应用了哪些AI场景",
    "16、您对本次调查的意见",
]
M = ["2016/12/17 14:22:55", "136秒", "手机提交", "直接访问", "183.192.16.69(上海-上海)", "0"]
CODED_ROWS = [
    # an adopter in Guangdong (19th province), pilot batch 1, manufacturing, 通用设备 (division 34 = 22nd)
    [
        "1",
        *M,
        "19",
        "2",
        "3",
        "22",
        "2010",
        "15000",
        "1",
        "300",
        "2",
        "1",
        "1",
        "0",
        "0",
        "0",
        "1",
        *("1" if name == "质量管理/智能质检" else "0" for name in SCENARIOS),
        "1",
        "好",
    ],
    # not an adopter: the adopters' questions were skipped (-3 / -2)
    [
        "2",
        *M,
        "10",
        "1",
        "5",
        "-3",
        "2001",
        "800",
        "3",
        "-3",
        "-3",
        "-3",
        "-3",
        "-2",
        "-2",
        "-3",
        "-3",
        *("-3" for _ in SCENARIOS),
        "-3",
        "",
    ],
]
# the adopter's answers to questions 1-11 as the text layouts (wjx text, tencent) write them
ADOPTER = [
    "广东省",
    "是，第一批（2023年）",
    "制造业",
    "通用设备制造业",
    "2010",
    "15000",
    "已在生产经营中应用AI",
    "300",
    "部分业务试点",
]
TEXT_ROWS = [
    [
        "1",
        *M,
        *ADOPTER,
        "研发设计┋生产制造┋经营管理",
        "质量管理/智能质检┋其他【请注明】〖能耗看板〗",
        "好",
    ],
    [
        "2",
        *M,
        "江苏省",
        "否",
        "建筑业",
        "(跳过)",
        "2001",
        "800",
        "尚未应用，暂无计划",
        "(跳过)",
        "(跳过)",
        "(跳过)",
        "(跳过)",
        "",
    ],
]


def _rows(converted: wjx.Converted) -> dict[str, list[object]]:
    v = analysis.validate_rows(converted.header, iter(converted.rows))
    assert v.reasons == []
    return v.columns


def test_coded_and_text_layouts_give_the_same_rows():
    coded, text = wjx.to_canonical(CODED, CODED_ROWS), wjx.to_canonical(TEXT, TEXT_ROWS)
    assert (coded.layout, text.layout) == ("wjx_coded", "wjx_text")
    assert _rows(coded) == _rows(text)
    row = dict(zip(coded.header, coded.rows[0], strict=True))
    assert row["province_code"] == "44" and row["mfg_division"] == "34" and row["pilot_batch"] == "1"
    assert row["submitted_at"] == "2016-12-17 14:22:55" and row["response_id"] == "1"
    assert [row[c] for c in codebook.LINK_COLUMNS] == ["1", "1", "0", "0", "0", "1"]
    skipped = dict(zip(coded.header, coded.rows[1], strict=True))
    assert skipped["ai_stage"] == "" and skipped["link_rnd"] == "" and skipped["industry_section"] == "E"


def test_headers_the_mapping_cannot_place_are_reported_not_guessed():
    coded, text = wjx.to_canonical(CODED, CODED_ROWS), wjx.to_canonical(TEXT, TEXT_ROWS)
    assert coded.unmapped == ["16、您对本次调查的意见"]
    assert text.unmapped == ["16、您对本次调查的意见"]
    renamed = [h.replace("贵企业成立年份", "企业注册年份") for h in CODED] + ["第12题(区块链)"]
    odd = wjx.to_canonical(renamed, [[*r, "0"] for r in CODED_ROWS])
    assert odd.unmapped == ["6、企业注册年份", "16、您对本次调查的意见", "第12题(区块链)"]


def test_answers_the_mapping_cannot_place_reject_their_row():
    rows = [list(TEXT_ROWS[0]), list(TEXT_ROWS[1])]
    rows[0][TEXT.index("4、贵企业所属国民经济行业门类")] = "互联网"
    rows[1][TEXT.index("1、贵企业所在省份（自治区、直辖市）")] = "火星"
    text = wjx.to_canonical(TEXT, rows)
    assert [(r.row, r.value, r.rule) for r in text.reasons] == [
        (2, "互联网", "unmapped_option"),
        (3, "火星", "unmapped_option"),
    ]
    coded_rows = [list(CODED_ROWS[0])]
    coded_rows[0][CODED.index("9、贵企业在生产经营中应用人工智能（AI）的情况")] = "7"
    assert [(r.value, r.rule) for r in wjx.to_canonical(CODED, coded_rows).reasons] == [("7", "unmapped_option")]


def test_the_template_maps_every_codebook_column_and_prints_for_wjx():
    columns = {c for q in wjx.template().questions for c in q.columns()}
    assert columns == {c.name for c in codebook.COLUMNS} - {"response_id", "submitted_at"}
    text = wjx.template_text()
    assert "9. 贵企业在生产经营中应用人工智能（AI）的情况[单选题]" in text


def test_synthetic_answers_survive_both_exports():
    header, rows = synth.text_rows(synth.generate(200, 8))
    got = []
    for layout in ("wjx_coded", "wjx_text"):
        wh, wr = wjx.from_canonical(header, rows, layout=layout)
        got.append(_rows(wjx.to_canonical(wh, wr)))
    assert got[0] == got[1]
    assert len(got[0]["response_id"]) == 200


def test_a_gb18030_csv_download_reads_like_the_utf8_one():
    text = "\n".join(",".join(r) for r in [TEXT, *TEXT_ROWS])
    utf8 = codebook.read_table(text.encode("utf-8"), filename="wjx.csv")
    gbk = codebook.read_table(text.encode("gb18030"), filename="wjx.csv")
    assert (utf8[0], list(utf8[1])) == (gbk[0], list(gbk[1]))


def test_a_tencent_export_maps_onto_the_same_answers():
    links = ["研发设计", "生产制造", "供应链", "营销销售", "售后服务", "经营管理"]
    q12 = "12.贵企业在哪些业务环节应用了AI"
    header = [
        "编号",
        "开始答题时间",
        "结束答题时间",
        "答题时长",
        "1.贵企业所在省份（自治区、直辖市）",
        "3.贵企业所在城市是否为中小企业数字化转型试点城市",
        "4.贵企业所属国民经济行业门类",
        "5.贵企业所属制造业行业大类（仅制造业企业填写）",
        "6.贵企业成立年份",
        "8.贵企业近三年年均营业收入（万元）",
        "9.贵企业在生产经营中应用人工智能（AI）的情况",
        "10.近三年贵企业年均AI技术应用资金投入（万元）",
        "11.贵企业AI应用所处阶段",
        *(f"{q12}:{o}" for o in links),
        "12.贵企业在哪些业务环节应用了AI:区块链",
    ]
    t = ["2016-12-17 14:20:00", "2016-12-17 14:22:55", "175"]
    rows = [
        [
            "1",
            *t,
            *ADOPTER,
            "研发设计",
            "生产制造",
            "",
            "",
            "",
            "经营管理",
            "",
        ],
        [
            "2",
            *t,
            "江苏省",
            "否",
            "建筑业",
            "",
            "2001",
            "800",
            "尚未应用，暂无计划",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
    ]
    tencent = wjx.to_canonical(header, rows)
    assert tencent.layout == "tencent"
    assert tencent.unmapped == ["12.贵企业在哪些业务环节应用了AI:区块链"]
    got = _rows(tencent)
    want = _rows(wjx.to_canonical(TEXT, TEXT_ROWS))
    for column in (
        "response_id",
        "submitted_at",
        "province_code",
        "pilot_batch",
        "industry_section",
        "mfg_division",
        "founded_year",
        "revenue_wan",
        "ai_status",
        "ai_investment_wan",
        "ai_stage",
    ):
        assert got[column] == want[column], column
    assert [got[c][0] for c in codebook.LINK_COLUMNS] == [1, 1, 0, 0, 0, 1]
    assert [got[c][1] for c in codebook.LINK_COLUMNS] == [0] * 6  # not asked and not chosen look alike here


def test_indicators_of_a_wjx_export_are_those_of_the_canonical_file():
    from smeai.survey import analysis

    header, rows = synth.text_rows(synth.generate(600, 5))
    canonical = "\n".join(",".join(r) for r in [header, *rows]).encode()
    wh, wr = wjx.from_canonical(header, rows, layout="wjx_coded")
    export = "\n".join(",".join(f'"{c}"' for c in r) for r in [wh, *wr]).encode()
    assert analysis.file_indicators(export, filename="wjx.csv")[0] == analysis.file_indicators(canonical)[0]


# --- the columnar mapping (wjx.convert) against the row-by-row reference ----------------------------

ANSWERS = ["1", "2", "3", "22", "-3", "-2", "(跳过)", "", " 1 ", "0", "99", "x", "１", "2010", "15000", "好"]
TIMES = [
    "2016/12/17 14:22:55",
    "2016/12/17 14:22",
    "2016/2/7 4:2:5",
    "2016/02/30 14:22:55",
    "0999/01/01 00:00:00",
    "２０１６/12/17 14:22:55",
    " 2016/12/17 14:22:55 ",
    "2016-12-17 14:22:55",
    "",
]
TEXTS = [
    *(t.zh for t in list(taxonomy.load().provinces.values())[:3]),
    "研发设计┋生产制造",
    "研发设计┋不存在的环节",
    "其他【请注明】〖自研〗┋研发设计",
    "已应用",
    "没有这个选项",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_columnar_mapping_gives_the_rows_and_reasons_of_the_row_by_row_one(data):
    header = data.draw(st.sampled_from([CODED, TEXT]))
    pool = ANSWERS + TEXTS
    n = data.draw(st.integers(0, 8))
    rows = []
    for k in range(n):
        cells = [str(k), data.draw(st.sampled_from(TIMES)), *M[1:]]
        cells += [data.draw(st.sampled_from(pool)) for _ in header[len(cells) :]]
        rows.append(cells[: data.draw(st.integers(1, len(cells) + 2))])  # short rows too
    got, want = wjx.to_canonical(header, rows), wjx_reference.to_canonical(header, rows)
    assert (got.header, got.rows, got.layout, got.unmapped) == (want.header, want.rows, want.layout, want.unmapped)
    assert got.reasons == want.reasons


@given(st.sampled_from(TIMES) | st.text(alphabet="0123456789/: ０", max_size=20))
def test_the_fast_form_of_a_wjx_date_time_reads_as_strptime_does(text):
    assert wjx._time(text) == wjx_reference.time_text(text)
