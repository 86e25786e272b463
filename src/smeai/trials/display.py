"""How trial figures read (pages and the PDF alike): percentages, milliseconds, fen and yuan."""

from __future__ import annotations

from typing import Any

from smeai.i18n import _


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def fen(value: float | None) -> str:
    """An amount in fen, to a thousandth of a fen (the gateway meters in milli-fen)."""
    return "—" if value is None else _("%(n)s fen") % {"n": f"{value:,.3f}".rstrip("0").rstrip(".")}


def yuan(fen_amount: int | None) -> str:
    return "—" if fen_amount is None else _("%(n)s yuan") % {"n": f"{fen_amount / 100:,.2f}"}


def win(rate: dict[str, Any] | None) -> str:
    """ "62% (41–79%)": the rate with a tie counting half, and its Wilson 95 % interval."""
    if not rate:
        return "—"
    return f"{rate['rate'] * 100:.0f}% ({rate['low'] * 100:.0f}–{rate['high'] * 100:.0f}%)"


def record(rate: dict[str, Any] | None) -> str:
    if not rate:
        return ""
    return _("%(w)s won, %(l)s lost, %(t)s tied") % {"w": rate["wins"], "l": rate["losses"], "t": rate["ties"]}


def label(value: dict[str, str] | None) -> str:
    from smeai.i18n import get_lang

    if not value:
        return ""
    return value.get("en") or value["zh"] if get_lang() == "en" else value["zh"]
