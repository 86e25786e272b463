from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from smeai import taxonomy
from smeai.cli import app
from smeai.i18n import set_lang
from tests.conftest import SHARED


def test_taxonomy_has_the_reports_lists():
    tax = taxonomy.load()
    assert len(tax.sections) == 20 and len(tax.divisions) == 31 and len(tax.groups) == 18
    assert set(tax.intensity_classes) == {"labor", "capital", "technology"}
    assert set(tax.links) == {"rnd", "production", "supply_chain", "sales", "service", "management"}
    assert tax.stages["2"].zh == "部分业务试点"
    assert [r.zh for r in tax.roles.values()] == ["辅助助手", "合作伙伴", "业务专家"]


def test_every_division_maps_to_exactly_one_group():
    tax = taxonomy.load()
    owners = [d for g in tax.groups.values() for d in g.extra["divisions"]]
    assert sorted(owners) == sorted(tax.divisions)
    assert tax.group_of_division(33).code == "K1"
    assert tax.group_of_division("27").extra["class"] == "technology"


def test_every_scenario_belongs_to_a_known_link():
    tax = taxonomy.load()
    assert all(s.extra["link"] in tax.links for s in tax.scenarios.values())


def test_package_copy_matches_the_shared_reference():
    shared = SHARED / "reference" / "taxonomy.yaml"  # tests read ../shared, as CI lays it beside the clone
    packaged = taxonomy.DATA / "taxonomy.yaml"
    assert packaged.read_text(encoding="utf-8") == shared.read_text(encoding="utf-8")


def test_labels_follow_the_language():
    set_lang("en")
    try:
        assert taxonomy.name("scenarios", "quality_inspection") == "Quality inspection"
    finally:
        set_lang("zh_Hans")
    assert taxonomy.name("scenarios", "quality_inspection") == "质量管理/智能质检"
    assert taxonomy.name("provinces", "99") == "99"  # unknown codes show as themselves


def test_every_division_group_and_province_has_an_english_name():
    tax = taxonomy.load()
    for kind in ("sections", "divisions", "groups", "provinces", "scenarios", "links", "stages"):
        missing = [t.code for t in tax.kinds()[kind].values() if not t.en]
        assert not missing, f"{kind} without an English name: {missing}"
    set_lang("en")
    try:
        assert taxonomy.name("divisions", "39") == "Computers, communication and other electronic equipment"
        assert taxonomy.name("groups", "K1") == "Metal products and repair"
        assert ("39", "Computers, communication and other electronic equipment") in taxonomy.choices("divisions")
    finally:
        set_lang("zh_Hans")
    assert ("39", "计算机、通信和其他电子设备制造业") in taxonomy.choices("divisions")  # a name, not "39 …"


def test_require_names_the_field_and_the_bad_codes():
    from smeai.errors import Invalid

    with pytest.raises(Invalid) as err:
        taxonomy.require_scenarios(["quality_inspection", "teleportation"], field="scenarios")
    assert "teleportation" in err.value.fields["scenarios"]


def test_api_lists_are_public(client):
    assert "scenarios" in client.get("/api/v1/taxonomy").json()["items"]
    groups = client.get("/api/v1/taxonomy/groups").json()["items"]
    name = {"zh": "金属制品业", "en": "Metal products and repair"}
    k1 = {"code": "K1", "name": name, "class": "capital", "divisions": ["33", "43"]}
    assert k1 in groups
    assert client.get("/api/v1/taxonomy/planets").status_code == 422


def test_cli_prints_a_list_as_json():
    result = CliRunner().invoke(app, ["taxonomy", "show", "links", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {"code": "rnd", "zh": "研发设计", "en": "R&D and design"} in rows
    bad = CliRunner().invoke(app, ["taxonomy", "show", "planets"])
    assert bad.exit_code != 0
