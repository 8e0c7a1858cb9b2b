"""The refusals the one-stop API documents, as RFC 9457 problem details."""

from __future__ import annotations

from typing import Any

PROBLEM = {"content": {"application/problem+json": {"schema": {"type": "object"}}}}


def errors(*, body: bool = False, not_found: str | None = None, conflict: str | None = None) -> Any:
    """The documented error responses of one operation."""
    found: dict[int | str, dict[str, Any]] = {
        401: {"description": "No valid bearer token", **PROBLEM},
        403: {"description": "The token's user lacks the permission", **PROBLEM},
        422: {"description": "Invalid input; `errors` names each field", **PROBLEM},
    }
    if body:
        found[400] = {"description": "The body is not readable JSON", **PROBLEM}
    if not_found:
        found[404] = {"description": not_found, **PROBLEM}
    if conflict:
        found[409] = {"description": conflict, **PROBLEM}
    return found
