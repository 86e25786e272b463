"""Gateway rules: keys, wallets, upstreams and prices, usage queries, and the data plane's begin/finish.

The API for pages, the CLI and other domains (every function takes `session, actor` first and checks the
actor; nothing commits, the edge commits once):

Enterprise (GATEWAY_USE, own organisation; operators with GATEWAY_MANAGE may pass `org_id` for any):
- `list_keys(session, actor, *, org_id=None) -> list[Key]`
- `create_key(session, actor, data: KeyIn, *, org_id=None) -> tuple[Key, str]`: the row and the secret,
  which is shown this once (only its SHA-256 is kept)
- `revoke_key(session, actor, key_id) -> Key`
- `get_wallet(session, actor, *, org_id=None) -> WalletOut`: balances, held, available, the voucher's rate
- `usage_query(actor, *, org_id=None, day=None, model=None, key_id=None) -> Select[Usage]` (page it with
  `web.paging.page_select`), `list_usage(...) -> list[Usage]`
- `usage_by_day(session, actor, *, org_id=None, day_from=None, day_to=None) -> list[UsageDayOut]`: sums per
  day, model and key, with the cost before the voucher (`cost_milli_fen`) and after it (`own_milli_fen`)
- `list_models(session, actor) -> list[str]`: the aliases a caller may use
- `export.usage_xlsx(session, actor, *, org_id=None, day_from=None, day_to=None) -> bytes`: the Excel export
- `flows.list_grants(session, actor, *, org_id=None)`: the 模型券 that fund the wallet

Operator (GATEWAY_MANAGE):
- `fund_wallet(session, actor, org_id, fen, *, note=None) -> WalletOut`: the enterprise's own money (audited)
- `list_wallets(session, actor) -> list[WalletOut]`
- `list_upstreams(session, actor) -> list[UpstreamOut]`, `add_upstream(session, actor, data: UpstreamIn)`
  (adds or updates by name; prices become a new version), `set_price(session, actor, route_id, data: PriceIn)`
- `losses(session, actor) -> list[LossOut]`: calls whose list price passed their hold (the operator's loss)
- `audit(session, actor) -> ledger.AuditReport` (`flows.audit` adds the voucher grants against the subsidy ledger)
- `checks.check_upstream(session, actor, name) -> CheckReport`: the bound's premises for a configured model
- `sweep(session, actor, *, now=None) -> int`: void the holds that outlived their call

The data plane (gateway/proxy.py) authenticates with `authenticate(session, secret) -> Key`, then
`begin_call(...)` holds the worst case and `settle_call(...)` / `void_call(...)` resolve it. 模型券 funding and
period-end release live in gateway/flows.py (they call the subsidy domain).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, Select, Table, bindparam, false, func, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from smeai.auth import audit as audit_log
from smeai.auth.actor import Actor
from smeai.auth.models import Organisation
from smeai.auth.permissions import OrgKind, Permission
from smeai.db import utcnow
from smeai.errors import Invalid, NotAuthenticated, NotFound
from smeai.gateway import ledger
from smeai.gateway.ledger import HoldRequest, HoldState, Metered
from smeai.gateway.models import Hold, Key, Price, Route, Upstream, Usage, Wallet
from smeai.gateway.schemas import (
    KeyIn,
    LossOut,
    PriceIn,
    RouteOut,
    UpstreamIn,
    UpstreamOut,
    UsageDayOut,
    WalletOut,
)
from smeai.i18n import N_

KEY_PREFIX = "sk-smeai-"
HOLD_MARGIN = timedelta(minutes=2)  # past the upstream timeout: the sweeper voids a hold only once its call is over


class InvalidKey(NotAuthenticated):
    """The gateway key is unknown, revoked or expired (OpenAI's `invalid_api_key`)."""

    code = "invalid_api_key"


class ModelNotFound(NotFound):
    """The model is not offered by the gateway, or not allowed for this key."""

    code = "model_not_found"


# --- who sees what ---------------------------------------------------------------------------------------


def _org_scope(actor: Actor, column: InstrumentedAttribute[int]) -> ColumnElement[bool]:
    """As SQL, so list and get cannot disagree: operators see every organisation, an enterprise its own."""
    if actor.can(Permission.GATEWAY_MANAGE):
        return true()
    if actor.can(Permission.GATEWAY_USE) and actor.org_id is not None:
        return column == actor.org_id
    return false()


def _target_org(session: Session, actor: Actor, org_id: int | None) -> int:
    """The organisation ACTOR acts on: its own, or (GATEWAY_MANAGE) the one named. Another's is NotFound."""
    own = actor.can(Permission.GATEWAY_USE) and actor.org_id is not None
    if own and (org_id is None or org_id == actor.org_id):
        assert actor.org_id is not None
        return actor.org_id
    if org_id is None:
        actor.require(Permission.GATEWAY_USE)  # an operator must name the organisation
    if not actor.can(Permission.GATEWAY_MANAGE):
        raise NotFound(N_("Organisation not found."))
    org = session.get(Organisation, org_id)
    if org is None or org.kind != OrgKind.ENTERPRISE:
        raise NotFound(N_("Organisation not found."))
    return org.id


# --- keys ------------------------------------------------------------------------------------------------


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def list_keys(session: Session, actor: Actor, *, org_id: int | None = None) -> list[Key]:
    query = select(Key).where(_org_scope(actor, Key.org_id)).order_by(Key.id.desc())
    if org_id is not None:
        query = query.where(Key.org_id == org_id)
    return list(session.scalars(query))


def get_key(session: Session, actor: Actor, key_id: int) -> Key:
    key = session.scalar(select(Key).where(Key.id == key_id, _org_scope(actor, Key.org_id)))
    if key is None:
        raise NotFound(N_("Key not found."))
    return key


def create_key(session: Session, actor: Actor, data: KeyIn, *, org_id: int | None = None) -> tuple[Key, str]:
    """A new key for the organisation; returns the row and the secret (shown once, stored as its hash)."""
    org = _target_org(session, actor, org_id)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = Key(
        org_id=org,
        name=data.name,
        prefix=secret[: len(KEY_PREFIX) + 4],
        key_hash=hash_key(secret),
        allowed_models=data.allowed_models,
        rpm=data.rpm,
        tpm=data.tpm,
        concurrency=data.concurrency,
        in_flight=0,
        max_tokens=data.max_tokens,
        monthly_cap_mf=data.monthly_cap_fen * 1000 if data.monthly_cap_fen is not None else None,
        expires_at=data.expires_at,
        created_by_id=actor.user_id,
        created_at=utcnow(),
    )
    session.add(key)
    session.flush()
    ledger.ensure_wallet(session, org)
    audit_log.record(
        session, actor, "gateway.key_create", key, after=audit_log.snapshot(key, "name", "max_tokens", "concurrency")
    )
    return key, secret


def revoke_key(session: Session, actor: Actor, key_id: int) -> Key:
    key = get_key(session, actor, key_id)
    _target_org(session, actor, key.org_id)  # a reader without GATEWAY_USE/MANAGE rights may not revoke
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
        audit_log.record(session, actor, "gateway.key_revoke", key, after={"revoked_at": key.revoked_at})
    return key


def _check_secret(secret: str | None) -> str:
    if not secret or not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        raise InvalidKey(N_("Incorrect API key provided."))
    return hash_key(secret)


def _live(revoked_at: datetime | None, expires_at: datetime | None, now: datetime) -> bool:
    return revoked_at is None and (expires_at is None or expires_at > now)


def authenticate(session: Session, secret: str | None, *, now: datetime | None = None) -> Key:
    """The key for a bearer secret, if it is live; unknown, revoked and expired keys look the same."""
    key = session.scalar(select(Key).where(Key.key_hash == _check_secret(secret)))
    if key is None or not _live(key.revoked_at, key.expires_at, now or utcnow()):
        raise InvalidKey(N_("Incorrect API key provided."))
    return key


@dataclass(frozen=True)
class LiveKey:
    """What a call needs of its key (the data plane reads it without the ORM)."""

    id: int
    org_id: int
    allowed_models: list[str] | None
    max_tokens: int
    monthly_cap_mf: int | None
    wallet: ledger.WalletRead | None = None  # read with the key, in the hold's transaction (None: no wallet)


_K, _P = cast(Table, Key.__table__), cast(Table, Price.__table__)
# The key, and the stamp of the price table (its last id and its last write): every change of an upstream, a
# route or a price adds a price row (add_upstream, set_price), so an unchanged stamp means the routes cached
# by `call_targets` still hold. Their time matters too: a table emptied and filled again reuses its ids.
_LIVE_KEY = (
    select(
        _K.c.id,
        _K.c.org_id,
        _K.c.allowed_models,
        _K.c.max_tokens,
        _K.c.monthly_cap_mf,
        _K.c.revoked_at,
        _K.c.expires_at,
        select(func.max(_P.c.id)).scalar_subquery(),
        select(func.max(_P.c.created_at)).scalar_subquery(),
        *ledger.WALLET_SPLIT,  # what the hold's split needs, read here rather than by a statement of its own
    )
    .select_from(_K.outerjoin(ledger.WALLETS, ledger.WALLETS.c.org_id == _K.c.org_id))
    .where(_K.c.key_hash == bindparam("key_hash"))
)


def live_key(conn: Connection, secret: str | None, now: datetime) -> tuple[LiveKey, tuple[object, object]]:
    """`authenticate` in one statement on a Connection, with the routes' stamp (see `call_targets`)."""
    row = conn.execute(_LIVE_KEY, {"key_hash": _check_secret(secret)}).first()
    if row is None or not _live(row[5], row[6], now):
        raise InvalidKey(N_("Incorrect API key provided."))
    wallet = None if row[9] is None else ledger.WalletRead(*row[9:13])
    return LiveKey(*row[:5], wallet=wallet), (row[7], row[8])


# --- wallets ---------------------------------------------------------------------------------------------


def _wallet_out(session: Session, w: Wallet) -> WalletOut:
    spent, voucher = session.execute(
        select(func.coalesce(func.sum(Usage.cost_mf), 0), func.coalesce(func.sum(Usage.voucher_mf), 0)).where(
            Usage.org_id == w.org_id
        )
    ).one()
    return WalletOut(
        org_id=w.org_id,
        own_balance_mf=w.own_balance_mf,
        own_held_mf=w.own_held_mf,
        own_available_mf=w.own_balance_mf - w.own_held_mf,
        voucher_balance_mf=w.voucher_balance_mf,
        voucher_held_mf=w.voucher_held_mf,
        voucher_available_mf=w.voucher_balance_mf - w.voucher_held_mf,
        voucher_rate_bp=w.voucher_rate_bp,
        grant_id=w.grant_id,
        spent_mf=int(spent),
        voucher_spent_mf=int(voucher),
    )


def get_wallet(session: Session, actor: Actor, *, org_id: int | None = None) -> WalletOut:
    org = _target_org(session, actor, org_id)
    w = session.scalar(select(Wallet).where(Wallet.org_id == org))
    if w is None:  # no key yet: an empty wallet, without writing one on a read
        w = Wallet(org_id=org, own_balance_mf=0, own_held_mf=0, voucher_balance_mf=0, voucher_held_mf=0)
        w.voucher_rate_bp, w.grant_id = 0, None
    return _wallet_out(session, w)


def list_wallets(session: Session, actor: Actor) -> list[WalletOut]:
    actor.require(Permission.GATEWAY_MANAGE)
    return [_wallet_out(session, w) for w in session.scalars(select(Wallet).order_by(Wallet.org_id))]


def fund_wallet(session: Session, actor: Actor, org_id: int, fen: int, *, note: str | None = None) -> WalletOut:
    """Top up the enterprise's own part (an operator's act, recorded in the ledger and the audit log)."""
    actor.require(Permission.GATEWAY_MANAGE)
    org = _target_org(session, actor, org_id)
    if fen <= 0:
        raise Invalid(N_("Please correct the marked fields."), fields={"fen": "a positive amount"})
    ledger.fund_own(session, org, fen * 1000, actor.user_id, note)
    audit_log.record(session, actor, "gateway.wallet_fund", ("gateway_wallet", org), after={"fen": fen}, org_id=org)
    return get_wallet(session, actor, org_id=org)


# --- upstreams and prices --------------------------------------------------------------------------------


def current_price(session: Session, route_id: int, now: datetime | None = None) -> Price | None:
    return session.scalar(
        select(Price)
        .where(Price.route_id == route_id, Price.effective_from <= (now or utcnow()))
        .order_by(Price.effective_from.desc(), Price.id.desc())
        .limit(1)
    )


def _upstream_out(session: Session, up: Upstream) -> UpstreamOut:
    out = UpstreamOut.model_validate(up)
    for r in session.scalars(select(Route).where(Route.upstream_id == up.id).order_by(Route.alias)):
        p = current_price(session, r.id)
        out.routes.append(
            RouteOut(
                id=r.id,
                alias=r.alias,
                upstream_model=r.upstream_model,
                priority=r.priority,
                input_mf_per_1k=p.input_mf_per_1k if p else None,
                output_mf_per_1k=p.output_mf_per_1k if p else None,
                cached_input_mf_per_1k=p.cached_input_mf_per_1k if p else None,
                price_effective_from=p.effective_from if p else None,
            )
        )
    return out


def list_upstreams(session: Session, actor: Actor) -> list[UpstreamOut]:
    actor.require(Permission.GATEWAY_MANAGE)
    return [_upstream_out(session, u) for u in session.scalars(select(Upstream).order_by(Upstream.name))]


def add_upstream(session: Session, actor: Actor, data: UpstreamIn) -> UpstreamOut:
    """Add an upstream (or update the one of that name) with its models at the given prices (a new price
    version from now on; calls already held keep the price they were held at)."""
    actor.require(Permission.GATEWAY_MANAGE)
    up = session.scalar(select(Upstream).where(Upstream.name == data.name))
    before = None
    if up is None:
        up = Upstream(name=data.name, created_at=utcnow())
        session.add(up)
    else:
        before = audit_log.snapshot(up, "base_url", "api_key_env")
    up.base_url, up.api_key_env, up.tokenize_url = data.base_url, data.api_key_env, data.tokenize_url
    up.overhead_tokens, up.retries, up.timeout_s = data.overhead_tokens, data.retries, data.timeout_s
    up.fallback_on, up.active = list(data.fallback_on), True
    session.flush()
    now = utcnow()
    for alias, target in data.models.items():
        route = session.scalar(select(Route).where(Route.alias == alias, Route.upstream_id == up.id))
        if route is None:
            route = Route(alias=alias, upstream_id=up.id, upstream_model=target, priority=data.priority, active=True)
            session.add(route)
        route.upstream_model, route.priority, route.active = target, data.priority, True
        session.flush()
        session.add(
            Price(
                route_id=route.id,
                input_mf_per_1k=data.price_in,
                output_mf_per_1k=data.price_out,
                cached_input_mf_per_1k=data.price_cached_in,
                effective_from=now,
                created_by_id=actor.user_id,
                created_at=now,
            )
        )
    session.flush()
    audit_log.record(
        session,
        actor,
        "gateway.upstream_add" if before is None else "gateway.upstream_update",
        up,
        before,
        {"base_url": up.base_url, "models": data.models, "price_in_mf": data.price_in, "price_out_mf": data.price_out},
    )
    return _upstream_out(session, up)


def set_price(session: Session, actor: Actor, route_id: int, data: PriceIn) -> Price:
    actor.require(Permission.GATEWAY_MANAGE)
    route = session.get(Route, route_id)
    if route is None:
        raise NotFound(N_("Model route not found."))
    now = utcnow()
    when = data.effective_from or now
    if when < now - timedelta(minutes=1):  # a price never reaches back to calls already held or settled
        raise Invalid(N_("Please correct the marked fields."), fields={"effective_from": "not in the past"})
    price = Price(
        route_id=route.id,
        input_mf_per_1k=data.price_in,
        output_mf_per_1k=data.price_out,
        cached_input_mf_per_1k=data.price_cached_in,
        effective_from=when,
        created_by_id=actor.user_id,
        created_at=now,
    )
    session.add(price)
    session.flush()
    audit_log.record(
        session,
        actor,
        "gateway.price_set",
        price,
        after={"route_id": route.id, "input_mf_per_1k": data.price_in, "output_mf_per_1k": data.price_out},
    )
    return price


def list_models(session: Session, actor: Actor | None = None, *, key: Key | None = None) -> list[str]:
    """The aliases on offer (to KEY: those it is allowed)."""
    aliases = sorted(
        set(
            session.scalars(
                select(Route.alias)
                .join(Upstream, Upstream.id == Route.upstream_id)
                .where(Route.active.is_(True), Upstream.active.is_(True))
            )
        )
    )
    if key is not None and key.allowed_models is not None:
        aliases = [a for a in aliases if a in key.allowed_models]
    return aliases


# --- usage -----------------------------------------------------------------------------------------------


def usage_query(
    actor: Actor,
    *,
    org_id: int | None = None,
    day: date | None = None,
    model: str | None = None,
    key_id: int | None = None,
) -> Select[Usage]:
    query = select(Usage).where(_org_scope(actor, Usage.org_id))
    if org_id is not None:
        query = query.where(Usage.org_id == org_id)
    if day is not None:
        query = query.where(Usage.day == day)
    if model:
        query = query.where(Usage.model == model)
    if key_id is not None:
        query = query.where(Usage.key_id == key_id)
    return query.order_by(Usage.id.desc())


def list_usage(session: Session, actor: Actor, **filters: object) -> list[Usage]:
    return list(session.scalars(usage_query(actor, **filters)))  # type: ignore[arg-type]


def usage_by_day(
    session: Session,
    actor: Actor,
    *,
    org_id: int | None = None,
    day_from: date | None = None,
    day_to: date | None = None,
) -> list[UsageDayOut]:
    query = select(
        Usage.day,
        Usage.model,
        Usage.key_id,
        func.count(Usage.id),
        func.coalesce(func.sum(Usage.prompt_tokens), 0),
        func.coalesce(func.sum(Usage.completion_tokens), 0),
        func.coalesce(func.sum(Usage.cost_mf), 0),
        func.coalesce(func.sum(Usage.voucher_mf), 0),
        func.coalesce(func.sum(Usage.own_mf), 0),
    ).where(_org_scope(actor, Usage.org_id))
    if org_id is not None:
        query = query.where(Usage.org_id == org_id)
    if day_from is not None:
        query = query.where(Usage.day >= day_from)
    if day_to is not None:
        query = query.where(Usage.day <= day_to)
    rows = session.execute(
        query.group_by(Usage.day, Usage.model, Usage.key_id).order_by(Usage.day.desc(), Usage.model, Usage.key_id)
    )
    return [
        UsageDayOut(
            day=d,
            model=m,
            key_id=k,
            calls=int(n),
            prompt_tokens=int(p),
            completion_tokens=int(c),
            cost_milli_fen=int(cost),
            voucher_milli_fen=int(v),
            own_milli_fen=int(o),
        )
        for d, m, k, n, p, c, cost, v, o in rows
    ]


def losses(session: Session, actor: Actor) -> list[LossOut]:
    actor.require(Permission.GATEWAY_MANAGE)
    rows = session.scalars(select(Usage).where(Usage.loss_mf > 0).order_by(Usage.id.desc()))
    return [
        LossOut(
            usage_id=u.id,
            org_id=u.org_id,
            model=u.model,
            list_mf=u.list_mf,
            cost_mf=u.cost_mf,
            loss_mf=u.loss_mf,
            created_at=u.created_at,
        )
        for u in rows
    ]


# --- the data plane --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One way to serve a call: a route on an upstream, at the price in force."""

    route_id: int
    upstream_id: int
    upstream_name: str
    base_url: str
    upstream_model: str
    api_key_env: str | None
    tokenize_url: str | None
    overhead_tokens: int
    retries: int
    timeout_s: int
    fallback_on: tuple[int, ...]
    input_mf_per_1k: int
    output_mf_per_1k: int
    cached_input_mf_per_1k: int | None = None


@dataclass(frozen=True)
class _Route:
    """A route with its upstream and every version of its price, oldest first."""

    target: Target  # priced at the first version; `at` reprices it
    prices: tuple[tuple[datetime, int, int, int | None], ...]  # (effective_from, input, output, cached input)

    def at(self, now: datetime) -> Target | None:
        """The route at the price in force at NOW (None before its first price)."""
        current = None
        for version in self.prices:
            if version[0] > now:
                break
            current = version
        if current is None:
            return None
        _from, price_in, price_out, price_cached = current
        t = self.target
        if (t.input_mf_per_1k, t.output_mf_per_1k, t.cached_input_mf_per_1k) == (price_in, price_out, price_cached):
            return t
        return replace(t, input_mf_per_1k=price_in, output_mf_per_1k=price_out, cached_input_mf_per_1k=price_cached)


_R, _UP = cast(Table, Route.__table__), cast(Table, Upstream.__table__)
_ROUTES = (
    select(
        _R.c.alias,
        _R.c.id,
        _UP.c.id,
        _UP.c.name,
        _UP.c.base_url,
        _R.c.upstream_model,
        _UP.c.api_key_env,
        _UP.c.tokenize_url,
        _UP.c.overhead_tokens,
        _UP.c.retries,
        _UP.c.timeout_s,
        _UP.c.fallback_on,
        _P.c.effective_from,
        _P.c.input_mf_per_1k,
        _P.c.output_mf_per_1k,
        _P.c.cached_input_mf_per_1k,
    )
    .join_from(_R, _UP, _UP.c.id == _R.c.upstream_id)
    .join(_P, _P.c.route_id == _R.c.id)
    .where(_R.c.active.is_(True), _UP.c.active.is_(True))
    .order_by(_R.c.priority, _R.c.id, _P.c.effective_from, _P.c.id)
)


def _routes(conn: Connection) -> dict[str, list[_Route]]:
    """Every active route by alias, in fallback order, with its prices (a route without one is never
    called: it could not be held)."""
    found: dict[int, tuple[str, Target, list[tuple[datetime, int, int, int | None]]]] = {}
    for row in conn.execute(_ROUTES):
        (alias, route_id, up_id, up_name, base_url, model, key_env, tok_url, overhead, retries, timeout_s) = row[:11]
        price = (row.effective_from, row.input_mf_per_1k, row.output_mf_per_1k, row.cached_input_mf_per_1k)
        if route_id not in found:
            target = Target(
                route_id=route_id,
                upstream_id=up_id,
                upstream_name=up_name,
                base_url=base_url,
                upstream_model=model,
                api_key_env=key_env,
                tokenize_url=tok_url,
                overhead_tokens=overhead,
                retries=retries,
                timeout_s=timeout_s,
                fallback_on=tuple(row.fallback_on or ()),
                input_mf_per_1k=price[1],
                output_mf_per_1k=price[2],
                cached_input_mf_per_1k=price[3],
            )
            found[route_id] = (alias, target, [])
        found[route_id][2].append(price)
    by_alias: dict[str, list[_Route]] = {}
    for alias, target, prices in found.values():
        by_alias.setdefault(alias, []).append(_Route(target, tuple(prices)))
    return by_alias


def _pick(routes: dict[str, list[_Route]], allowed: list[str] | None, alias: str, now: datetime) -> list[Target]:
    if not isinstance(alias, str) or (allowed is not None and alias not in allowed):
        raise ModelNotFound(N_("The model does not exist or you do not have access to it."))
    out = [t for r in routes.get(alias, ()) if (t := r.at(now)) is not None]
    if not out:
        raise ModelNotFound(N_("The model does not exist or you do not have access to it."))
    return out


def targets(session: Session, key: Key | LiveKey, alias: str, now: datetime | None = None) -> list[Target]:
    """The routes that serve ALIAS for KEY, in fallback order; ModelNotFound when none (or not allowed)."""
    return _pick(_routes(session.connection()), key.allowed_models, alias, now or utcnow())


_route_cache: dict[str, tuple[tuple[object, object], dict[str, list[_Route]]]] = {}


def call_targets(
    conn: Connection, url: str, key: LiveKey, alias: str, stamp: tuple[object, object], now: datetime
) -> list[Target]:
    """`targets` for the data plane: the routes of database URL are read once per worker and again only
    when their stamp (`live_key`) changes, so a call does not read them; prices are picked at NOW."""
    cached = _route_cache.get(url)
    if cached is None or cached[0] != stamp:
        cached = _route_cache[url] = (stamp, _routes(conn))
    return _pick(cached[1], key.allowed_models, alias, now)


def input_bound(messages: object, tools: object, overhead_tokens: int) -> int:
    """A provable upper bound of the prompt's tokens: its UTF-8 bytes plus the template's tokens."""
    return ledger.message_bytes(messages, tools) + overhead_tokens


def hold_bound(ts: list[Target], messages: object, tools: object, max_tokens: int) -> tuple[int, int, int, int]:
    """(input bound, output bound, input price, output price): the worst case over every route a call may
    fall back to, so one hold covers whichever serves it."""
    return (
        max(input_bound(messages, tools, t.overhead_tokens) for t in ts),
        max_tokens,
        max(t.input_mf_per_1k for t in ts),
        max(t.output_mf_per_1k for t in ts),
    )


def cached_price(ts: list[Target]) -> int | None:
    """The cached-input price a call settles at: the dearest over its routes (a route without one charges
    cached input at its input price); None when no route prices cache hits."""
    if all(t.cached_input_mf_per_1k is None for t in ts):
        return None
    return max(t.input_mf_per_1k if t.cached_input_mf_per_1k is None else t.cached_input_mf_per_1k for t in ts)


def call_deadline(ts: list[Target]) -> timedelta:
    """How long a call may take, retries and streaming included: the data plane cuts a stream at this point,
    and the hold lives HOLD_MARGIN longer, so the sweeper never voids the hold of a call still running."""
    return timedelta(seconds=max(t.timeout_s for t in ts) * (1 + max(t.retries for t in ts)))


def hold_request(
    key: Key | LiveKey,
    alias: str,
    ts: list[Target],
    *,
    messages: object,
    tools: object,
    max_tokens: int,
    idempotency_key: str | None,
    fingerprint: str,
) -> HoldRequest:
    """The call's worst case, as the ledger holds it."""
    bound_in, bound_out, price_in, price_out = hold_bound(ts, messages, tools, max_tokens)
    return HoldRequest(
        key=key if isinstance(key, Key) else ledger.KeyRef(key.id, key.org_id, key.monthly_cap_mf),
        alias=alias,
        route_id=ts[0].route_id,
        input_bound=bound_in,
        output_bound=bound_out,
        input_mf_per_1k=price_in,
        output_mf_per_1k=price_out,
        lifetime=call_deadline(ts) + HOLD_MARGIN,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        cached_input_mf_per_1k=cached_price(ts),
        wallet=key.wallet if isinstance(key, LiveKey) else None,
    )


def begin_call(
    session: Session, key: Key, alias: str, ts: list[Target], *, now: datetime | None = None, **call: Any
) -> Hold:
    """Hold the call's worst case (CALL: `hold_request`'s keywords); raises InsufficientQuota, RateLimited,
    HoldInFlight and takes nothing then."""
    return ledger.take_hold(session, hold_request(key, alias, ts, **call), now)


def get_hold(session: Session, hold_id: int) -> Hold:
    hold = session.scalar(select(Hold).where(Hold.id == hold_id).execution_options(populate_existing=True))
    if hold is None:
        raise NotFound(N_("Hold not found."))
    return hold


def settle_call(session: Session, hold_id: int, used: Metered) -> Usage:
    return ledger.settle_hold(session, get_hold(session, hold_id), used)


def void_call(session: Session, hold_id: int, *, note: str | None = None) -> bool:
    return ledger.void_hold(session, get_hold(session, hold_id), note=note)


_H, _UU = cast(Table, Hold.__table__), cast(Table, Usage.__table__)
_REPLAY = (
    select(_H.c.fingerprint, _H.c.state, _UU.c.id, _UU.c.response)
    .select_from(_H.outerjoin(_UU, _UU.c.hold_id == _H.c.id))
    .where(_H.c.key_id == bindparam("key_id"), _H.c.idempotency_key == bindparam("idem"))
)


@dataclass(frozen=True)
class Earlier:
    """The earlier call with a key's Idempotency-Key: its request's fingerprint, its hold's state and (once
    settled) whether it has a record and the answer kept on it."""

    fingerprint: str
    state: str
    recorded: bool
    response: dict | None


def replay(conn: Connection, key_id: int, idempotency_key: str) -> Earlier | None:
    row = conn.execute(_REPLAY, {"key_id": key_id, "idem": idempotency_key}).first()
    if row is None:
        return None
    return Earlier(fingerprint=row[0], state=row[1], recorded=row[2] is not None, response=row[3])


def sweep(session: Session, actor: Actor, *, now: datetime | None = None) -> int:
    """Void every hold whose call is over by now (its lifetime covers the upstream timeout and retries)."""
    actor.require(Permission.GATEWAY_MANAGE)
    n = 0
    for hold in ledger.expired_holds(session, now):
        if hold.state == HoldState.HELD and ledger.void_hold(session, hold, note="swept", now=now):
            n += 1
    return n


def audit(session: Session, actor: Actor, approved_fen: dict[int, int] | None = None) -> ledger.AuditReport:
    actor.require(Permission.GATEWAY_MANAGE)
    return ledger.audit(session, approved_fen)
