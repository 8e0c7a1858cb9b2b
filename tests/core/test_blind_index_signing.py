"""Blind indexes (HMAC-SHA256) and Ed25519 signatures over canonical JSON (DESIGN §4)."""

from __future__ import annotations

import base64
import secrets
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shouhu.core.crypto import keyring as keyring_module
from shouhu.core.crypto.blind_index import blind_index
from shouhu.core.crypto.keyring import Keyring, install_keyring
from shouhu.core.crypto.signing import canonical_json, public_key_pem, sign, verify

if TYPE_CHECKING:
    from collections.abc import Iterator

DOCUMENT = {
    "certificate": "c-2026-000123",
    "outcome": "no_record",
    "institution": "北京市第一实验小学",
    "as_of": "2026-11-28T08:00:00Z",
}


def make_ring() -> Keyring:
    """A keyring with fresh random keys."""
    return Keyring(
        field_keys={"field-test": secrets.token_bytes(32)},
        active_field_key_id="field-test",
        blind_index_key=secrets.token_bytes(32),
        signing_key_id="signing-test",
        signing_key=Ed25519PrivateKey.generate(),
    )


@contextmanager
def installed(ring: Keyring) -> Iterator[Keyring]:
    """Install a keyring for the block and put the previous one back afterwards."""
    previous = keyring_module._Holder.keyring
    install_keyring(ring)
    try:
        yield ring
    finally:
        install_keyring(previous)


@pytest.fixture
def ring() -> Iterator[Keyring]:
    ring = make_ring()
    with installed(ring):
        yield ring


@pytest.mark.usefixtures("ring")
def test_blind_index_is_deterministic_under_one_key() -> None:
    first = blind_index("110101199003077777", domain="person.prc_id")
    assert first == blind_index("110101199003077777", domain="person.prc_id")
    assert len(first) == 64
    int(first, 16)
    assert "110101199003077777" not in first


@pytest.mark.usefixtures("ring")
def test_blind_index_differs_per_value_and_per_domain() -> None:
    value = "wang xiaoming"
    assert blind_index(value, domain="person.name") != blind_index(value, domain="person.alias")
    assert blind_index(value, domain="person.name") != blind_index(
        "wang xiaominG", domain="person.name"
    )


@pytest.mark.usefixtures("ring")
def test_domain_and_value_cannot_be_shifted_into_each_other() -> None:
    # The separator keeps ("a", "bc") and ("ab", "c") apart.
    assert blind_index("bc", domain="a") != blind_index("c", domain="ab")


def test_blind_index_differs_per_key() -> None:
    with installed(make_ring()):
        under_first = blind_index("王小明", domain="person.name")
    with installed(make_ring()):
        under_second = blind_index("王小明", domain="person.name")
    assert under_first != under_second


@pytest.mark.usefixtures("ring")
def test_a_signature_verifies_with_the_public_key() -> None:
    signature = sign(DOCUMENT)
    assert verify(DOCUMENT, signature, public_key_pem())


@pytest.mark.usefixtures("ring")
def test_key_order_does_not_matter_to_the_canonical_form() -> None:
    reordered = dict(reversed(list(DOCUMENT.items())))
    assert canonical_json(reordered) == canonical_json(DOCUMENT)
    assert verify(reordered, sign(DOCUMENT), public_key_pem())
    assert "北京市第一实验小学".encode() in canonical_json(DOCUMENT)


@pytest.mark.usefixtures("ring")
@pytest.mark.parametrize(
    "change",
    [
        {"outcome": "record_found"},
        {"institution": "北京市第二实验小学"},
        {"as_of": "2026-11-28T08:00:01Z"},
        {"extra": None},
    ],
)
def test_a_tampered_document_fails(change: dict[str, object]) -> None:
    signature = sign(DOCUMENT)
    assert not verify({**DOCUMENT, **change}, signature, public_key_pem())


@pytest.mark.usefixtures("ring")
def test_a_document_with_a_field_removed_fails() -> None:
    signature = sign(DOCUMENT)
    shorter = {k: v for k, v in DOCUMENT.items() if k != "as_of"}
    assert not verify(shorter, signature, public_key_pem())


@pytest.mark.usefixtures("ring")
def test_every_flipped_bit_of_the_signature_fails() -> None:
    signature = sign(DOCUMENT)
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    assert len(raw) == 64
    for position in range(len(raw)):
        for bit in range(8):
            altered = bytearray(raw)
            altered[position] ^= 1 << bit
            encoded = base64.urlsafe_b64encode(bytes(altered)).decode().rstrip("=")
            assert not verify(DOCUMENT, encoded, public_key_pem())


@pytest.mark.usefixtures("ring")
@pytest.mark.parametrize("signature", ["", "not-base64!!", "AAAA"])
def test_malformed_signatures_fail(signature: str) -> None:
    assert not verify(DOCUMENT, signature, public_key_pem())


@pytest.mark.usefixtures("ring")
def test_another_key_does_not_verify() -> None:
    signature = sign(DOCUMENT)
    with installed(make_ring()):
        other_public = public_key_pem()
    assert not verify(DOCUMENT, signature, other_public)


@pytest.mark.usefixtures("ring")
def test_a_non_ed25519_public_key_is_refused() -> None:
    ec_public = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    assert not verify(DOCUMENT, sign(DOCUMENT), ec_public)


def test_the_public_key_is_the_signing_keys(ring: Keyring) -> None:
    expected = ring.signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert public_key_pem().encode() == expected
    assert public_key_pem().startswith("-----BEGIN PUBLIC KEY-----")
