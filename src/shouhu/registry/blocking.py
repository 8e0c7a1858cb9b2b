"""Blind indexes and blocking keys of registry persons (DESIGN §4, §5).

A blocking key is a short HMAC of something two records of one person are likely to share, even
when written differently: an identity number (or either half of it, so that one mistyped digit
still meets), each key of each name (`shouhu.identity.names.name_keys`: characters, pinyin,
order), and the birth date with the sex. The matching engine computes the same keys for a query
with these functions and looks candidates up by them, never by scanning the registry.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from shouhu.core.crypto.blind_index import blind_index
from shouhu.identity.documents import normalise_document
from shouhu.identity.errors import IdentityError
from shouhu.identity.names import NormalisedName, name_keys
from shouhu.registry.models import BLOCKING_KEY_BYTES, RegistryDocument, RegistryPerson, Sex

# Blind-index domains (the HMAC message starts with the domain, so indexes never collide).
DOCUMENT_NUMBER_DOMAIN: Final = "registry:document_number"
RECORD_DOMAIN: Final = "registry:record"
IMPORT_DIGEST_DOMAIN: Final = "registry:import_digest"
KEY_DOMAIN_PREFIX: Final = "registry:block:"
# Numbers at least this long (PRC and residence-permit numbers, the foreign permanent-residence
# ID) also get a key for each half: a single mistyped character leaves one half intact.
HALF_KEY_MIN_LENGTH: Final = 15
# Brackets written around the year of a decision number: 〔2021〕, [2021], 【2021】, (2021).
_BRACKETS: Final = str.maketrans({"〔": "(", "〕": ")", "[": "(", "]": ")", "【": "(", "】": ")"})


class KeyKind(StrEnum):
    """What a blocking key was computed from."""

    DOCUMENT = "doc"  # the whole number (the lifelong part of a permit)
    DOCUMENT_HEAD = "doc_head"  # its first half
    DOCUMENT_TAIL = "doc_tail"  # its second half
    NAME = "name"  # one of `name_keys` of one of the person's names
    BIRTH_SEX = "dob_sex"  # birth date and sex


@dataclass(frozen=True, slots=True)
class BlockingKey:
    """One key: its kind and the truncated HMAC stored in `registry_blocking_keys.key`."""

    kind: KeyKind
    key: bytes


def key_digest(kind: KeyKind, value: str) -> bytes:
    """The stored key for `value`: the first 16 bytes of its blind index in the kind's domain."""
    # 128 bits: no collision among 10⁸ keys in practice, and a collision would only add a
    # candidate that scoring then rejects.
    return bytes.fromhex(blind_index(value, domain=KEY_DOMAIN_PREFIX + kind.value))[
        :BLOCKING_KEY_BYTES
    ]


def document_number_index(number: str) -> str:
    """The blind index of a canonical document number (`RegistryDocument.number_index`)."""
    return blind_index(number, domain=DOCUMENT_NUMBER_DOMAIN)


def fold_decision_number(number: str) -> str:
    """A decision number as compared: NFKC, no spaces, one kind of bracket, capitals."""
    folded = unicodedata.normalize("NFKC", number).translate(_BRACKETS)
    return "".join(folded.split()).upper()


def record_fingerprint(kind: str, offence: str, decision_number: str) -> str:
    """The fingerprint of a record of a person: kind, offence and folded decision number."""
    return blind_index(
        f"{kind}\x1f{offence}\x1f{fold_decision_number(decision_number)}", domain=RECORD_DOMAIN
    )


def document_keys(numbers: Iterable[str]) -> set[BlockingKey]:
    """Keys of canonical document numbers (the lifelong part of a renewable permit)."""
    keys: set[BlockingKey] = set()
    for number in numbers:
        keys.add(BlockingKey(KeyKind.DOCUMENT, key_digest(KeyKind.DOCUMENT, number)))
        if len(number) >= HALF_KEY_MIN_LENGTH:
            middle = len(number) // 2
            keys.add(
                BlockingKey(
                    KeyKind.DOCUMENT_HEAD, key_digest(KeyKind.DOCUMENT_HEAD, number[:middle])
                )
            )
            keys.add(
                BlockingKey(
                    KeyKind.DOCUMENT_TAIL, key_digest(KeyKind.DOCUMENT_TAIL, number[middle:])
                )
            )
    return keys


def name_block_keys(names: Iterable[str | NormalisedName]) -> set[BlockingKey]:
    """Keys of every name (`name_keys`): two spellings of one name share at least one."""
    return {
        BlockingKey(KeyKind.NAME, key_digest(KeyKind.NAME, text))
        for name in names
        for text in name_keys(name)
    }


def birth_sex_keys(date_of_birth: date | None, sex: str | None) -> set[BlockingKey]:
    """The birth-date-and-sex key; both sexes where the sex is not known, none without a date."""
    if date_of_birth is None:
        return set()
    sexes = [sex] if sex else [member.value for member in Sex]
    return {
        BlockingKey(
            KeyKind.BIRTH_SEX, key_digest(KeyKind.BIRTH_SEX, f"{date_of_birth.isoformat()}|{s}")
        )
        for s in sexes
    }


def person_keys(
    *,
    names: Iterable[str | NormalisedName],
    document_numbers: Iterable[str],
    date_of_birth: date | None,
    sex: str | None,
) -> set[BlockingKey]:
    """Every blocking key of a person (or of a query, computed the same way)."""
    return (
        document_keys(document_numbers)
        | name_block_keys(names)
        | birth_sex_keys(date_of_birth, sex)
    )


def lifelong_number(document: RegistryDocument) -> str:
    """The part of a stored document's number that stays with the holder (decrypts it)."""
    number = document.number or ""
    try:
        return normalise_document(
            document.id_type, number, nationality=document.nationality
        ).lifelong_number
    except IdentityError:
        return number  # stored under an older rule: the number itself still blocks


def keys_of_person(person: RegistryPerson) -> set[BlockingKey]:
    """The keys a stored person should have, from their names, documents, birth date and sex.

    Decrypts every name and number: for rebuilding a person's keys (after an update, or when
    the key derivation changes), not for look-ups.
    """
    return person_keys(
        names=[name.name for name in person.names if name.name],
        document_numbers=[lifelong_number(document) for document in person.documents],
        date_of_birth=person.date_of_birth,
        sex=person.sex,
    )
