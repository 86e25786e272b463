"""Roles, permissions and the one map between them. docs/permissions.md is generated from it (cog)."""

from __future__ import annotations

from enum import StrEnum


class OrgKind(StrEnum):
    ENTERPRISE = "enterprise"  # 企业
    PROVIDER = "provider"  # 服务商
    CENTRE = "centre"  # 赋能中心 (also hosts analysts and admins)
    GOVERNMENT = "government"  # 政府部门: publishes scenario lists (calls/); its people are analysts


class Role(StrEnum):
    ENTERPRISE_MEMBER = "enterprise_member"
    PROVIDER_MEMBER = "provider_member"
    OPERATOR = "operator"  # 赋能中心运营
    CONSULTANT = "consultant"  # AI 转型顾问: serves the enterprises an operator assigned (centre/)
    ANALYST = "analyst"  # 政府 / 研究
    ADMIN = "admin"


# Which organisation kinds a role may belong to.
ROLE_ORG_KINDS: dict[Role, frozenset[OrgKind]] = {
    Role.ENTERPRISE_MEMBER: frozenset({OrgKind.ENTERPRISE}),
    Role.PROVIDER_MEMBER: frozenset({OrgKind.PROVIDER}),
    Role.OPERATOR: frozenset({OrgKind.CENTRE}),
    Role.CONSULTANT: frozenset({OrgKind.CENTRE}),
    Role.ANALYST: frozenset({OrgKind.CENTRE, OrgKind.GOVERNMENT}),
    Role.ADMIN: frozenset({OrgKind.CENTRE}),
}


class Permission(StrEnum):
    ORG_READ_OWN = "org:read_own"
    ORG_WRITE_OWN = "org:write_own"
    ORG_READ_ANY = "org:read_any"
    ORG_WRITE_ANY = "org:write_any"
    USER_MANAGE = "user:manage"
    # assessment (自我诊断)
    ASSESSMENT_WRITE_OWN = "assessment:write_own"
    ASSESSMENT_READ_OWN = "assessment:read_own"
    ASSESSMENT_READ_ANY = "assessment:read_any"
    # catalog (资源池) and cases (案例库)
    OFFERING_WRITE_OWN = "offering:write_own"
    OFFERING_READ_ANY = "offering:read_any"  # drafts and rejected ones included
    OFFERING_REVIEW = "offering:review"
    CATALOG_IMPORT = "catalog:import"
    CASE_SUBMIT = "case:submit"
    CASE_REVIEW = "case:review"
    # matching (供需对接)
    NEED_WRITE_OWN = "need:write_own"
    NEED_READ_OWN = "need:read_own"
    NEED_READ_ANY = "need:read_any"
    NEED_WRITE_ANY = "need:write_any"  # a consultant acting for an enterprise
    ENGAGEMENT_ACT = "engagement:act"  # own side of an engagement
    ENGAGEMENT_READ_ANY = "engagement:read_any"
    CHALLENGE_PUBLISH = "challenge:publish"
    PROPOSAL_SUBMIT = "proposal:submit"
    # calls: scenario lists (场景清单). Not ORG_BOUND, since analysts hold it; calls/ further requires the
    # organisation to be a government department or a lead firm, so a centre's analyst or admin cannot publish
    SCENARIO_PUBLISH = "scenario:publish"
    # subsidy (算力券 / 模型券 / AI 券)
    SUBSIDY_APPLY = "subsidy:apply"
    SUBSIDY_REVIEW = "subsidy:review"
    SUBSIDY_READ_ANY = "subsidy:read_any"
    PROGRAMME_MANAGE = "programme:manage"
    # survey analytics (问卷与指数)
    SURVEY_IMPORT = "survey:import"
    SURVEY_READ = "survey:read"  # published, small cells suppressed
    SURVEY_READ_UNSUPPRESSED = "survey:read_unsuppressed"
    # centre: audit log, consultants (AI 转型顾问)
    AUDIT_READ = "audit:read"
    AUDIT_EXPORT = "audit:export"
    CONSULTANT_ASSIGN = "consultant:assign"
    CONSULTANT_WORKSPACE = "consultant:workspace"  # one's assigned enterprises, and acting for them
    # accounts: self-registration, members (auth/registration.py, auth/members.py)
    ORG_MEMBERS_OWN = "org:members_own"  # invite, set roles within, remove: held by an organisation's admins only
    ORG_VERIFY = "org:verify"  # the verification queue: approve or return a self-registered organisation
    # gateway (模型调用): an enterprise's own keys, wallet and usage; the operator's upstreams, prices, wallets
    GATEWAY_USE = "gateway:use"
    GATEWAY_MANAGE = "gateway:manage"
    # events and training (活动与培训, events/)
    EVENT_MANAGE = "event:manage"  # publish events, check people in, see the reports
    EVENT_ATTEND = "event:attend"  # register one's organisation's people, book matchmaking meetings
    # trials (试用选型): one's own enterprise's trials, run through the gateway on its wallet
    TRIAL_RUN = "trial:run"


P = Permission

# Acting as one's own enterprise or provider: an assessment, a need, an offering, a claim, a proposal.
# An admin belongs to the centre, so holding these would only show buttons that fail or, worse, file
# records under the centre's name; an admin sees and oversees those records through the *_any rights.
ORG_BOUND: frozenset[Permission] = frozenset(
    {
        P.ASSESSMENT_WRITE_OWN,
        P.ASSESSMENT_READ_OWN,
        P.OFFERING_WRITE_OWN,
        P.NEED_WRITE_OWN,
        P.NEED_READ_OWN,
        P.ENGAGEMENT_ACT,
        P.CHALLENGE_PUBLISH,
        P.PROPOSAL_SUBMIT,
        P.SUBSIDY_APPLY,
        P.ORG_MEMBERS_OWN,
        P.GATEWAY_USE,
        P.EVENT_ATTEND,
        P.TRIAL_RUN,
    }
)

# Withheld until the centre has verified the organisation (self-registered ones wait in its queue): what
# speaks for the organisation to others. Public pages, the profile and the self-diagnosis stay open.
UNVERIFIED_WITHHELD: frozenset[Permission] = frozenset(
    {
        P.OFFERING_WRITE_OWN,
        P.SUBSIDY_APPLY,
        P.ENGAGEMENT_ACT,
        P.CHALLENGE_PUBLISH,
        P.PROPOSAL_SUBMIT,
        P.SCENARIO_PUBLISH,
        P.CASE_SUBMIT,
    }
)

# Held only by the organisation's admins (User.org_role "admin"), within their role's rights.
ORG_ADMIN_ONLY: frozenset[Permission] = frozenset({P.ORG_MEMBERS_OWN})

# What a consultant may do while acting for an assigned enterprise (Actor.on_behalf_of): the enterprise
# member's rights, less the ones that speak for the enterprise itself (its profile, its self-diagnosis).
ON_BEHALF: frozenset[Permission] = frozenset(
    {
        P.ORG_READ_OWN,
        P.ASSESSMENT_READ_OWN,
        P.NEED_WRITE_OWN,
        P.NEED_READ_OWN,
        P.ENGAGEMENT_ACT,
        P.SUBSIDY_APPLY,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ENTERPRISE_MEMBER: frozenset(
        {
            P.ORG_READ_OWN,
            P.ORG_WRITE_OWN,
            P.ASSESSMENT_WRITE_OWN,
            P.ASSESSMENT_READ_OWN,
            P.CASE_SUBMIT,
            P.NEED_WRITE_OWN,
            P.NEED_READ_OWN,
            P.ENGAGEMENT_ACT,
            P.CHALLENGE_PUBLISH,
            P.SCENARIO_PUBLISH,  # a lead firm's (龙头企业: a large enterprise; calls/ checks the size)
            P.SUBSIDY_APPLY,
            P.SURVEY_READ,
            P.ORG_MEMBERS_OWN,
            P.GATEWAY_USE,
            P.EVENT_ATTEND,
            P.TRIAL_RUN,
        }
    ),
    Role.PROVIDER_MEMBER: frozenset(
        {
            P.ORG_READ_OWN,
            P.ORG_WRITE_OWN,
            P.OFFERING_WRITE_OWN,
            P.CASE_SUBMIT,
            P.ENGAGEMENT_ACT,
            P.PROPOSAL_SUBMIT,
            P.SURVEY_READ,
            P.ORG_MEMBERS_OWN,
            P.EVENT_ATTEND,
        }
    ),
    Role.OPERATOR: frozenset(
        {
            P.ORG_READ_OWN,
            P.ORG_READ_ANY,
            P.ORG_WRITE_ANY,
            P.ASSESSMENT_READ_ANY,
            P.OFFERING_READ_ANY,
            P.OFFERING_REVIEW,
            P.CATALOG_IMPORT,
            P.CASE_SUBMIT,
            P.CASE_REVIEW,
            P.NEED_READ_ANY,
            P.NEED_WRITE_ANY,
            P.ENGAGEMENT_READ_ANY,
            P.SUBSIDY_REVIEW,
            P.SUBSIDY_READ_ANY,
            P.PROGRAMME_MANAGE,
            P.SURVEY_IMPORT,
            P.SURVEY_READ,
            P.AUDIT_READ,
            P.CONSULTANT_ASSIGN,
            P.ORG_VERIFY,
            P.GATEWAY_MANAGE,
            P.EVENT_MANAGE,
        }
    ),
    Role.CONSULTANT: frozenset(
        {
            P.ORG_READ_OWN,
            P.SURVEY_READ,
            P.CONSULTANT_WORKSPACE,
        }
    ),
    Role.ANALYST: frozenset(
        {
            P.ORG_READ_OWN,
            P.SURVEY_IMPORT,
            P.SURVEY_READ,
            P.SURVEY_READ_UNSUPPRESSED,
            P.SCENARIO_PUBLISH,  # a government department's analyst (calls/ checks the organisation's kind)
        }
    ),
    Role.ADMIN: frozenset(Permission) - ORG_BOUND,
}
