"""Field encryption: round trips, associated data binding, tamper detection (DESIGN §4)."""

from __future__ import annotations

import secrets
import uuid
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import StatementError

from shouhu.accounts.models import Organisation, User
from shouhu.core.crypto import keyring as keyring_module
from shouhu.core.crypto.fields import (
    DecryptionError,
    PlaintextRefusedError,
    Sealed,
    associated_data,
    envelope_key_id,
    open_sealed,
    seal,
)
from shouhu.core.crypto.keyring import KeyError_, Keyring, install_keyring

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.orm import Session

AAD = associated_data("users", "display_name", "0b8f4a52-8f5e-4f3b-9c39-5d1d2f3a4b5c")


def make_ring(*field_key_ids: str) -> Keyring:
    """A keyring with random keys; the first field key id is the active one."""
    ids = field_key_ids or ("field-test-a",)
    return Keyring(
        field_keys={kid: secrets.token_bytes(32) for kid in ids},
        active_field_key_id=ids[0],
        blind_index_key=secrets.token_bytes(32),
        signing_key_id="signing-test",
        signing_key=Ed25519PrivateKey.generate(),
    )


@contextmanager
def installed(ring: Keyring | None) -> Iterator[Keyring | None]:
    """Install a keyring for the block and put the previous one back afterwards."""
    previous = keyring_module._Holder.keyring
    install_keyring(ring)
    try:
        yield ring
    finally:
        install_keyring(previous)


@pytest.fixture
def ring() -> Iterator[Keyring]:
    ring = make_ring("field-test-a", "field-test-b")
    with installed(ring):
        yield ring


def new_user(org_id: uuid.UUID | None = None) -> User:
    user = User(
        organisation_id=org_id or uuid.uuid4(),
        username=f"u-{uuid.uuid4().hex[:10]}",
        password_hash="not-a-real-hash",
    )
    user.ensure_id()
    return user


def test_seal_then_open_returns_the_plaintext(ring: Keyring) -> None:
    envelope = seal("王小明".encode(), AAD)
    assert open_sealed(envelope, AAD).decode() == "王小明"
    assert envelope_key_id(envelope) == ring.active_field_key_id
    assert "王小明".encode() not in envelope


@pytest.mark.usefixtures("ring")
def test_sealing_twice_gives_different_envelopes() -> None:
    # A fresh nonce per seal: equal names must not be recognisable as equal in the database.
    assert seal(b"Li Hua", AAD) != seal(b"Li Hua", AAD)


@pytest.mark.usefixtures("ring")
def test_seal_under_a_named_key() -> None:
    envelope = seal(b"x", AAD, key_id="field-test-b")
    assert envelope_key_id(envelope) == "field-test-b"
    assert open_sealed(envelope, AAD) == b"x"


@pytest.mark.usefixtures("ring")
def test_encrypted_fields_round_trip_on_a_model() -> None:
    user = new_user()
    user.display_name = "欧阳娜娜"
    user.mfa_secret = "JBSWY3DPEHPK3PXP"
    assert user.display_name == "欧阳娜娜"
    assert user.mfa_secret == "JBSWY3DPEHPK3PXP"
    assert user.display_name_sealed is not None
    assert "欧阳娜娜".encode() not in user.display_name_sealed
    user.display_name = None
    assert user.display_name_sealed is None
    assert user.display_name is None


@pytest.mark.usefixtures("ring")
def test_an_envelope_copied_to_another_row_does_not_decrypt() -> None:
    first, second = new_user(), new_user()
    first.display_name = "王小明"
    second.display_name_sealed = first.display_name_sealed
    with pytest.raises(DecryptionError, match="moved from another row or column"):
        _ = second.display_name


@pytest.mark.usefixtures("ring")
def test_an_envelope_copied_to_another_column_does_not_decrypt() -> None:
    user = new_user()
    user.display_name = "王小明"
    user.mfa_secret_sealed = user.display_name_sealed
    with pytest.raises(DecryptionError):
        _ = user.mfa_secret


@pytest.mark.usefixtures("ring")
def test_an_envelope_copied_to_another_table_does_not_decrypt() -> None:
    row_id = uuid.uuid4()
    envelope = seal(b"secret", associated_data("users", "display_name", row_id))
    with pytest.raises(DecryptionError):
        open_sealed(envelope, associated_data("persons", "display_name", row_id))


@pytest.mark.usefixtures("ring")
def test_every_flipped_bit_is_detected() -> None:
    envelope = seal("王小明".encode(), AAD)
    # Mutation vectors: each bit of the header, key id, nonce, ciphertext and tag.
    for position in range(len(envelope)):
        for bit in range(8):
            altered = bytearray(envelope)
            altered[position] ^= 1 << bit
            with pytest.raises(DecryptionError):
                open_sealed(bytes(altered), AAD)


@pytest.mark.usefixtures("ring")
def test_truncated_or_extended_envelopes_are_detected() -> None:
    envelope = seal(b"Zhang San", AAD)
    for cut in range(len(envelope)):
        with pytest.raises(DecryptionError):
            open_sealed(envelope[:cut], AAD)
    with pytest.raises(DecryptionError):
        open_sealed(envelope + b"\x00", AAD)


@pytest.mark.usefixtures("ring")
def test_an_unknown_key_id_is_a_clear_error() -> None:
    with installed(make_ring("field-from-elsewhere")):
        envelope = seal(b"value", AAD)
    with pytest.raises(DecryptionError, match="field-from-elsewhere, which is not in the keyring"):
        open_sealed(envelope, AAD)
    with pytest.raises(KeyError_, match="field-unknown"):
        seal(b"value", AAD, key_id="field-unknown")


@pytest.mark.usefixtures("ring")
def test_without_a_keyring_encryption_refuses() -> None:
    with installed(None), pytest.raises(KeyError_, match="no keyring installed"):
        seal(b"value", AAD)


@pytest.mark.usefixtures("ring")
@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
@pytest.mark.parametrize(
    "value", ["王小明".encode(), b"Wang Xiaoming", b"", b"\x01\x05short", "王小明"]
)
def test_sealed_column_refuses_plaintext(dialect: object, value: object) -> None:
    with pytest.raises(PlaintextRefusedError):
        Sealed().process_bind_param(value, dialect)  # type: ignore[arg-type]


@pytest.mark.usefixtures("ring")
def test_sealed_column_accepts_envelopes_and_null() -> None:
    envelope = seal(b"x", AAD)
    assert Sealed().process_bind_param(envelope, sqlite.dialect()) == envelope
    assert Sealed().process_bind_param(None, sqlite.dialect()) is None


def test_the_database_refuses_plaintext_in_a_sealed_column(session: Session) -> None:
    org = Organisation(name=f"org-{uuid.uuid4().hex[:8]}", type="operator", region_code="110000")
    session.add(org)
    session.flush()
    user = new_user(org.id)
    user.display_name_sealed = "王小明".encode()
    session.add(user)
    with pytest.raises(StatementError) as caught:
        session.flush()
    assert isinstance(caught.value.orig, PlaintextRefusedError)


def test_the_database_stores_envelopes_that_read_back(session: Session) -> None:
    org = Organisation(name=f"org-{uuid.uuid4().hex[:8]}", type="operator", region_code="110000")
    session.add(org)
    session.flush()
    user = new_user(org.id)
    user.display_name = "王小明"
    session.add(user)
    session.flush()
    session.expunge_all()
    stored = session.scalar(select(User).where(User.id == user.id))
    assert stored is not None
    assert stored.display_name == "王小明"
    raw = session.scalar(select(User.display_name_sealed).where(User.id == user.id))
    assert raw is not None
    assert "王小明".encode() not in raw


@given(text=st.text(max_size=300))
def test_any_text_round_trips(text: str) -> None:
    with installed(make_ring()):
        user = new_user()
        user.display_name = text
        assert user.display_name == text
        assert open_sealed(seal(text.encode(), AAD), AAD).decode() == text


@given(data=st.binary(max_size=300))
def test_any_bytes_round_trip(data: bytes) -> None:
    with installed(make_ring()):
        assert open_sealed(seal(data, AAD), AAD) == data
