"""Password policy (ASVS 2.1, NIST 800-63B) and argon2id hashing (ASVS 2.4)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from shouhu.accounts.passwords import (
    DUMMY_HASH,
    MAX_LENGTH,
    MIN_LENGTH,
    PasswordPolicyError,
    check_password_policy,
    common_passwords,
    hash_password,
    needs_rehash,
    verify_dummy,
    verify_password,
)


def _reason(password: str) -> str:
    with pytest.raises(PasswordPolicyError) as caught:
        check_password_policy(password)
    # The message is the reason alone: it never echoes the password.
    assert str(caught.value) == f"password refused: {caught.value.reason}"
    return caught.value.reason


def test_common_list_is_the_top_10k() -> None:
    common = common_passwords()
    assert len(common) == 10_000
    assert {"password", "password1", "iloveyou", "qwerty123", "1qaz2wsx"} <= common


@pytest.mark.parametrize("password", ["", "a", "Tr0ub4d", "七个汉字的密码"])
def test_too_short(password: str) -> None:
    assert _reason(password) == "too_short"


@pytest.mark.parametrize(
    "password",
    ["password1", "Password1", "PASSWORD1", "iloveyou", "IloveYou", "qwerty123", "1Qaz2Wsx"],
)
def test_common_passwords_refused_case_insensitively(password: str) -> None:
    assert _reason(password) == "too_common"


def test_full_width_form_of_a_common_password_is_refused() -> None:
    assert _reason("ｐａｓｓｗｏｒｄ１") == "too_common"


def test_length_limits_count_code_points() -> None:
    check_password_policy("x7" * (MAX_LENGTH // 2))  # 128 accepted
    assert _reason("x7" * (MAX_LENGTH // 2) + "y") == "too_long"  # 129 refused
    # Eight Chinese characters are 8 code points (24 bytes in UTF-8): accepted.
    check_password_policy("守护儿童平安成长")
    assert len("守护儿童平安成长") == MIN_LENGTH


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",  # a passphrase with spaces
        "alllowercaseletters",  # no composition rules
        "12345678901234567890123",  # digits only, but not a common one
        "我的密码是一句很长的话而不是一个单词",
    ],
)
def test_accepted(password: str) -> None:
    check_password_policy(password)


def test_hash_and_verify_round_trip() -> None:
    password = "correct horse battery staple"
    hashed = hash_password(password)
    assert hashed.startswith("$argon2id$")
    assert password not in hashed
    assert verify_password(hashed, password)
    assert not verify_password(hashed, password + " ")
    assert not verify_password(hashed, "Correct horse battery staple")
    assert not needs_rehash(hashed)


def test_each_hash_has_its_own_salt() -> None:
    assert hash_password("same password here") != hash_password("same password here")


def test_no_truncation_at_72_bytes() -> None:
    # bcrypt would see these two as one password: they share their first 72 bytes.
    prefix = "長" * 24  # 72 bytes in UTF-8
    first, second = prefix + "A", prefix + "B"
    assert first.encode()[:72] == second.encode()[:72]
    hashed = hash_password(first)
    assert verify_password(hashed, first)
    assert not verify_password(hashed, second)


def test_full_width_and_half_width_are_one_password() -> None:
    # NFKC before hashing: an input method's full-width letters match the half-width ones.
    assert verify_password(hash_password("Ｓｈｏｕｈｕ-2026!"), "Shouhu-2026!")


def test_malformed_hash_is_not_a_match() -> None:
    assert not verify_password("not a hash", "whatever")
    assert not verify_password("", "whatever")
    assert needs_rehash("not a hash")


def test_weaker_hash_needs_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("legacy password")
    assert verify_password(weak, "legacy password")
    assert needs_rehash(weak)


def test_dummy_hash_uses_current_parameters() -> None:
    # If the hasher's parameters change, regenerate DUMMY_HASH so that unknown users still
    # cost exactly one real verification.
    assert DUMMY_HASH.startswith("$argon2id$")
    assert not needs_rehash(DUMMY_HASH)
    assert verify_dummy("anything at all") is None
    assert not verify_password(DUMMY_HASH, "anything at all")
