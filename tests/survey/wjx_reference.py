"""The 问卷星 mapping row by row, as it was before it ran column by column (wjx.convert): the tests'
reference for the columnar version (test_wjx.py compares both on generated exports)."""

from __future__ import annotations

from datetime import datetime

from smeai.survey import wjx
from smeai.survey.codebook import Reason, columns_of


def to_canonical(header: list[str], rows: list[list[str]]) -> wjx.Converted:
    p = wjx.plan(header, columns_of(rows[:50], len(header)))
    pos = p.pos
    result = wjx.Converted(header=p.out_cols, rows=[], layout=p.layout, unmapped=p.unmapped)
    reasons: list[Reason] = []
    for r_i, cells in enumerate(rows):
        row_no = r_i + 2
        out = [""] * len(p.out_cols)
        if p.idx_id is not None and p.idx_id < len(cells):
            out[0] = cells[p.idx_id].strip()
        if p.idx_time is not None and p.idx_time < len(cells):
            out[1] = time_text(cells[p.idx_time].strip())
        for i, slot in p.slots.items():
            raw = cells[i] if i < len(cells) else ""
            wjx._fill(out, pos, slot, raw, p.layout, header[i], row_no, reasons)
        result.rows.append(out)
    result.reasons = reasons
    return result


def time_text(text: str) -> str:
    for fmt in ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M"):
        try:
            return datetime.strptime(text, fmt).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            pass
    return text
