"""HMAC-SHA256 blind indexes for equality look-ups on encrypted values (DESIGN §4)."""

from __future__ import annotations

import hmac

from shouhu.core.crypto.keyring import current_keyring


def blind_digest(value: str, *, domain: str) -> bytes:
    """The HMAC of an already-normalised value; `domain` keeps fields from colliding."""
    # hmac.digest is OpenSSL's one-shot HMAC, faster than hmac.new; matching computes
    # some twenty of these per query.
    return hmac.digest(current_keyring().blind_index_key, f"{domain}\x1f{value}".encode(), "sha256")


def blind_index(value: str, *, domain: str) -> str:
    """The hex HMAC of an already-normalised value (a blind-index column's content)."""
    return blind_digest(value, domain=domain).hex()
