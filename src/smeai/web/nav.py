"""The portal's navigation: one entry per capability. An entry marked not ready links to a clearly
marked "coming soon" page instead of its pages."""

from __future__ import annotations

from dataclasses import dataclass

from smeai.i18n import N_


@dataclass(frozen=True)
class NavEntry:
    domain: str
    title: str  # msgid
    blurb: str  # msgid
    path: str
    icon: str  # one character shown in a coloured disc (no emoji font needed)
    ready: bool = True  # False: announced, its pages not written yet

    @property
    def href(self) -> str:
        return self.path if self.ready else f"/coming/{self.domain}"


NAV: tuple[NavEntry, ...] = (
    NavEntry(
        "assessment",
        N_("Self-diagnosis"),
        N_(
            "Twenty minutes of questions: your AI maturity stage, "
            "scores against peers, data readiness and the next scenarios to try."
        ),
        "/assessment",
        "诊",
    ),
    NavEntry(
        "catalog",
        N_("Resource pool"),
        N_(
            "AI products, solutions, models, datasets and compute, "
            "tagged by industry, scenario, cost and pricing model and reviewed by the centre."
        ),
        "/catalog",
        "池",
    ),
    NavEntry(
        "matching",
        N_("Matchmaking"),
        N_(
            "Describe a need in your own words; get ranked solutions "
            "with reasons, and follow the engagement through to results."
        ),
        "/matching",
        "配",
    ),
    NavEntry(
        "subsidy",
        N_("Vouchers"),
        N_("Compute, model and AI vouchers: check eligibility, apply, redeem, and see the price after subsidy."),
        "/subsidy",
        "券",
    ),
    NavEntry(
        "gateway",
        N_("Model access"),
        N_(
            "Call the centre's models with any OpenAI client: a key per application, "
            "every call metered, and your model voucher paying its share."
        ),
        "/gateway",
        "模",
    ),
    NavEntry(
        "events",
        N_("Events & training"),
        N_(
            "Courses, seminars, matchmaking days and site visits to benchmark enterprises: "
            "register, get your ticket, book one-to-one meetings."
        ),
        "/events",
        "会",
    ),
    NavEntry(
        "trials",
        N_("Model trials"),
        N_(
            "Your own questions on several models side by side through the centre's gateway: "
            "checks, blind rating, real latency and cost, and a report to attach to a voucher application."
        ),
        "/trials",
        "试",
    ),
    NavEntry(
        "cases",
        N_("Case library"),
        N_("Best-practice cases from peers in your industry: the problem, what was done and the measurable effect."),
        "/cases",
        "案",
    ),
    NavEntry(
        "calls",
        N_("Open calls"),
        N_(
            "Scenario lists from governments and lead firms for providers to validate, "
            "and case-collection campaigns whose best cases become benchmarks."
        ),
        "/calls",
        "榜",
    ),
    NavEntry(
        "survey",
        N_("Survey & index"),
        N_(
            "Questionnaire analytics and the regional and "
            "industry AI-application index, for governments and researchers."
        ),
        "/survey",
        "数",
    ),
)


def entry(domain: str) -> NavEntry | None:
    return next((e for e in NAV if e.domain == domain), None)
