"""The indicator and index expressions run unchanged on PySpark (local mode): the scale-out path."""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest

from smeai.survey import index, indicators, synth
from tests.survey import reference


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("smeai-survey-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.mark.slow
def test_the_same_expressions_give_the_same_figures_on_pyspark(spark):
    frame = synth.generate(2000, 12)
    arrow = pa.Table.from_pandas(frame, preserve_index=False).select(list(indicators.ARROW_COLUMNS))
    arrow = arrow.cast(indicators.schema().to_pyarrow())
    spark.createDataFrame(arrow).createOrReplaceTempView("responses")
    table = ibis.pyspark.connect(spark).table("responses")
    assert table.get_backend().name == "pyspark"
    on_spark = indicators.compute(table)
    assert on_spark == reference.compute(frame)
    assert on_spark == indicators.compute_arrow(arrow)
    by_group = index.cells(table, ("group",)).to_pyarrow().to_pylist()  # one of the index's cuts
    assert (
        index._shape({"by_province": [], "by_province_group": [], "by_group": by_group})["by_group"]
        == (index.compute_arrow(arrow)["by_group"])
    )
