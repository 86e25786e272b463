"""/survey pages: the dashboard with its filters, the import form, the report downloads."""

from __future__ import annotations

import io

from bs4 import BeautifulSoup
from openpyxl import load_workbook

from tests import builders
from tests.survey import handmade, uploading


def _import(session, client):
    res = client.post(
        "/survey/import",
        data={"wave": "2025", "name": "2025 调查", "csrf_token": client.csrf},
        files={"file": ("s.csv", handmade.csv_text().encode(), "text/csv")},
    )
    return uploading.wait(client, res)


def test_analyst_imports_through_the_form_and_sees_every_reason(session, page_client_for):
    web = page_client_for(builders.analyst(session))
    res = _import(session, web)
    assert res.status_code == 200, res.text
    soup = BeautifulSoup(res.text, "html.parser")
    assert len(soup.select("#reasons tr")) == 1 + len(handmade.expected_reasons())
    assert soup.select_one("a[href$='errors.csv']") is not None


def test_dashboard_shows_the_figures_and_filters_by_htmx(session, page_client_for):
    web = page_client_for(builders.analyst(session))
    _import(session, web)
    page = web.get("/survey")
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.select_one("#kpi-n").text == "8"
    assert soup.select_one("#kpi-adopted").text.startswith("62.50")
    assert soup.select_one("#fig-links_by_group") is not None and soup.select_one("#fig-index_by_province")
    fragment = web.get("/survey?wave=2025&section=C", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text
    assert BeautifulSoup(fragment.text, "html.parser").select_one("#kpi-n").text == "6"


def test_filters_name_sections_and_groups_without_their_codes(session, page_client_for):
    web = page_client_for(builders.analyst(session))
    _import(session, web)
    soup = BeautifulSoup(web.get("/survey?lang=zh_Hans").text, "html.parser")
    groups = [o.get_text(strip=True) for o in soup.select("#f-group option") if o.get("value")]
    assert "金属制品业" in groups and not any(g.startswith(("K1", "T6", "L4")) for g in groups)
    sections = {o["value"]: o.get_text(strip=True) for o in soup.select("#f-section option") if o.get("value")}
    assert sections["C"] == "制造业"


def test_enterprise_dashboard_shows_small_cells_as_suppressed(session, page_client_for):
    _import(session, page_client_for(builders.analyst(session)))
    web = page_client_for(builders.enterprise(session))
    soup = BeautifulSoup(web.get("/survey").text, "html.parser")
    assert soup.select_one("#kpi-n").text == "*"  # 8 firms < 10
    assert web.get("/survey/import").status_code == 403


def test_report_downloads_are_a_pdf_and_a_workbook_with_one_sheet_per_figure(session, page_client_for):
    web = page_client_for(builders.analyst(session))
    _import(session, web)
    pdf = web.get("/survey/report.pdf?wave=2025")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    xlsx = web.get("/survey/report.xlsx?wave=2025")
    book = load_workbook(io.BytesIO(xlsx.content))
    assert len(book.sheetnames) == 1 + 12
    assert book.worksheets[1]["A1"].value  # the figure's title


def test_empty_dashboard_before_any_import(session, page_client_for):
    web = page_client_for(builders.analyst(session))
    assert web.get("/survey").status_code == 200


def _specs(html: str) -> dict:
    import json
    import re

    specs = json.loads(re.search(r"var specs = (.*);\n", html).group(1))
    return {s["key"]: s for s in specs}


def test_province_group_heatmap_carries_index_and_firm_counts(session, page_client_for):
    web = page_client_for(builders.analyst(session))
    _import(session, web)
    html = web.get("/survey").text
    soup = BeautifulSoup(html, "html.parser")
    assert soup.select_one("#fig-index_by_province_group .chart[data-key='index_by_province_group']") is not None
    spec = _specs(html)["index_by_province_group"]
    assert spec["chart"] == "heatmap" and spec["columns"] and len(spec["names"]) == len(spec["columns"])
    cells = [
        (v, n)
        for (_label, vs), ns in zip(spec["rows"], spec["counts"], strict=True)
        for v, n in zip(vs, ns, strict=True)
        if n is not None
    ]
    assert sum(n for _v, n in cells) == 6  # each of the 6 manufacturing firms in one cell (the analyst sees all)
    assert all(isinstance(v, int | float) for v, _n in cells) and not any(map(any, spec["suppressed"]))


def test_province_group_heatmap_shows_small_cells_as_suppressed_to_an_enterprise(session, page_client_for):
    _import(session, page_client_for(builders.analyst(session)))
    web = page_client_for(builders.enterprise(session))
    html = web.get("/survey").text
    spec = _specs(html)["index_by_province_group"]
    flagged = [(y, x) for y, row in enumerate(spec["suppressed"]) for x, s in enumerate(row) if s]
    assert flagged  # every cell rests on fewer than 10 firms
    for y, x in flagged:
        assert spec["rows"][y][1][x] is None and spec["counts"][y][x] is None  # no number, not even the count
    table = BeautifulSoup(html, "html.parser").select("#fig-index_by_province_group table tr")[1:]
    shown = {td.text for tr in table for td in tr.select("td.num")}
    assert "*" in shown and shown <= {"*", "—"}


def test_enterprises_get_no_filters_and_a_filtered_url_is_refused(session, page_client_for):
    _import(session, page_client_for(builders.analyst(session)))
    web = page_client_for(builders.enterprise(session))
    soup = BeautifulSoup(web.get("/survey").text, "html.parser")
    assert soup.select_one("#f-province") is None and soup.select_one("#filters-note") is not None
    assert soup.select_one("#f-wave") is not None
    assert web.get("/survey?province=44").status_code == 403
    assert web.get("/survey?wave=2025&province=44&section=C", headers={"HX-Request": "true"}).status_code == 403
    assert web.get("/survey/report.xlsx?wave=2025&section=C").status_code == 403


def _upload_file(web, name: str, body: bytes, wave: str = "2025", wave_name: str = ""):
    res = web.post(
        "/survey/import",
        data={"wave": wave, "name": wave_name, "csrf_token": web.csrf},
        files={"file": (name, body, "application/octet-stream")},
    )
    return uploading.wait(web, res) if res.status_code == 200 else res


def test_a_broken_or_oversized_upload_fails_by_name_not_with_a_500(session, page_client_for, settings):
    web = page_client_for(builders.analyst(session))
    lines = handmade.csv_text().splitlines()
    lines[4] += "," + "x" * 140_000
    res = _upload_file(web, "s.csv", "\n".join(lines).encode())
    assert uploading.state_of(res.text) == "failed" and "row 5" in res.text
    res = _upload_file(web, "s.xlsx", handmade.broken_xlsx())
    assert uploading.state_of(res.text) == "failed" and "row 5" in res.text
    settings.upload_max_bytes = 1000
    res = _upload_file(web, "s.csv", handmade.csv_text().encode())  # refused while it is received
    assert res.status_code == 422 and "1000" in res.text
    limits = BeautifulSoup(web.get("/survey/import").text, "html.parser").select_one("#file-limits").text
    assert "100,000" in limits and "500" in limits


def test_report_downloads_of_a_wave_with_a_chinese_code_and_a_formula_like_name(session, page_client_for):
    web = page_client_for(builders.analyst(session))
    res = _upload_file(web, "s.csv", handmade.csv_text().encode(), wave="浙江2025", wave_name="=1+2 <b>")
    assert res.status_code == 200, res.text
    page = BeautifulSoup(web.get("/survey", params={"wave": "浙江2025"}).text, "html.parser")
    assert page.select_one("a[href^='/survey/report.xlsx?wave=%E6%B5%99%E6%B1%9F2025']") is not None
    xlsx = web.get("/survey/report.xlsx", params={"wave": "浙江2025"})
    assert xlsx.status_code == 200
    assert "filename*=UTF-8''survey-%E6%B5%99%E6%B1%9F2025.xlsx" in xlsx.headers["content-disposition"]
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.worksheets[0]["A1"].value == "'=1+2 <b>"  # text, not a formula
    pdf = web.get("/survey/report.pdf", params={"wave": "浙江2025"})  # "<b>" is text to the PDF too
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-disposition"].startswith('attachment; filename="survey-_2025.pdf"')
