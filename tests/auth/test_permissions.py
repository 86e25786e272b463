"""What each role may do: an admin belongs to the centre, so it holds no right that acts for one's
own enterprise or provider (docs/permissions.md said otherwise, and the pages showed it buttons)."""

from __future__ import annotations

from smeai.auth.actor import Actor
from smeai.auth.permissions import ORG_BOUND, ROLE_ORG_KINDS, ROLE_PERMISSIONS, OrgKind, Permission, Role
from tests import builders


def test_org_bound_rights_belong_only_to_enterprise_and_provider_roles():
    for role, permissions in ROLE_PERMISSIONS.items():
        if OrgKind.CENTRE in ROLE_ORG_KINDS[role]:
            assert not permissions & ORG_BOUND, role


def test_admin_holds_every_other_right():
    assert ROLE_PERMISSIONS[Role.ADMIN] == frozenset(Permission) - ORG_BOUND
    for role in (Role.OPERATOR, Role.ANALYST):
        assert ROLE_PERMISSIONS[role] <= ROLE_PERMISSIONS[Role.ADMIN]


def test_the_system_actor_still_holds_every_permission():
    assert Actor.system().permissions == frozenset(Permission)


def test_an_admin_is_not_told_it_may_apply_or_take_an_assessment(session, client_for):
    me = client_for(builders.admin(session)).get("/api/v1/me").json()
    assert not {"subsidy:apply", "assessment:write_own", "proposal:submit", "offering:write_own"} & set(
        me["permissions"]
    )
    assert "user:manage" in me["permissions"]
