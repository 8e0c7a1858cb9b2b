"""Per-field AES-256-GCM encryption whose associated data binds table, column and row."""

from __future__ import annotations

import secrets
import uuid
from typing import Any, Generic, TypeVar, overload

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from shouhu.core.crypto.keyring import NONCE_BYTES, KeyError_, current_keyring

ENVELOPE_VERSION = 1
T = TypeVar("T")


class DecryptionError(Exception):
    """A stored value failed authentication: wrong key, wrong row, or altered bytes."""


def associated_data(table: str, column: str, row_id: uuid.UUID | str) -> bytes:
    """The AAD that ties a ciphertext to one table, column and row."""
    return f"shouhu|{table}|{column}|{row_id}".encode()


def seal(plaintext: bytes, aad: bytes, *, key_id: str | None = None) -> bytes:
    """Encrypt under the active (or the named) field key: version|len|key id|nonce|ct+tag."""
    keyring = current_keyring()
    kid = key_id or keyring.active_field_key_id
    nonce = secrets.token_bytes(NONCE_BYTES)
    ciphertext = AESGCM(keyring.field_key(kid)).encrypt(nonce, plaintext, aad)
    encoded_id = kid.encode()
    return bytes([ENVELOPE_VERSION, len(encoded_id)]) + encoded_id + nonce + ciphertext


def envelope_key_id(envelope: bytes) -> str:
    """The id of the key an envelope was sealed under."""
    if len(envelope) < 2 or envelope[0] != ENVELOPE_VERSION:  # noqa: PLR2004 - header length
        raise DecryptionError("not a Shouhu field envelope")
    return envelope[2 : 2 + envelope[1]].decode()


def open_sealed(envelope: bytes, aad: bytes) -> bytes:
    """Decrypt an envelope made by `seal` with the same AAD."""
    kid = envelope_key_id(envelope)
    start = 2 + envelope[1]
    nonce, ciphertext = envelope[start : start + NONCE_BYTES], envelope[start + NONCE_BYTES :]
    try:
        return AESGCM(current_keyring().field_key(kid)).decrypt(nonce, ciphertext, aad)
    except (InvalidTag, KeyError_) as exc:
        raise DecryptionError(f"cannot decrypt a value sealed under key {kid}") from exc


class Sealed(TypeDecorator[bytes]):
    """The column type of an encrypted field: it holds an envelope, never plaintext."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        """Refuse anything that is not an envelope, so plaintext cannot slip into the column."""
        if value is not None:
            envelope_key_id(value)
        return value


class EncryptedField(Generic[T]):
    """A model attribute that reads and writes plaintext through a `Sealed` column.

    Declare the column as `<name>_sealed` and the field as `<name> = EncryptedString()`.
    The row's UUID primary key is part of the associated data, so a value copied to
    another row, column or table no longer decrypts.
    """

    def __init__(self, column_attr: str | None = None) -> None:
        self.column_attr = column_attr
        self.name = ""
        self.table = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.column_attr = self.column_attr or f"{name}_sealed"
        self.table = str(getattr(owner, "__tablename__", owner.__name__))

    def encode(self, value: T) -> bytes:
        """Turn the Python value into bytes for sealing."""
        raise NotImplementedError  # each concrete field type overrides this

    def decode(self, raw: bytes) -> T:
        """Turn decrypted bytes back into the Python value."""
        raise NotImplementedError  # each concrete field type overrides this

    def aad_for(self, instance: Any) -> bytes:
        """The associated data for this field of this row."""
        return associated_data(self.table, self.name, instance.ensure_id())

    @overload
    def __get__(self, instance: None, owner: type) -> EncryptedField[T]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> T | None: ...

    def __get__(self, instance: object | None, owner: type) -> EncryptedField[T] | T | None:
        """Decrypt on read."""
        if instance is None:
            return self
        envelope = getattr(instance, str(self.column_attr))
        if envelope is None:
            return None
        return self.decode(open_sealed(envelope, self.aad_for(instance)))

    def __set__(self, instance: object, value: T | None) -> None:
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
        """Bytes as they are."""
        return value

    def decode(self, raw: bytes) -> bytes:
        """Bytes as they are."""
        return raw
