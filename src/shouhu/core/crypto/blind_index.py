"""HMAC-SHA256 blind indexes for equality look-ups on encrypted values (DESIGN §4)."""

from __future__ import annotations

import hashlib
import hmac

from shouhu.core.crypto.keyring import current_keyring


def blind_index(value: str, *, domain: str) -> str:
    """The hex HMAC of an already-normalised value; `domain` keeps fields from colliding."""
    key = current_keyring().blind_index_key
    message = f"{domain}\x1f{value}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
