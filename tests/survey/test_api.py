"""/api/v1/survey: import by upload, error file download, indicators JSON, suppression by role."""

from __future__ import annotations

from tests import builders
from tests.survey import handmade


def _upload(client, wave="2025", text=None, name="s.csv"):
    body = (text or handmade.csv_text(bom=True)).encode()
    return client.post(
        f"/api/v1/survey/waves/{wave}/imports", files={"file": (name, body, "text/csv")}, data={"name": "2025 年调查"}
    )


def test_analyst_imports_downloads_the_error_file_and_reads_the_indicators(session, client_for):
    api = client_for(builders.analyst(session))
    res = _upload(api)
    assert res.status_code == 201, res.text
    body = res.json()
    assert (body["n_inserted"], body["n_rejected"], body["already_imported"]) == (8, 20, False)
    assert {(r["row"], r["column"], r["rule"]) for r in body["reasons"]} == handmade.expected_reasons()
    errors = api.get(body["errors_url"])
    assert errors.status_code == 200 and "attachment" in errors.headers["content-disposition"]
    assert "12万" in errors.content.decode("utf-8-sig")
    assert api.get("/api/v1/survey/waves/2025/indicators").json() == handmade.EXPECTED
    assert api.get("/api/v1/survey/waves").json()["items"][0]["n_responses"] == 8
    assert api.get("/api/v1/survey/waves/2025").json()["name"] == "2025 年调查"


def test_uploading_the_same_file_again_changes_nothing(session, client_for):
    api = client_for(builders.analyst(session))
    first, second = _upload(api).json(), _upload(api).json()
    assert second["already_imported"] and second["id"] == first["id"]
    assert api.get("/api/v1/survey/waves/2025").json()["n_responses"] == 8


def test_a_file_without_a_required_column_is_refused_with_the_columns_named(session, client_for):
    api = client_for(builders.analyst(session))
    res = _upload(api, text=handmade.csv_text(drop=("revenue_wan",)))
    assert res.status_code == 422
    assert res.json()["error"] == "survey_missing_columns"
    assert res.json()["fields"] == {"revenue_wan": "missing column"}
    assert api.get("/api/v1/survey/waves").json()["items"] == []  # nothing, not even the wave


def test_enterprises_see_small_cells_suppressed_and_cannot_import(session, client_for, settings):
    analyst = client_for(builders.analyst(session))
    _upload(analyst)
    member = client_for(builders.enterprise(session))
    published = member.get("/api/v1/survey/waves/2025/indicators").json()
    assert published["n_responses"] == "suppressed"  # 8 firms < 10
    assert published["adoption"]["adopted"] == "suppressed"
    assert _upload(member).status_code == 403
    errors_url = _upload(analyst).json()["errors_url"]
    assert member.get(errors_url).status_code == 403


def test_unknown_wave_and_filters(session, client_for):
    api = client_for(builders.analyst(session))
    assert api.get("/api/v1/survey/waves/1999/indicators").status_code == 404
    _upload(api)
    assert api.get("/api/v1/survey/waves/2025/indicators?province=99").status_code == 422
    sliced = api.get("/api/v1/survey/waves/2025/indicators?section=C").json()
    assert sliced["n_responses"] == 6
    index = api.get("/api/v1/survey/waves/2025/index").json()
    assert index["by_province"][0]["n"] == 8 and len(index["by_group"]) == 6


def test_anonymous_callers_are_turned_away(client):
    assert client.get("/api/v1/survey/waves").status_code == 401


def test_create_wave_conflict(session, client_for):
    api = client_for(builders.analyst(session))
    assert api.post("/api/v1/survey/waves", json={"code": "2026"}).status_code == 201
    assert api.post("/api/v1/survey/waves", json={"code": "2026"}).status_code == 409


def test_the_differencing_pair_answers_403_to_an_enterprise_and_the_whole_wave_stays_readable(session, client_for):
    analyst = client_for(builders.analyst(session))
    _upload(analyst)
    member = client_for(builders.enterprise(session))
    for query in ("province=44", "province=44&section=C", "section=C", "group=K1"):
        for what in ("indicators", "index"):
            res = member.get(f"/api/v1/survey/waves/2025/{what}?{query}")
            assert res.status_code == 403, (query, what)
            assert res.json()["error"] == "forbidden"
        assert analyst.get(f"/api/v1/survey/waves/2025/indicators?{query}").status_code == 200
    assert member.get("/api/v1/survey/waves/2025/indicators?province=").status_code == 200  # an empty filter


def test_the_error_file_holds_formula_like_answers_as_text(session, client_for):
    api = client_for(builders.analyst(session))
    import csv
    import io

    text = handmade.csv_text().replace("12万", "=cmd|' /C calc'!A0").replace("佛山市", "@SUM(1+1)")
    errors = api.get(_upload(api, text=text).json()["errors_url"])
    rows = list(csv.DictReader(io.StringIO(errors.content.decode("utf-8-sig"))))
    assert {r["value"] for r in rows if r["column"] == "revenue_wan"} >= {"'=cmd|' /C calc'!A0"}
    assert not any(r[k].startswith(("=", "+", "-", "@")) for r in rows for k in r)
    assert errors.headers["content-disposition"].startswith('attachment; filename="survey-import-')


def test_a_cell_beyond_the_csv_field_limit_is_a_row_error_not_a_500(session, client_for):
    api = client_for(builders.analyst(session))
    lines = handmade.csv_text().splitlines()
    lines[2] = lines[2] + "," + "x" * 140_000
    res = _upload(api, text="\n".join(lines))
    assert res.status_code == 422, res.text
    assert res.json()["error"] == "survey_unreadable_file" and list(res.json()["fields"]) == ["row 3"]


def test_a_broken_workbook_is_a_clear_error_not_a_500(session, client_for):
    api = client_for(builders.analyst(session))
    for body, fields in ((b"PK\x03\x04 not really a workbook", {}), (handmade.broken_xlsx(), {"row 5"})):
        res = api.post(
            "/api/v1/survey/waves/2025/imports", files={"file": ("s.xlsx", body, "application/octet-stream")}
        )
        assert res.status_code == 422 and res.json()["error"] == "survey_unreadable_file"
        assert set(res.json()["fields"]) == set(fields)
    assert api.get("/api/v1/survey/waves").json()["items"] == []


def test_too_many_rows_are_refused_whole(session, client_for, monkeypatch):
    from smeai.survey import codebook

    monkeypatch.setattr(codebook, "MAX_ROWS", 20)
    api = client_for(builders.analyst(session))
    res = _upload(api)
    assert res.status_code == 422 and res.json()["fields"] == {"row 22": "at most 20 rows after the header"}
    assert api.get("/api/v1/survey/waves").json()["items"] == []  # nothing, not even the wave


def test_a_file_of_many_bad_rows_answers_the_first_reasons_and_the_counts(session, client_for, monkeypatch):
    import csv
    import io

    from smeai.survey import analysis

    # 150 rows, each with one reason (a province code that does not exist); the error file keeps 120.
    monkeypatch.setattr(analysis, "REASONS_IN_FILE", 120)
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=handmade.header(), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for i in range(150):
        writer.writerow(handmade._row(f"bad{i}", province="99"))
    api = client_for(builders.analyst(session))
    body = _upload(api, text=buf.getvalue()).json()
    assert body["n_rejected"] == 150 and body["n_reasons"] >= 150
    shown = [r["row"] for r in body["reasons"]]
    assert len(shown) == 100 and shown == sorted(shown)
    assert sum(body["reason_counts"].values()) == body["n_reasons"]
    lines = api.get(body["errors_url"]).content.decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + 120 + 1 and "more reasons not listed" in lines[-1]
