"""Blocking keys: every way a true match can still be found shares a key with the query."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shouhu.core.crypto.blind_index import blind_digest
from shouhu.identity.documents import normalise_document
from shouhu.matching.blocking import (
    VARIANT_MAX_LENGTH,
    VARIANT_MIN_LENGTH,
    KeyKind,
    birth_word_keys,
    deletion_variants,
    document_keys,
    key_digest,
    query_keys,
    stored_keys,
)
from shouhu.matching.profile import MatchProfile, ProfileDocument, ProfileName
from tests.factories.registry import prc_number, to_15

pytestmark = pytest.mark.usefixtures("keyring")  # blind indexes need the installed keys

BORN = date(1980, 5, 17)


def person(
    name: str, number: str = "E12345678", born: date | None = BORN, sex: str | None = "M"
) -> MatchProfile:
    return MatchProfile(
        names=(ProfileName("primary", name),),
        documents=(ProfileDocument("passport", number, "CHN"),),
        date_of_birth=born,
        sex=sex,
        nationality="CHN",
    )


def meets(query: MatchProfile, stored: MatchProfile) -> set[KeyKind]:
    """The kinds of the keys by which `query` finds `stored`."""
    keys = query_keys(query)
    held = stored_keys(stored)
    kinds = {key.key: key.kind for key in held}
    return {kinds[key] for key in keys.bounded | keys.capped if key in kinds}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("单田芳", "單田芳"),  # traditional vs simplified
        ("欧阳娜娜", "歐陽娜娜"),
        ("张晓明", "Zhang Xiaoming"),  # characters vs pinyin
        ("张晓明", "XIAOMING ZHANG"),  # given name first, capitals
        ("单田芳", "Shan Tianfang"),  # the surname reading, not dan
        ("曾小军", "Zeng Xiaojun"),
        ("王晓明", "王小明"),  # homophone
        ("Zhāng Xiǎomíng", "zhang xiao-ming"),  # diacritics and hyphens
    ],
)
def test_two_spellings_of_one_name_meet_by_name_and_birth_date(first, second):
    found = meets(person(first, "E11111111"), person(second, "G22222222"))
    assert {KeyKind.NAME_YEAR, KeyKind.NAME_DAY} <= found


def test_different_names_born_the_same_day_do_not_meet():
    assert meets(person("张晓明", "E11111111"), person("李建国", "G22222222")) == set()


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("nikita bezuch", "nikiga bzeuch"),  # a typing error in each word
        ("amber webb", "webb"),  # the given name missing
        ("delaney kiernan", "delaney majetic"),  # another surname
        ("王小明", "李小明"),  # another surname, in characters
    ],
)
def test_a_name_changed_in_part_meets_by_birth_date_sex_and_a_word_start(first, second):
    assert meets(person(first, "E11111111"), person(second, "G22222222")) == {KeyKind.BIRTH_WORD}


def test_a_typing_error_in_the_year_or_in_the_day_leaves_one_dated_name_key():
    stored = person("张晓明", "G22222222")
    assert KeyKind.NAME_DAY in meets(person("张晓明", "E1", date(1981, 5, 17)), stored)
    assert KeyKind.NAME_YEAR in meets(person("张晓明", "E1", date(1980, 5, 18)), stored)


def test_a_query_without_birth_date_looks_names_up_alone_and_capped():
    keys = query_keys(person("张晓明", born=None, sex=None))
    name_only = {k.key for k in stored_keys(person("张晓明")) if k.kind is KeyKind.NAME}
    assert keys.capped == name_only
    assert KeyKind.NAME in meets(person("张晓明", "E1", born=None), person("张晓明", "G2"))


def test_a_registry_person_without_birth_date_is_found_by_a_dated_query():
    found = meets(person("张晓明", "E1"), person("张晓明", "G22222222", born=None, sex=None))
    assert found == {KeyKind.NAME_UNDATED}


def passport(number: str) -> ProfileDocument:
    return ProfileDocument("passport", number, "CHN")


def test_a_15_digit_number_and_its_18_digit_form_share_their_key():
    number = prc_number("110101", date(1965, 3, 9), 27)
    long_form = normalise_document("prc_id", number)
    short_form = normalise_document("prc_id", to_15(number))
    keys = document_keys([ProfileDocument("prc_id", long_form.lifelong_number, "CHN")])
    assert keys == document_keys([ProfileDocument("prc_id", short_form.lifelong_number, "CHN")])
    # A typing error fails the check character (the query is refused), so no variants.
    assert {k.kind for k in keys} == {KeyKind.DOCUMENT}


def test_unchecked_numbers_get_their_one_deletion_variants():
    assert deletion_variants("ABCD") == {"ABCD", "BCD", "ACD", "ABD", "ABC"}
    keys = document_keys([passport("E12345678")])
    assert {k.kind for k in keys} == {KeyKind.DOCUMENT, KeyKind.DOCUMENT_VARIANT}
    assert len(keys) == 1 + 10  # the number, and as variants itself and its nine deletions


@settings(max_examples=200, deadline=None)
@given(
    number=st.text(alphabet="0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", min_size=6, max_size=20),
    position=st.integers(min_value=0),
    replacement=st.sampled_from("0123456789XYZ"),
    operation=st.sampled_from(["substitute", "delete", "insert", "transpose"]),
)
def test_any_single_typing_error_in_a_number_keeps_a_shared_key(
    number, position, replacement, operation
):
    i = position % len(number)
    if operation == "substitute":
        typo = number[:i] + replacement + number[i + 1 :]
    elif operation == "delete":
        typo = number[:i] + number[i + 1 :]
    elif operation == "insert":
        typo = number[:i] + replacement + number[i:]
    else:
        j = min(i + 1, len(number) - 1)
        typo = number[:i] + number[j] + number[i] + number[j + 1 :] if j > i else number
    if not VARIANT_MIN_LENGTH <= len(typo) <= VARIANT_MAX_LENGTH:
        return  # nothing is promised outside these lengths
    assert document_keys([passport(number)]) & document_keys([passport(typo)])


def test_an_unknown_sex_blocks_with_either_sex_and_no_birth_date_blocks_with_nothing():
    both = birth_word_keys(person("Webb", sex=None))
    male = birth_word_keys(person("Webb", sex="M"))
    female = birth_word_keys(person("Webb", sex="F"))
    assert len(both) == 2
    assert male | female == both
    assert not male & female
    assert birth_word_keys(person("Webb", born=None)) == set()


def test_stored_keys_are_16_bytes_and_kinds_never_collide():
    keys = stored_keys(person("王小明", "E12345678"))
    assert {len(k.key) for k in keys} == {16}
    assert len({k.key for k in keys}) == len(keys)
    assert {k.kind for k in keys} == {
        KeyKind.DOCUMENT,
        KeyKind.DOCUMENT_VARIANT,
        KeyKind.NAME,
        KeyKind.NAME_YEAR,
        KeyKind.NAME_DAY,
        KeyKind.BIRTH_WORD,
    }


def test_a_key_is_the_blind_index_of_its_value_in_the_kind_s_domain():
    value = "rom:wangxiaoming|1980"
    assert (
        key_digest(KeyKind.NAME_YEAR, value)
        == blind_digest(value, domain="registry:block:name_y")[:16]
    )
