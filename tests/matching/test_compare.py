"""Field comparisons: the agreement level of each pair of values."""

from __future__ import annotations

from datetime import date

import pytest

from shouhu.matching.compare import (
    Field,
    Level,
    compare_dates,
    compare_documents,
    compare_names,
    compare_values,
)
from shouhu.matching.profile import ProfileDocument, ProfileName


def names(*texts: str) -> tuple[ProfileName, ...]:
    return tuple(ProfileName("primary", text) for text in texts)


@pytest.mark.parametrize(
    ("first", "second", "level"),
    [
        ("王小明", "王小明", Level.EXACT),
        ("單田芳", "单田芳", Level.EXACT),  # traditional = simplified
        ("Hans Müller", "MÜLLER, Hans", Level.EXACT),
        ("王小明", "Wang Xiaoming", Level.PHONETIC),
        ("王小明", "王晓明", Level.PHONETIC),  # homophones
        ("nikita bezuch", "nikiga bzeuch", Level.CLOSE),  # a typing error in each word
        ("amber webb", "webb", Level.PARTIAL),  # the given name missing
        ("delaney kiernan", "delaney majetic", Level.PARTIAL),  # the surname replaced
        ("王小明", "李小明", Level.PARTIAL),  # the same given name under another surname
        ("王小明", "王建国", Level.DIFFERENT),  # a shared Han surname alone says nothing
        ("Li Na", "Lu Na", Level.FUZZY),  # "na" is too short to tell, "li"/"lu" to be a typo
        ("王莉", "李莉", Level.DIFFERENT),  # a one-character given name tells nobody apart
        ("赵云", "Smith John", Level.DIFFERENT),
    ],
)
def test_name_levels(first, second, level):
    assert compare_names(names(first), names(second)).level is level


def test_the_best_of_all_names_counts_and_says_which_name_it_was():
    stored = (ProfileName("primary", "李建国"), ProfileName("former", "王小明"))
    found = compare_names(names("王小明"), stored)
    assert (found.level, found.detail) == (Level.EXACT, "exact_han, former name")


@pytest.mark.parametrize(
    ("first", "second", "level"),
    [
        ("E12345678", "E12345678", Level.EXACT),
        ("E12345678", "E12345687", Level.CLOSE),  # two characters transposed
        ("E12345678", "E1234567", Level.CLOSE),  # one dropped
        ("E12345678", "E99999999", Level.DIFFERENT),
        ("12345", "12346", Level.DIFFERENT),  # too short for a typo to be told from another
    ],
)
def test_document_levels(first, second, level):
    query = (ProfileDocument("passport", first, "DEU"),)
    stored = (ProfileDocument("passport", second, "DEU"),)
    comparison = compare_documents(query, stored)
    assert comparison is not None
    assert comparison.level is level


def test_documents_of_different_types_are_not_compared():
    query = (ProfileDocument("passport", "E12345678", "CHN"),)
    stored = (ProfileDocument("hkmo_permit", "E12345678", "CHN"),)
    assert compare_documents(query, stored) is None


@pytest.mark.parametrize(
    ("first", "second", "level", "detail"),
    [
        (date(1980, 5, 17), date(1980, 5, 17), Level.EXACT, ""),
        (date(1980, 5, 7), date(1980, 7, 5), Level.CLOSE, "day and month swapped"),
        (date(1980, 5, 17), date(1980, 5, 18), Level.CLOSE, "one typing error apart"),
        (date(1980, 5, 17), date(1908, 5, 17), Level.CLOSE, "one typing error apart"),  # 80 / 08
        (date(1980, 5, 17), date(1981, 6, 17), Level.DIFFERENT, ""),
        (date(1980, 5, 17), date(1980, 5, 29), Level.DIFFERENT, ""),  # two digits
    ],
)
def test_date_levels(first, second, level, detail):
    comparison = compare_dates(first, second)
    assert comparison is not None
    assert (comparison.level, comparison.detail) == (level, detail)


def test_a_missing_value_is_no_evidence_either_way():
    assert compare_dates(None, date(1980, 5, 17)) is None
    assert compare_values(Field.SEX, "M", None) is None
    assert compare_values(Field.SEX, "M", "F").level is Level.DIFFERENT
