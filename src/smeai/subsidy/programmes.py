"""Subsidy programmes as data: one YAML file per scheme, a pydantic model as its schema, and the arithmetic.

Operators add or change a programme by editing a file (package data under data/programmes/, or their own
files under `subsidy/programmes/` in the file store, smeai/storage.py); `smeai subsidy programmes check PATH`
runs the same loader.
Money is integer fen (for programmes in another currency: that currency's hundredths); rates are exact
fractions, so no float ever touches an amount.
"""

from __future__ import annotations

import calendar
import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, ValidationError, model_validator

from smeai import taxonomy
from smeai.config import get_settings
from smeai.errors import Invalid
from smeai.i18n import N_, get_lang, gettext
from smeai.money import PositiveFen
from smeai.storage import Storage, storage_for
from smeai.taxonomy import ProvinceCode, SectionCode

DATA = Path(__file__).parent / "data" / "programmes"


class VoucherType(StrEnum):
    COMPUTE = "compute"  # 算力券
    MODEL = "model"  # 模型券
    CORPUS = "corpus"  # 语料券
    AI = "ai"  # AI 券 / 应用奖励
    INNOVATION = "innovation"  # 创新券
    TRAINING = "training"  # 技能培训补贴
    TIERED = "tiered"  # 阶梯式付费
    RETROFIT = "retrofit"  # 改造后补贴: paid after the finished project passed acceptance


class PurchaseKind(StrEnum):
    """What is bought; the same words as the resource pool's offering kinds."""

    COMPUTE = "compute"
    MODEL = "model"
    DATASET = "dataset"
    SAAS = "saas"
    PLATFORM = "platform"
    AGENT = "agent"
    APPLIANCE = "appliance"
    SERVICE = "service"
    TRAINING = "training"
    RND = "rnd"  # a supplier's own R&D spend (supply-side awards)


class PurchaseFlag(StrEnum):
    """Facts about a purchase that some programmes pay a different rate for."""

    DOMESTIC_CLOUD = "domestic_cloud"  # Canada: Canadian cloud
    DOMESTIC_CHIP = "domestic_chip"  # 杭州: 国产芯片算力
    FILED_MODEL = "filed_model"  # 杭州: 已备案模型服务
    LOCAL_COMPUTE = "local_compute"  # 廊坊: 本地算力
    NATIONAL_PROJECT = "national_project"  # 廊坊: 国家和省级重大项目、揭榜挂帅、卡脖子攻关的牵头单位
    EARLY_STAGE = "early_stage"  # 深圳训力券: 草创企业 60%


class DocKind(StrEnum):
    QUOTATION = "quotation"  # 报价单 (apply before signing)
    CONTRACT = "contract"  # 已签合同
    INVOICE = "invoice"  # 发票
    PAYMENT = "payment"  # 付款凭证
    DELIVERY = "delivery"  # 交付/验收证明


class SizeClass(StrEnum):
    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


class RevenueBand(StrEnum):
    B0_2 = "0-2"
    B2_4 = "2-4"
    B4_6 = "4-6"
    B6_8 = "6-8"
    B8_PLUS = "8+"


def parse_rate(value: Any) -> Fraction:
    """`20` or `"20%"` (percent), `"2/3"` (a fraction): an exact Fraction in [0, 1]."""
    if isinstance(value, Fraction):
        rate = value
    elif isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("a rate is a whole percent (20, '20%') or a fraction ('2/3')")
    elif isinstance(value, int):
        rate = Fraction(value, 100)
    elif value.strip().endswith("%"):
        rate = Fraction(int(value.strip()[:-1]), 100)
    elif "/" in value:
        num, _, den = value.partition("/")
        rate = Fraction(int(num), int(den))
    else:
        rate = Fraction(int(value), 100)
    if not 0 <= rate <= 1:
        raise ValueError("a rate lies between 0 and 100 %")
    return rate


def format_rate(rate: Fraction) -> str:
    return f"{rate.numerator * 100 // rate.denominator}%" if (rate * 100).denominator == 1 else str(rate)


Rate = Annotated[Fraction, PlainValidator(parse_rate), PlainSerializer(format_rate, return_type=str)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)  # a misspelt key is an error, not a default


class Label(_Strict):
    zh: str = Field(min_length=1)
    en: str = ""

    def __str__(self) -> str:
        return self.en if get_lang() == "en" and self.en else self.zh


class Region(_Strict):
    country: str = Field(default="CN", pattern=r"^[A-Z]{2}$")  # ISO 3166 alpha-2
    provinces: frozenset[ProvinceCode] = frozenset()  # empty: the whole country
    cities: tuple[str, ...] = ()  # zh names, matched against the start of the profile's city; empty: any
    note: str = ""


class Pool(_Strict):
    budget_fen: PositiveFen | None = None  # None: the scheme states no pool
    annual: bool = False  # a fresh pool of budget_fen each budget year (武汉 "每年", 杭州 "2.5 亿元/年")
    period_starts_on: date | None = None
    period_ends_on: date | None = None


class Eligibility(_Strict):
    claimant: Literal["buyer", "supplier"] = "buyer"
    # Conditions of the text the profile cannot show (独立法人, 近 3 年无失信, a selected scenario): the applicant
    # confirms each one on applying and the operator checks it; the calculator lists them as to be confirmed.
    attestations: tuple[Label, ...] = ()
    sizes: frozenset[SizeClass] = frozenset()  # empty: any
    revenue_bands: frozenset[RevenueBand] = frozenset()
    sections: frozenset[SectionCode] = frozenset()  # GB/T 4754 sections; empty: any industry
    kinds: frozenset[PurchaseKind] = frozenset()  # what may be bought; empty: anything
    offering_ids: frozenset[int] = frozenset()  # offerings the operator lists for this programme
    listed_only: bool = False  # only offerings listed for it (here, or by the offering's voucher_eligible)
    approved_suppliers: tuple[str, ...] = ()  # e.g. 北京"算力伙伴"; empty: any supplier
    supplier_not_affiliated: bool = False


class Condition(_Strict):
    when_any: frozenset[PurchaseFlag] = Field(min_length=1)
    rate: Rate
    why: Label


class Tier(_Strict):
    year: int = Field(ge=1, le=20)  # service year of the purchase: 1 = first year
    rate: Rate


class Caps(_Strict):
    per_claim_fen: PositiveFen | None = None
    per_org_year_fen: PositiveFen | None = None
    per_contract_fen: PositiveFen | None = None


class ContractRules(_Strict):
    min_fen: PositiveFen | None = None  # 相城智能化改造: only projects of 300 万元 or more
    signed_on_or_after: date | None = None
    signed_on_or_before: date | None = None
    max_term_months: int | None = Field(default=None, gt=0, le=120)
    signed_before_applying: bool = False  # apply with the signed contract (北京 申领)
    paid_before_applying: bool = False  # 扬州/廊坊: pay in full first
    apply_before_signing: bool = False  # Singapore PSG: no application after signing or paying


class Exclusivity(_Strict):
    one_claim_per_contract: bool = False
    one_side_per_contract: bool = False  # supplier or buyer may claim a contract, not both
    one_claim_per_service_year: bool = False  # tiered plans: a contract is claimed once per service year
    no_stacking_with: frozenset[str] = frozenset()  # programme codes this one may not be combined with
    no_stacking_with_vouchers: frozenset[VoucherType] = frozenset()  # 北京: no other compute subsidy


class Documents(_Strict):
    apply: tuple[DocKind, ...] = ()
    redeem: tuple[DocKind, ...] = (DocKind.INVOICE, DocKind.PAYMENT, DocKind.DELIVERY)


class Acceptance(_Strict):
    """改造后补贴 (paid after acceptance): the claim is for a finished project, and the award is reserved only
    once the project passed 验收 (before/after measurements and the reviewers' conclusion), then paid."""

    required: bool = False
    site_visit: bool = False  # the acceptance records the date of a 现场核查


class Source(_Strict):
    """A document a rule comes from: what an operator needs to find it again."""

    id: str = Field(pattern=r"^[a-z0-9-]+$", max_length=40)
    title: str = Field(min_length=1)
    issuer: str = Field(min_length=1)
    issued_on: date | None = None
    url: str = Field(pattern=r"^https?://\S+$")
    note: str = ""  # e.g. "reprint; the issuer's own page was not reachable"


class Clause(_Strict):
    """The words of a source that a rule (or several) encodes."""

    rules: tuple[str, ...] = Field(min_length=1)  # rule keys, e.g. "rate", "caps.per_org_year_fen"
    source: str  # a Source id of this file
    quote: str = Field(min_length=1)


class Assumption(_Strict):
    """A rule no clause states: what the file decided and why."""

    rules: tuple[str, ...] = ()  # empty: a remark on the programme as a whole
    why: str = Field(min_length=1)


class Programme(_Strict):
    code: str = Field(pattern=r"^[a-z0-9-]+$", max_length=50)
    name: Label
    issuer: Label
    voucher: VoucherType
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    sources: tuple[Source, ...] = Field(min_length=1)  # the documents the rules come from
    clauses: tuple[Clause, ...] = ()  # each rule's words in a source
    region: Region = Region()
    pool: Pool = Pool()
    eligibility: Eligibility = Eligibility()
    rate: Rate
    rate_mode: Literal["first", "highest"] = "first"  # 廊坊: 多项规则适用时取高
    conditions: tuple[Condition, ...] = ()
    tiers: tuple[Tier, ...] = ()
    caps: Caps = Caps()
    contract: ContractRules = ContractRules()
    exclusivity: Exclusivity = Exclusivity()
    documents: Documents = Documents()
    acceptance: Acceptance = Acceptance()
    redeem_within_days: int = Field(default=180, gt=0, le=3660)  # an approval not redeemed by then expires
    # The year an application counts in (its per-enterprise-per-year cap and, for an annual pool, the pool it
    # draws on): "claim", the year of the application (北京: 每个自然年度累计申领和兑付), unless the programme's
    # text counts by the contract, "signed" (its signing year; an unsigned contract: the application's year).
    cap_year_basis: Literal["claim", "signed"] = "claim"
    assumptions: tuple[Assumption, ...] = ()  # what this file decides where the sources are silent, and why
    version: str = ""  # set by the loader: the first 12 hex digits of the file's SHA-256

    @model_validator(mode="after")
    def _consistent(self) -> Programme:
        years = [t.year for t in self.tiers]
        if len(set(years)) != len(years):
            raise ValueError("tiers: each year at most once")
        if self.contract.apply_before_signing and self.contract.signed_before_applying:
            raise ValueError("contract: apply_before_signing and signed_before_applying contradict")
        if self.acceptance.site_visit and not self.acceptance.required:
            raise ValueError("acceptance: a site visit belongs to an acceptance (required: true)")
        if self.code in self.exclusivity.no_stacking_with:
            raise ValueError("exclusivity: a programme cannot exclude itself")
        ids = [s.id for s in self.sources]
        if len(set(ids)) != len(ids):
            raise ValueError("sources: each id at most once")
        unknown = sorted({c.source for c in self.clauses} - set(ids))
        if unknown:
            raise ValueError(f"clauses: unknown source(s) {', '.join(unknown)}")
        return self

    def period_state(self, today: date) -> Literal["open", "not_started", "ended"]:
        """Whether one may apply on TODAY: before the period, within it, or after it."""
        if self.pool.period_starts_on is not None and today < self.pool.period_starts_on:
            return "not_started"
        if self.pool.period_ends_on is not None and today > self.pool.period_ends_on:
            return "ended"
        return "open"


# --- sources: every rule carries its clause or sits under assumptions ----------------------------------------

RULE_SECTIONS = ("region", "pool", "eligibility", "caps", "contract", "exclusivity", "documents", "acceptance")
RULE_FIELDS = ("rate", "rate_mode", "conditions", "tiers", "cap_year_basis", "redeem_within_days")
ALWAYS_RULES = ("documents.redeem", "redeem_within_days")  # their defaults decide too
NOT_RULES = {"region.note"}


def rule_keys(p: Programme) -> set[str]:
    """The rules P states: each section's keys the file sets, the top-level rule fields it sets, and the
    defaults that decide anyway (documents to redeem, days to redeem)."""
    keys = set(ALWAYS_RULES) | {f for f in RULE_FIELDS if f in p.model_fields_set}
    for name in RULE_SECTIONS:
        section = getattr(p, name)
        keys |= {f"{name}.{f}" for f in section.model_fields_set} - NOT_RULES
    return keys


def unsourced_rules(p: Programme) -> dict[str, str]:
    """field -> reason for each rule of P with neither a clause nor an assumption, and each clause or
    assumption naming a rule P does not state (a typo would otherwise hide a rule)."""
    stated = rule_keys(p)
    covered = {r for c in p.clauses for r in c.rules} | {r for a in p.assumptions for r in a.rules}
    problems = {key: "no clause of a source and no assumption states this rule" for key in sorted(stated - covered)}
    for key in sorted(covered - stated):
        problems[f"clauses.{key}"] = "names a rule this file does not set"
    return problems


# --- loading ---------------------------------------------------------------------------------------------


def _problems(name: str, exc: ValidationError) -> dict[str, str]:
    return {f"{name}:{'.'.join(map(str, e['loc'])) or '(file)'}": e["msg"] for e in exc.errors()}


def version_of(text: str) -> str:
    """A programme file's version: the first 12 hex digits of its SHA-256 (what an application keeps)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def load_folder(folder: Path | Mapping[str, str]) -> tuple[dict[str, Programme], dict[str, str]]:
    """Every programme in FOLDER (a folder, one file, or file name -> text) and every problem found
    (file:field -> reason); nothing stops at the first."""
    if isinstance(folder, Mapping):
        named = sorted(folder.items())
    else:
        paths = [folder] if folder.is_file() else sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
        named = [(path.name, path.read_text(encoding="utf-8")) for path in paths]
    programmes: dict[str, Programme] = {}
    problems: dict[str, str] = {}
    for name, text in named:
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            problems[f"{name}:(file)"] = f"not valid YAML: {exc}".splitlines()[0]
            continue
        try:
            p = Programme.model_validate(raw)
        except ValidationError as exc:
            problems |= _problems(name, exc)
            continue
        problems |= {f"{name}:{key}": why for key, why in unsourced_rules(p).items()}
        p = p.model_copy(update={"version": version_of(text)})
        if p.code in programmes:
            problems[f"{name}:code"] = f"duplicate programme code {p.code!r}"
        programmes[p.code] = p
    shipped = {path.stem for path in DATA.glob("*.yaml")}  # an operator's file may name a shipped scheme
    for p in programmes.values():
        unknown = sorted(p.exclusivity.no_stacking_with - programmes.keys() - shipped)
        if unknown:
            problems[f"{p.code}.yaml:exclusivity.no_stacking_with"] = f"unknown programme(s): {', '.join(unknown)}"
    return programmes, problems


def load_programmes(*folders: Path | Mapping[str, str]) -> dict[str, Programme]:
    """The programmes in the folders (later folders may add schemes); Invalid naming every bad file and field."""
    programmes: dict[str, Programme] = {}
    problems: dict[str, str] = {}
    for folder in folders or (DATA,):
        found, bad = load_folder(folder)
        programmes |= found
        problems |= bad
    for p in programmes.values():  # a folder may name schemes of an earlier one
        for code in p.exclusivity.no_stacking_with - programmes.keys():
            problems[f"{p.code}:exclusivity.no_stacking_with"] = f"unknown programme {code!r}"
    if problems:
        raise Invalid(N_("Programme files are invalid."), fields=problems)
    return programmes


OPERATOR_PREFIX = "subsidy/programmes/"  # the operator's current files, <code>.yaml, in the file store
LISTING_SECONDS = 2.0  # how stale another host's upload may look here (one LIST per period, not per page)
_listing: dict[str, tuple[float, tuple[tuple[str, int, float], ...]]] = {}


def operator_store() -> Storage:
    """Operators' programme files: process-wide, in the file store SMEAI_STORAGE_URL names (shared by hosts)."""
    return storage_for(get_settings())


def operator_files(store: Storage | None = None) -> dict[str, str]:
    """The operator's current programme files, file name -> text."""
    store = store or operator_store()
    return {
        o.key.rsplit("/", 1)[1]: store.get(o.key).decode("utf-8")
        for o in store.list(OPERATOR_PREFIX)
        if o.key.count("/") == OPERATOR_PREFIX.count("/") and o.key.endswith((".yaml", ".yml"))
    }


def forget_listing() -> None:
    """After an upload in this process: the next read lists the store again."""
    _listing.clear()


@lru_cache(maxsize=8)
def _cached(url: str, stamp: tuple[tuple[str, int, float], ...]) -> dict[str, Programme]:
    files = operator_files()
    return load_programmes(DATA, files) if files else load_programmes(DATA)


def programmes_stamp() -> tuple[str, tuple[tuple[str, int, float], ...]]:
    """The store and its programme files' names, sizes and times as last listed: what `all_programmes()`
    answers for, so a cache of what shows programmes is keyed by it (the files are listed again after
    LISTING_SECONDS on other hosts, at once in the process that uploaded one)."""
    store = operator_store()
    now = time.monotonic()
    seen = _listing.get(store.url)
    if seen is None or store.cheap_listing or now - seen[0] > LISTING_SECONDS:
        stamp = tuple(
            (o.key, o.size, o.modified.timestamp())
            for o in store.list(OPERATOR_PREFIX)
            if o.key.endswith((".yaml", ".yml"))
        )
        seen = _listing[store.url] = (now, stamp)
    return store.url, seen[1]


def all_programmes() -> dict[str, Programme]:
    """Shipped programmes plus the operator's own files; reloaded when a file changes (seen within
    LISTING_SECONDS on other hosts, at once in the process that uploaded it)."""
    return _cached(*programmes_stamp())


def stacking_partners(programmes: dict[str, Programme], code: str) -> frozenset[str]:
    """Programmes that may not be combined with CODE, whichever of the two files says so."""
    me = programmes[code]

    def excludes(a: Programme, b: Programme) -> bool:
        return b.code in a.exclusivity.no_stacking_with or b.voucher in a.exclusivity.no_stacking_with_vouchers

    return frozenset(c for c, p in programmes.items() if c != code and (excludes(me, p) or excludes(p, me)))


# --- names for readers ---------------------------------------------------------------------------------------

COUNTRIES = {"CN": N_("China"), "SG": N_("Singapore"), "GB": N_("United Kingdom"), "CA": N_("Canada")}


def region_name(p: Programme) -> str:
    """Where P applies, in the reader's words: cities, else provinces, else the country (never a code)."""
    r = p.region
    if r.country != "CN":
        return gettext(COUNTRIES.get(r.country, r.country))
    if r.cities:
        return "、".join(r.cities) if get_lang() != "en" else ", ".join(_city_en(c) for c in r.cities)
    if r.provinces:
        sep = ", " if get_lang() == "en" else "、"
        return sep.join(taxonomy.name("provinces", c) for c in sorted(r.provinces))
    return gettext(COUNTRIES["CN"])


def _city_en(city: str) -> str:
    return CITY_EN.get(city, city)


CITY_EN = {
    "北京": "Beijing", "上海": "Shanghai", "深圳": "Shenzhen", "成都": "Chengdu", "武汉": "Wuhan",
    "杭州": "Hangzhou", "苏州": "Suzhou", "扬州": "Yangzhou", "廊坊": "Langfang", "江门": "Jiangmen",
    "庆阳": "Qingyang", "广州": "Guangzhou",
}  # fmt: skip


def region_group(p: Programme) -> str:
    """A sort key that groups programmes by where they apply: country, then province."""
    return f"{p.region.country}:{','.join(sorted(p.region.provinces))}"


# --- the rules --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """What eligibility reads of the claimant organisation (its profile in auth)."""

    province_code: str | None = None
    city: str | None = None
    size_class: str | None = None
    revenue_band: str | None = None
    industry_section: str | None = None
    country: str = "CN"


@dataclass(frozen=True)
class Purchase:
    contract_fen: int
    kind: str | None = None
    offering_id: int | None = None
    supplier_name: str | None = None
    supplier_affiliated: bool = False
    signed_on: date | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    paid_on: date | None = None
    service_year: int = 1
    flags: frozenset[str] = frozenset()
    listed_in: frozenset[str] = frozenset()  # programme codes the resource-pool offering is listed under


@dataclass(frozen=True)
class Reason:
    """One rule and how it decided: `message` is a msgid with {params}, translated where shown."""

    rule: str
    ok: bool
    message: str
    params: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Amount:
    rate: Fraction
    gross_fen: int  # contract × rate, before caps
    amount_fen: int  # after every cap
    reasons: tuple[Reason, ...]


def _add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def contract_months(start: date, end: date) -> int:
    """Months of a contract whose last day is END: 2024-01-01..2024-12-31 is 12, ..2025-01-01 is 13."""
    n = 0
    while _add_months(start, n) - timedelta(days=1) < end:
        n += 1
    return n


def budget_year(p: Programme, signed_on: date | None, applied_on: date) -> int:
    """The year an application counts in, as the programme's text says (`cap_year_basis`): the year of the
    application (the default; 北京: 每个自然年度累计申领和兑付), or the contract's signing year. APPLIED_ON is the
    server's date at submission, never the applicant's choice; a signing date has passed `date_problems`."""
    if p.cap_year_basis == "signed" and signed_on is not None:
        return signed_on.year
    return applied_on.year


# Dates a purchase may carry, around the day of the application: a contract signed, started or paid at most
# PAST_DAYS before and FUTURE_DAYS after it, ending at most ENDS_FUTURE_DAYS after it (multi-year service
# plans), and none of them before the programme's start; signing, start and payment not after its end (a
# contract may run past the end of the programme that paid for it).
PAST_DAYS = 3 * 366
FUTURE_DAYS = 366
ENDS_FUTURE_DAYS = 5 * 366
DATE_FIELDS = ("signed_on", "starts_on", "ends_on", "paid_on")


def date_problems(p: Programme | None, purchase: Purchase, today: date, *, window: bool = True) -> dict[str, str]:
    """Each date field of PURCHASE that lies outside the plausible window around TODAY (if WINDOW) or outside
    P's period, with the reason; empty when every date is acceptable."""
    problems: dict[str, str] = {}
    starts = p.pool.period_starts_on if p else None
    ends = p.pool.period_ends_on if p else None
    for name in DATE_FIELDS:
        day: date | None = getattr(purchase, name)
        if day is None:
            continue
        latest = today + timedelta(days=ENDS_FUTURE_DAYS if name == "ends_on" else FUTURE_DAYS)
        if window and day < today - timedelta(days=PAST_DAYS):
            problems[name] = f"more than {PAST_DAYS} days before the application ({today})"
        elif window and day > latest:
            problems[name] = f"after {latest}: too far after the application ({today})"
        elif starts is not None and day < starts:
            problems[name] = f"before the programme's start ({starts})"
        elif ends is not None and name != "ends_on" and day > ends:
            problems[name] = f"after the programme's end ({ends})"
    return problems


def region_ok(p: Programme, org: Profile) -> bool:
    """Whether ORG is registered where P applies: its country, one of its provinces, one of its cities."""
    return (
        org.country == p.region.country
        and (not p.region.provinces or org.province_code in p.region.provinces)
        and (not p.region.cities or any((org.city or "").startswith(city) for city in p.region.cities))
    )


def eligibility(p: Programme, org: Profile, purchase: Purchase, *, applied_on: date) -> list[Reason]:
    """Every eligibility rule of P, each with the verdict for this claimant and purchase."""
    out: list[Reason] = []
    e, c = p.eligibility, p.contract
    where = region_name(p)
    out.append(
        Reason("region", region_ok(p, org), N_("Registered in the programme's region ({where})."), {"where": where})
    )
    if e.sizes:
        out.append(
            Reason(
                "size",
                org.size_class in e.sizes,
                N_("Enterprise size is one of: {sizes}."),
                {"sizes": ", ".join(sorted(e.sizes))},
            )
        )
    if e.revenue_bands:
        out.append(
            Reason(
                "revenue",
                org.revenue_band in e.revenue_bands,
                N_("Revenue band is one of: {bands}."),
                {"bands": ", ".join(sorted(e.revenue_bands))},
            )
        )
    if e.sections:
        out.append(
            Reason(
                "industry",
                org.industry_section in e.sections,
                N_("Industry section is one of: {sections}."),
                {"sections": ", ".join(sorted(e.sections))},
            )
        )
    if e.kinds:
        out.append(
            Reason(
                "kind",
                purchase.kind in e.kinds,
                N_("The purchase is one of: {kinds}."),
                {"kinds": ", ".join(sorted(e.kinds))},
            )
        )
    listed = p.code in purchase.listed_in or (
        purchase.offering_id is not None and purchase.offering_id in e.offering_ids
    )
    if e.listed_only or e.offering_ids:
        out.append(Reason("listed_offering", listed, N_("The offering is on the programme's list."), {}))
    if e.approved_suppliers:  # an offering listed for the programme vouches for its supplier (算力伙伴)
        ok = (purchase.supplier_name or "") in e.approved_suppliers or listed
        out.append(Reason("supplier_list", ok, N_("The supplier is on the programme's supplier list."), {}))
    for text in e.attestations:  # the operator checks these; the applicant confirms them on applying
        out.append(Reason("attest", True, N_("To confirm when applying: {text}."), {"text": text}))
    if e.supplier_not_affiliated:
        out.append(
            Reason("not_affiliated", not purchase.supplier_affiliated, N_("Supplier and buyer are not affiliated."), {})
        )
    if p.pool.period_starts_on or p.pool.period_ends_on:
        starts, ends = p.pool.period_starts_on or date.min, p.pool.period_ends_on or date.max
        out.append(
            Reason(
                "period",
                starts <= applied_on <= ends,
                N_("Applied within the programme period ({starts} to {ends})."),
                {"starts": p.pool.period_starts_on or "…", "ends": p.pool.period_ends_on or "…"},
            )
        )
    if (p.pool.period_starts_on or p.pool.period_ends_on) and any(getattr(purchase, f) for f in DATE_FIELDS):
        out.append(
            Reason(
                "dates",
                not date_problems(p, purchase, applied_on, window=False),
                N_("The contract's dates lie within the programme period ({starts} to {ends})."),
                {"starts": p.pool.period_starts_on or "…", "ends": p.pool.period_ends_on or "…"},
            )
        )
    if p.tiers and purchase.service_year > 1:  # a later year's tier (and its claim lock) once that year has begun
        begun = (
            purchase.starts_on is not None
            and _add_months(purchase.starts_on, 12 * (purchase.service_year - 1)) <= applied_on
        )
        out.append(
            Reason(
                "service_year",
                begun,
                N_("Service year {year} of the contract has begun."),
                {"year": purchase.service_year},
            )
        )
    if c.min_fen:
        ok = purchase.contract_fen >= c.min_fen
        out.append(Reason("min_contract", ok, N_("The project invests at least {amount}."), {"amount": c.min_fen}))
    if c.signed_on_or_after:
        ok = purchase.signed_on is not None and purchase.signed_on >= c.signed_on_or_after
        out.append(Reason("signed_after", ok, N_("Contract signed on or after {day}."), {"day": c.signed_on_or_after}))
    if c.signed_on_or_before:
        ok = purchase.signed_on is not None and purchase.signed_on <= c.signed_on_or_before
        out.append(
            Reason("signed_before", ok, N_("Contract signed on or before {day}."), {"day": c.signed_on_or_before})
        )
    if c.max_term_months:
        ok = bool(
            purchase.starts_on
            and purchase.ends_on
            and purchase.starts_on <= purchase.ends_on
            and contract_months(purchase.starts_on, purchase.ends_on) <= c.max_term_months
        )
        out.append(Reason("term", ok, N_("Contract term at most {months} months."), {"months": c.max_term_months}))
    if c.signed_before_applying:
        ok = purchase.signed_on is not None and purchase.signed_on <= applied_on
        out.append(Reason("signed_first", ok, N_("The contract is signed before applying."), {}))
    if c.paid_before_applying:
        ok = purchase.paid_on is not None and purchase.paid_on <= applied_on
        out.append(Reason("paid_first", ok, N_("The contract is paid in full before applying."), {}))
    if c.apply_before_signing:
        ok = (purchase.signed_on is None or purchase.signed_on > applied_on) and (
            purchase.paid_on is None or purchase.paid_on > applied_on
        )
        out.append(Reason("apply_first", ok, N_("Applied before the contract is signed or paid."), {}))
    return out


def rate_for(p: Programme, purchase: Purchase) -> tuple[Fraction, Reason]:
    """The rate that applies, and the rule that decided it (a tier, a condition, or the base rate)."""
    if p.tiers:
        tier = next((t for t in p.tiers if t.year == purchase.service_year), None)
        if tier is None:
            return Fraction(0), Reason(
                "tier", False, N_("No tier for service year {year}."), {"year": purchase.service_year}
            )
        return tier.rate, Reason(
            "tier",
            True,
            N_("Service year {year}: tier rate {rate}."),
            {"year": tier.year, "rate": format_rate(tier.rate)},
        )
    matching = [c for c in p.conditions if c.when_any & purchase.flags]
    if matching:
        chosen = max(matching, key=lambda c: c.rate) if p.rate_mode == "highest" else matching[0]
        if p.rate_mode == "highest" and p.rate > chosen.rate:
            return p.rate, Reason("rate", True, N_("Base rate {rate}."), {"rate": format_rate(p.rate)})
        return chosen.rate, Reason(
            "condition", True, N_("Rate {rate}: {why}."), {"rate": format_rate(chosen.rate), "why": chosen.why}
        )
    return p.rate, Reason("rate", True, N_("Base rate {rate}."), {"rate": format_rate(p.rate)})


def amount(
    p: Programme, purchase: Purchase, *, org_year_committed_fen: int = 0, contract_committed_fen: int = 0
) -> Amount:
    """Contract × rate, floored to the fen, then every cap: per claim, per contract, per enterprise per year."""
    rate, why = rate_for(p, purchase)
    gross = purchase.contract_fen * rate.numerator // rate.denominator
    reasons = [
        why,
        Reason(
            "gross",
            True,
            N_("{contract} × {rate} = {gross}."),
            {"contract": purchase.contract_fen, "rate": format_rate(rate), "gross": gross},
        ),
    ]
    value = gross
    caps = p.caps
    if caps.per_claim_fen is not None and value > caps.per_claim_fen:
        value = caps.per_claim_fen
        reasons.append(Reason("cap_claim", True, N_("Capped at {cap} per claim."), {"cap": caps.per_claim_fen}))
    if caps.per_contract_fen is not None:
        left = max(0, caps.per_contract_fen - contract_committed_fen)
        if value > left:
            value = left
            reasons.append(
                Reason(
                    "cap_contract",
                    True,
                    N_("Capped at {left} left of {cap} per contract."),
                    {"left": left, "cap": caps.per_contract_fen},
                )
            )
    if caps.per_org_year_fen is not None:
        left = max(0, caps.per_org_year_fen - org_year_committed_fen)
        if value > left:
            value = left
            reasons.append(
                Reason(
                    "cap_org_year",
                    True,
                    N_("Capped at {left} left of {cap} per enterprise per year."),
                    {"left": left, "cap": caps.per_org_year_fen},
                )
            )
    return Amount(rate=rate, gross_fen=gross, amount_fen=value, reasons=tuple(reasons))
