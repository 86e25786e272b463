from __future__ import annotations

import shutil

import pytest

from smeai import taxonomy
from smeai.assessment import instruments
from smeai.assessment.instruments import INSTRUMENTS, load_instruments
from smeai.errors import Invalid


def test_every_shipped_instrument_loads():
    found = load_instruments()
    assert {("smeai-ai-maturity", "2026.1"), ("eu-dma", "2023.1")} <= set(found)


def test_smeai_instrument_covers_the_report():
    inst = instruments.get_instrument("smeai-ai-maturity")
    assert [d.id for d in inst.dimensions] == [
        "strategy",
        "data",
        "talent",
        "infrastructure",
        "application",
        "investment",
        "security",
        "outcomes",
    ]
    # 数据盘点: quantity, quality, storage, management, types
    assert {"d_quantity", "d_quality", "d_storage", "d_management", "d_types"} <= set(inst.questions)
    # every taxonomy scenario is rated by depth, under its link
    rated = {q.scenario: q.link for q in inst.questions.values() if q.scenario}
    assert rated == {code: t.extra["link"] for code, t in taxonomy.load().scenarios.items()}
    # the stages are 未应用 plus the taxonomy's application stages, in order; the roles are the taxonomy's
    assert [s.name.zh for s in inst.stages] == ["未应用", *(t.zh for t in taxonomy.load().stages.values())]
    assert [r.id for r in inst.roles] == list(taxonomy.load().roles)
    assert [r.name.zh for r in inst.roles] == [t.zh for t in taxonomy.load().roles.values()]
    assert {q.type for q in inst.questions.values()} == set(instruments.QuestionType)
    for q in inst.questions.values():
        for o in q.options:
            assert o.label.zh and o.label.en, (q.id, o.id)
        assert q.text.zh and q.text.en, q.id


def test_dma_has_six_dimensions_and_four_bands():
    inst = instruments.get_instrument("eu-dma")
    assert len(inst.dimensions) == 6
    assert [t.name.en for t in inst.levels] == ["Basic", "Average", "Moderately advanced", "Advanced"]
    assert inst.question_scale == 10


def test_broken_file_names_file_and_field(tmp_path):
    shutil.copy(INSTRUMENTS / "eu-dma.yaml", tmp_path / "eu-dma.yaml")
    text = (tmp_path / "eu-dma.yaml").read_text(encoding="utf-8")
    (tmp_path / "eu-dma.yaml").write_text(text.replace("type: scale", "type: slider", 1), encoding="utf-8")
    (tmp_path / "bad.yaml").write_text("id: x\nversion: '1'\nname: {zh: x}\ndimensions: []\nlevels: []\n")
    with pytest.raises(Invalid) as exc:
        load_instruments(tmp_path)
    keys = " ".join(exc.value.fields)
    assert "eu-dma.yaml:dimensions.1.questions.1.type" in keys
    assert "bad.yaml" in keys


def test_a_dimension_cannot_be_all_not_applicable(tmp_path):
    (tmp_path / "x.yaml").write_text(
        """
id: x
version: "1"
name: {zh: 测试}
dimensions:
  - id: d
    name: {zh: 维度}
    questions:
      - {id: q, type: single, not_applicable: true, text: {zh: 问}, options: [
          {id: a, points: 0, label: {zh: 甲}}, {id: b, points: 1, label: {zh: 乙}}]}
levels: [{id: l0, name: {zh: 低}}]
""",
        encoding="utf-8",
    )
    with pytest.raises(Invalid) as exc:
        load_instruments(tmp_path)
    assert "cannot be n/a" in " ".join(exc.value.fields.values())


def test_unknown_instrument_is_not_found():
    from smeai.errors import NotFound

    with pytest.raises(NotFound):
        instruments.get_instrument("nope")


def test_recommendation_rules_name_real_questions_and_dimensions():
    from smeai.assessment import recommend

    current = instruments.current()
    for rule in recommend.rules():
        inst = current[rule.instrument]
        dims = {d.id for d in inst.dimensions}
        for c in rule.when:
            assert c.question is None or c.question in inst.questions, (rule.id, c.question)
            assert c.dimension is None or c.dimension in dims, (rule.id, c.dimension)
            assert not c.answer_in or all(inst.questions[c.question].option(o) for o in c.answer_in), rule.id
            assert not c.role_is or set(c.role_is) <= {r.id for r in inst.roles} | {"none"}, rule.id


def test_scenario_path_covers_every_taxonomy_scenario():
    from smeai.assessment import recommend

    assert set(recommend.scenario_path().scenarios) == set(taxonomy.load().scenarios)
