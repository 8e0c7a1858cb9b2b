"""Field comparisons: each turns a pair of values into an agreement level (DESIGN §5).

The levels are the Fellegi–Sunter comparison vector: `shouhu.matching.model` gives each level a
weight. A field missing on either side has no level and adds no evidence either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from rapidfuzz.distance import OSA

from shouhu.identity.names import (
    NameComparison,
    NameMatchReason,
    NormalisedName,
    name_similarity,
    normalise_name,
)
from shouhu.matching.profile import MatchProfile, ProfileDocument, ProfileName

# A fuzzy name this alike, letter by letter, is one typing error away (NameComparison.score is
# the similarity scaled by names.FUZZY_CEILING = 0.8, so 0.7 is a similarity of 0.875).
CLOSE_NAME_SCORE: Final = 0.7
# Numbers this long or longer may be one typing error apart and still be the same document.
TYPO_MIN_LENGTH: Final = 6
# Words this long or longer may be one typing error apart and still be the same word; shorter
# ones must be equal ("li" and "lu" are different names).
WORD_TYPO_MIN_LENGTH: Final = 4
# A given name in characters tells who someone is only with two characters or more; a word in
# letters only with three letters or more.
MIN_TELLING_GIVEN_CHARACTERS: Final = 2
MIN_TELLING_WORD_LENGTH: Final = 3


class Field(StrEnum):
    """The compared fields."""

    DOCUMENT = "document"
    NAME = "name"
    DATE_OF_BIRTH = "date_of_birth"
    SEX = "sex"
    NATIONALITY = "nationality"


class Level(StrEnum):
    """Agreement levels, strongest first within each field."""

    EXACT = "exact"  # the same value (name: the same characters or the same letters)
    PHONETIC = "phonetic"  # name: the same sound (pinyin, homophone, transliteration)
    CLOSE = "close"  # one typing error apart (name: in each word; number; date)
    PARTIAL = "partial"  # name: a given name or a Latin surname agrees, the rest does not
    FUZZY = "fuzzy"  # name: alike, but more than a typing error apart
    DIFFERENT = "different"


_PHONETIC_REASONS: Final = frozenset(
    {
        NameMatchReason.PINYIN_EQUAL,
        NameMatchReason.PINYIN_ORDER_SWAPPED,
        NameMatchReason.TRANSLITERATION_EQUAL,
    }
)
_EXACT_REASONS: Final = frozenset(
    {
        NameMatchReason.EXACT_HAN,
        NameMatchReason.TRADITIONAL_SIMPLIFIED,
        NameMatchReason.LATIN_TOKENS_EQUAL,
    }
)


@dataclass(frozen=True, slots=True)
class Comparison:
    """One field's level, and what the reviewer should be told about it."""

    field: Field
    level: Level
    detail: str = ""  # e.g. the name reason, "former name", "day and month swapped"


def name_level(comparison: NameComparison) -> Level:
    """The level of a name comparison."""
    if comparison.reason in _EXACT_REASONS:
        return Level.EXACT
    if comparison.reason in _PHONETIC_REASONS:
        return Level.PHONETIC
    if comparison.reason is NameMatchReason.FUZZY:
        return Level.CLOSE if comparison.score >= CLOSE_NAME_SCORE else Level.FUZZY
    return Level.DIFFERENT


_LEVEL_RANK: Final = {level: rank for rank, level in enumerate(Level)}


def _words_alike(first: str, second: str) -> bool:
    """The same word, or one typing error apart where both are long enough."""
    if first == second:
        return True
    if min(len(first), len(second)) < WORD_TYPO_MIN_LENGTH:
        return False
    return OSA.distance(first, second, score_cutoff=1) <= 1


def _informative_words(name: NormalisedName) -> tuple[str, ...]:
    """The words whose agreement alone says something about who this is.

    Not a Han surname (王 is 7 % of China) nor a one-character given name (李莉 and 王莉 share
    only 莉); in letters, not a word of one or two letters ("Li Na").
    """
    if name.script == "han" and name.han_surname:
        return name.tokens[1:] if len(name.han_given) >= MIN_TELLING_GIVEN_CHARACTERS else ()
    return tuple(word for word in name.tokens if len(word) >= MIN_TELLING_WORD_LENGTH)


def word_level(first: NormalisedName, second: NormalisedName) -> Level | None:
    """Word by word: every word one typing error apart (CLOSE), or one telling word (PARTIAL)."""
    mine, theirs = first.tokens, second.tokens
    if mine and len(mine) == len(theirs):
        unmatched = list(theirs)
        for word in mine:
            partner = next((other for other in unmatched if _words_alike(word, other)), None)
            if partner is None:
                break
            unmatched.remove(partner)
        else:
            return Level.CLOSE
    telling = _informative_words(second)
    if any(_words_alike(word, other) for word in _informative_words(first) for other in telling):
        return Level.PARTIAL
    return None


def _name_pair(mine: str, theirs: str) -> tuple[Level, str]:
    found = name_similarity(mine, theirs)
    level = name_level(found)
    if level in {Level.FUZZY, Level.DIFFERENT}:
        # A typing error in each word, or a given name (or a surname) replaced: FEBRL's and
        # real data's commonest corruptions, which whole-name similarity undersells.
        words = word_level(normalise_name(mine), normalise_name(theirs))
        if words is not None:
            return words, f"words {words.value}"
    return level, found.reason.value


def compare_names(query: tuple[ProfileName, ...], stored: tuple[ProfileName, ...]) -> Comparison:
    """The best agreement between any name of the query and any name of the person."""
    best: tuple[Level, str, str] | None = None
    for mine in query:
        for theirs in stored:
            level, why = _name_pair(mine.text, theirs.text)
            if best is None or _LEVEL_RANK[level] < _LEVEL_RANK[best[0]]:
                best = (level, why, theirs.kind)
    if best is None:
        raise ValueError("a profile has at least one name")
    level, why, kind = best
    return Comparison(Field.NAME, level, f"{why}, {kind} name")


def _same_document(first: ProfileDocument, second: ProfileDocument) -> bool:
    # A number means the same document under any type only where the types agree; a permit
    # and a passport may share a string of digits by chance.
    return first.id_type == second.id_type and first.number == second.number


def compare_documents(
    query: tuple[ProfileDocument, ...], stored: tuple[ProfileDocument, ...]
) -> Comparison | None:
    """Exact, one typing error apart, or different; None when no document types are alike."""
    comparable = [(q, s) for q in query for s in stored if q.id_type == s.id_type]
    if not comparable:
        return None
    if any(_same_document(q, s) for q, s in comparable):
        return Comparison(Field.DOCUMENT, Level.EXACT)
    for q, s in comparable:
        # OSA: substitutions, insertions, deletions and adjacent transpositions, each one edit.
        if min(len(q.number), len(s.number)) >= TYPO_MIN_LENGTH and (
            OSA.distance(q.number, s.number, score_cutoff=1) <= 1
        ):
            return Comparison(Field.DOCUMENT, Level.CLOSE, "one character apart")
    return Comparison(Field.DOCUMENT, Level.DIFFERENT)


def _one_typo_apart(first: date, second: date) -> str | None:
    """Why two dates may be one typing error apart, or None."""
    if (first.month, first.day) == (second.day, second.month):
        if first.year == second.year:
            return "day and month swapped"
        return None
    fields_apart = sum(
        (first.year != second.year, first.month != second.month, first.day != second.day)
    )
    if fields_apart != 1:
        return None
    a, b = first.strftime("%Y%m%d"), second.strftime("%Y%m%d")
    if OSA.distance(a, b, score_cutoff=1) <= 1:
        return "one typing error apart"
    return None


def compare_dates(first: date | None, second: date | None) -> Comparison | None:
    """Exact, one typing error apart, or different; None when either is missing."""
    if first is None or second is None:
        return None
    if first == second:
        return Comparison(Field.DATE_OF_BIRTH, Level.EXACT)
    why = _one_typo_apart(first, second)
    if why is not None:
        return Comparison(Field.DATE_OF_BIRTH, Level.CLOSE, why)
    return Comparison(Field.DATE_OF_BIRTH, Level.DIFFERENT)


def compare_values(field: Field, first: str | None, second: str | None) -> Comparison | None:
    """Equal or different; None when either is missing."""
    if not first or not second:
        return None
    return Comparison(field, Level.EXACT if first == second else Level.DIFFERENT)


def compare_profiles(query: MatchProfile, stored: MatchProfile) -> list[Comparison]:
    """Every field's comparison that both sides allow."""
    found = [
        compare_documents(query.documents, stored.documents),
        compare_names(query.names, stored.names),
        compare_dates(query.date_of_birth, stored.date_of_birth),
        compare_values(Field.SEX, query.sex, stored.sex),
        compare_values(Field.NATIONALITY, query.nationality, stored.nationality),
    ]
    return [comparison for comparison in found if comparison is not None]
