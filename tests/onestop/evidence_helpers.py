"""Helpers the evidence tests share: keyrings made in memory, stored files edited in place."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shouhu.core.crypto.keyring import Keyring

if TYPE_CHECKING:
    from pathlib import Path


def make_ring(*field_key_ids: str, keys: dict[str, bytes] | None = None) -> Keyring:
    """A keyring with random field keys (or the given ones); the first id is the active one."""
    ids = field_key_ids or ("field-evidence-a",)
    given = keys or {}
    return Keyring(
        field_keys={kid: given.get(kid) or secrets.token_bytes(32) for kid in ids},
        active_field_key_id=ids[0],
        blind_index_key=secrets.token_bytes(32),
        signing_key_id="signing-test",
        signing_key=Ed25519PrivateKey.generate(),
        retiring_field_key_ids=set(ids[1:]),
    )


def flip_bit(path: Path, offset: int, bit: int = 0) -> None:
    """Flip one bit of a stored file in place, as a disk error or a careful forger would."""
    data = bytearray(path.read_bytes())
    data[offset] ^= 1 << bit
    path.write_bytes(bytes(data))


def chunked(data: bytes, size: int) -> list[bytes]:
    """`data` cut into pieces of `size` bytes (the last one shorter)."""
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]
