"""Waves: import all or nothing, idempotent, error file; indicators and index with suppression."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from smeai.errors import Forbidden, NotFound
from smeai.survey import service, synth, wjx
from smeai.survey.codebook import MissingColumns
from smeai.survey.models import SurveyImport, SurveyResponse
from tests import builders
from tests.survey import handmade


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(SurveyResponse))


def test_import_keeps_valid_rows_and_reports_every_reason(session):
    analyst = builders.analyst(session)
    out = service.import_file(session, analyst, "2025", handmade.csv_text().encode(), filename="s.csv")
    assert (out.record.n_inserted, out.record.n_rejected) == (8, 20)
    assert {(r.row, r.column, r.rule) for r in out.reasons} == handmade.expected_reasons()
    assert out.record.errors_csv.count("\n") == 1 + len(handmade.expected_reasons())
    session.expunge_all()
    result = service.wave_indicators(session, analyst, "2025", small_cell_min=10)
    assert result == handmade.EXPECTED


def test_the_same_file_twice_adds_nothing(session):
    analyst = builders.analyst(session)
    data = handmade.csv_text().encode()
    service.import_file(session, analyst, "2025", data, filename="s.csv")
    again = service.import_file(session, analyst, "2025", data, filename="s.csv")
    assert again.already_imported
    assert _count(session) == 8
    assert session.scalar(select(func.count()).select_from(SurveyImport)) == 1
    # the same answers in another file: counted as already there, not duplicated
    other = service.import_file(session, analyst, "2025", handmade.csv_text(bom=True).encode(), filename="t.csv")
    assert (other.record.n_inserted, other.record.n_existing) == (0, 8)
    assert _count(session) == 8


def test_waves_coexist(session):
    analyst = builders.analyst(session)
    service.import_file(session, analyst, "2025", handmade.csv_text().encode(), filename="s.csv")
    service.import_file(session, analyst, "2026", handmade.csv_text().encode(), filename="s.csv")
    assert [(w.code, n) for w, n in service.list_waves(session, analyst)] == [("2025", 8), ("2026", 8)]


def test_a_file_missing_a_required_column_loads_nothing(session):
    analyst = builders.analyst(session)
    with pytest.raises(MissingColumns):
        service.import_file(session, analyst, "2025", handmade.csv_text(drop=("ai_status",)).encode(),
                            filename="s.csv")
    session.rollback()
    assert _count(session) == 0


def test_a_failure_midway_leaves_the_database_as_it_was(session, monkeypatch):
    analyst = builders.analyst(session)
    service.import_file(session, analyst, "2025", handmade.csv_text().encode(), filename="s.csv")
    session.commit()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "_response_records", broken)
    data = synth.text_rows(synth.generate(50, 1))
    text = "\n".join(",".join(r) for r in [data[0], *data[1]])
    with pytest.raises(RuntimeError):
        service.import_file(session, analyst, "2025", text.encode(), filename="new.csv")
    session.rollback()
    assert _count(session) == 8
    assert session.scalar(select(func.count()).select_from(SurveyImport)) == 1


def test_only_importers_import_and_read_error_files(session):
    member = builders.enterprise(session)
    with pytest.raises(Forbidden):
        service.import_file(session, member, "2025", handmade.csv_text().encode(), filename="s.csv")
    analyst = builders.analyst(session)
    out = service.import_file(session, analyst, "2025", handmade.csv_text().encode(), filename="s.csv")
    with pytest.raises(Forbidden):
        service.get_import(session, member, out.record.id)
    with pytest.raises(NotFound):
        service.get_import(session, analyst, 999999)


def test_small_cells_are_suppressed_for_everyone_but_analysts(session):
    analyst, member = builders.analyst(session), builders.enterprise(session)
    service.import_file(session, analyst, "2025", handmade.csv_text().encode(), filename="s.csv")
    published = service.wave_indicators(session, member, "2025", small_cell_min=5)
    assert published["n_responses"] == 8  # 8 firms >= 5
    assert published["adoption"]["adopted"] == 62.5
    assert published["adoption_by_age"]["0-5"]["adopted"] == service.SUPPRESSED  # 2 firms
    assert published["intensity_bucket_counts"]["0-0.4"] == service.SUPPRESSED  # 1 firm
    assert published["intensity_bucket_counts"]["0.8-1.2"] == 0  # no firm: nothing to hide
    assert published["adoption_by_revenue"]["6-8"]["adopted"] is None  # no firm: no number at all
    numbers = service.wave_indicators(session, analyst, "2025", small_cell_min=5)
    assert numbers == handmade.EXPECTED


def test_filters_slice_the_wave(session):
    analyst = builders.analyst(session)
    service.import_file(session, analyst, "2025", handmade.csv_text().encode(), filename="s.csv")
    only_c = service.wave_indicators(session, analyst, "2025", filters=service.Filters(section="C"),
                                     small_cell_min=10)
    assert (only_c["n_responses"], only_c["manufacturing_share"]) == (6, 100.0)
    t1 = service.wave_indicators(session, analyst, "2025", filters=service.Filters(group="T1"), small_cell_min=10)
    assert t1["n_responses"] == 1


def test_index_cells_carry_firm_counts_and_are_suppressed_when_small(session):
    analyst, member = builders.analyst(session), builders.enterprise(session)
    service.import_file(session, analyst, "2025", handmade.csv_text().encode(), filename="s.csv")
    idx = service.wave_index(session, analyst, "2025", small_cell_min=10)
    guangdong = idx["by_province"][0]
    assert (guangdong["province_code"], guangdong["n"]) == ("44", 8)
    # reach 62.5 + 25/2; depth: r3, r5 at stage 3-4 -> 2/8; breadth: 7 links of 6 x 8;
    # commitment: r2 (1.6 %) and r3 (1.25 %) invest >= 0.8 % of revenue -> 2/8
    assert guangdong["components"] == {"reach": 75.0, "depth": 25.0, "breadth": 14.58, "commitment": 25.0}
    assert guangdong["index"] == 42.4  # 0.40 x 75 + 0.20 x 25 + 0.25 x 14.583 + 0.15 x 25
    hidden = service.wave_index(session, member, "2025", small_cell_min=10)["by_province"][0]
    assert hidden["index"] == service.SUPPRESSED and hidden["n"] == service.SUPPRESSED


def test_wave_figures_are_the_indicators_and_the_index_from_one_read(session):
    analyst, member = builders.analyst(session), builders.enterprise(session)
    service.import_file(session, analyst, "2025", handmade.csv_text().encode(), filename="s.csv")
    for actor in (analyst, member):
        for f in (None, service.Filters(province="44"), service.Filters(section="C")):
            ind, idx = service.wave_figures(session, actor, "2025", filters=f, small_cell_min=10)
            assert ind == service.wave_indicators(session, actor, "2025", filters=f, small_cell_min=10)
            assert idx == service.wave_index(session, actor, "2025", filters=f, small_cell_min=10)


def test_wjx_coded_and_text_exports_import_to_the_same_rows(session):
    analyst = builders.analyst(session)
    header, rows = synth.text_rows(synth.generate(120, 4))
    results = []
    for code, layout, opt in (("coded", "wjx_coded", "第{no}题({text})"), ("text", "wjx_text", "{no}({text})")):
        wh, wr = wjx.from_canonical(header, rows, layout=layout, option_header=opt)
        text = "\n".join(",".join(f'"{c}"' for c in r) for r in [wh, *wr])
        out = service.import_file(session, analyst, code, text.encode(), filename=f"{code}.csv")
        assert (out.record.layout, out.record.n_inserted, out.unmapped) == (layout, 120, [])
        wave = service.get_wave(session, analyst, code)
        stored = session.execute(
            select(*(getattr(SurveyResponse, c) for c in ("response_id", "row_no", "submitted_at", "answers",
                                                           *service.RESPONSE_COLUMNS)))
            .where(SurveyResponse.wave_id == wave.id).order_by(SurveyResponse.response_id)
        ).all()
        results.append([tuple(r) for r in stored])
    assert results[0] == results[1]


def test_a_wjx_file_whose_key_question_is_unmapped_is_refused_naming_the_header(session):
    analyst = builders.analyst(session)
    header, rows = synth.text_rows(synth.generate(20, 4))
    wh, wr = wjx.from_canonical(header, rows, layout="wjx_text")
    wh = [h.replace("应用人工智能（AI）的情况", "用AI了吗") for h in wh]
    text = "\n".join(",".join(f'"{c}"' for c in r) for r in [wh, *wr])
    with pytest.raises(MissingColumns) as err:
        service.import_file(session, analyst, "2025", text.encode(), filename="wjx.csv")
    assert err.value.fields["ai_status"] == "missing column"
    assert err.value.fields["9、贵企业在生产经营中用AI了吗"] == "not in the questionnaire mapping"
