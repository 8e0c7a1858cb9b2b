"""Per-field AES-256-GCM encryption whose associated data binds table, column and row."""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar, overload

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator

from shouhu.core.crypto.keyring import NONCE_BYTES, KeyError_, current_keyring

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.engine import Dialect

ENVELOPE_VERSION = 1
# An envelope starts with its version byte and the length of the key id that follows.
HEADER_BYTES = 2
TAG_BYTES = 16
T = TypeVar("T")


class DecryptionError(Exception):
    """A stored value failed authentication: wrong key, wrong row, or altered bytes."""


class PlaintextRefusedError(ValueError):
    """Something other than a sealed envelope was about to be written to a `Sealed` column."""


class HasRowId(Protocol):
    """A model row whose UUID primary key can be assigned before flush."""

    def ensure_id(self) -> uuid.UUID:
        """Assign the primary key if needed and return it."""
        ...


def associated_data(table: str, column: str, row_id: uuid.UUID | str) -> bytes:
    """Build the AAD that ties a ciphertext to one table, column and row."""
    return f"shouhu|{table}|{column}|{row_id}".encode()


def seal(plaintext: bytes, aad: bytes, *, key_id: str | None = None) -> bytes:
    """Encrypt under the active (or the named) field key: version|len|key id|nonce|ct+tag."""
    keyring = current_keyring()
    kid = key_id or keyring.active_field_key_id
    nonce = secrets.token_bytes(NONCE_BYTES)
    ciphertext = AESGCM(keyring.field_key(kid)).encrypt(nonce, plaintext, aad)
    encoded_id = kid.encode("ascii")
    return bytes([ENVELOPE_VERSION, len(encoded_id)]) + encoded_id + nonce + ciphertext


class FieldSealer:
    """`seal` under the key active when the sealer was made, its AES-GCM context built once.

    Building the cipher context costs about as much as sealing a short value, and a bulk
    import seals hundreds of thousands: it makes one sealer per batch of rows instead (so a
    key rotated meanwhile is used from the next batch on). The envelopes are `seal`'s.
    """

    def __init__(self, key_id: str | None = None) -> None:
        """Take the active (or the named) field key from the installed keyring."""
        keyring = current_keyring()
        kid = key_id or keyring.active_field_key_id
        encoded_id = kid.encode("ascii")
        self.key_id = kid
        self._header = bytes([ENVELOPE_VERSION, len(encoded_id)]) + encoded_id
        self._cipher = AESGCM(keyring.field_key(kid))

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt as `seal` does: version|len|key id|nonce|ct+tag, with a fresh nonce."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        return self._header + nonce + self._cipher.encrypt(nonce, plaintext, aad)


def envelope_key_id(envelope: bytes) -> str:
    """Return the id of the key an envelope was sealed under; fail if it is not an envelope."""
    if (
        not isinstance(envelope, bytes | bytearray)
        or len(envelope) < HEADER_BYTES
        or envelope[0] != ENVELOPE_VERSION
        or len(envelope) < HEADER_BYTES + envelope[1] + NONCE_BYTES + TAG_BYTES
    ):
        raise DecryptionError("not a Shouhu field envelope")
    try:
        return bytes(envelope[HEADER_BYTES : HEADER_BYTES + envelope[1]]).decode("ascii")
    except UnicodeDecodeError as exc:
        raise DecryptionError("not a Shouhu field envelope") from exc


def open_sealed(envelope: bytes, aad: bytes) -> bytes:
    """Decrypt an envelope made by `seal` with the same AAD."""
    kid = envelope_key_id(envelope)
    start = HEADER_BYTES + envelope[1]
    nonce, ciphertext = envelope[start : start + NONCE_BYTES], envelope[start + NONCE_BYTES :]
    try:
        key = current_keyring().field_key(kid)
    except KeyError_ as exc:
        # A retired key, or a value copied from another installation: name the missing key.
        raise DecryptionError(f"value sealed under key {kid}, which is not in the keyring") from exc
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag as exc:
        raise DecryptionError(
            f"value sealed under key {kid} fails authentication: altered, or moved from "
            "another row or column"
        ) from exc


class Sealed(TypeDecorator[bytes]):
    """The column type of an encrypted field: it holds an envelope, never plaintext."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(
        self,
        value: bytes | None,
        dialect: Dialect,  # noqa: ARG002 - TypeDecorator's signature
    ) -> bytes | None:
        """Refuse anything that is not an envelope, so plaintext cannot slip into the column."""
        if value is not None:
            try:
                envelope_key_id(value)
            except DecryptionError as exc:
                # DESIGN §4: an encrypted column never holds plaintext, even by mistake.
                raise PlaintextRefusedError(
                    "refusing to store a value that is not a sealed envelope in an encrypted "
                    "column; assign through the EncryptedField instead"
                ) from exc
        return value


class EncryptedField(ABC, Generic[T]):
    """A model attribute that reads and writes plaintext through a `Sealed` column.

    Declare the column as `<name>_sealed` and the field as `<name> = EncryptedString()`.
    The row's UUID primary key is part of the associated data, so a value copied to
    another row, column or table no longer decrypts.
    """

    def __init__(self, column_attr: str | None = None) -> None:
        """Name the mapped attribute of the `Sealed` column; `<name>_sealed` by default."""
        self.column_attr = column_attr
        self.name = ""
        self.table = ""

    def __set_name__(self, owner: type, name: str) -> None:
        """Learn the attribute and table names that go into the associated data."""
        self.name = name
        self.column_attr = self.column_attr or f"{name}_sealed"
        self.table = str(getattr(owner, "__tablename__", owner.__name__))

    @abstractmethod
    def encode(self, value: T) -> bytes:
        """Turn the Python value into bytes for sealing."""

    @abstractmethod
    def decode(self, raw: bytes) -> T:
        """Turn decrypted bytes back into the Python value."""

    def aad_for(self, instance: HasRowId) -> bytes:
        """Build the associated data for this field of this row."""
        return self.aad_for_row(instance.ensure_id())

    def aad_for_row(self, row_id: uuid.UUID | str) -> bytes:
        """Build the associated data for this field of the row with this id (key rotation)."""
        return associated_data(self.table, self.name, row_id)

    @overload
    def __get__(self, instance: None, owner: type) -> EncryptedField[T]: ...
    @overload
    def __get__(self, instance: HasRowId, owner: type) -> T | None: ...

    def __get__(self, instance: HasRowId | None, owner: type) -> EncryptedField[T] | T | None:
        """Decrypt on read."""
        if instance is None:
            return self
        envelope = getattr(instance, str(self.column_attr))
        if envelope is None:
            return None
        return self.decode(open_sealed(envelope, self.aad_for(instance)))

    def __set__(self, instance: HasRowId, value: T | None) -> None:
        """Encrypt on write."""
        sealed = None if value is None else seal(self.encode(value), self.aad_for(instance))
        setattr(instance, str(self.column_attr), sealed)


class EncryptedString(EncryptedField[str]):
    """An encrypted text field."""

    def encode(self, value: str) -> bytes:
        """UTF-8 encode."""
        return value.encode()

    def decode(self, raw: bytes) -> str:
        """UTF-8 decode."""
        return raw.decode()


class EncryptedBytes(EncryptedField[bytes]):
    """An encrypted binary field."""

    def encode(self, value: bytes) -> bytes:
        """Return the bytes as they are."""
        return value

    def decode(self, raw: bytes) -> bytes:
        """Return the bytes as they are."""
        return raw
