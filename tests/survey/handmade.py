"""A small survey whose indicators were worked out by hand, with one invalid row of every kind.

Valid rows (survey year 2025): age, revenue band, intensity and the rest are written next to each.
"""

from __future__ import annotations

import csv
import io

from smeai.survey.codebook import COLUMNS

LINKS = ("rnd", "production", "supply_chain", "sales", "service", "management")


def _row(
    rid,
    *,
    section="C",
    div="",
    founded="2020",
    rev="1000",
    status="3",
    inv="",
    stage="",
    links="",
    pilot="0",
    province="44",
    submitted="2025-03-10 09:00:00",
    **extra,
) -> dict[str, str]:
    row = {
        "response_id": rid,
        "submitted_at": submitted,
        "province_code": province,
        "city": "佛山市",
        "pilot_batch": pilot,
        "industry_section": section,
        "mfg_division": div,
        "founded_year": founded,
        "employees": "50",
        "revenue_wan": rev,
        "ai_status": status,
        "ai_investment_wan": inv,
        "ai_stage": stage,
    }
    used = links.split() if links else []
    for link in LINKS:
        row[f"link_{link}"] = ("1" if link in used else "0") if status == "1" or links == "zeros" else ""
    row.update(extra)
    return row


VALID = [
    # technology (T1), age 3 -> 0-5, 0-2 亿, intensity 0.5 -> 0.4-0.8, <=100, non-pilot
    _row("r1", div="36", founded="2022", rev="10000", status="1", inv="50", stage="1", links="rnd production"),
    # labour (L1), age 7 -> 5-10, 2-4, intensity 100*400/25000 = 1.6 exactly -> >=1.6, batch 1
    _row(
        "r2",
        div="19",
        founded="2018",
        rev="25000",
        status="1",
        inv="400",
        stage="2",
        links="supply_chain sales",
        pilot="1",
    ),
    # capital (K1), age 20 -> 20+, revenue 80000 -> 8+, intensity 1.25, investment 1000 -> 500-1000, batch 2
    _row(
        "r3",
        div="33",
        founded="2005",
        rev="80000",
        status="1",
        inv="1000",
        stage="3",
        links="production management",
        pilot="2",
    ),
    # technology (T4), age 10 -> 10-20, revenue 20000 -> 2-4, planned
    _row("r4", div="38", founded="2015", rev="20000", status="2"),
    # section F, age 5 -> 5-10, revenue 0 (no intensity), adopter investing 0, stage 4, batch 1
    _row("r5", section="F", founded="2020", rev="0", status="1", inv="0", stage="4", links="", pilot="1"),
    # labour (L5), age 35 -> 20+, " 5000 " is 5000, no plan, links written as 0, batch 3
    _row("r6", div="17", founded="1990", rev=" 5000 ", status="3", links="zeros", pilot="3"),
    # section I, age 1 -> 0-5, planned
    _row("r7", section="I", founded="2024", rev="100", status="2"),
    # technology (T3), age 13 -> 10-20, 4-6, intensity 0.2222 -> 0-0.4, investment 100 -> <=100, batch 2, ISO time
    _row(
        "r8",
        div="27",
        founded="2012",
        rev="45000",
        status="1",
        inv="100",
        stage="2",
        links="rnd",
        pilot="2",
        submitted="2025-04-01T09:30:00+08:00",
    ),
]

# (row, every (column, rule) it breaks); rows follow the valid ones, so row numbers start at 10
INVALID = [
    (_row("", div="33"), [("response_id", "required")]),
    (_row("i2", div="33", submitted="2025/13/01"), [("submitted_at", "not_datetime")]),
    (_row("i3", div="33", province="1"), [("province_code", "not_allowed")]),
    (_row("i4", div="33", pilot=""), [("pilot_batch", "required")]),
    (_row("i5", section="c", div="33"), [("industry_section", "not_allowed")]),
    (_row("i6", section="F", div="33"), [("mfg_division", "division_for_other_section")]),
    (_row("i7", section="C", div=""), [("mfg_division", "division_missing")]),
    (_row("i8", div="33", founded="abc"), [("founded_year", "not_integer")]),
    (_row("i9", div="33", rev="12万"), [("revenue_wan", "not_number")]),
    (_row("i10", div="33", status="0"), [("ai_status", "not_allowed")]),
    (_row("i11", div="33", status="2", inv="30"), [("ai_investment_wan", "adopter_only")]),
    (_row("i12", div="33", status="3", link_rnd="1"), [("link_rnd", "adopter_only")]),
    (_row("i13", div="33", status="1", inv="5", stage="", links="rnd"), [("ai_stage", "adopter_missing")]),
    (_row("i14", div="33", founded="2026"), [("founded_year", "founded_after_survey")]),
    (_row("r1", div="33"), [("response_id", "duplicate_id")]),
    (_row("i16", div="33", employees="-3"), [("employees", "out_of_range")]),
    (
        _row("i17", div="33", model_type="7", scn_quality_inspection="yes"),
        [("scn_quality_inspection", "not_integer"), ("model_type", "not_allowed")],
    ),
    (_row("i18", div="12"), [("mfg_division", "out_of_range")]),
    (_row("i8", div="33"), [("response_id", "duplicate_id")]),  # the earlier i8 was itself rejected
    (
        _row("i20", div="33", rev="1,000", status="2", stage="3", founded="2030"),
        [("revenue_wan", "not_number"), ("ai_stage", "adopter_only"), ("founded_year", "founded_after_survey")],
    ),
]

EXPECTED = {
    "n_responses": 8,
    "n_rejected": 20,
    "manufacturing_share": 75.0,
    "revenue_band_shares": {"0-2": 50.0, "2-4": 25.0, "4-6": 12.5, "6-8": 0.0, "8+": 12.5},
    "adoption": {"adopted": 62.5, "planned": 25.0, "none": 12.5},
    "adoption_by_age": {
        "0-5": {"adopted": 50.0, "planned": 50.0, "none": 0.0},
        "5-10": {"adopted": 100.0, "planned": 0.0, "none": 0.0},
        "10-20": {"adopted": 50.0, "planned": 50.0, "none": 0.0},
        "20+": {"adopted": 50.0, "planned": 0.0, "none": 50.0},
    },
    "adoption_by_revenue": {
        "0-2": {"adopted": 50.0, "planned": 25.0, "none": 25.0},
        "2-4": {"adopted": 50.0, "planned": 50.0, "none": 0.0},
        "4-6": {"adopted": 100.0, "planned": 0.0, "none": 0.0},
        "6-8": {"adopted": None, "planned": None, "none": None},
        "8+": {"adopted": 100.0, "planned": 0.0, "none": 0.0},
    },
    "investment_bands": {"<=100": 60.0, "100-500": 20.0, "500-1000": 20.0, ">1000": 0.0},
    "intensity_bucket_counts": {"0-0.4": 1, "0.4-0.8": 1, "0.8-1.2": 0, "1.2-1.6": 1, ">=1.6": 1},
    "mean_intensity_by_age": {"0-5": 0.5, "5-10": 1.6, "10-20": 0.22, "20+": 1.25},
    "stage_shares": {"exploring": 20.0, "piloting": 40.0, "scaling": 20.0, "embedded": 20.0},
    "link_usage_by_class": {
        "labor": {
            "rnd": 0.0,
            "production": 0.0,
            "supply_chain": 50.0,
            "sales": 50.0,
            "service": 0.0,
            "management": 0.0,
        },
        "capital": {
            "rnd": 0.0,
            "production": 100.0,
            "supply_chain": 0.0,
            "sales": 0.0,
            "service": 0.0,
            "management": 100.0,
        },
        "technology": {
            "rnd": 66.67,
            "production": 33.33,
            "supply_chain": 0.0,
            "sales": 0.0,
            "service": 0.0,
            "management": 0.0,
        },
    },
    "link_usage_by_group": {
        code: dict.fromkeys(LINKS, None)
        for code in (
            "L1",
            "L2",
            "L3",
            "L4",
            "L5",
            "T1",
            "T2",
            "T3",
            "T4",
            "T5",
            "T6",
            "K1",
            "K2",
            "K3",
            "K4",
            "K5",
            "K6",
            "K7",
        )
    }
    | {
        "L1": {"rnd": 0.0, "production": 0.0, "supply_chain": 100.0, "sales": 100.0, "service": 0.0, "management": 0.0},
        "L5": dict.fromkeys(LINKS, 0.0),
        "K1": {"rnd": 0.0, "production": 100.0, "supply_chain": 0.0, "sales": 0.0, "service": 0.0, "management": 100.0},
        "T1": {"rnd": 100.0, "production": 100.0, "supply_chain": 0.0, "sales": 0.0, "service": 0.0, "management": 0.0},
        "T3": {"rnd": 100.0, "production": 0.0, "supply_chain": 0.0, "sales": 0.0, "service": 0.0, "management": 0.0},
        "T4": dict.fromkeys(LINKS, 0.0),
    },
    "pilot_investment_uplift": 650.0,  # pilot mean 1500/4 = 375 vs non-pilot 50
    "batch2_vs_batch1_uplift": 175.0,  # batch 2 mean 1100/2 = 550 vs batch 1 400/2 = 200
}


def header() -> list[str]:
    return [c.name for c in COLUMNS if c.name in VALID[0] or c.name.startswith(("scn_", "model_type"))]


def rows() -> list[dict[str, str]]:
    return VALID + [r for r, _ in INVALID]


def csv_text(*, bom: bool = False, drop: tuple[str, ...] = ()) -> str:
    cols = [c for c in header() if c not in drop][::-1]  # column order is free: write them reversed
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=[*cols, "remarks"], lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for r in rows():
        writer.writerow({**{c: r.get(c, "") for c in cols}, "remarks": "unknown columns are ignored"})
    return ("\ufeff" if bom else "") + buf.getvalue()


def expected_reasons() -> set[tuple[int, str, str]]:
    first = len(VALID) + 2
    return {(first + i, col, rule) for i, (_, reasons) in enumerate(INVALID) for col, rule in reasons}


def with_sheet(xlsx: bytes, edit) -> bytes:
    """The same workbook with its first sheet's XML changed by `edit` (to make what Excel would not)."""
    import zipfile

    src, out = zipfile.ZipFile(io.BytesIO(xlsx)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info.filename, edit(data.decode()).encode() if info.filename.endswith("sheet1.xml") else data)
    return out.getvalue()


def broken_xlsx() -> bytes:
    """The handmade file as a workbook whose sheet ends in the middle of row 5 (openpyxl reads rows 1-4)."""
    import re

    from openpyxl import Workbook

    book = Workbook()
    for row in csv.reader(io.StringIO(csv_text())):
        book.active.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return with_sheet(buf.getvalue(), lambda xml: xml[: re.search(r'<row r="5"', xml).start() + 30])
