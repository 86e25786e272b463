"""The machine-readable contract of `smeai assess`."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from smeai.assessment import instruments
from smeai.assessment.scoring import AnswersInvalid
from smeai.cli import app
from tests.assessment.answers import best, worst

runner = CliRunner()


def _json(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_instruments_lists_id_name_version():
    rows = _json(["assess", "instruments", "--json"])
    assert {r["id"] for r in rows} == {"smeai-ai-maturity", "eu-dma"}
    assert all(set(r) == {"id", "name", "version"} for r in rows)


def test_instrument_prints_questions_with_types_and_points():
    data = _json(["assess", "instrument", "smeai-ai-maturity", "--json"])
    assert data["id"] == "smeai-ai-maturity" and data["version"] == "2026.1"
    questions = [q for d in data["dimensions"] for q in d["questions"]]
    assert data["questions"] == questions  # also flat
    assert len(questions) == len(instruments.get_instrument("smeai-ai-maturity").questions)
    for q in questions:
        assert {"id", "dimension", "type", "not_applicable"} <= set(q)
        assert q["type"] in {"single", "multi", "scale", "range", "number"}
        if q["type"] != "number":
            assert q["options"] and all({"id", "points"} <= set(o) for o in q["options"])
        else:
            assert q["bands"]
    assert {q["type"] for q in questions} == {"single", "multi", "scale", "range", "number"}


def test_score_prints_the_result(tmp_path):
    inst = instruments.get_instrument("smeai-ai-maturity")
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"instrument": inst.id, "answers": best(inst)}), encoding="utf-8")
    r = _json(["assess", "score", "--instrument", inst.id, "--answers", str(path), "--json"])
    assert r["overall"] == 100
    assert set(r["dimensions"]) == {d.id for d in inst.dimensions}
    assert r["level"] == {"id": "leader", "name": r["level"]["name"], "rank": 4}
    assert r["stage"]["id"] == "embedded" and r["role"]["id"] == "expert"
    assert isinstance(r["recommendations"], list)
    path.write_text(json.dumps({"instrument": inst.id, "answers": worst(inst)}), encoding="utf-8")
    r = _json(["assess", "score", "--instrument", inst.id, "--answers", str(path), "--json"])
    assert r["overall"] == 0 and r["level"]["rank"] == 0 and r["stage"]["id"] == "none"
    assert r["recommendations"]


def test_bad_answer_file_is_refused_with_every_problem(tmp_path):
    inst = instruments.get_instrument("eu-dma")
    answers = worst(inst)
    del answers["ai_bi"]
    answers |= {"zzz": 1, "dr_cloud": "9", "dbs_areas": 3}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"instrument": "eu-dma", "answers": answers}), encoding="utf-8")
    result = runner.invoke(app, ["assess", "score", "--instrument", "eu-dma", "--answers", str(path), "--json"])
    assert result.exit_code != 0 and result.stdout == ""
    assert isinstance(result.exception, AnswersInvalid)  # cli.main() prints code, message and every field
    assert {"answers.ai_bi", "answers.zzz", "answers.dr_cloud", "answers.dbs_areas"} <= set(result.exception.fields)


def test_stored_assessment_commands(session, db_url, tmp_path, monkeypatch):
    from smeai.config import get_settings
    from tests import builders

    builders.enterprise(session, email="boss@cli.cn", profile={})
    session.commit()
    inst = instruments.get_instrument("smeai-ai-maturity")
    monkeypatch.setenv("SMEAI_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        ids = []
        for answers in (worst(inst), worst(inst) | {"d_storage": "lake"}):
            path = tmp_path / "a.json"
            path.write_text(json.dumps({"instrument": inst.id, "answers": answers}), encoding="utf-8")
            ids.append(
                _json(["assess", "submit", "--as", "boss@cli.cn", "--answers", str(path), "--json"])["assessment_id"]
            )
        assert [r["id"] for r in _json(["assess", "list", "--as", "boss@cli.cn", "--json"])] == ids[::-1]
        c = _json(["assess", "compare", str(ids[0]), str(ids[1]), "--as", "boss@cli.cn", "--json"])
        assert {d["dimension"]: d["change"] for d in c["dimensions"]}["data"] > 0
        assert _json(["assess", "benchmark", str(ids[1]), "--as", "boss@cli.cn", "--json"])["suppressed"] is True
        out = tmp_path / "r.pdf"
        result = runner.invoke(app, ["assess", "report", str(ids[1]), "--as", "boss@cli.cn", "--out", str(out)])
        assert result.exit_code == 0 and out.read_bytes().startswith(b"%PDF")
    finally:
        get_settings.cache_clear()
