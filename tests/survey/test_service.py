"""Waves: import all or nothing, idempotent, error file; indicators and index with suppression."""

from __future__ import annotations

import csv
import io

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
        service.import_file(session, analyst, "2025", handmade.csv_text(drop=("ai_status",)).encode(), filename="s.csv")
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
    only_c = service.wave_indicators(session, analyst, "2025", filters=service.Filters(section="C"), small_cell_min=10)
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
    for actor, slices in (
        (analyst, (None, service.Filters(province="44"), service.Filters(section="C"))),
        (member, (None,)),
    ):
        for f in slices:
            ind, idx = service.wave_figures(session, actor, "2025", filters=f, small_cell_min=10)
            assert ind == service.wave_indicators(session, actor, "2025", filters=f, small_cell_min=10)
            assert idx == service.wave_index(session, actor, "2025", filters=f, small_cell_min=10)


def test_a_waves_figures_are_kept_until_its_next_import(session, monkeypatch):
    analyst = builders.analyst(session)
    service.import_file(session, analyst, "2025", handmade.csv_text().encode(), filename="s.csv")
    first = service.wave_indicators(session, analyst, "2025", small_cell_min=10)
    computed = []
    monkeypatch.setattr(service, "_compute_figures", lambda *a: computed.append(a) or ({}, {}))
    assert service.wave_indicators(session, analyst, "2025", small_cell_min=10) == first  # from the cache
    first["n_responses"] = -1  # a caller's change does not reach the cache
    assert service.wave_indicators(session, analyst, "2025", small_cell_min=10)["n_responses"] > 0
    assert computed == []
    more = [handmade._row("new-1", div="33"), handmade._row("new-2", section="A")]
    service.import_file(session, analyst, "2025", _csv(more), filename="more.csv")
    service.wave_indicators(session, analyst, "2025", small_cell_min=10)
    assert len(computed) == 1  # the import made a new version: computed again


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
            select(
                *(
                    getattr(SurveyResponse, c)
                    for c in ("response_id", "row_no", "submitted_at", "answers", *service.RESPONSE_COLUMNS)
                )
            )
            .where(SurveyResponse.wave_id == wave.id)
            .order_by(SurveyResponse.response_id)
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


# --- differencing: no two published figures subtract to fewer than k firms ----------------------------


def _csv(rows: list[dict[str, str]]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=handmade.header(), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows({c: r.get(c, "") for c in handmade.header()} for r in rows)
    return buf.getvalue().encode()


def _three_provinces() -> bytes:
    """Guangdong 12 manufacturers; Hainan 10 manufacturers and one builder (the firm to protect); Zhejiang 1."""
    row = handmade._row
    firms = [row(f"gd{i}", province="44", div="33", status="2" if i % 3 else "3") for i in range(12)]
    firms += [row(f"hn{i}", province="46", div="33", status="3") for i in range(10)]
    firms += [row("hn-builder", province="46", section="F", status="2")]
    firms += [row("zj", province="33", section="I", status="2")]
    return _csv(firms)


def test_the_differencing_pair_is_refused_to_all_but_analysts(session):
    """The probe: Hainan's figures with and without manufacturing differ by one firm, the builder."""
    analyst, member = builders.analyst(session), builders.enterprise(session)
    service.import_file(session, analyst, "2025", _three_provinces(), filename="s.csv")
    hainan, hainan_c = service.Filters(province="46"), service.Filters(province="46", section="C")
    # the analyst may see the builder's answer anyway: 11 and 10 firms, 1 planning and none
    one = service.wave_indicators(session, analyst, "2025", filters=hainan, small_cell_min=10)
    two = service.wave_indicators(session, analyst, "2025", filters=hainan_c, small_cell_min=10)
    assert (one["n_responses"], one["adoption"]["planned"], two["n_responses"], two["adoption"]["planned"]) == (
        11,
        9.09,
        10,
        0.0,
    )
    for f in (hainan, hainan_c, service.Filters(section="F"), service.Filters(group="K1")):
        for read in (service.wave_indicators, service.wave_index, service.wave_figures):
            with pytest.raises(Forbidden) as err:
                read(session, member, "2025", filters=f, small_cell_min=10)
            assert set(err.value.fields) == {k for k in ("province", "section", "group") if getattr(f, k)}


def test_a_total_minus_its_shown_parts_never_rests_on_a_few_firms(session):
    """Zhejiang's one firm is suppressed; so is Hainan (11 firms), or all minus Guangdong would be Zhejiang."""
    analyst, member = builders.analyst(session), builders.enterprise(session)
    service.import_file(session, analyst, "2025", _three_provinces(), filename="s.csv")
    ind, idx = service.wave_figures(session, member, "2025", small_cell_min=10)
    assert ind["n_responses"] == 24
    shown = {c["province_code"]: c["n"] for c in idx["by_province"]}
    assert shown == {"33": service.SUPPRESSED, "44": 12, "46": service.SUPPRESSED}
    # by group: K1 holds 22 of the 22 manufacturers; its province cells (12, 10) are a row of each province
    # whose other firms (Hainan's builder, 1) would be Hainan minus its cell: both stay hidden with Hainan
    cells = {(c["province_code"], c["group"]): c["n"] for c in idx["by_province_group"]}
    assert cells == {("44", "K1"): 12, ("46", "K1"): service.SUPPRESSED}


@pytest.mark.parametrize("seed", [3])
def test_secondary_suppression_leaves_no_small_remainder_in_a_synthetic_wave(session, seed):
    """Every published total minus its published parts: 0 or at least k firms (the analyst's counts as truth)."""
    analyst, member = builders.analyst(session), builders.enterprise(session)
    header, rows = synth.text_rows(synth.generate(400, seed))
    service.import_file(
        session, analyst, "w", "\n".join(",".join(r) for r in [header, *rows]).encode(), filename="s.csv"
    )
    k = 10
    truth_ind, truth = service.wave_figures(session, analyst, "w", small_cell_min=k)
    ind, shown = service.wave_figures(session, member, "w", small_cell_min=k)

    def rest(total: int, parts: dict, published: dict) -> int:
        return total - sum(n for key, n in parts.items() if published[key] != service.SUPPRESSED)

    def ok(n: int) -> bool:
        return n == 0 or n >= k

    n = truth_ind["n_responses"]
    prov = {c["province_code"]: c["n"] for c in truth["by_province"]}
    assert ok(rest(n, prov, {c["province_code"]: c["n"] for c in shown["by_province"]}))
    groups = {c["group"]: c["n"] for c in truth["by_group"]}
    mfg = round(truth_ind["manufacturing_share"] * n / 100)
    assert ok(rest(mfg, groups, {c["group"]: c["n"] for c in shown["by_group"]}))
    cells = {(c["province_code"], c["group"]): c["n"] for c in truth["by_province_group"]}
    published = {(c["province_code"], c["group"]): c["n"] for c in shown["by_province_group"]}
    for p, total in prov.items():
        if {c["province_code"]: c["n"] for c in shown["by_province"]}[p] != service.SUPPRESSED:
            assert ok(rest(total, {key: m for key, m in cells.items() if key[0] == p}, published)), p
    for g, total in groups.items():
        if {c["group"]: c["n"] for c in shown["by_group"]}[g] != service.SUPPRESSED:
            assert ok(rest(total, {key: m for key, m in cells.items() if key[1] == g}, published)), g
    assert any(v == service.SUPPRESSED for v in published.values())
    assert any(c["n"] != service.SUPPRESSED for c in shown["by_province"])  # not everything is hidden
    # a suppressed band hides all its numbers; no number of a small band is shown anywhere
    for key in ("adoption_by_age", "adoption_by_revenue"):
        hidden = [b for b, v in ind[key].items() if v["adopted"] == service.SUPPRESSED]
        assert len(hidden) != 1  # a single hidden band is the total minus the others


def test_a_hidden_cell_that_rows_and_columns_pin_down_alone_gets_company(session):
    """Two blocks of hidden province × group cells joined by one cell of one firm (k = 3): every row and
    column hides 4 or 5 firms, yet rows 11 + 12 minus groups L1 + L5 is exactly the joining firm."""
    analyst, member = builders.analyst(session), builders.enterprise(session)
    row = handmade._row
    firms, n = [], 0
    for provinces, divisions in ((("11", "12"), ("19", "17")), (("13", "14"), ("36", "27"))):  # L1 L5 | T1 T3
        for p in provinces:
            for d in divisions:
                for _ in range(2):
                    n += 1
                    firms.append(row(f"f{n}", province=p, div=d, status="3"))
    firms.append(row("joiner", province="11", div="36", status="2"))  # 11 × T1: the bridge
    service.import_file(session, analyst, "2025", _csv(firms), filename="s.csv")
    _ind, idx = service.wave_figures(session, member, "2025", small_cell_min=3)
    shown = {c["province_code"]: c["n"] for c in idx["by_province"]}
    groups = {c["group"]: c["n"] for c in idx["by_group"]}
    assert groups == {"L1": 4, "L5": 4, "T1": 5, "T3": 4}
    hidden = sorted(p for p, m in shown.items() if m == service.SUPPRESSED)
    # one province of each block joins the hidden ones: rows minus columns no longer isolate the joiner
    assert len(hidden) == 2 and {"11", "12"} & set(hidden) and {"13", "14"} & set(hidden)


def test_values_beyond_the_database_columns_are_rejected_rows_on_every_backend(session):
    analyst = builders.analyst(session)
    row = handmade._row
    firms = [
        row("ok", status="3", div="33"),
        row("city", div="33", city="市" * 61),
        row("staff", div="33", employees="99999999999"),
        row("r" * 101, div="33"),
    ]
    out = service.import_file(session, analyst, "2025", _csv(firms), filename="s.csv")
    session.flush()
    assert (out.record.n_inserted, out.record.n_rejected) == (1, 3)
    assert {(r.row, r.column, r.rule) for r in out.reasons} == {
        (3, "city", "too_long"),
        (4, "employees", "out_of_range"),
        (5, "response_id", "too_long"),
    }
