"""`smeai survey report WAVE -o report.pdf|.xlsx`: the dashboard's figures and tables, for print.

The PDF draws each figure with matplotlib (CJK font from smeai.fonts) above its table; the
workbook has one sheet per figure's table. Both read the same published (suppressed unless the
reader may see small cells) indicators as the dashboard, through figures.build().
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from sqlalchemy.orm import Session

from smeai.auth import audit
from smeai.auth.actor import Actor
from smeai.i18n import _
from smeai.survey import figures, service
from smeai.web.downloads import row

PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def render(
    session: Session, actor: Actor, code: str, *, fmt: str, filters: service.Filters | None = None, small_cell_min: int
) -> tuple[bytes, str]:
    wave = service.get_wave(session, actor, code)
    ind, idx = service.wave_figures(session, actor, code, filters=filters, small_cell_min=small_cell_min)
    figs = figures.build(ind, idx)
    audit.record(
        session, actor, "survey.export", wave, after={"format": fmt, "filters": vars(filters) if filters else {}}
    )
    title = f"{wave.name}"
    scope = _scope(filters)
    note = (
        _(
            "* suppressed: fewer than %(k)s firms behind the figure, or it would let such a figure be worked "
            "out by subtraction."
        )
        % {"k": small_cell_min}
        if not service.may_see_small_cells(actor)
        else ""
    )
    if fmt == "xlsx":
        return workbook(title, scope, ind, figs, note), XLSX
    return pdf(title, scope, ind, figs, note), PDF


def _scope(filters: service.Filters | None) -> str:
    from smeai import taxonomy

    if filters is None:
        return _("All firms")
    parts = []
    if filters.province:
        parts.append(taxonomy.name("provinces", filters.province))
    if filters.section:
        parts.append(taxonomy.name("sections", filters.section))
    if filters.group:
        parts.append(taxonomy.name("groups", filters.group))
    return "、".join(parts) or _("All firms")


def workbook(title: str, scope: str, ind: dict, figs: list[figures.Figure], note: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    about = book.active
    about.title = _("About")
    about.append(row([title]))  # the wave's name is typed by a person: never a formula
    about["A1"].font = Font(bold=True, size=14)
    about.append(row([_("Scope"), scope]))
    about.append(row([_("Firms (valid responses)"), figures.cell(ind["n_responses"])]))
    about.append(row([_("Rejected rows"), ind["n_rejected"]]))
    about.append(row([_("Made"), datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")]))
    if note:
        about.append(row([note]))
    about.column_dimensions["A"].width = 28
    about.column_dimensions["B"].width = 40
    for i, f in enumerate(figs, start=1):
        sheet = book.create_sheet(f"{i:02d} {f.key}"[:31])
        sheet.append(row([f.title]))
        sheet["A1"].font = Font(bold=True)
        sheet.append(row(["", *f.columns]))
        for label, values in f.rows:
            sheet.append(row([label, *[v if isinstance(v, int | float) else figures.cell(v) for v in values]]))
        sheet.column_dimensions["A"].width = 36
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _chart_png(f: figures.Figure) -> bytes:
    from smeai.fonts import configure_matplotlib

    configure_matplotlib()
    import matplotlib.pyplot as plt
    import numpy as np

    labels = [label for label, _ in f.rows]
    values = np.array(
        [
            [figures.chart_value(v) if figures.chart_value(v) is not None else np.nan for v in vals]
            for _, vals in f.rows
        ],
        dtype=float,
    )
    colours = ["#1a56db", "#f59e0b", "#9ca3af", "#10b981", "#ef4444", "#8b5cf6"]
    tall = f.chart in ("heatmap", "hbar")
    fig, ax = plt.subplots(figsize=(7.2, 5.6 if tall else 3.0), dpi=150)
    x = np.arange(len(labels))
    if f.chart == "stacked":
        bottom = np.zeros(len(labels))
        for i, name in enumerate(f.columns):
            col = np.nan_to_num(values[:, i])
            ax.bar(x, col, bottom=bottom, label=name, color=colours[i], width=0.6)
            bottom += col
        ax.set_xticks(x, labels)
        ax.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, 1.18), frameon=False)
    elif f.chart == "grouped":
        width = 0.8 / len(f.columns)
        for i, name in enumerate(f.columns):
            ax.bar(
                x + (i - (len(f.columns) - 1) / 2) * width,
                np.nan_to_num(values[:, i]),
                width,
                label=name,
                color=colours[i],
            )
        ax.set_xticks(x, labels)
        ax.legend(fontsize=8, ncol=3, frameon=False)
    elif f.chart == "heatmap":
        im = ax.imshow(np.ma.masked_invalid(values), cmap="Blues", aspect="auto")
        # names, not codes: slanted, a long one cut (the table below gives it whole)
        names = [c if len(c) <= 9 else c[:8] + "…" for c in f.columns]
        ax.set_xticks(np.arange(len(f.columns)), names, fontsize=6 if len(names) > 8 else 8, rotation=50, ha="right")
        ax.set_yticks(x, labels, fontsize=7)
        hidden = np.array([[figures.is_suppressed(v) for v in vals] for _, vals in f.rows], dtype=bool)
        if hidden.any():  # suppressed cells: grey, labelled "*", never a number
            ax.imshow(np.ma.masked_array(np.ones(values.shape), ~hidden), cmap="Greys", vmin=0, vmax=5, aspect="auto")
        small = len(f.columns) > 8
        for (r, c), v in np.ndenumerate(values):
            if hidden[r, c]:
                ax.text(c, r, "*", ha="center", va="center", fontsize=6)
            elif not np.isnan(v):
                ax.text(
                    c,
                    r,
                    f"{v:.0f}",
                    ha="center",
                    va="center",
                    fontsize=5 if small else 6,
                    color="white" if v > np.nanmax(values) * 0.6 else "black",
                )
        fig.colorbar(im, ax=ax, fraction=0.03)
    elif f.chart == "hbar":
        order = x[::-1]
        ax.barh(order, np.nan_to_num(values[:, 0]), color=colours[0])
        ax.set_yticks(order, labels, fontsize=7)
        for yy, v in zip(order, values[:, 0], strict=True):
            if not np.isnan(v):
                ax.text(v, yy, f" {v:.1f}", va="center", fontsize=6)
    else:
        ax.bar(x, np.nan_to_num(values[:, 0]), color=colours[0], width=0.55)
        for xx, v in zip(x, values[:, 0], strict=True):
            if not np.isnan(v):
                ax.text(float(xx), v, f"{v:g}{f.unit}", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(x, labels)
    ax.tick_params(axis="x", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _index_method(font: str, width: float, h2, body) -> list:
    """The index's definition, as the dashboard shows it: components, weights, what and why."""
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, Table, TableStyle

    from smeai.i18n import label
    from smeai.survey.index import definition

    cell = ParagraphStyle("ix", fontName=font, fontSize=7.5, leading=10)
    rows = [[Paragraph(t, cell) for t in (_("Component"), _("Weight"), _("What goes in"), _("Why"))]]
    rows += [
        [
            Paragraph(label(c.name), cell),
            Paragraph(f"{c.weight * 100:.0f}%", cell),
            Paragraph(label(c.what), cell),
            Paragraph(label(c.why), cell),
        ]
        for c in definition().components
    ]
    table = Table(rows, colWidths=[width * 0.12, width * 0.08, width * 0.42, width * 0.38])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#c9d0dc")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8f0fe")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    intro = _(
        "Each component is a share of all firms in the province or group (0-100); the index is their "
        "weighted sum. 100 means every firm applies AI at scale, in all six business links, investing at "
        "least 0.8 percent of revenue."
    )
    return [Paragraph(_("How the AI application index is computed"), h2), Paragraph(intro, body), table]


def pdf(title: str, scope: str, ind: dict, figs: list[figures.Figure], note: str) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from smeai.fonts import register_reportlab_font

    font = register_reportlab_font()
    h1 = ParagraphStyle("h1", fontName=font, fontSize=17, leading=22, spaceAfter=6)
    h2 = ParagraphStyle("h2", fontName=font, fontSize=12, leading=16, spaceBefore=8, spaceAfter=4)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=13)
    small = ParagraphStyle("small", fontName=font, fontSize=7.5, leading=10)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm, topMargin=14 * mm, bottomMargin=14 * mm, title=title
    )
    title, scope = escape(title), escape(scope)  # Paragraph reads markup: a wave named "A<B" must not fail
    story = [
        Paragraph(title, h1),
        Paragraph(
            f"{_('Scope')}: {scope} · {_('Firms (valid responses)')}: {figures.cell(ind['n_responses'])}"
            f" · {_('Rejected rows')}: {ind['n_rejected']}",
            body,
        ),
    ]
    if note:
        story.append(Paragraph(note, small))
    story.append(Spacer(1, 4 * mm))
    width = A4[0] - 32 * mm
    for f in figs:
        if f.key == "index_by_province":
            story += _index_method(font, width, h2, body)
        png = _chart_png(f)
        tall = f.chart in ("heatmap", "hbar")
        image = Image(io.BytesIO(png), width=width, height=width * (5.6 if tall else 3.0) / 7.2)
        data = [["", *f.columns], *[[label, *[figures.cell(v) for v in values]] for label, values in f.rows]]
        wide = len(f.columns) > 8  # a cross-table (province × group): narrow label column, tight cells
        size = 5.5 if wide else 6.5 if len(f.columns) > 4 or len(f.rows) > 12 else 8
        first = 0.16 if wide else 0.34
        table = Table(
            [
                [
                    Paragraph(escape(str(c)), ParagraphStyle("c", fontName=font, fontSize=size, leading=size + 2))
                    for c in row
                ]
                for row in data
            ],
            repeatRows=1,
            colWidths=[width * first] + [width * (1 - first) / len(f.columns)] * len(f.columns),
        )
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#c9d0dc")),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8f0fe")),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("TOPPADDING", (0, 0), (-1, -1), 1),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                    *([("LEFTPADDING", (0, 0), (-1, -1), 1), ("RIGHTPADDING", (0, 0), (-1, -1), 1)] if wide else []),
                ]
            )
        )
        story.append(KeepTogether([Paragraph(f.title, h2), image]))
        story += [table, Spacer(1, 3 * mm)]
    doc.build(story)
    return buf.getvalue()
