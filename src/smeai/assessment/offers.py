"""Who can help: offerings from the resource pool and peer cases for each recommended scenario, and the
subsidy programmes the enterprise's region offers, each through that domain's service."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from smeai.assessment.schemas import LinkOut, RecommendationOut, ScoreOut
from smeai.auth.models import Organisation
from smeai.cases import service as cases
from smeai.cases.index import CaseQuery
from smeai.catalog import service as catalog
from smeai.catalog import stamp as catalog_stamp
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


# The searches behind the links, remembered per search and the stamp its index answers at (the catalog's
# change stamp; the case table's size and newest change): an assessment result ran five catalog and five
# case searches on every view (about 150 ms of the page). Only (id, name) of public offerings and cases
# are kept, and the key holds every input of the search (the enterprise's industry and region among
# them), so nothing of one organisation reaches another; an edit moves the stamp, so it shows at once.
_HITS: dict[tuple[Any, ...], list[tuple[int, str]]] = {}
_HITS_MAX = 4096  # searches; then the memory starts over
_hits_lock = threading.Lock()


def _forget(_session: Session) -> None:
    """A catalog write rolled back: the stamp's version it took will be handed out again, to other rows."""
    with _hits_lock:
        _HITS.clear()


catalog_stamp.on_rollback(_forget)


class Stamps:
    """The search indexes' stamps, read once per enrichment (one query each), when first needed."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.database = str(session.get_bind().engine.url)
        self._catalog: tuple[Any, ...] | None = None
        self._cases: tuple[Any, ...] | None = None

    def catalog(self) -> tuple[Any, ...]:
        if self._catalog is None:
            self._catalog = (self.database, *catalog.search_stamp(self.session))
        return self._catalog

    def cases(self) -> tuple[Any, ...]:
        if self._cases is None:
            self._cases = (self.database, *cases.search_stamp(self.session))
        return self._cases


def _remembered(key: tuple[Any, ...], search: Callable[[], list[tuple[int, str]]]) -> list[tuple[int, str]]:
    with _hits_lock:
        found = _HITS.get(key)
    if found is None:
        found = search()
        with _hits_lock:
            if len(_HITS) >= _HITS_MAX:
                _HITS.clear()
            _HITS[key] = found
    return found


def _offerings(
    session: Session,
    org: Organisation | None,
    scenario: str | None,
    stage: int | None,
    words: str = "",
    stamps: Stamps | None = None,
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

    def search() -> list[tuple[int, str]]:
        return [(o.id, o.name) for o in catalog.search_offerings(session, query)[1]]

    stamp = (stamps or Stamps(session)).catalog()
    hits = _remembered(("offerings", *stamp, query.model_dump_json()), search)
    return [
        LinkOut(
            kind="offering",
            id=str(id_),
            title=_("Solution: %(name)s") % {"name": name},
            url=f"/catalog/offerings/{id_}",
        )
        for id_, name in hits
    ]


def _cases(
    session: Session, org: Organisation | None, scenario: str | None, words: str = "", stamps: Stamps | None = None
) -> list[LinkOut]:
    section = [org.industry_section] if org and org.industry_section else []
    scenarios = [scenario] if scenario else []

    def search() -> list[tuple[int, str]]:
        query = CaseQuery(q=words, scenario=scenarios, industry=section, per_page=1)
        _result, rows = cases.search_cases(session, query)
        if not rows and section:  # no case in the same industry: any industry's case
            _result, rows = cases.search_cases(session, CaseQuery(q=words, scenario=scenarios, per_page=1))
        return [(c.id, c.title) for c in rows]

    stamp = (stamps or Stamps(session)).cases()
    hits = _remembered(("cases", *stamp, words, tuple(scenarios), tuple(section)), search)
    return [
        LinkOut(kind="case", id=str(id_), title=_("Case: %(title)s") % {"title": title}, url=f"/cases/{id_}")
        for id_, title in hits
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


def stamp(session: Session) -> tuple[Any, ...]:
    """What the links `enrich` adds depend on besides the enterprise: the catalog's and the case table's
    stamps, the programme files, and today's date (a programme opens or closes). A cache of a page that
    shows them is keyed by it."""
    stamps = Stamps(session)
    return (*stamps.catalog(), *stamps.cases(), subsidy.programmes_stamp(), date.today().isoformat())


def enrich(session: Session, org: Organisation | None, result: ScoreOut) -> None:
    """Link each recommendation to offerings and a peer case that help with it (by its scenario, or by its
    search words), scenario steps also to the vouchers open to the enterprise, and add a subsidy
    recommendation listing those vouchers."""
    stage = result.stage.rank if result.stage else None
    programmes = _programmes(org)
    stamps = Stamps(session)
    for rec in result.recommendations:
        if rec.kind == "scenario" and rec.scenario:
            rec.links += _offerings(session, org, rec.scenario, stage, stamps=stamps)
            rec.links += _cases(session, org, rec.scenario, stamps=stamps)
            rec.links += programmes[:1]
        elif rec.search:
            rec.links += _offerings(session, org, None, stage, rec.search, stamps=stamps)
            rec.links += _cases(session, org, None, rec.search, stamps=stamps)
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
