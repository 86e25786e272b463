"""The module menu (社区食堂 "点餐"): providers price their offerings as modules; an enterprise composes a
package, sees the total and, where a programme defines one, the tiered plan (花都: 首年免费、次年 50%
补贴、第三年 30% 托底), and sends the package as a need."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from smeai.auth.actor import Actor
from smeai.auth.models import Organisation
from smeai.auth.permissions import Permission
from smeai.catalog import service as catalog_service
from smeai.catalog.models import Offering
from smeai.db import utcnow
from smeai.errors import Invalid, NotFound
from smeai.i18n import N_
from smeai.matching import engagements, service
from smeai.matching.models import Need, OfferingModule
from smeai.matching.schemas import (
    MAX_NEED_TEXT,
    ModuleIn,
    ModuleOut,
    NeedIn,
    PackageIn,
    PackageOut,
    PlanYear,
)
from smeai.money import MAX_FEN
from smeai.subsidy import service as subsidy_service

if TYPE_CHECKING:
    from smeai.subsidy.programmes import Programme


def list_menu(session: Session) -> list[tuple[OfferingModule, Offering]]:
    """Modules of published offerings (public, like the catalog)."""
    query = (
        select(OfferingModule, Offering)
        .join(Offering, Offering.id == OfferingModule.offering_id)
        .where(catalog_service.visible_offerings(None))
        .order_by(Offering.name, OfferingModule.id)
    )
    return [(m, o) for m, o in session.execute(query).unique()]


def own_offerings(session: Session, actor: Actor) -> list[Offering]:
    """The offerings a provider member may put modules of on the menu."""
    if not actor.can(Permission.OFFERING_WRITE_OWN) or actor.org_id is None:
        return []
    query = select(Offering).where(Offering.provider_id == actor.org_id, Offering.deleted_at.is_(None))
    return list(session.scalars(query.order_by(Offering.name)))


def add_module(session: Session, actor: Actor, data: ModuleIn) -> OfferingModule:
    actor.require(Permission.OFFERING_WRITE_OWN)
    offering = session.get(Offering, data.offering_id)
    if (
        offering is None
        or offering.deleted_at is not None
        or (offering.provider_id != actor.org_id and not actor.can(Permission.OFFERING_REVIEW))
    ):
        raise NotFound(N_("Offering not found."))
    module = OfferingModule(created_at=utcnow(), **data.model_dump())
    session.add(module)
    session.flush()
    return module


def delete_module(session: Session, actor: Actor, module_id: int) -> None:
    module = session.get(OfferingModule, module_id)
    offering = session.get(Offering, module.offering_id) if module else None
    if (
        module is None
        or offering is None
        or (offering.provider_id != actor.org_id and not actor.can(Permission.OFFERING_REVIEW))
    ):
        raise NotFound(N_("Module not found."))
    session.delete(module)
    session.flush()


def tiered_programmes(session: Session, actor: Actor) -> dict[str, Programme]:
    """Programmes with a tiered plan that apply where the actor's organisation is (all, when unknown)."""
    org = session.get(Organisation, actor.org_id) if actor.org_id else None
    out = {}
    for code, p in subsidy_service.all_programmes().items():
        if not p.tiers:
            continue
        provinces = p.region.provinces
        if org is not None and org.province_code and provinces and org.province_code not in provinces:
            continue
        out[code] = p
    return out


def _plan(total_fen: int, programme: Programme) -> list[PlanYear]:
    plan = []
    for tier in sorted(programme.tiers, key=lambda t: t.year):
        rate = Fraction(tier.rate)
        pay = total_fen - total_fen * rate.numerator // rate.denominator  # integer fen, subsidy rounded down
        plan.append(PlanYear(year=tier.year, subsidy_pct=float(rate * 100), pay_fen=pay))
    return plan


def compose_package(session: Session, actor: Actor, data: PackageIn) -> PackageOut:
    rows = {m.id: (m, o) for m, o in list_menu(session)}
    missing = [i for i in data.module_ids if i not in rows]
    if missing:
        raise Invalid(N_("Unknown module."), fields={"module_ids": ", ".join(map(str, missing))})
    modules = [rows[i][0] for i in dict.fromkeys(data.module_ids)]
    total = sum(m.price_fen for m in modules)
    plan: list[PlanYear] = []
    if data.programme:
        programmes = tiered_programmes(session, actor)
        if data.programme not in programmes:
            raise Invalid(N_("No tiered plan of that programme applies here."), fields={"programme": data.programme})
        plan = _plan(total, programmes[data.programme])
    return PackageOut(
        modules=[ModuleOut.model_validate(m) for m in modules], total_fen=total, programme=data.programme, plan=plan
    )


def send_package(session: Session, actor: Actor, data: PackageIn) -> Need:
    """The package becomes a need; each offering in it gets the enterprise's interest (providers notified)."""
    package = compose_package(session, actor, data)
    if package.total_fen > MAX_FEN:  # modules at the top price: a field error, not a 500 from NeedIn
        raise Invalid(
            N_("The package costs more than any budget the platform records."), fields={"module_ids": "total"}
        )
    names = "、".join(m.name for m in package.modules)
    need = service.create_need(
        session,
        actor,
        NeedIn(title=names[:200], text=names[:MAX_NEED_TEXT], budget_fen=package.total_fen),
        source="package",
        package=package.model_dump(mode="json"),
    )
    for offering_id in dict.fromkeys(m.offering_id for m in package.modules):
        engagements.express_interest(session, actor, need.id, offering_id)
    return need
