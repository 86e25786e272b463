"""The demo's survey: one wave of 6,000 synthetic firms whose figures are the report's (seed fixed)."""

from __future__ import annotations

import csv
import io

from sqlalchemy.orm import Session

from smeai.auth.actor import Actor
from smeai.survey import service, synth

WAVE = "2025"
NAME = "2025 年中小企业人工智能应用调查（合成演示数据）"


def load(session: Session) -> None:
    if service.find_wave(session, WAVE) is not None:
        return  # idempotent: the wave is there
    header, rows = synth.text_rows(synth.generate(6000, 2025), invalid=12, seed=2025)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    service.import_file(
        session,
        Actor.system(),
        WAVE,
        buf.getvalue().encode("utf-8"),
        filename="survey-2025-synthetic.csv",
        wave_name=NAME,
    )
