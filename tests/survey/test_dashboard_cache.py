"""The /survey dashboard's figures are remembered per wave version, right to see small cells and language:
an import shows at once, and an enterprise never gets the numbers an analyst's view left behind."""

from __future__ import annotations

from bs4 import BeautifulSoup

from smeai.survey import synth
from tests import builders
from tests.survey import handmade, uploading


def _import(web, name: str, body: str | None = None) -> None:
    res = web.post(
        "/survey/import",
        data={"wave": "2025", "name": "2025 调查", "csrf_token": web.csrf},
        files={"file": (name, (body or handmade.csv_text()).encode(), "text/csv")},
    )
    res = uploading.wait(web, res)
    assert res.status_code == 200, res.text


def _synthetic(n: int, seed: int) -> str:
    header, rows = synth.text_rows(synth.generate(n, seed))
    return "\n".join(",".join(r) for r in [header, *rows])


def _kpi(web, **params) -> str:
    return BeautifulSoup(web.get("/survey", params=params).text, "html.parser").select_one("#kpi-n").text


def _listed(web) -> str:
    """The wave as the wave menu lists it, with its number of responses (kept per version of the wave)."""
    return BeautifulSoup(web.get("/survey").text, "html.parser").select_one("#f-wave option").text


def test_dashboard_figures_follow_an_import_and_each_readers_rights(session, page_client_for):
    analyst = page_client_for(builders.analyst(session))
    _import(analyst, "a.csv")
    assert _kpi(analyst) == "8"
    assert _kpi(analyst) == "8"  # remembered
    assert _listed(analyst) == "2025 调查 (8)"
    enterprise = page_client_for(builders.enterprise(session))
    assert _kpi(enterprise) == "*"  # 8 firms < 10: suppressed, though the analyst's view was remembered
    assert _kpi(analyst, section="C") == "6"
    _import(analyst, "b.csv", _synthetic(40, 8))  # 40 more firms: a new version of the wave
    assert _kpi(analyst) == "48"
    assert _listed(analyst) == "2025 调查 (48)"  # the count follows the import, as the figures do
    assert _kpi(enterprise) == "48"  # now 10 or more
    assert enterprise.get("/survey?section=C").status_code == 403  # filters stay an analyst's, cached or not


def test_dashboard_figures_are_in_each_readers_language(session, page_client_for):
    analyst = page_client_for(builders.analyst(session))
    _import(analyst, "a.csv")
    zh = analyst.get("/survey", params={"lang": "zh_Hans"}).text
    en = analyst.get("/survey", params={"lang": "en"}).text
    assert "AI adoption by firm age" in en and "AI adoption by firm age" not in zh
