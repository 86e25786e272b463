"""Chapter 4's figures as tables: one definition for the dashboard, the PDF and the .xlsx report.

Each figure is a title, column headers, rows (a label and its values) and the chart kind that
draws it. Values come from the (possibly suppressed) indicators JSON, so a suppressed cell stays
"suppressed" everywhere it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from smeai import taxonomy
from smeai.i18n import N_, _
from smeai.survey.index import definition
from smeai.survey.indicators import AGE_BANDS, CLASSES, INTENSITY_BUCKETS, INVESTMENT_BANDS, REVENUE_BANDS

STATUS_LABELS = {"adopted": N_("Applying AI"), "planned": N_("Planning within two years"), "none": N_("No plan")}
STAGE_KEYS = ("exploring", "piloting", "scaling", "embedded")
LINK_KEYS = ("rnd", "production", "supply_chain", "sales", "service", "management")


@dataclass
class Figure:
    key: str
    title: str
    columns: list[str]
    rows: list[tuple[str, list[Any]]]
    chart: str  # stacked, bar, grouped, heatmap, hbar
    unit: str = "%"
    note: str = ""
    series: list[str] = field(default_factory=list)  # column keys behind `columns`
    counts: list[list[Any]] | None = None  # firms behind each cell (a heatmap's tooltip), like `rows`' values
    column_names: list[str] = field(default_factory=list)  # long names of short `columns` (tooltips)


def _age(b: str) -> str:
    return _("{band} years").format(band=b)


def _rev(b: str) -> str:
    return _("{band} hundred million yuan").format(band=b)


def _stage(key: str) -> str:
    code = STAGE_KEYS.index(key) + 1
    return taxonomy.name("stages", str(code))


def build(ind: dict[str, Any], idx: dict[str, list[dict[str, Any]]] | None = None) -> list[Figure]:
    statuses = [_(v) for v in STATUS_LABELS.values()]
    links = [taxonomy.name("links", k) for k in LINK_KEYS]
    figs = [
        Figure(
            "adoption_by_age",
            _("AI adoption by firm age"),
            statuses,
            [(_age(b), [ind["adoption_by_age"][b][k] for k in STATUS_LABELS]) for b in AGE_BANDS],
            "stacked",
            series=list(STATUS_LABELS),
        ),
        Figure(
            "adoption_by_revenue",
            _("AI adoption by annual revenue"),
            statuses,
            [(_rev(b), [ind["adoption_by_revenue"][b][k] for k in STATUS_LABELS]) for b in REVENUE_BANDS],
            "stacked",
            series=list(STATUS_LABELS),
        ),
        Figure(
            "investment_bands",
            _("AI investment of adopters (10,000 yuan a year)"),
            [_("Share of adopters")],
            [(b, [ind["investment_bands"][b]]) for b in INVESTMENT_BANDS],
            "bar",
        ),
        Figure(
            "intensity",
            _("Figure 3: AI investment intensity (AI investment / revenue)"),
            [_("Firms")],
            [(f"{b}%", [ind["intensity_bucket_counts"][b]]) for b in INTENSITY_BUCKETS],
            "bar",
            unit="",
        ),
        Figure(
            "intensity_by_age",
            _("Mean AI investment intensity by firm age"),
            [_("Mean intensity (%)")],
            [(_age(b), [ind["mean_intensity_by_age"][b]]) for b in AGE_BANDS],
            "bar",
            unit="",
        ),
        Figure(
            "stages",
            _("Stage of AI application among adopters"),
            [_("Share of adopters")],
            [(_stage(k), [ind["stage_shares"][k]]) for k in STAGE_KEYS],
            "bar",
        ),
        Figure(
            "links_by_class",
            _("Figure 4: AI use by business link and intensity class"),
            [taxonomy.name("intensity_classes", c) for c in CLASSES],
            [(links[i], [ind["link_usage_by_class"][c][k] for c in CLASSES]) for i, k in enumerate(LINK_KEYS)],
            "grouped",
            series=list(CLASSES),
        ),
        Figure(
            "pilot",
            _("Pilot cities: mean AI investment of adopters"),
            [_("Difference (%)")],
            [
                (_("Pilot cities vs other cities"), [ind["pilot_investment_uplift"]]),
                (_("Batch 2 vs batch 1"), [ind["batch2_vs_batch1_uplift"]]),
            ],
            "bar",
            unit="",
        ),
        Figure(
            "links_by_group",
            _("Figure 5: AI use by manufacturing group and business link"),
            links,
            [
                (taxonomy.name("groups", g), [ind["link_usage_by_group"][g][k] for k in LINK_KEYS])
                for g in ind["link_usage_by_group"]
            ],
            "heatmap",
            series=list(LINK_KEYS),
        ),
    ]
    if idx is not None:
        rows = sorted(idx["by_province"], key=lambda r: (isinstance(r["index"], str), -_num(r["index"])))
        comps = ["reach", "depth", "breadth", "commitment"]

        names = {c.code: c.label for c in definition().components}
        figs.append(
            Figure(
                "index_by_province",
                _("AI application index by province"),
                [_("Index"), *[names[c] for c in comps], _("Firms")],
                [
                    (
                        taxonomy.name("provinces", r["province_code"]),
                        [r["index"], *[r["components"][c] for c in comps], r["n"]],
                    )
                    for r in rows
                ],
                "hbar",
                unit="",
            )
        )
        rows = sorted(idx["by_group"], key=lambda r: (isinstance(r["index"], str), -_num(r["index"])))
        figs.append(
            Figure(
                "index_by_group",
                _("AI application index by manufacturing group"),
                [_("Index"), *[names[c] for c in comps], _("Firms")],
                [
                    (
                        taxonomy.name("groups", r["group"]),  # a name, never the code (L1..K7)
                        [r["index"], *[r["components"][c] for c in comps], r["n"]],
                    )
                    for r in rows
                ],
                "hbar",
                unit="",
            )
        )
        if idx.get("by_province_group"):
            figs.append(_province_group(idx["by_province_group"]))
    return figs


def _province_group(cells: list[dict[str, Any]]) -> Figure:
    """The index by province (rows) and manufacturing group (columns); a cell without firms has no number."""
    by = {(c["province_code"], c["group"]): c for c in cells}
    provinces = [p for p, _name in taxonomy.choices("provinces") if any(k[0] == p for k in by)]
    groups = [g for g, _name in taxonomy.choices("groups") if any(k[1] == g for k in by)]
    values = [[by[(p, g)]["index"] if (p, g) in by else None for g in groups] for p in provinces]
    counts = [[by[(p, g)]["n"] if (p, g) in by else None for g in groups] for p in provinces]
    return Figure(
        "index_by_province_group",
        _("AI application index by province and manufacturing group"),
        [taxonomy.name("groups", g) for g in groups],  # names on the axis, never the codes L1..K7
        [(taxonomy.name("provinces", p), v) for p, v in zip(provinces, values, strict=True)],
        "heatmap",
        unit="",
        series=groups,
        counts=counts,
    )


def _num(v: Any) -> float:
    return float(v) if isinstance(v, int | float) else 0.0


def cell(v: Any) -> str:
    """A value as printed in a table: "—" for no number, "*" for a suppressed cell."""
    if v is None:
        return "—"
    if isinstance(v, str):
        return "*"
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def is_suppressed(v: Any) -> bool:
    return isinstance(v, str)


def chart_value(v: Any) -> float | None:
    return v if isinstance(v, int | float) and not isinstance(v, bool) else None
