"""Ed25519 signatures over canonical JSON, verifiable offline with the public key."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shouhu.core.crypto.keyring import current_keyring


def canonical_json(document: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the bytes that are signed."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(document: Any) -> str:
    """A base64url Ed25519 signature over the canonical form of the document."""
    signature = current_keyring().signing_key.sign(canonical_json(document))
    return base64.urlsafe_b64encode(signature).decode().rstrip("=")


def public_key_pem() -> str:
    """The signing public key in PEM (SubjectPublicKeyInfo) form."""
    public = current_keyring().signing_key.public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def verify(document: Any, signature: str, public_pem: str) -> bool:
    """Whether the signature is valid for the document under the given public key."""
    public = serialization.load_pem_public_key(public_pem.encode())
    if not isinstance(public, Ed25519PublicKey):
        return False
    try:
        public.verify(
            base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)),
            canonical_json(document),
        )
    except (InvalidSignature, ValueError):
        return False
    return True
