"""Who may do what: role permissions checked against the acting principal."""

from __future__ import annotations

from shouhu.accounts.roles import Permission, roles_with
from shouhu.core.errors import ForbiddenError
from shouhu.core.principal import Principal


def allows(principal: Principal, permission: Permission) -> bool:
    """Whether any of the principal's roles holds the permission."""
    if principal.channel == "cli" and principal.user_id is None:
        # The operator's shell: whoever runs the CLI already controls the host and its keys.
        return True
    return bool(principal.roles & roles_with(permission))


def require(principal: Principal, permission: Permission) -> None:
    """Raise ForbiddenError unless the principal holds the permission."""
    if not allows(principal, permission):
        raise ForbiddenError("You do not have permission to do this.")
