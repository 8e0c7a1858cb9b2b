"""Who is acting: the explicit actor every service function takes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

Channel = Literal["web", "api", "cli", "system"]


@dataclass(frozen=True)
class Principal:
    """An authenticated user acting through one channel, or the system itself."""

    user_id: uuid.UUID | None
    organisation_id: uuid.UUID | None
    org_type: str | None
    roles: frozenset[str] = field(default_factory=frozenset)
    channel: Channel = "system"
    source_address: str | None = None

    def has_role(self, *roles: str) -> bool:
        """Whether the principal holds any of these roles."""
        return bool(self.roles.intersection(roles))


def system_principal(channel: Channel = "system") -> Principal:
    """The principal for work the system or an operator's shell does on its own authority."""
    return Principal(user_id=None, organisation_id=None, org_type=None, channel=channel)
