"""A frozen report as a PDF an owner can hand on: the summary per candidate and the answers side by side.
reportlab with the CJK font from smeai.fonts (as the diagnosis report)."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from smeai import fonts
from smeai.i18n import _, colon
from smeai.trials import display

BRAND = "#1f4e9c"


def render_pdf(snapshot: dict[str, Any], *, created_at: datetime, expires_at: datetime) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = fonts.register_reportlab_font()
    base = ParagraphStyle("base", fontName=font, fontSize=9, leading=13, wordWrap="CJK")
    small = ParagraphStyle("small", parent=base, fontSize=7.5, leading=10, textColor=colors.HexColor("#5d6678"))
    h1 = ParagraphStyle("h1", parent=base, fontSize=18, leading=24, textColor=colors.HexColor(BRAND), spaceAfter=4)
    h2 = ParagraphStyle(
        "h2", parent=base, fontSize=12, leading=17, textColor=colors.HexColor(BRAND), spaceBefore=8, spaceAfter=4
    )

    def p(text: object, style: ParagraphStyle = base) -> Paragraph:
        return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)

    cands = snapshot["candidates"]
    story: list[Any] = [
        p(_("Model trial report"), h1),
        p(f"{snapshot.get('org_name', '')} · {snapshot['title']}"),
        p(
            _("Made on")
            + colon()
            + created_at.strftime("%Y-%m-%d")
            + " · "
            + _("Link valid until")
            + colon()
            + expires_at.strftime("%Y-%m-%d"),
            small,
        ),
        Spacer(1, 4 * mm),
        p(_("Summary by candidate"), h2),
    ]
    header = [
        _("Candidate"),
        _("Pass rate"),
        _("Judge win rate"),
        _("Human win rate"),
        _("Latency p50 / p95"),
        _("First token p50 / p95"),
        _("Cost per row"),
        _("Monthly cost"),
        _("After model voucher"),
    ]
    table = [[p(h, small) for h in header]]
    for c in cands:
        table.append(
            [
                p(c["label"] + (" *" if c["judge_same_family"] else "")),
                p(display.pct(c["pass_rate"])),
                p(display.win(c["judge_win"])),
                p(display.win(c["human_win"])),
                p(f"{display.ms(c['latency_p50'])} / {display.ms(c['latency_p95'])}"),
                p(f"{display.ms(c['ttft_p50'])} / {display.ms(c['ttft_p95'])}"),
                p(display.fen(c["cost_per_row_fen"])),
                p(display.yuan(c["monthly_fen"]) if snapshot["monthly_calls"] else "—"),
                p(display.yuan(c["monthly_after_fen"]) if c["voucher"] else "—"),
            ]
        )
    summary = Table(table, repeatRows=1)
    summary.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#c9d3e6")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef3fb")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story.append(summary)
    notes = [_("Win rates count a tie as half a win; the range is the 95% Wilson interval.")]
    if snapshot.get("judge_model"):
        notes.append(_("Judge") + colon() + f"{snapshot['judge_model']} ({snapshot['judge_family']})")
        if any(c["judge_same_family"] for c in cands):
            notes.append(
                "* " + _("The judge is of the same model family as this candidate: its verdicts may favour it.")
            )
    if snapshot["monthly_calls"]:
        notes.append(_("Monthly volume") + colon() + f"{snapshot['monthly_calls']:,}")
    for c in cands:
        if c["voucher"]:
            notes.append(f"{c['label']}{colon()}{c['voucher']['programme']} {c['voucher']['rate']}")
    story += [Spacer(1, 2 * mm), *[p(n, small) for n in notes]]
    story.append(p(_("Answers"), h2))
    names = [c["label"] for c in cands]
    width = (landscape(A4)[0] - 30 * mm) * 0.75 / max(len(names), 1)
    grid = [[p(_("Input"), small), *[p(n, small) for n in names]]]
    for r in snapshot["rows"]:
        cells = []
        for cell in r["cells"]:
            if cell is None:
                cells.append(p("—"))
                continue
            mark = {True: "[" + _("pass") + "] ", False: "[" + _("fail") + "] "}.get(cell["passed"], "")
            text = cell["text"] if cell["status"] == "ok" else cell["error"]
            cells.append(p(mark + text[:600]))
        grid.append([p(r["input"][:400]), *cells])
    matrix = Table(grid, repeatRows=1, colWidths=[(landscape(A4)[0] - 30 * mm) * 0.25, *[width] * len(names)])
    matrix.setStyle(
        TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#c9d3e6")), ("VALIGN", (0, 0), (-1, -1), "TOP")])
    )
    story.append(matrix)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=landscape(A4), leftMargin=15 * mm, rightMargin=15 * mm, topMargin=12 * mm, bottomMargin=12 * mm
    )
    doc.build(story)
    return buf.getvalue()
