from __future__ import annotations

from io import BytesIO

from openpyxl import load_workbook

from tests import builders
from tests.subsidy import builders as sb
from tests.subsidy.builders import WAN

APPLY = {
    "programme_code": "wuhan-compute",
    "description": "GPU 算力租用",
    "kind": "compute",
    "supplier_name": "汉算科技",
    "contract_no": "API-1",
    "contract_fen": 30 * WAN,
}


def _apply(api, body=APPLY, key: str | None = None):
    return api.post("/api/v1/subsidy/applications", json=body, headers={"Idempotency-Key": key} if key else {})


def _contract(api, app_id: int, kind: str = "contract"):
    return api.post(
        f"/api/v1/subsidy/applications/{app_id}/documents",
        data={"kind": kind},
        files={"file": ("合同.pdf", sb.PDF, "application/pdf")},
    )


def test_apply_twice_with_one_key_creates_one_application(session, client_for):
    api = client_for(sb.wuhan_enterprise(session))
    first, again = _apply(api, key="k-apply-1"), _apply(api, key="k-apply-1")
    assert first.status_code == 201, first.text
    assert again.json() == first.json()
    assert len(api.get("/api/v1/subsidy/applications").json()["items"]) == 1
    assert first.json()["requested_fen"] == 15 * WAN
    assert any(r["rule"] == "rate" and r["text"] for r in first.json()["explanation"])


def test_a_key_reused_for_another_request_is_refused(session, client_for):
    api = client_for(sb.wuhan_enterprise(session))
    assert _apply(api, key="k-1").status_code == 201
    r = _apply(api, APPLY | {"contract_no": "API-2"}, key="k-1")
    assert (r.status_code, r.json()["error"]) == (409, "idempotency_key_reused")


def test_retried_approval_reserves_once(session, client_for):
    ent, op = sb.wuhan_enterprise(session), builders.operator(session)
    as_ent, as_op = client_for(ent), client_for(op)
    app_id = _apply(as_ent).json()["id"]
    assert _contract(as_ent, app_id).status_code == 201
    url = f"/api/v1/subsidy/applications/{app_id}/approve"
    first = as_op.post(url, json={}, headers={"Idempotency-Key": "approve-1"})
    again = as_op.post(url, json={}, headers={"Idempotency-Key": "approve-1"})
    assert first.status_code == 200, first.text
    assert again.json() == first.json()
    ledger = as_op.get("/api/v1/subsidy/ledger", params={"application_id": app_id}).json()["items"]
    assert [e["kind"] for e in ledger] == ["reserve"]
    unkeyed = as_op.post(url, json={})
    assert (unkeyed.status_code, unkeyed.json()["error"]) == (409, "wrong_state")
    assert as_op.get("/api/v1/subsidy/audit").json()["ok"] is True


def test_foreign_application_answers_exactly_like_a_missing_one(session, client_for):
    a, b, prov = sb.wuhan_enterprise(session), sb.wuhan_enterprise(session), builders.provider(session)
    app_id = _apply(client_for(a)).json()["id"]
    for outsider in (client_for(b), client_for(prov)):
        foreign, missing = (outsider.get(f"/api/v1/subsidy/applications/{i}") for i in (app_id, 999999))
        assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json()) == (404, missing.json())
        assert outsider.get(f"/api/v1/subsidy/applications/{app_id}/documents").status_code == 404


def test_operator_only_routes_are_forbidden_to_enterprises(session, client_for):
    api = client_for(sb.wuhan_enterprise(session))
    for path in (
        "/api/v1/subsidy/pools",
        "/api/v1/subsidy/ledger",
        "/api/v1/subsidy/audit",
        "/api/v1/subsidy/export.xlsx",
    ):
        assert api.get(path).status_code == 403, path
    assert api.put("/api/v1/subsidy/pools/beijing-compute", json={"budget_fen": 1}).status_code == 403


def test_uploads_download_and_refuse_wrong_types(session, client_for):
    ent = sb.wuhan_enterprise(session)
    api = client_for(ent)
    app_id = _apply(api).json()["id"]
    doc = _contract(api, app_id).json()
    bad = api.post(
        f"/api/v1/subsidy/applications/{app_id}/documents",
        data={"kind": "invoice"},
        files={"file": ("x.pdf", b"<html><script>", "application/pdf")},
    )
    assert (bad.status_code, bad.json()["fields"]) == (422, {"file": "only PDF, PNG or JPEG files"})
    got = api.get(f"/api/v1/subsidy/applications/{app_id}/documents/{doc['id']}")
    assert got.content == sb.PDF and got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("attachment")


def test_calculate_returns_best_combination_and_net_price(session, client_for):
    api = client_for(sb.wuhan_enterprise(session))
    body = {"description": "GPU", "kind": "compute", "contract_fen": 1500 * WAN}
    r = api.post("/api/v1/subsidy/calculate", json=body)
    assert r.status_code == 200, r.text
    assert (r.json()["best"], r.json()["total_fen"], r.json()["net_fen"]) == (["wuhan-compute"], 20 * WAN, 1480 * WAN)
    assert api.post("/api/v1/subsidy/calculate", json={"contract_fen": 1}).status_code == 422


def test_programmes_are_listed_with_their_rules(session, client_for):
    client = client_for(sb.wuhan_enterprise(session))
    rows = client.get("/api/v1/subsidy/programmes").json()["items"]
    assert {"beijing-compute", "huadu-tiered", "canada-ai-compute"} <= {r["code"] for r in rows}
    rules = client.get("/api/v1/subsidy/programmes/beijing-compute").json()
    assert rules["caps"]["per_org_year_fen"] == 200 * WAN and rules["rate"] == "20%"
    assert client.get("/api/v1/subsidy/programmes/nope").status_code == 404


def test_export_is_an_excel_workbook_with_pools_applications_and_ledger(session, client_for):
    ent, op = sb.wuhan_enterprise(session), builders.operator(session)
    as_ent = client_for(ent)
    app_id = _apply(as_ent).json()["id"]
    _contract(as_ent, app_id)
    client_for(op).post(f"/api/v1/subsidy/applications/{app_id}/approve", json={})
    r = client_for(op).get("/api/v1/subsidy/export.xlsx")
    wb = load_workbook(BytesIO(r.content))
    assert len(wb.sheetnames) == 3
    ledger = list(wb.worksheets[2].iter_rows(values_only=True))
    assert ledger[1][1] == "reserve" and ledger[1][6] == 150000


def test_a_failed_keyed_request_can_be_retried_with_the_same_key(session, client_for):
    ent, op = sb.wuhan_enterprise(session), builders.operator(session)
    as_ent, as_op = client_for(ent), client_for(op)
    app_id = _apply(as_ent).json()["id"]
    url = f"/api/v1/subsidy/applications/{app_id}/approve"
    first = as_op.post(url, json={}, headers={"Idempotency-Key": "retry-1"})
    assert (first.status_code, first.json()["error"]) == (409, "missing_documents")  # nothing kept, key included
    _contract(as_ent, app_id)
    again = as_op.post(url, json={}, headers={"Idempotency-Key": "retry-1"})
    assert again.status_code == 200, again.text
    assert as_op.get("/api/v1/subsidy/audit").json()["ok"] is True


def test_enterprise_text_in_the_export_stays_text_not_a_formula(session, client_for):
    ent, op = sb.wuhan_enterprise(session, '=HYPERLINK("http://x","点我")'), builders.operator(session)
    body = APPLY | {"description": "=1+2", "supplier_name": "@SUM(A1)", "contract_no": "-2+3"}
    assert _apply(client_for(ent), body).status_code == 201
    r = client_for(op).get("/api/v1/subsidy/export.xlsx")
    assert r.headers["content-disposition"] == 'attachment; filename="subsidy.xlsx"'
    row = list(load_workbook(BytesIO(r.content)).worksheets[1].iter_rows(values_only=True))[1]
    assert row[2] == '\'=HYPERLINK("http://x","点我")'
    assert (row[6], row[7], row[8]) == ("'=1+2", "'@SUM(A1)", "'-2+3")
    assert row[9] == 300000  # numbers stay numbers


BAD_NUMBERS = ("1e999999999", "NaN", "Infinity", "-Infinity", "1e308", "-5", "0", "12.5", "true", '"8"')


def test_every_amount_in_the_api_is_a_bounded_integer_of_fen(session, client_for):
    ent, op = sb.wuhan_enterprise(session), builders.operator(session)
    as_ent, as_op = client_for(ent), client_for(op)
    app_id = _apply(as_ent).json()["id"]
    _contract(as_ent, app_id)
    base = '{"programme_code": "wuhan-compute", "description": "GPU", "kind": "compute", "supplier_name": "汉算", '
    for bad in BAD_NUMBERS:
        headers = {"content-type": "application/json"}
        r = as_ent.post(
            "/api/v1/subsidy/applications",
            content=base + f'"contract_no": "X", "contract_fen": {bad}}}',
            headers=headers,
        )
        assert r.status_code == 422 and "contract_fen" in r.json()["fields"], (bad, r.text)
        r = as_ent.post(
            "/api/v1/subsidy/calculate", content=f'{{"description": "GPU", "contract_fen": {bad}}}', headers=headers
        )
        assert r.status_code == 422 and "contract_fen" in r.json()["fields"], (bad, r.text)
        r = as_op.post(
            f"/api/v1/subsidy/applications/{app_id}/approve", content=f'{{"amount_fen": {bad}}}', headers=headers
        )
        assert r.status_code == 422 and "amount_fen" in r.json()["fields"], (bad, r.text)
        r = as_op.put("/api/v1/subsidy/pools/wuhan-compute", content=f'{{"budget_fen": {bad}}}', headers=headers)
        assert r.status_code == (200 if bad == "0" else 422), (bad, r.text)  # a budget of 0 closes the pool
    too_much = as_op.post(f"/api/v1/subsidy/applications/{app_id}/approve", json={"amount_fen": 10**13 + 1})
    assert (too_much.status_code, list(too_much.json()["fields"])) == (422, ["amount_fen"])
    assert as_op.get("/api/v1/subsidy/audit").json()["ok"] is True


def test_a_pool_year_is_one_rule_for_the_api_and_the_page(session, client_for):
    api = client_for(builders.operator(session))
    for year in ("99999999999999999999999", '"٢٠٢٦"', "1999", "2101", "2026.5"):
        r = api.put(
            "/api/v1/subsidy/pools/wuhan-compute",
            content=f'{{"budget_fen": 100, "year": {year}}}',
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 422 and "year" in r.json()["fields"], (year, r.text)


def test_applications_and_ledger_page_in_the_database_with_the_total_of_every_row(session, client_for):
    op = builders.operator(session)
    as_op = client_for(op)
    app_ids = []
    for n in range(3):
        api = client_for(sb.wuhan_enterprise(session))
        applied = _apply(api, APPLY | {"contract_no": f"PAGE-{n}"})
        assert applied.status_code == 201, applied.text
        app_id = applied.json()["id"]
        assert _contract(api, app_id).status_code == 201
        assert as_op.post(f"/api/v1/subsidy/applications/{app_id}/approve", json={}).status_code == 200
        app_ids.append(app_id)
    page = as_op.get("/api/v1/subsidy/applications", params={"limit": 2, "offset": 1}).json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 1)
    assert [a["id"] for a in page["items"]] == app_ids[::-1][1:]  # newest first, the first one skipped
    ledger = as_op.get("/api/v1/subsidy/ledger", params={"limit": 1, "offset": 2}).json()
    assert (ledger["total"], [e["application_id"] for e in ledger["items"]]) == (3, [app_ids[2]])  # written order
    assert as_op.get("/api/v1/subsidy/ledger", params={"limit": 201}).status_code == 422
