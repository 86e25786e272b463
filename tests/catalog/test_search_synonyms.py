"""Pool search understands the words SME owners use: 目检 (inspection by eye) is 质检."""

from __future__ import annotations

import json

from smeai.auth.actor import Actor
from smeai.catalog import service
from smeai.catalog.index import OfferingQuery, search_offerings


def _offering(session, ext_id: str, name: str, summary: str) -> None:
    line = {
        "id": ext_id,
        "name": name,
        "provider": "测试视觉",
        "kind": "saas",
        "summary": summary,
        "industries": ["C"],
        "scenarios": ["quality_inspection"],
        "deployment": ["private"],
        "pricing": {"model": "one_off", "entry_price_wan": 10},
        "regions": ["*"],
    }
    report = service.import_records(session, Actor.system(), [json.dumps(line, ensure_ascii=False)])
    assert not report.problems


def test_mu_jian_finds_what_zhi_jian_finds(session):
    _offering(session, "a", "五金件智能质检", "冲压件表面缺陷自动检出。")
    _offering(session, "b", "布面瑕疵检测", "织机上在线找疵点。")
    _offering(session, "c", "人工目检辅助终端", "给目检工人的放大与提示屏。")
    session.flush()
    by_eye = set(search_offerings(session, OfferingQuery(q="目检")).ids)
    by_qc = set(search_offerings(session, OfferingQuery(q="质检")).ids)
    assert len(by_eye) == 3 and by_eye == by_qc
    assert search_offerings(session, OfferingQuery(q="人工目检")).total == 3
