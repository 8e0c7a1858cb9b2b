"""The blind index that recognises the same child across cases (interviews counted per child)."""

from __future__ import annotations

from typing import Final

from shouhu.core.crypto.blind_index import blind_index

# A domain of its own: a child's index can never be joined with the registry's document index.
CHILD_DOCUMENT_DOMAIN: Final = "onestop:child_document"


def child_index(id_type: str | None, number: str | None) -> str | None:
    """The index of a child's canonical document (type and number), or None without one."""
    if not id_type or not number:
        return None
    return blind_index(f"{id_type}\x1f{number}", domain=CHILD_DOCUMENT_DOMAIN)
