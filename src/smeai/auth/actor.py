"""The acting user, as services see it: from a cookie, a token or the CLI's --as."""

from __future__ import annotations

from dataclasses import dataclass

from smeai.auth.permissions import (
    ON_BEHALF,
    ORG_ADMIN_ONLY,
    ROLE_PERMISSIONS,
    UNVERIFIED_WITHHELD,
    OrgKind,
    Permission,
    Role,
)
from smeai.errors import Forbidden
from smeai.i18n import N_


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    org_id: int | None
    org_kind: OrgKind | None
    roles: frozenset[Role]
    # A consultant acting for an assigned enterprise: org_id is then that enterprise, user_id the consultant,
    # and the rights are those ON_BEHALF allows (auth/consultants.py); the audit log records it as on-behalf.
    on_behalf_of: int | None = None
    # A self-registered organisation waiting for the centre: UNVERIFIED_WITHHELD is withheld.
    org_verified: bool = True
    # The organisation's admin (User.org_role): only they hold ORG_ADMIN_ONLY.
    org_admin: bool = False

    @classmethod
    def system(cls) -> Actor:
        """Bootstrap commands (user create, demo) act as the system: every permission, no organisation."""
        return cls(user_id=None, org_id=None, org_kind=OrgKind.CENTRE, roles=frozenset({Role.ADMIN}))

    @property
    def permissions(self) -> frozenset[Permission]:
        if self.is_system:  # bootstrap and demo may act for any organisation
            return frozenset(Permission)
        out: set[Permission] = set()
        for role in self.roles:
            out |= ROLE_PERMISSIONS[role]
        if not self.org_verified:
            out -= UNVERIFIED_WITHHELD
        if not self.org_admin:
            out -= ORG_ADMIN_ONLY
        return frozenset(out & ON_BEHALF) if self.on_behalf_of is not None else frozenset(out)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(N_("You are not allowed to do this."), permission=str(permission))

    @property
    def is_system(self) -> bool:
        return self.user_id is None and Role.ADMIN in self.roles


@dataclass(frozen=True)
class UserView:
    """What page templates show of the logged-in user: a plain snapshot, not the ORM row (an error page
    renders after the request's session rolled back), shared between requests by auth/principals.py."""

    id: int
    email: str
    display_name: str
