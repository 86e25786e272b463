"""The permission map, written out: adding or removing one right of one role is a decision, so it changes
this file too (scripts/mutation.py dropped single rights from the map and the other tests stayed green).
"""

from __future__ import annotations

import dataclasses

import pytest

from smeai.auth.actor import Actor
from smeai.auth.permissions import ORG_BOUND, ROLE_ORG_KINDS, ROLE_PERMISSIONS, OrgKind, Permission, Role
from smeai.errors import Forbidden

EXPECTED = {
    "enterprise_member": {
        "assessment:read_own",
        "assessment:write_own",
        "case:submit",
        "challenge:publish",
        "engagement:act",
        "event:attend",
        "gateway:use",
        "need:read_own",
        "need:write_own",
        "org:read_own",
        "org:write_own",
        "org:members_own",
        "scenario:publish",
        "subsidy:apply",
        "survey:read",
        "trial:run",
    },
    "provider_member": {
        "case:submit",
        "engagement:act",
        "event:attend",
        "offering:write_own",
        "org:read_own",
        "org:members_own",
        "org:write_own",
        "proposal:submit",
        "survey:read",
    },
    "operator": {
        "assessment:read_any",
        "audit:read",
        "consultant:assign",
        "case:review",
        "case:submit",
        "catalog:import",
        "engagement:read_any",
        "event:manage",
        "gateway:manage",
        "need:read_any",
        "need:write_any",
        "offering:read_any",
        "offering:review",
        "org:read_any",
        "org:read_own",
        "org:verify",
        "org:write_any",
        "programme:manage",
        "subsidy:read_any",
        "subsidy:review",
        "survey:import",
        "survey:read",
    },
    "consultant": {"consultant:workspace", "org:read_own", "survey:read"},
    "analyst": {"org:read_own", "scenario:publish", "survey:import", "survey:read", "survey:read_unsuppressed"},
    "admin": {
        "assessment:read_any",
        "audit:export",
        "audit:read",
        "consultant:assign",
        "consultant:workspace",
        "case:review",
        "case:submit",
        "catalog:import",
        "engagement:read_any",
        "event:manage",
        "gateway:manage",
        "need:read_any",
        "need:write_any",
        "offering:read_any",
        "offering:review",
        "org:read_any",
        "org:read_own",
        "org:verify",
        "org:write_any",
        "org:write_own",
        "programme:manage",
        "scenario:publish",
        "subsidy:read_any",
        "subsidy:review",
        "survey:import",
        "survey:read",
        "survey:read_unsuppressed",
        "user:manage",
    },
}
EXPECTED_ORG_BOUND = {
    "assessment:read_own",
    "assessment:write_own",
    "challenge:publish",
    "engagement:act",
    "event:attend",
    "gateway:use",
    "need:read_own",
    "need:write_own",
    "offering:write_own",
    "org:members_own",
    "proposal:submit",
    "subsidy:apply",
    "trial:run",
}


def test_the_permission_map_is_exactly_the_documented_one():
    assert {role.value: {p.value for p in ps} for role, ps in ROLE_PERMISSIONS.items()} == EXPECTED


def test_org_bound_rights_are_exactly_these():
    assert {p.value for p in ORG_BOUND} == EXPECTED_ORG_BOUND


def test_which_organisations_each_role_belongs_to():
    assert {role.value: {k.value for k in kinds} for role, kinds in ROLE_ORG_KINDS.items()} == {
        "enterprise_member": {"enterprise"},
        "provider_member": {"provider"},
        "operator": {"centre"},
        "consultant": {"centre"},
        "analyst": {"centre", "government"},
        "admin": {"centre"},
    }


def _actor(*roles: Role, user_id: int | None = 7, kind: OrgKind = OrgKind.ENTERPRISE) -> Actor:
    return Actor(user_id=user_id, org_id=3, org_kind=kind, roles=frozenset(roles), org_admin=True)


def test_an_actor_holds_the_union_of_its_roles_rights():
    both = _actor(Role.ENTERPRISE_MEMBER, Role.ANALYST)
    assert both.permissions == ROLE_PERMISSIONS[Role.ENTERPRISE_MEMBER] | ROLE_PERMISSIONS[Role.ANALYST]
    assert _actor().permissions == frozenset()
    assert isinstance(both.permissions, frozenset)


def test_a_logged_in_admin_is_not_the_system():
    admin = _actor(Role.ADMIN, kind=OrgKind.CENTRE)
    assert not admin.is_system
    assert admin.permissions == ROLE_PERMISSIONS[Role.ADMIN]
    assert not admin.can(Permission.SUBSIDY_APPLY)


def test_only_an_admin_without_a_user_is_the_system():
    assert Actor.system().is_system
    assert Actor.system().user_id is None and Actor.system().org_id is None
    assert Actor.system().org_kind is OrgKind.CENTRE
    assert Actor.system().roles == frozenset({Role.ADMIN})
    nobody = _actor(Role.OPERATOR, user_id=None, kind=OrgKind.CENTRE)
    assert not nobody.is_system
    assert nobody.permissions == ROLE_PERMISSIONS[Role.OPERATOR]


def test_can_and_require():
    member = _actor(Role.ENTERPRISE_MEMBER)
    assert member.can(Permission.SUBSIDY_APPLY)
    assert not member.can(Permission.SUBSIDY_REVIEW)
    member.require(Permission.SUBSIDY_APPLY)  # no error
    with pytest.raises(Forbidden) as info:
        member.require(Permission.SUBSIDY_REVIEW)
    assert info.value.params == {"permission": "subsidy:review"}
    Actor.system().require(Permission.SUBSIDY_APPLY)  # the system may act for any organisation


def test_acting_for_an_enterprise_holds_only_the_on_behalf_rights():
    acting = Actor(
        user_id=7, org_id=3, org_kind=OrgKind.ENTERPRISE, roles=frozenset({Role.ENTERPRISE_MEMBER}), on_behalf_of=3
    )
    assert {p.value for p in acting.permissions} == {
        "org:read_own",
        "assessment:read_own",
        "need:write_own",
        "need:read_own",
        "engagement:act",
        "subsidy:apply",
    }
    assert not acting.can(Permission.ASSESSMENT_WRITE_OWN) and not acting.can(Permission.ORG_WRITE_OWN)


def test_an_actor_cannot_be_changed_once_made():
    member = _actor(Role.ENTERPRISE_MEMBER)
    with pytest.raises(dataclasses.FrozenInstanceError):
        member.roles = frozenset({Role.ADMIN})  # type: ignore[misc]
    assert hash(member) == hash(_actor(Role.ENTERPRISE_MEMBER))


def test_an_unverified_organisation_and_a_plain_member_lack_what_is_withheld():
    from smeai.auth.permissions import ORG_ADMIN_ONLY, UNVERIFIED_WITHHELD

    admin = _actor(Role.ENTERPRISE_MEMBER)
    waiting = Actor(
        user_id=7, org_id=3, org_kind=OrgKind.ENTERPRISE, roles=admin.roles, org_admin=True, org_verified=False
    )
    member = Actor(user_id=7, org_id=3, org_kind=OrgKind.ENTERPRISE, roles=admin.roles)
    assert waiting.permissions == admin.permissions - UNVERIFIED_WITHHELD
    assert not waiting.can(Permission.SUBSIDY_APPLY) and waiting.can(Permission.ASSESSMENT_WRITE_OWN)
    assert member.permissions == admin.permissions - ORG_ADMIN_ONLY
    assert not member.can(Permission.ORG_MEMBERS_OWN) and member.can(Permission.SUBSIDY_APPLY)
