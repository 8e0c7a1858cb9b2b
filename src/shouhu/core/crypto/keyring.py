"""The master key, the data keys it wraps, and the process-wide keyring."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, text, update

from shouhu.core.crypto.models import CryptoKey, KeyPurpose, KeyStatus
from shouhu.core.database import utcnow

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session

    from shouhu.core.settings import Settings

KEY_BYTES = 32
NONCE_BYTES = 12


class KeyError_(Exception):  # noqa: N801, N818 - the builtin KeyError means something else
    """A key is missing, malformed or cannot be unwrapped."""


def decode_master_key(text: str) -> bytes:
    """Decode a base64 (standard or URL-safe) 32-byte master key."""
    cleaned = text.strip()
    try:
        raw = base64.urlsafe_b64decode(cleaned.replace("+", "-").replace("/", "_") + "==")
    except (binascii.Error, ValueError) as exc:
        raise KeyError_("the master key is not valid base64") from exc
    if len(raw) != KEY_BYTES:
        raise KeyError_(f"the master key must be {KEY_BYTES} bytes, got {len(raw)}")
    return raw


def new_master_key_text() -> str:
    """Generate a fresh random master key, base64 encoded."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()


@dataclass(frozen=True)
class MasterKeySource:
    """The master key and whether this run generated it."""

    key: bytes
    generated: bool
    path: Path | None


def load_master_key(settings: Settings) -> MasterKeySource:
    """Read the master key from SHOUHU_MASTER_KEY or the key file; generate it in embedded mode."""
    if settings.master_key is not None:
        return MasterKeySource(
            decode_master_key(settings.master_key.get_secret_value()), generated=False, path=None
        )
    path = settings.resolved_master_key_file
    if path.exists():
        return MasterKeySource(decode_master_key(path.read_text()), generated=False, path=path)
    if settings.is_production:
        raise KeyError_("SHOUHU_MASTER_KEY is required in production")
    path.parent.mkdir(parents=True, exist_ok=True)
    # 0600 from creation: the key must never be world-readable, even for an instant.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(new_master_key_text() + "\n")
    return MasterKeySource(decode_master_key(path.read_text()), generated=True, path=path)


def _wrap(master: bytes, key_id: str, purpose: str, material: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(master).encrypt(nonce, material, f"{key_id}|{purpose}".encode())


def _unwrap(master: bytes, key_id: str, purpose: str, wrapped: bytes) -> bytes:
    try:
        return AESGCM(master).decrypt(
            wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], f"{key_id}|{purpose}".encode()
        )
    except Exception as exc:
        raise KeyError_(f"key {key_id} cannot be unwrapped: wrong master key?") from exc


def new_key_id(purpose: KeyPurpose) -> str:
    """Make a short unique key id such as `field-20261128-1a2b3c`."""
    return f"{purpose.value.replace('_', '')}-{utcnow():%Y%m%d}-{secrets.token_hex(3)}"


@dataclass
class Keyring:
    """The unwrapped data keys this process encrypts, indexes and signs with."""

    field_keys: dict[str, bytes]
    active_field_key_id: str
    blind_index_key: bytes
    signing_key_id: str
    signing_key: Ed25519PrivateKey
    retiring_field_key_ids: set[str] = field(default_factory=set)

    def field_key(self, key_id: str) -> bytes:
        """Return the field key with this id, or raise an error naming it."""
        try:
            return self.field_keys[key_id]
        except KeyError as exc:
            raise KeyError_(f"field key {key_id} is not in the keyring") from exc


def create_key(session: Session, master: bytes, purpose: KeyPurpose) -> CryptoKey:
    """Generate the new active data key of this purpose; any active one becomes retiring."""
    key_id = new_key_id(purpose)
    if purpose is KeyPurpose.SIGNING:
        material = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
    else:
        material = secrets.token_bytes(KEY_BYTES)
    # One active key per purpose (a unique index, migration 0004): the old key steps aside
    # before the new one is written, so a rotation never holds two active keys, even briefly.
    session.execute(
        update(CryptoKey)
        .where(CryptoKey.purpose == purpose.value, CryptoKey.status == KeyStatus.ACTIVE.value)
        .values(status=KeyStatus.RETIRING.value)
    )
    row = CryptoKey(
        id=key_id,
        purpose=purpose.value,
        status=KeyStatus.ACTIVE.value,
        wrapped=_wrap(master, key_id, purpose.value, material),
    )
    session.add(row)
    session.flush()
    return row


def unwrap_key(master: bytes, row: CryptoKey) -> bytes:
    """Return the raw material of a stored key."""
    return _unwrap(master, row.id, row.purpose, row.wrapped)


def _key_rows(session: Session) -> list[CryptoKey]:
    statement = select(CryptoKey).order_by(CryptoKey.created_at, CryptoKey.id)
    # Another process may have changed rows this session already holds: read them afresh.
    return list(session.scalars(statement.execution_options(populate_existing=True)))


def _missing_purposes(rows: list[CryptoKey]) -> list[KeyPurpose]:
    active = {r.purpose for r in rows if r.status == KeyStatus.ACTIVE}
    return [purpose for purpose in KeyPurpose if purpose.value not in active]


def _lock_key_table(session: Session) -> None:
    # Two processes starting together on an empty database must not both create keys.
    # PostgreSQL: EXCLUSIVE blocks other writers (and this same lock) until commit, while plain
    # reads go on; the loser then reads the winner's keys. SQLite needs nothing: every write
    # transaction begins IMMEDIATE (core.database), so the table was already ours to change.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE crypto_keys IN EXCLUSIVE MODE"))


def _refuse_duplicate_active_keys(rows: list[CryptoKey]) -> None:
    active: dict[str, list[str]] = {}
    for row in rows:
        if row.status == KeyStatus.ACTIVE:
            active.setdefault(row.purpose, []).append(row.id)
    duplicated = {purpose: ids for purpose, ids in active.items() if len(ids) > 1}
    if duplicated:
        named = "; ".join(f"{p}: {', '.join(ids)}" for p, ids in sorted(duplicated.items()))
        raise KeyError_(
            f"more than one active key per purpose ({named}); data may be sealed or indexed "
            "under either, so Shouhu will not start until only one key of each purpose is active"
        )


def load_keyring(session: Session, master: bytes) -> Keyring:
    """Load every data key, creating any purpose that has none yet (first start)."""
    rows = _key_rows(session)
    if _missing_purposes(rows):
        _lock_key_table(session)
        rows = _key_rows(session)  # after the lock: a concurrent first start may have won
        for purpose in _missing_purposes(rows):
            rows.append(create_key(session, master, purpose))
    _refuse_duplicate_active_keys(rows)
    field_keys: dict[str, bytes] = {}
    active_field = ""
    retiring: set[str] = set()
    blind = b""
    signing_id = ""
    signing_raw = b""
    for row in rows:
        if row.status == KeyStatus.RETIRED:
            continue
        material = unwrap_key(master, row)
        if row.purpose == KeyPurpose.FIELD:
            field_keys[row.id] = material
            if row.status == KeyStatus.ACTIVE:
                active_field = row.id
            else:
                retiring.add(row.id)
        elif row.purpose == KeyPurpose.BLIND_INDEX and row.status == KeyStatus.ACTIVE:
            blind = material
        elif row.purpose == KeyPurpose.SIGNING and row.status == KeyStatus.ACTIVE:
            signing_id, signing_raw = row.id, material
    return Keyring(
        field_keys=field_keys,
        active_field_key_id=active_field,
        blind_index_key=blind,
        signing_key_id=signing_id,
        signing_key=Ed25519PrivateKey.from_private_bytes(signing_raw),
        retiring_field_key_ids=retiring,
    )


class _Holder:
    keyring: Keyring | None = None


def install_keyring(keyring: Keyring | None) -> None:
    """Make this keyring the one every encrypted field in the process uses."""
    _Holder.keyring = keyring


def current_keyring() -> Keyring:
    """Return the installed keyring; an error if the application has not loaded one."""
    if _Holder.keyring is None:
        raise KeyError_("no keyring installed: call shouhu.core.runtime.start first")
    return _Holder.keyring


def refresh_if_rotated(session: Session, master: bytes) -> bool:
    """Reload the keyring if another process rotated the field key; True when it did.

    Long-running processes call this periodically so that, after `shouhu keys rotate`, they
    stop sealing with the old key before the rotation's settle time ends and it retires it.
    """
    active = session.scalar(
        select(CryptoKey.id).where(
            CryptoKey.purpose == KeyPurpose.FIELD.value,
            CryptoKey.status == KeyStatus.ACTIVE.value,
        )
    )
    current = _Holder.keyring
    if current is not None and active == current.active_field_key_id:
        return False
    install_keyring(load_keyring(session, master))
    return True
