"""Blocking keys: how a query finds its candidates without scanning the registry (DESIGN §5).

A blocking key is a short HMAC (a blind index, DESIGN §4) of something two writings of one person
are likely to share. Every registry person stores its keys (`stored_keys`); a query computes the
keys to look up (`query_keys`), and the persons sharing any of them are its candidates. The rules,
each one a way a true match can still be found when other fields are wrong:

- the document number (`doc`); for a number without a check character (passports, permits)
  also every form of it with one character deleted (`doc_var`), which meets any single typing
  error: substitution, insertion, deletion, transposition;
- each name key (`shouhu.identity.names.name_keys`: characters, pinyin, order) with the birth
  year (`name_y`) and with the month and day (`name_md`): a common name alone would bring in
  thousands of candidates, and a typing error in the date leaves one of the two intact;
- the birth date and sex with the first three letters of any word of any reading of a name
  (`dob_pfx`): finds a name with a typing error in every word, or with a part replaced (another
  surname, a missing given name), when the number differs too;
- a name alone: stored for everyone (`name`), looked up only by a query without a birth date;
  persons with no birth date also store it as `name_nd`, which every query looks up.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from shouhu.core.crypto.keyring import current_keyring
from shouhu.identity.names import name_keys, normalise_name
from shouhu.matching.profile import MatchProfile, ProfileDocument

KEY_BYTES: Final = 16
# The version of the rules below; persons whose keys an older version built are rebuilt by
# `shouhu registry rebuild-keys`.
KEYS_VERSION: Final = 3
KEY_DOMAIN_PREFIX: Final = "registry:block:"
# One-deletion variants are kept for numbers this long: below, they would match too many
# unrelated numbers; above, the number is free text (`other`) that is copied, not typed.
VARIANT_MIN_LENGTH: Final = 6
VARIANT_MAX_LENGTH: Final = 20
# The 18-character GB 11643 form (PRC numbers, residence permits, the 2023 foreign permanent-
# residence ID): a typing error fails the check character, so the query is refused as invalid
# and variants would only fill buckets (a half of a PRC number is shared by a district's decade).
CHECKED_LENGTH: Final = 18
SEXES: Final = ("M", "F")
# A name's word is blocked with the birth date by its first three letters: a typing error later
# in the word keeps the key, and a birth date's namesakes-by-prefix are few (at 10⁶ persons a
# birth date and sex hold some 24 persons; those sharing "wan" of wang, two).
PREFIX_LENGTH: Final = 3
MIN_PREFIXED_WORD: Final = 2


class KeyKind(StrEnum):
    """What a blocking key was computed from (stored in `registry_blocking_keys.kind`)."""

    DOCUMENT = "doc"
    DOCUMENT_VARIANT = "doc_var"
    NAME = "name"
    NAME_UNDATED = "name_nd"
    NAME_YEAR = "name_y"
    NAME_DAY = "name_md"
    BIRTH_WORD = "dob_pfx"


DOCUMENT_KINDS: Final = frozenset({KeyKind.DOCUMENT, KeyKind.DOCUMENT_VARIANT})
NAME_KINDS: Final = frozenset(
    {KeyKind.NAME, KeyKind.NAME_UNDATED, KeyKind.NAME_YEAR, KeyKind.NAME_DAY}
)


@dataclass(frozen=True, slots=True)
class BlockingKey:
    """One key: its kind and the truncated HMAC stored in `registry_blocking_keys.key`."""

    kind: KeyKind
    key: bytes


_KIND_PREFIXES: Final = {kind: f"{KEY_DOMAIN_PREFIX}{kind.value}\x1f".encode() for kind in KeyKind}


def key_digest(kind: KeyKind, value: str) -> bytes:
    """The stored key for `value`: the first 16 bytes of its blind index in the kind's domain."""
    # 128 bits: no collision among 10⁸ keys in practice, and a collision would only add a
    # candidate that scoring then rejects. The same HMAC as `blind_digest(value, domain=…)`,
    # with the domain's bytes made once: a query computes some twenty of these.
    key = current_keyring().blind_index_key
    return hmac.digest(key, _KIND_PREFIXES[kind] + value.encode(), "sha256")[:KEY_BYTES]


def _key(kind: KeyKind, value: str) -> BlockingKey:
    return BlockingKey(kind, key_digest(kind, value))


def deletion_variants(number: str) -> set[str]:
    """The number itself and every form of it with one character deleted."""
    return {number} | {number[:i] + number[i + 1 :] for i in range(len(number))}


def has_check_character(document: ProfileDocument) -> bool:
    """Whether a typing error in the number would fail its check character (GB 11643)."""
    return document.id_type == "prc_id" or (
        document.id_type == "foreign_pr_id" and len(document.number) == CHECKED_LENGTH
    )


def document_keys(documents: Iterable[ProfileDocument]) -> set[BlockingKey]:
    """Keys of lifelong document numbers: whole, and one-deletion variants where unchecked."""
    keys: set[BlockingKey] = set()
    for document in documents:
        number = document.number
        keys.add(_key(KeyKind.DOCUMENT, number))
        if not has_check_character(document) and (
            VARIANT_MIN_LENGTH <= len(number) <= VARIANT_MAX_LENGTH
        ):
            keys.update(_key(KeyKind.DOCUMENT_VARIANT, v) for v in deletion_variants(number))
    return keys


def _name_texts(profile: MatchProfile) -> set[str]:
    return {text for name in profile.names for text in name_keys(name.text)}


def _dated_name_keys(texts: Iterable[str], born: date) -> set[BlockingKey]:
    year, day = str(born.year), born.strftime("%m-%d")
    keys: set[BlockingKey] = set()
    for text in texts:
        keys.add(_key(KeyKind.NAME_YEAR, f"{text}|{year}"))
        keys.add(_key(KeyKind.NAME_DAY, f"{text}|{day}"))
    return keys


def _word_prefixes(profile: MatchProfile) -> set[str]:
    """The first letters of every word of every reading of every name."""
    prefixes: set[str] = set()
    for name in profile.names:
        for reading in normalise_name(name.text).romanisations:
            prefixes.update(
                part[:PREFIX_LENGTH] for part in reading.parts if len(part) >= MIN_PREFIXED_WORD
            )
    return prefixes


def birth_word_keys(profile: MatchProfile) -> set[BlockingKey]:
    """Birth date, sex and the start of a name's word; both sexes where the sex is unknown."""
    born = profile.date_of_birth
    if born is None:
        return set()
    sexes = [profile.sex] if profile.sex else SEXES
    return {
        _key(KeyKind.BIRTH_WORD, f"{born.isoformat()}|{sex}|{prefix}")
        for sex in sexes
        for prefix in _word_prefixes(profile)
    }


def stored_keys(profile: MatchProfile) -> set[BlockingKey]:
    """Every key a registry person stores."""
    texts = _name_texts(profile)
    keys = document_keys(profile.documents)
    keys.update(_key(KeyKind.NAME, text) for text in texts)
    if profile.date_of_birth is None:
        keys.update(_key(KeyKind.NAME_UNDATED, text) for text in texts)
    else:
        keys.update(_dated_name_keys(texts, profile.date_of_birth))
        keys.update(birth_word_keys(profile))
    return keys


def _digests(kind: KeyKind, values: Iterable[str]) -> set[bytes]:
    """`key_digest` of many values: the keyring and the domain looked up once."""
    key, prefix, digest = current_keyring().blind_index_key, _KIND_PREFIXES[kind], hmac.digest
    return {digest(key, prefix + value.encode(), "sha256")[:KEY_BYTES] for value in values}


@dataclass(frozen=True, slots=True)
class QueryKeys:
    """The keys a query looks up: `bounded` ones in full, `capped` ones up to a limit each."""

    bounded: frozenset[bytes]
    capped: frozenset[bytes]  # a name alone: a common one is shared by thousands


def query_keys(profile: MatchProfile) -> QueryKeys:
    """The keys to look a query's candidates up by (the stored ones' digests, without kinds)."""
    texts = _name_texts(profile)
    bounded = {key.key for key in document_keys(profile.documents)}
    bounded |= _digests(KeyKind.NAME_UNDATED, texts)
    capped: set[bytes] = set()
    born = profile.date_of_birth
    if born is None:
        capped = _digests(KeyKind.NAME, texts)
    else:
        year, day = str(born.year), born.strftime("%m-%d")
        bounded |= _digests(KeyKind.NAME_YEAR, (f"{text}|{year}" for text in texts))
        bounded |= _digests(KeyKind.NAME_DAY, (f"{text}|{day}" for text in texts))
        sexes = [profile.sex] if profile.sex else SEXES
        prefixes = _word_prefixes(profile)
        bounded |= _digests(
            KeyKind.BIRTH_WORD,
            (f"{born.isoformat()}|{sex}|{prefix}" for sex in sexes for prefix in prefixes),
        )
    return QueryKeys(frozenset(bounded), frozenset(capped))
