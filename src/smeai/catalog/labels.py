"""Display labels (msgids) for the pool's codes; templates show them through _()."""

from __future__ import annotations

from decimal import Decimal

from smeai import taxonomy
from smeai.catalog.index import PRICE_BANDS, WAN
from smeai.catalog.schemas import ANY
from smeai.i18n import N_, _, get_lang

KIND = {
    "saas": N_("AI-native SaaS"),
    "platform": N_("Development / industry platform"),
    "agent": N_("Scenario agent"),
    "model": N_("Model / MaaS"),
    "appliance": N_("All-in-one appliance"),
    "service": N_("Custom development, consulting, integration"),
    "compute": N_("Compute"),
    "dataset": N_("Dataset"),
    "training": N_("Training"),
}
DEPLOYMENT = {
    "saas": N_("Cloud (SaaS)"),
    "private": N_("On-premises"),
    "appliance": N_("Appliance"),
    "edge": N_("Edge / on-device"),
    "api": N_("API"),
}
PRICING = {
    "subscription": N_("Subscription"),
    "per_call": N_("Per call"),
    "per_token": N_("Per token"),
    "per_data": N_("Per data volume"),
    "value_share": N_("Share of value created"),
    "one_off": N_("One-off purchase"),
    "free": N_("Free"),
}
STATUS = {
    "draft": N_("Draft"),
    "submitted": N_("Under review"),
    "published": N_("Published"),
    "rejected": N_("Rejected"),
    "withdrawn": N_("Withdrawn"),
}
ACTION = {
    "created": N_("created"),
    "updated": N_("edited"),
    "submitted": N_("submitted for review"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn"),
    "deleted": N_("deleted"),
    "imported": N_("imported"),
    "commented": N_("commented"),
}
FACET_TITLES = {
    "kind": N_("Kind"),
    "industry": N_("Industry"),
    "scenario": N_("Scenario"),
    "link": N_("Business link"),
    "deployment": N_("Deployment"),
    "pricing": N_("Pricing model"),
    "price_band": N_("First-year cost"),
}
BAND = {code: label for code, _lo, _hi, label in PRICE_BANDS}
STAGE = {
    0: N_("Not using AI yet"),
    1: N_("Exploring"),
    2: N_("Piloting"),
    3: N_("Scaling"),
    4: N_("Embedded in every process"),
}


def industry(code: str) -> str:
    tax = taxonomy.load()
    if code == ANY:
        return _("Any industry")
    if code in tax.sections:
        return taxonomy.name("sections", code)
    if code in tax.groups:
        return taxonomy.name("groups", code)
    if code.startswith("C") and code[1:] in tax.divisions:
        return taxonomy.name("divisions", code[1:])
    return code


def region(code: str) -> str:
    return _("Nationwide") if code == ANY else taxonomy.name("provinces", code)


def facet_value(facet: str, value: str) -> str:
    if facet == "industry":
        return industry(value)
    if facet == "scenario":
        return taxonomy.name("scenarios", value)
    if facet == "link":
        return taxonomy.name("links", value)
    table = {"kind": KIND, "deployment": DEPLOYMENT, "pricing": PRICING, "price_band": BAND}.get(facet, {})
    return _(table[value]) if value in table else value


BAND_ORDER = {code: i for i, (code, _lo, _hi, _label) in enumerate(PRICE_BANDS)}


def ordered_facet(facet: str, counts: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """A facet's values as the reader scans them: cost bands from free to dearest; the others by count."""
    if facet == "price_band":
        return sorted(counts, key=lambda item: BAND_ORDER.get(item[0], len(BAND_ORDER)))
    return list(counts)


def price(entry_price_fen: int) -> str:
    """An offering's first-year cost for display: 免费, 8,000 元 below 1 万元, else 万元 with up to 2 decimals."""
    if entry_price_fen <= 0:
        return _("Free")
    if get_lang() == "en":  # "16 ten-thousand yuan" reads badly: whole yuan, as web/render.py's yuan filter
        return f"CNY {round(entry_price_fen / 100):,}"
    if entry_price_fen < WAN:
        return _("%(yuan)s yuan") % {"yuan": f"{round(entry_price_fen / 100):,}"}
    number = f"{Decimal(entry_price_fen) / WAN:,.2f}".rstrip("0").rstrip(".")
    return _("%(wan)s ten-thousand yuan") % {"wan": number}
