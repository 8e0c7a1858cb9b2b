"""The one error that identity validators raise."""

from __future__ import annotations


class IdentityError(ValueError):
    """A value failed an identity check; `reason` is a stable code callers may branch on."""

    def __init__(self, field: str, reason: str, detail: str | None = None) -> None:
        """Name the field and the reason; `detail` adds a human hint (never the whole value)."""
        message = f"{field}: {reason}"
        if detail:
            message = f"{message} ({detail})"
        super().__init__(message)
        self.field = field
        self.reason = reason
        self.detail = detail
