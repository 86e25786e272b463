"""The diagnosis report as a PDF an owner can hand to the board: scores, radar, peer position, gaps,
recommendations and next steps. reportlab with the CJK font from smeai.fonts; charts drawn by matplotlib."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from smeai import fonts, taxonomy
from smeai.assessment.instruments import Instrument
from smeai.assessment.models import Assessment
from smeai.assessment.schemas import BenchmarkOut, ComparisonOut, ScoreOut
from smeai.auth.models import Organisation
from smeai.i18n import _, colon, get_lang

BRAND, ACCENT, GREY = "#1f4e9c", "#e8710a", "#9db3d9"


def radar_png(inst: Instrument, result: ScoreOut, peer_medians: dict[str, float] | None = None) -> bytes:
    """The dimension scores as a radar chart (PNG), with the peer median where there is one."""
    fonts.configure_matplotlib()
    import matplotlib.pyplot as plt
    import numpy as np

    names = [_wrap_name(str(d.name)) for d in inst.dimensions]
    values = [result.dimensions[d.id] for d in inst.dimensions]
    angles = np.linspace(0, 2 * np.pi, len(names), endpoint=False).tolist()
    fig, ax = plt.subplots(figsize=(6.4, 5.6), subplot_kw={"polar": True}, dpi=150)
    ax.set_theta_offset(np.pi / 2)  # type: ignore[attr-defined]  # a polar Axes
    ax.set_theta_direction(-1)  # type: ignore[attr-defined]
    ax.set_ylim(0, 100)
    ax.set_yticks([20, 40, 60, 80, 100])
    ax.set_yticklabels(["20", "40", "60", "80", ""], fontsize=7, color="#5d6678")
    ax.set_xticks(angles)
    ax.set_xticklabels(names, fontsize=9)
    ax.tick_params(axis="x", pad=16)  # names stand clear of the outer ring
    for tick, angle in zip(ax.get_xticklabels(), angles, strict=True):
        x = np.sin(angle)  # clockwise from the top: right half left-aligned, left half right-aligned
        tick.set_horizontalalignment("center" if abs(x) < 0.2 else ("left" if x > 0 else "right"))
    ring = [*angles, angles[0]]
    if peer_medians:
        peer = [peer_medians.get(d.id, 0) for d in inst.dimensions]
        ax.plot(ring, [*peer, peer[0]], color=ACCENT, linestyle="--", linewidth=1.5, label=_("Peer median"))
    ax.plot(ring, [*values, values[0]], color=BRAND, linewidth=2, label=_("Your enterprise"))
    ax.fill(ring, [*values, values[0]], color=BRAND, alpha=0.2)
    ax.set_rlabel_position(180 / len(names))  # type: ignore[attr-defined]  # ring labels between two axes, clear of the names
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8, frameon=False)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _wrap_name(name: str, width: int = 14) -> str:
    """A long dimension name on two lines: at a bracket or a space near the middle."""
    if len(name) <= width // 2 + 1 or (" " in name and len(name) <= width):
        return name
    for mark in ("（", "("):
        if mark in name:
            i = name.index(mark)
            return name[:i] + "\n" + name[i:]
    if " " in name:
        cut = name.rfind(" ", 0, len(name) // 2 + 4)
        return name[:cut] + "\n" + name[cut + 1 :] if cut > 0 else name
    return name


def peers_png(bench: BenchmarkOut) -> bytes:
    fonts.configure_matplotlib()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.6), dpi=150)
    me = min(int(bench.overall // 10), 9)
    labels = [f"{b.lower}-{b.upper}" for b in bench.distribution]
    colors = [ACCENT if i == me else GREY for i in range(len(labels))]
    ax.bar(labels, [b.count for b in bench.distribution], color=colors)
    ax.set_ylabel(_("enterprises"), fontsize=8)
    ax.set_xlabel(_("overall score"), fontsize=8)
    ax.tick_params(labelsize=7)
    ax.yaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]  # a MaxNLocator
    ax.spines[["top", "right"]].set_visible(False)
    ax.annotate(
        _("you"),
        (me, bench.distribution[me].count),
        textcoords="offset points",
        xytext=(0, 4),
        ha="center",
        fontsize=8,
        color=ACCENT,
    )
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _join(items: list[str], *, semi: bool = False) -> str:
    """A list in running text: 、 (or ；) in Chinese, ", " (or "; ") in English."""
    if get_lang() == "en":
        return ("; " if semi else ", ").join(items)
    return ("；" if semi else "、").join(items)


def summary_text(inst: Instrument, result: ScoreOut) -> str:
    """The findings in three sentences, for readers who read nothing else."""
    parts = [_("Overall score %(score).1f, level %(level)s.") % {"score": result.overall, "level": result.level.name}]
    if result.stage:
        role = result.role.name if result.role else _("not yet reached")
        parts.append(_("Application stage: %(stage)s; AI role: %(role)s.") % {"stage": result.stage.name, "role": role})
    names = {d.id: str(d.name) for d in inst.dimensions}
    if result.strengths:
        parts.append(_("Strengths: %(list)s.") % {"list": _join([names[d] for d in result.strengths])})
    if result.gaps:
        parts.append(_("Gaps: %(list)s.") % {"list": _join([names[d] for d in result.gaps])})
    first = [r.title for r in result.recommendations if r.priority == 1][:3] or [
        r.title for r in result.recommendations
    ][:3]
    if first:
        parts.append(_("Do first: %(list)s.") % {"list": _join(first, semi=True)})
    return " ".join(parts)


def render_pdf(
    *,
    a: Assessment,
    inst: Instrument,
    result: ScoreOut,
    bench: BenchmarkOut,
    comparison: ComparisonOut | None,
    org: Organisation | None,
    **_ignored: Any,
) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = fonts.register_reportlab_font()
    base = ParagraphStyle("base", fontName=font, fontSize=10, leading=15, wordWrap="CJK")
    small = ParagraphStyle("small", parent=base, fontSize=8.5, leading=12, textColor=colors.HexColor("#5d6678"))
    h1 = ParagraphStyle("h1", parent=base, fontSize=20, leading=26, textColor=colors.HexColor(BRAND), spaceAfter=4)
    h2 = ParagraphStyle(
        "h2", parent=base, fontSize=13, leading=18, textColor=colors.HexColor(BRAND), spaceBefore=10, spaceAfter=4
    )
    big = ParagraphStyle("big", parent=base, fontSize=22, leading=26, textColor=colors.HexColor(BRAND))

    def p(text: str, style: ParagraphStyle = base) -> Paragraph:
        return Paragraph(escape(str(text)), style)

    def dim_name(dim_id: str) -> str:
        return str(inst.dimension(dim_id).name)

    when = (a.completed_at or datetime.now()).strftime("%Y-%m-%d")
    story: list[Any] = [
        p(_("AI maturity diagnosis report"), h1),
        p(f"{org.name if org else ''} · {when} · {inst.name} {inst.version}", small),
    ]
    if org is not None and org.industry_section:
        industry = taxonomy.name("sections", org.industry_section)
        if org.mfg_division:
            industry += " · " + taxonomy.name("divisions", org.mfg_division)
        where = " ".join(x for x in (taxonomy.name("provinces", org.province_code), org.city or "") if x)
        story.append(
            p(
                " · ".join(
                    x
                    for x in (
                        industry,
                        where,
                        org.revenue_band and _("revenue %(band)s hundred million yuan") % {"band": org.revenue_band},
                    )
                    if x
                ),
                small,
            )
        )
    story.append(Spacer(1, 6 * mm))
    from reportlab.pdfbase.pdfmetrics import stringWidth

    figures = [(f"{result.overall:.1f}", _("Overall score (0–100)")), (result.level.name, _("Level"))]
    if result.stage:
        figures.append((result.stage.name, _("Application stage")))
    if inst.roles:
        figures.append((result.role.name if result.role else "—", _("AI role reached")))
    col = 174 * mm / len(figures)

    def fitted(text: str, largest: float) -> ParagraphStyle:
        """The largest size up to `largest` at which the text stays on one line of its card."""
        size = largest
        while size > 9 and stringWidth(text, font, size) > col - 12:
            size -= 0.5
        return ParagraphStyle(f"fig{size}", parent=big, fontSize=size, leading=max(size * 1.2, 14))

    words = min(fitted(text, 18).fontSize for text, _l in figures[1:])  # the worded figures share one size
    sized = [fitted(figures[0][0], 22)] + [
        ParagraphStyle(f"words{words}", parent=big, fontSize=words, leading=max(words * 1.2, 14)) for _f in figures[1:]
    ]
    cards = [
        [p(text, style) for (text, _l), style in zip(figures, sized, strict=True)],  # each on one line
        [p(label_text, small) for _t, label_text in figures],
    ]
    summary = Table(cards, colWidths=[col] * len(figures))
    summary.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#f0f3f8")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, 0), 8),
            ]
        )
    )
    story += [summary]
    if result.levels_note:
        story.append(p(result.levels_note, small))
    story += [Spacer(1, 4 * mm), p(_("Summary"), h2), p(summary_text(inst, result))]
    if bench.suppressed:
        story.append(
            p(
                _(
                    "Peer comparison: shown once at least %(need)d comparable enterprises have taken this "
                    "diagnosis (%(n)d so far), so that no single firm can be recognised."
                )
                % {"need": bench.peers_needed, "n": bench.peers},
                small,
            )
        )
    else:
        story.append(
            p(
                _("Among %(n)d peers (%(group)s) you score higher than %(p)d%% of them; the median is %(m).1f.")
                % {
                    "n": bench.peers,
                    "group": bench.peer_group_label,
                    "p": round(bench.percentile or 0),
                    "m": bench.quartiles[1],
                }
            )
        )

    if bench.survey_stage:
        sv = bench.survey_stage
        shares = _join([f"{t.name} {sv.shares[t.id]:.0f}%" for t in inst.stages])
        story.append(
            p(
                _(
                    "In the survey %(wave)s (%(group)s, %(n)d firms) the stages are: %(shares)s. Your stage is "
                    "ahead of %(p)d%% of them."
                )
                % {
                    "wave": sv.wave,
                    "group": sv.peer_group_label,
                    "n": sv.firms,
                    "shares": shares,
                    "p": round(sv.percentile),
                }
            )
        )
    radar = Image(io.BytesIO(radar_png(inst, result, bench.dimension_medians or None)), width=128 * mm, height=112 * mm)
    head = [_("Dimension"), _("Score"), _("Peer median")] + ([_("Change")] if comparison else [])
    rows = [[p(h, small) for h in head]]
    changes = {c.dimension: c.change for c in comparison.dimensions} if comparison else {}
    for d in inst.dimensions:
        row = [
            p(str(d.name)),
            p(f"{result.dimensions[d.id]:.0f}"),
            p(f"{bench.dimension_medians[d.id]:.0f}" if d.id in bench.dimension_medians else "—"),
        ]
        if comparison:
            row.append(p(f"{changes[d.id]:+.1f}" if d.id in changes else "—"))
        rows.append(row)
    widths = [70 * mm, 25 * mm, 30 * mm] + ([25 * mm] if comparison else [])
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, colors.HexColor("#e3e7ee")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f0f3f8")),
            ]
        )
    )
    # the table (never split across pages) right under the summary; the radar follows it
    story += [KeepTogether([p(_("Scores by dimension"), h2), table]), KeepTogether([Spacer(1, 4 * mm), radar])]
    if not bench.suppressed:
        story.append(
            KeepTogether(
                [p(_("Position among peers"), h2), Image(io.BytesIO(peers_png(bench)), width=150 * mm, height=65 * mm)]
            )
        )

    story.append(p(_("Strengths and gaps"), h2))
    paren = "{} ({:.0f})" if get_lang() == "en" else "{}（{:.0f}）"
    strengths = _join([paren.format(dim_name(d), result.dimensions[d]) for d in result.strengths]) or "—"
    gaps = _join([paren.format(dim_name(d), result.dimensions[d]) for d in result.gaps]) or "—"
    story += [p(_("Strengths") + colon() + strengths), p(_("Gaps") + colon() + gaps)]
    if result.next_level:
        story.append(
            p(
                _("To reach %(level)s") % {"level": result.next_level.name}
                + colon()
                + _join(result.next_level_missing, semi=True)
            )
        )

    heading = p(_("Recommendations"), h2)
    if not result.recommendations:
        story.append(KeepTogether([heading, p(_("Retake the diagnosis in six months and compare."))]))
    for i, r in enumerate(result.recommendations, 1):
        block = [
            p(f"{i}. {r.title}", ParagraphStyle("rt", parent=base, fontSize=10.5, textColor=colors.black)),
            p(r.text, small),
        ]
        if r.reasons:
            block.append(p(_("Based on") + colon() + _join(r.reasons, semi=True), small))
        block += [p(f"→ {link.title}", small) for link in r.links]
        story.append(KeepTogether([*([heading] if i == 1 else []), *block, Spacer(1, 2 * mm)]))

    story.append(p(_("Next steps"), h2))
    scenarios = [taxonomy.name("scenarios", r.scenario) for r in result.recommendations if r.scenario]
    vouchers = [link.title for r in result.recommendations if r.kind == "programme" for link in r.links]
    steps = [_("Book an AI transformation consultant at the centre to turn the recommendations into a plan.")]
    if scenarios:  # name the scenarios: "the scenarios above" must point at ones the report lists
        steps.append(
            _("Look up offerings and peer cases for %(list)s in the resource pool and the case library.")
            % {"list": _join([f"“{name}”" for name in scenarios])}
        )
    if vouchers:
        steps.append(_("Check these vouchers before buying: %(list)s.") % {"list": _join(vouchers, semi=True)})
    steps.append(_("Retake the diagnosis in six months and compare."))
    for i, line in enumerate(steps, 1):
        story.append(p(f"{i}. {line}"))

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 7.5)
        canvas.setFillColor(colors.HexColor("#5d6678"))
        canvas.drawString(18 * mm, 10 * mm, _("smeai AI application enablement centre · self-diagnosis report"))
        canvas.drawRightString(192 * mm, 10 * mm, str(doc.page))
        canvas.restoreState()

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=_("AI maturity diagnosis report"),
        author="smeai",
    )
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
