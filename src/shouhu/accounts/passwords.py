"""Password policy (ASVS 2.1, NIST SP 800-63B §5.1.1) and argon2id hashing (ASVS 2.4)."""

from __future__ import annotations

import unicodedata
from functools import cache
from importlib import resources
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH: Final = 8  # ASVS 2.1.1, NIST 800-63B: at least 8 characters
MAX_LENGTH: Final = 128  # ASVS 2.1.2: at least 64 must be allowed; 128 bounds the hashing work
COMMON_PASSWORDS_FILE: Final = "common-10k.txt"

# argon2-cffi's defaults are RFC 9106's second recommended option (argon2id, t=3, 64 MiB, p=4),
# above OWASP's argon2id minimum (ASVS 2.4.1). Argon2 hashes the whole input: nothing is
# truncated, unlike bcrypt's 72 bytes.
_HASHER: Final = PasswordHasher()

# A hash of a random password nobody kept, with the same parameters as `_HASHER` (a test keeps
# them equal), so that signing in as an unknown user costs what a wrong password costs.
DUMMY_HASH: Final = (
    "$argon2id$v=19$m=65536,t=3,p=4$ZUK8qiC8llt+S+S9a1ap1A$"
    "nFxQIRU/Bp0cahr1ZgY5YCH2Q+pLswYlY48XVWk0UEo"
)


class PasswordPolicyError(ValueError):
    """A new password breaks the policy; `reason` is `too_short`, `too_long` or `too_common`."""

    def __init__(self, reason: str) -> None:
        """Keep the reason code; the message never contains the password."""
        super().__init__(f"password refused: {reason}")
        self.reason = reason


@cache
def common_passwords() -> frozenset[str]:
    """The 10,000 most common passwords, in lower case (read once from the package data)."""
    text = (
        resources.files("shouhu.accounts")
        .joinpath("passwords_data", COMMON_PASSWORDS_FILE)
        .read_text("utf-8")
    )
    return frozenset(line.casefold() for line in text.splitlines() if line)


def _normalised(password: str) -> str:
    # NIST 800-63B §5.1.1.2: normalise Unicode (NFKC) before hashing, so that the full-width
    # and half-width forms an input method may produce are the same password.
    return unicodedata.normalize("NFKC", password)


def check_password_policy(password: str) -> None:
    """Refuse a new password that is too short, too long or among the most common ones."""
    # Length counts code points as typed (ASVS 2.1.1, 2.1.2); any character is allowed and
    # there are no composition rules (ASVS 2.1.9, NIST 800-63B §5.1.1.2).
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError("too_short")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError("too_long")
    # ASVS 2.1.7, NIST 800-63B: refuse passwords found in lists of common or breached ones.
    if _normalised(password).casefold() in common_passwords():
        raise PasswordPolicyError("too_common")


def hash_password(password: str) -> str:
    """An argon2id hash (PHC string with its own salt and parameters) of the whole password."""
    return _HASHER.hash(_normalised(password))


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches `password_hash`; False for a malformed hash too."""
    try:
        return _HASHER.verify(password_hash, _normalised(password))
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's (rehash on sign-in)."""
    try:
        return _HASHER.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


def verify_dummy(password: str) -> None:
    """Spend the time of one real verification, so unknown accounts do not answer faster."""
    # ASVS 2.2.x / OWASP authentication cheat sheet: no account enumeration through timing.
    verify_password(DUMMY_HASH, password)
