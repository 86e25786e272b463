"""indicators.md on a file worked out by hand; the Ibis and pandas implementations agree."""

from __future__ import annotations

import json

import ibis
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from smeai.cli import app
from smeai.survey import analysis, codebook, indicators, synth
from tests.survey import handmade, reference


def test_indicators_of_the_handmade_file_are_the_hand_computed_ones():
    result, _ = analysis.file_indicators(handmade.csv_text().encode(), filename="s.csv")
    assert result == handmade.EXPECTED
    assert list(result) == list(handmade.EXPECTED)  # the keys in the documented order


def test_cli_prints_exactly_the_indicators_json(tmp_path):
    path = tmp_path / "survey.csv"
    path.write_text(handmade.csv_text(bom=True), encoding="utf-8")
    out = CliRunner().invoke(app, ["survey", "indicators", str(path), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == handmade.EXPECTED


def test_the_pandas_reference_agrees_on_the_handmade_file():
    v = analysis.validate_file(handmade.csv_text().encode(), filename="s.csv")
    frame = codebook.to_arrow(v.columns).to_pandas()
    assert reference.compute(frame, n_rejected=v.n_rejected) == handmade.EXPECTED


@pytest.mark.parametrize("seed", [3, 11])
def test_ibis_and_pandas_agree_on_a_synthetic_survey(seed):
    frame = synth.generate(2000, seed)
    import ibis

    by_ibis = indicators.compute(ibis.memtable(frame))
    assert by_ibis == reference.compute(frame)
    arrow = pa.Table.from_pandas(frame, preserve_index=False).select(list(indicators.ARROW_COLUMNS))
    assert indicators.compute_arrow(arrow.cast(indicators.schema().to_pyarrow())) == by_ibis


def test_an_empty_survey_has_nulls_not_errors():
    v = analysis.validate_file((",".join(codebook.REQUIRED_COLUMNS) + "\n").encode(), filename="s.csv")
    result = indicators.compute(analysis.table(v))
    assert result["n_responses"] == 0
    assert result["manufacturing_share"] is None
    assert result["intensity_bucket_counts"] == dict.fromkeys(indicators.INTENSITY_BUCKETS, 0)
    assert result["pilot_investment_uplift"] is None


def test_percentages_round_half_up():
    assert indicators.pct(1, 8) == 12.5
    assert indicators.pct(1, 3) == 33.33
    assert indicators.pct(2, 3) == 66.67
    assert indicators.pct(1, 200) == 0.5
    assert indicators.pct(1, 16) == 6.25  # 6.25 exactly: no rounding
    assert indicators.pct(1, 1600) == 0.06  # 0.0625 -> 0.06
    assert indicators.pct(1, 0) is None
    assert indicators.round2(2.675) == 2.68  # half-up on the decimal written, not the binary float


def test_one_firms_revenue_band_is_the_band_derive_gives():
    values = [0.0, 19999.99, 20000.0, 39999.0, 40000.0, 60000.0, 79999.5, 80000.0, 1e9]
    t = ibis.memtable({"revenue_wan": values})
    derived = indicators._bands(t.revenue_wan, indicators.REVENUE_EDGES, indicators.REVENUE_BANDS)
    bands = t.mutate(band=derived).to_pyarrow().column("band").to_pylist()
    assert bands == [indicators.revenue_band(v) for v in values]
    assert bands == ["0-2", "0-2", "2-4", "2-4", "4-6", "6-8", "6-8", "8+", "8+"]
    assert indicators.revenue_band(None) is None


def test_the_compiled_sql_in_the_package_is_what_ibis_compiles_now():
    # after changing the expressions: python -m smeai.survey.indicators
    assert indicators.duckdb_sql() == indicators.compile_duckdb()


def test_the_figures_assemble_alike_from_pandas_frames_and_from_rows():
    frame = synth.generate(1500, 5)
    arrow = pa.Table.from_pandas(frame, preserve_index=False).select(list(indicators.ARROW_COLUMNS))
    rows = indicators.execute_arrow(arrow.cast(indicators.schema().to_pyarrow()))
    frames = {name: pa.Table.from_pylist(r).to_pandas() if r else None for name, r in rows.items()}
    assert all(f is not None for f in frames.values())
    assert indicators.assemble(frames, n_rejected=2) == indicators.assemble(rows, n_rejected=2)
