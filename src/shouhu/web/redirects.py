"""Safe redirect targets."""

from __future__ import annotations


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go to after a form, never another site (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
