"""Blocking keys: two writings of one person share a key; different people mostly do not."""

from datetime import date

import pytest

from shouhu.identity.documents import normalise_document
from shouhu.registry.blocking import (
    KeyKind,
    birth_sex_keys,
    document_keys,
    fold_decision_number,
    name_block_keys,
    person_keys,
    record_fingerprint,
)
from tests.factories.registry import prc_number, to_15

pytestmark = pytest.mark.usefixtures("keyring")  # blind indexes need the installed keys


def shared(first, second):
    return first & second


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
def test_two_spellings_of_one_name_share_a_key(first, second):
    assert shared(name_block_keys([first]), name_block_keys([second]))


def test_different_names_share_no_name_key():
    assert not shared(name_block_keys(["张晓明"]), name_block_keys(["李建国"]))


def test_a_15_digit_number_and_its_18_digit_form_share_every_document_key():
    number = prc_number("110101", date(1965, 3, 9), 27)
    long_form = normalise_document("prc_id", number)
    short_form = normalise_document("prc_id", to_15(number))
    assert short_form.number == number
    keys = document_keys([long_form.lifelong_number])
    assert keys == document_keys([short_form.lifelong_number])
    assert {k.kind for k in keys} == {
        KeyKind.DOCUMENT,
        KeyKind.DOCUMENT_HEAD,
        KeyKind.DOCUMENT_TAIL,
    }


def test_one_mistyped_digit_still_shares_half_of_the_number():
    number = prc_number("110101", date(1965, 3, 9), 27)
    typo_in_head = "3" + number[1:]
    typo_in_tail = number[:12] + ("0" if number[12] != "0" else "1") + number[13:]
    for typo in (typo_in_head, typo_in_tail):
        common = shared(document_keys([number]), document_keys([typo]))
        assert len(common) == 1
        assert next(iter(common)).kind in {KeyKind.DOCUMENT_HEAD, KeyKind.DOCUMENT_TAIL}


def test_short_numbers_have_no_half_keys():
    keys = document_keys(["E12345678"])
    assert {k.kind for k in keys} == {KeyKind.DOCUMENT}


def test_an_unknown_sex_blocks_with_either_sex_and_no_birth_date_blocks_with_nothing():
    born = date(1980, 5, 17)
    both = birth_sex_keys(born, None)
    assert len(both) == 2
    assert birth_sex_keys(born, "M") < both
    assert birth_sex_keys(born, "F") < both
    assert not shared(birth_sex_keys(born, "M"), birth_sex_keys(born, "F"))
    assert birth_sex_keys(None, "M") == set()


def test_keys_are_16_bytes_and_kinds_never_collide():
    keys = person_keys(
        names=["王小明"],
        document_numbers=[prc_number("110101", date(1980, 5, 17), 123)],
        date_of_birth=date(1980, 5, 17),
        sex="M",
    )
    assert {len(k.key) for k in keys} == {16}
    assert len({k.key for k in keys}) == len(keys)
    assert {k.kind for k in keys} == set(KeyKind)


def test_a_decision_number_is_folded_before_its_fingerprint_is_taken():
    assert fold_decision_number("（2019）京0101刑初 123号") == "(2019)京0101刑初123号"
    assert fold_decision_number("〔2019〕京0101刑初123号") == "(2019)京0101刑初123号"
    assert record_fingerprint(
        "conviction", "rape", "〔2019〕京0101刑初123号"
    ) == record_fingerprint("conviction", "rape", "(2019)京0101刑初123号")
    assert record_fingerprint("conviction", "rape", "(2019)1号") != record_fingerprint(
        "conviction", "child_molestation", "(2019)1号"
    )
