"""Who can help: offerings from the resource pool and peer cases for each recommended scenario, and the
subsidy programmes the enterprise's region offers, each through that domain's service."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from smeai.assessment.schemas import LinkOut, RecommendationOut, ScoreOut
from smeai.auth.models import Organisation
from smeai.cases import service as cases
from smeai.cases.index import CaseQuery
from smeai.catalog import service as catalog
from smeai.catalog.index import OfferingQuery
from smeai.i18n import _
from smeai.subsidy import service as subsidy

PER_SCENARIO = 2
PAID_BY_VOUCHERS = frozenset({"investment", "infrastructure", "compute", "subsidy-aware"})  # dimensions, rules


def _industry(org: Organisation | None) -> list[str]:
    if org is None or not org.industry_section:
        return []
    if org.industry_section == "C" and org.mfg_division:
        return [f"C{org.mfg_division}"]
    return [org.industry_section]


def _offerings(
    session: Session, org: Organisation | None, scenario: str | None, stage: int | None, words: str = ""
) -> list[LinkOut]:
    """Offerings for a scenario (in the enterprise's industry) or for some words (any industry)."""
    query = OfferingQuery(
        q=words,
        scenario=[scenario] if scenario else [],
        industry=_industry(org) if scenario else [],
        stage=stage,
        per_page=PER_SCENARIO,
        region=org.province_code if org and org.province_code else None,
    )
    _result, rows = catalog.search_offerings(session, query)
    return [
        LinkOut(
            kind="offering",
            id=str(o.id),
            title=_("Solution: %(name)s") % {"name": o.name},
            url=f"/catalog/offerings/{o.id}",
        )
        for o in rows
    ]


def _cases(session: Session, org: Organisation | None, scenario: str | None, words: str = "") -> list[LinkOut]:
    section = [org.industry_section] if org and org.industry_section else []
    scenarios = [scenario] if scenario else []
    _result, rows = cases.search_cases(session, CaseQuery(q=words, scenario=scenarios, industry=section, per_page=1))
    if not rows and section:  # no case in the same industry: any industry's case
        _result, rows = cases.search_cases(session, CaseQuery(q=words, scenario=scenarios, per_page=1))
    return [
        LinkOut(kind="case", id=str(c.id), title=_("Case: %(title)s") % {"title": c.title}, url=f"/cases/{c.id}")
        for c in rows
    ]


def _programmes(org: Organisation | None, today: date | None = None) -> list[LinkOut]:
    """Programmes open today to an enterprise of this region (the calculator checks the purchase)."""
    today = today or date.today()
    out = []
    for p in subsidy.all_programmes().values():
        region = p.region
        if region.country != "CN" or org is None or not org.province_code:
            continue
        starts, ends = p.pool.period_starts_on, p.pool.period_ends_on
        if (starts and today < starts) or (ends and today > ends):
            continue  # not open today
        if p.eligibility.claimant != "buyer":
            continue  # the supplier claims it, not the enterprise
        if region.provinces and org.province_code not in region.provinces:
            continue
        if region.cities and not any((org.city or "").startswith(c) for c in region.cities):
            continue
        title = _("Voucher: %(name)s") % {"name": p.name}
        out.append(LinkOut(kind="programme", id=p.code, title=title, url=f"/subsidy/programmes/{p.code}"))
    return out[:4]


def enrich(session: Session, org: Organisation | None, result: ScoreOut) -> None:
    """Link each recommendation to offerings and a peer case that help with it (by its scenario, or by its
    search words), scenario steps also to the vouchers open to the enterprise, and add a subsidy
    recommendation listing those vouchers."""
    stage = result.stage.rank if result.stage else None
    programmes = _programmes(org)
    for rec in result.recommendations:
        if rec.kind == "scenario" and rec.scenario:
            rec.links += _offerings(session, org, rec.scenario, stage)
            rec.links += _cases(session, org, rec.scenario)
            rec.links += programmes[:1]
        elif rec.search:
            rec.links += _offerings(session, org, None, stage, rec.search)
            rec.links += _cases(session, org, None, rec.search)
        if rec.kind != "scenario" and (rec.dimension in PAID_BY_VOUCHERS or rec.id in PAID_BY_VOUCHERS):
            rec.links += programmes[:2]  # spending on AI or compute: the vouchers that lower the price
    if programmes:
        result.recommendations.append(
            RecommendationOut(
                id="subsidy-programmes",
                kind="programme",
                priority=2,
                title=_("Vouchers and subsidies you may use"),
                text=_(
                    "Programmes open to enterprises in your region; check eligibility and the price after "
                    "subsidy before you buy."
                ),
                reasons=[_("Your region")],
                links=programmes,
            )
        )
