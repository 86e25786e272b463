"""The calculator: which programmes pay for a purchase by an enterprise, how much each (with the rule that
decided every part), the best combination the exclusivity rules allow, and the net price.

Other domains call `smeai.subsidy.service.calculate` (re-exported there): the offering page, the match
reasons, the module menu. Reads only; nothing here writes.
"""

from __future__ import annotations

import itertools
import re
from datetime import date
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from smeai.auth.actor import Actor
from smeai.auth.models import Organisation
from smeai.catalog import service as catalog_service
from smeai.catalog.models import Offering
from smeai.db import utcnow
from smeai.errors import Invalid, NotFound
from smeai.i18n import N_, colon, get_lang, gettext
from smeai.subsidy import ledger
from smeai.subsidy.models import Counter, Pool
from smeai.subsidy.programmes import (
    Amount,
    Profile,
    Programme,
    Purchase,
    PurchaseKind,
    Reason,
    all_programmes,
    amount,
    budget_year,
    date_problems,
    eligibility,
    format_rate,
    region_group,
    region_name,
    region_ok,
    stacking_partners,
)
from smeai.subsidy.schemas import ProgrammeOut, ProgrammeQuote, PurchaseIn, QuoteOut, ReasonOut, SourceOut

# --- programmes -----------------------------------------------------------------------------------------


def get_programme(code: str, *, field: str | None = None) -> Programme:
    programme = all_programmes().get(code)
    if programme is None:
        if field:
            raise Invalid(N_("Unknown programme."), fields={field: f"unknown programme {code!r}"})
        raise NotFound(N_("Programme not found."))
    return programme


CURRENCY_SYMBOLS = {"SGD": "S$", "GBP": "£", "CAD": "C$", "USD": "US$", "EUR": "€"}


def money(fen: int | None, currency: str = "CNY") -> str:
    """One format per currency: CNY in 万元 from 10,000 元 up (else 元; English: CNY 1,500,000), others with
    their symbol (S$, £, C$)."""
    if fen is None:
        return "—"
    yuan = fen / 100
    if currency == "CNY" and get_lang() == "en":  # as the portal shows yuan in English (web.render)
        return f"CNY {yuan:,.2f}".removesuffix(".00")
    if currency == "CNY":
        if abs(yuan) >= 10_000:
            return f"{yuan / 10_000:,.2f}".rstrip("0").rstrip(".") + " 万元"
        return f"{yuan:,.2f}".rstrip("0").rstrip(".") + " 元"
    return f"{CURRENCY_SYMBOLS.get(currency, currency + ' ')}{yuan:,.2f}".removesuffix(".00")


def programme_name(code: str) -> str:
    """A programme's name in the reader's language; the code only for a programme no file names any more."""
    p = all_programmes().get(code)
    return str(p.name) if p is not None else code


def programme_out(p: Programme, *, today: date | None = None) -> ProgrammeOut:
    """A programme in a few words, in the reader's language (the catalog and matching show it too)."""
    caps = p.caps
    rate = " / ".join(format_rate(t.rate) for t in p.tiers) if p.tiers else format_rate(p.rate)
    # 廊坊 pays only by condition: no "rate 0%" in front of its conditions
    parts = [] if p.rate == 0 and p.conditions else [gettext("Rate %(rate)s") % {"rate": rate}]
    parts += [f"{c.why}{colon()}{format_rate(c.rate)}" for c in p.conditions]
    for label, cap in (
        (N_("at most %(amount)s per claim"), caps.per_claim_fen),
        (N_("at most %(amount)s per enterprise per year"), caps.per_org_year_fen),
        (N_("at most %(amount)s per contract"), caps.per_contract_fen),
    ):
        if cap is not None:
            parts.append(gettext(label) % {"amount": money(cap, p.currency)})
    if p.contract.min_fen is not None:
        parts.append(gettext("projects of %(amount)s or more") % {"amount": money(p.contract.min_fen, p.currency)})
    if p.acceptance.required:  # 改造后补贴: the reader should know the money comes after the project
        parts.append(
            gettext("paid after the finished project passes acceptance, with a site visit")
            if p.acceptance.site_visit
            else gettext("paid after the finished project passes acceptance")
        )
    return ProgrammeOut(
        code=p.code,
        name=str(p.name),
        issuer=str(p.issuer),
        voucher=p.voucher.value,
        currency=p.currency,
        region=region_name(p),
        region_group=region_group(p),
        rate=format_rate(p.rate),
        summary=("; " if get_lang() == "en" else "；").join(parts),
        sources=[SourceOut.model_validate(s, from_attributes=True) for s in p.sources],
        documents_apply=[d.value for d in p.documents.apply],
        documents_redeem=[d.value for d in p.documents.redeem],
        assumptions=[a.why for a in p.assumptions],
        period_state=p.period_state(today or utcnow().date()),
        version=p.version,
    )


def stacking_names(code: str) -> list[str]:
    """Names of the programmes CODE may not be combined with (whichever file says so)."""
    programmes = all_programmes()
    return sorted(str(programmes[c].name) for c in stacking_partners(programmes, code))


def list_programmes(*, country: str | None = None) -> list[ProgrammeOut]:
    """Every programme: open ones first, those of COUNTRY (the reader's enterprise's) before the rest."""
    today = utcnow().date()
    out = [programme_out(p, today=today) for p in all_programmes().values()]
    return sorted(out, key=lambda o: (o.period_state != "open", region_rank(o, country), o.region_group, o.code))


def region_rank(o: ProgrammeOut, country: str | None) -> int:
    home = country or "CN"
    return 0 if o.region_group.startswith(home) else 1


GROUPS = {
    "region": N_("Where your enterprise is registered"),
    "country": N_("Elsewhere in China"),
    "abroad": N_("Outside China"),
}


def grouped_programmes(profile: Profile | None, *, today: date | None = None) -> list[tuple[str, list[ProgrammeOut]]]:
    """Programmes grouped by where they apply, as seen from PROFILE (an enterprise's): its own region first,
    then the rest of its country, then abroad; without a profile, China's then other countries'. Within a
    group, open programmes first. Each group: (msgid of its heading, programmes)."""
    today = today or utcnow().date()
    groups: dict[str, list[tuple[Programme, ProgrammeOut]]] = {key: [] for key in GROUPS}
    for p in all_programmes().values():
        if profile is not None and profile.province_code:
            key = _home(p, profile)
        else:
            key = "country" if p.region.country == "CN" else "abroad"
        groups[key].append((p, programme_out(p, today=today)))
    out = []
    for group, rows in groups.items():
        rows.sort(key=lambda r: (r[1].period_state != "open", r[1].region_group, r[0].code))
        if rows:
            title = GROUPS[group] if profile is not None and profile.province_code else _plain(group)
            out.append((title, [o for _, o in rows]))
    return out


def _plain(key: str) -> str:
    return N_("Programmes in China") if key == "country" else GROUPS[key]


# --- the claimant and the purchase ----------------------------------------------------------------------


def profile_of(org: Organisation) -> Profile:
    return Profile(
        province_code=org.province_code,
        city=org.city,
        size_class=org.size_class,
        revenue_band=org.revenue_band,
        industry_section=org.industry_section,
    )


def _claimant(session: Session, who: Actor | Organisation | Profile) -> tuple[int | None, Profile, Actor]:
    """(org id, profile, actor for reads) of an actor's organisation, a given organisation, or a bare profile."""
    if isinstance(who, Profile):
        return None, who, Actor.system()
    if isinstance(who, Organisation):
        return who.id, profile_of(who), Actor.system()
    org = session.get(Organisation, who.org_id) if who.org_id is not None else None
    if org is None:
        return None, Profile(), who
    return org.id, profile_of(org), who


def resolve_purchase(session: Session, actor: Actor, data: PurchaseIn) -> tuple[PurchaseIn, Offering | None]:
    """Fill kind, supplier and description from the offering, where one is named; the catalog's own
    visibility rules apply (NotFound)."""
    if not data.offering_id:
        return data, None
    offering = catalog_service.get_offering(session, actor, data.offering_id)
    kind = data.kind
    if kind is None and offering.kind in PurchaseKind.__members__.values():
        kind = PurchaseKind(offering.kind)
    filled = data.model_copy(
        update={
            "kind": kind,
            "description": data.description or offering.name,
            "supplier_name": data.supplier_name or offering.provider.name,
        }
    )
    return filled, offering


def _purchase(data: PurchaseIn, listed_in: frozenset[str] = frozenset()) -> Purchase:
    return Purchase(
        contract_fen=data.contract_fen,
        kind=data.kind,
        offering_id=data.offering_id,
        supplier_name=data.supplier_name,
        supplier_affiliated=data.supplier_affiliated,
        signed_on=data.signed_on,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        paid_on=data.paid_on,
        service_year=data.service_year,
        flags=frozenset(data.flags),
        listed_in=listed_in,
    )


def listed_in_of(offering: Offering | None) -> frozenset[str]:
    return frozenset(offering.voucher_eligible or ()) if offering is not None else frozenset()


def check_dates(p: Programme | None, data: PurchaseIn, today: date) -> None:
    """Invalid naming each date outside the plausible window around TODAY or (with P) outside P's period."""
    problems = date_problems(p, _purchase(data), today)
    if problems:
        raise Invalid(N_("Please correct the marked fields."), fields=problems)


def contract_ref(supplier_name: str | None, contract_no: str | None) -> str:
    """One contract, however its supplier and number are spelt: case, spaces and punctuation dropped."""

    def norm(text: str | None) -> str:
        return re.sub(r"[\W_]+", "", (text or "").casefold())

    return f"{norm(supplier_name)}|{norm(contract_no)}"[:300]


def counter_keys(p: Programme, org_id: int | None, data: PurchaseIn, today: date) -> tuple[str | None, str | None]:
    """The per-enterprise-year and per-contract counter keys this purchase would count against (if capped)."""
    org_year = (
        f"org-year:{p.code}:{org_id}:{budget_year(p, data.signed_on, today)}"
        if org_id is not None and p.caps.per_org_year_fen is not None
        else None
    )
    per_contract = (
        f"contract:{p.code}:{contract_ref(data.supplier_name, data.contract_no)}"
        if data.contract_no and p.caps.per_contract_fen is not None
        else None
    )
    return org_year, per_contract


def committed_totals(session: Session, keys: list[str]) -> dict[str, int]:
    """What each counter already holds, in one query (the calculator runs for whole lists of offerings)."""
    if not keys:
        return {}
    rows = session.execute(select(Counter.key, Counter.committed_fen).where(Counter.key.in_(keys)))
    return {key: int(value) for key, value in rows}


def open_annual_pools(session: Session) -> set[str]:
    """The annual pools' years an operator has opened (`code@2026`), in one query."""
    rows = session.scalars(
        select(Pool.programme_code).where(Pool.programme_code.contains("@"), Pool.opened_at.is_not(None))
    )
    return set(rows)


def assess(
    p: Programme,
    org_id: int | None,
    profile: Profile,
    data: PurchaseIn,
    *,
    today: date,
    committed: dict[str, int],
    listed_in: frozenset[str] = frozenset(),
    open_pools: set[str] | None = None,
) -> tuple[list[Reason], Amount]:
    purchase = _purchase(data, listed_in)
    reasons = eligibility(p, profile, purchase, applied_on=today)
    if p.pool.annual and open_pools is not None:  # an annual pool's year is opened by an operator, never a claim
        year = budget_year(p, data.signed_on, today)
        reasons.append(
            Reason(
                "pool_open",
                ledger.pool_key(p, year) in open_pools,
                N_("The programme's budget for {year} is open."),
                {"year": year},
            )
        )
    if p.eligibility.claimant != "buyer":
        reasons.insert(0, Reason("claimant", False, N_("Claimed by the supplier, not the buyer."), {}))
    org_year, per_contract = counter_keys(p, org_id, data, today)
    result = amount(
        p,
        purchase,
        org_year_committed_fen=committed.get(org_year or "", 0),
        contract_committed_fen=committed.get(per_contract or "", 0),
    )
    return reasons, result


def calculate(
    session: Session, actor_or_org: Actor | Organisation | Profile, purchase: PurchaseIn, *, today: date | None = None
) -> QuoteOut:
    """Which programmes apply to this purchase, how much each pays (with the rules that decided), the best
    allowed combination under the exclusivity rules, and the net price.

    Other domains call this with an enterprise's Actor or Organisation (e.g. the offering page, the match
    reasons); a bare Profile works for anonymous "what if" questions.
    """
    today = today or utcnow().date()
    check_dates(None, purchase, today)  # each programme's own period is one of its eligibility rules
    org_id, profile, reader = _claimant(session, actor_or_org)
    purchase, offering = resolve_purchase(session, reader, purchase)
    programmes = all_programmes()
    committed = committed_totals(
        session, [k for p in programmes.values() for k in counter_keys(p, org_id, purchase, today) if k]
    )
    quotes: list[ProgrammeQuote] = []
    open_pools = open_annual_pools(session)
    for p in programmes.values():
        reasons, result = assess(
            p,
            org_id,
            profile,
            purchase,
            today=today,
            committed=committed,
            listed_in=listed_in_of(offering),
            open_pools=open_pools,
        )
        eligible = all(r.ok for r in reasons) and result.amount_fen > 0
        quotes.append(
            ProgrammeQuote(
                code=p.code,
                name=str(p.name),
                currency=p.currency,
                eligible=eligible,
                amount_fen=result.amount_fen if eligible else 0,
                rate=format_rate(result.rate),
                reasons=[ReasonOut.of(r) for r in [*reasons, *result.reasons]],
                excludes=sorted(str(programmes[c].name) for c in stacking_partners(programmes, p.code)),
                region=region_name(p),
                region_group=region_group(p),
                home=_home(p, profile),
                period_state=p.period_state(today),
            )
        )
    quotes.sort(key=lambda q: (not q.eligible, -q.amount_fen, q.code))
    best, total = best_combination(programmes, [q for q in quotes if q.eligible], purchase.contract_fen)
    explanation = [f"{q.name}: {q.amount_fen / 100:,.2f}" for q in quotes if q.code in best]
    return QuoteOut(
        contract_fen=purchase.contract_fen,
        programmes=quotes,
        best=best,
        total_fen=total,
        net_fen=purchase.contract_fen - total,
        explanation=explanation,
    )


def _home(p: Programme, profile: Profile) -> Literal["region", "country", "abroad"]:
    """Where P applies as seen from the enterprise: its own region, elsewhere in its country, or abroad."""
    if p.region.country != profile.country:
        return "abroad"
    return "region" if region_ok(p, profile) else "country"


def best_combination(
    programmes: dict[str, Programme], eligible: list[ProgrammeQuote], contract_fen: int
) -> tuple[list[str], int]:
    """The set of programmes paying most together, none excluding another, never more than the contract.

    Ties go to fewer programmes (fewer claims to file). Exhaustive: a purchase is eligible for a handful.
    """
    candidates = sorted(eligible, key=lambda q: -q.amount_fen)[:12]
    best: tuple[int, int, list[str]] = (0, 0, [])
    for size in range(1, len(candidates) + 1):
        for combo in itertools.combinations(candidates, size):
            codes = {q.code for q in combo}
            if any(stacking_partners(programmes, c) & codes for c in codes):
                continue
            total = min(contract_fen, sum(q.amount_fen for q in combo))
            if (total, -size) > (best[0], -len(best[2]) if best[2] else 0):
                best = (total, size, sorted(codes))
    return best[2], best[0]
