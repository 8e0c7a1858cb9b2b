"""Han names: simplified characters, the surname split, and their romanised readings.

A name written in characters is matched against one written in Latin letters (a passport, a
foreign document) through its readings. The rules, and where they come from:

- Characters are simplified one by one with OpenCC's `hk2s` (its `t2s` character table, preceded
  by the Hong Kong variant folding that also maps 衞 → 卫, 敍 → 叙), with the dictionaries that
  may produce characters missing from common fonts left out. 於 becomes 于: the surname 於 (Yū)
  merges with 于 (Yú), which reads the same without tones. 乾 is kept: the 通用规范汉字表 (2013)
  keeps it as a standard character for qián, the reading it has in names, while OpenCC
  simplifies it to 干 (gān, "dry").
- The surname is the longest compound surname (`surnames.COMPOUND_SURNAMES`) that leaves a given
  name, else the first character. Read as a surname (`surnames.SURNAME_READINGS`): 单 Shan,
  曾 Zeng, 区 Ou …; pypinyin has no surname mode (its issue #297) and reads a character alone
  the everyday way (单 dan), so its reading is kept only as a last variant, since documents typed
  through such a converter carry it.
- The given name is read by pypinyin with its phrase table; characters with several readings in
  names (`surnames.GIVEN_NAME_READINGS`: 乐 le/yue, 行 xing/hang …) contribute each reading.
- Written per GB/T 28039-2011 (中国人名汉语拼音字母拼写规则): surname and given name each as one
  word, without tones. ü is written "u": the standard lets capitals write it YU (passports: LYU),
  older documents write LU and informal text LV; all fold to "lu" (`fold_latin_token`).
- Wade-Giles (Taiwan, older Hong Kong and overseas documents) of the most likely reading, with
  pypinyin's conversion table, apostrophes and hyphens dropped (Ch'ang Hsiao-ming → chang
  hsiaoming).
- Palladius (the Russian transcription of Chinese, Чжан Сяомин) is read back into pinyin by
  inverting pypinyin's pinyin → Cyrillic table.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, lru_cache
from typing import Final, TypeAlias

import opencc
from anyascii import anyascii
from pypinyin import Style, lazy_pinyin
from pypinyin.contrib.tone_convert import to_normal
from pypinyin.pinyin_dict import pinyin_dict
from pypinyin.style import convert as convert_style

from shouhu.identity.surnames import (
    COMPOUND_SURNAMES,
    GIVEN_NAME_READINGS,
    LONGEST_SURNAME,
    SURNAME_READINGS,
)

Syllables: TypeAlias = tuple[str, ...]  # one option: the syllables of a character or compound
Unit: TypeAlias = tuple[Syllables, ...]  # the options for one character or compound surname
Segment: TypeAlias = Sequence[Unit]  # a surname, a given name, or one part of a dotted name

# At most this many readings of one name. Each reading becomes a blocking key, and a name of n
# characters with two readings each has 2^n combinations: 16 covers every combination of four
# ambiguous characters (a compound surname and three given-name characters at most, in practice),
# and beyond that only the most likely are kept, so one name cannot flood the candidate index.
MAX_READINGS: Final = 16
# Characters OpenCC would simplify but that names use as simplified characters (see above).
_KEEP_AS_WRITTEN: Final = frozenset("乾")
# OpenCC output is not always a fixed point (薴 → 苧 → 苎); a few rounds reach it.
_SIMPLIFY_ROUNDS: Final = 4
_NOT_LOWER_ASCII: Final = re.compile(r"[^a-z]")
# 〇 (ideographic zero) is written in names for 零; pypinyin has no reading for it.
_EXTRA_READINGS: Final = {"〇": "ling"}


class Scheme(StrEnum):
    """How a romanised reading was obtained."""

    PINYIN = "pinyin"  # pinyin of a name written in characters
    WADE_GILES = "wade_giles"  # Wade-Giles of a name written in characters
    PALLADIUS = "palladius"  # pinyin read back from a Russian (Palladius) transcription
    LATIN = "latin"  # the name as written in Latin letters
    TRANSLITERATED = "transliterated"  # another script transliterated with anyascii


@dataclass(frozen=True, slots=True)
class Romanisation:
    """One reading of a name in lower-case ASCII: its parts in order, surname first for Han names.

    `rank` 0 is the most likely reading; a larger rank is a less likely variant.
    """

    parts: tuple[str, ...]
    scheme: Scheme
    rank: int = 0

    @property
    def spaced(self) -> str:
        """The parts separated by spaces, in their order: "zhang xiaoming"."""
        return " ".join(self.parts)

    @property
    def joined(self) -> str:
        """The parts run together: "zhangxiaoming" (so "Xiao Ming" equals "Xiaoming")."""
        return "".join(self.parts)

    @property
    def swapped_spaced(self) -> str:
        """The first part moved to the end: given name first, "xiaoming zhang"."""
        return " ".join(self.parts[1:] + self.parts[:1])

    @property
    def swapped_joined(self) -> str:
        """The first part moved to the end, run together: "xiaomingzhang"."""
        return "".join(self.parts[1:] + self.parts[:1])

    def rotations_joined(self) -> tuple[str, ...]:
        """Every rotation of the parts, run together; the written order first.

        A surname moved from the front to the back (or back to front) is a rotation, and a given
        name of several parts keeps its inner order, which sorting the parts would lose.
        """
        return _rotations_joined(self.parts)


@lru_cache(maxsize=65536)
def _rotations_joined(parts: tuple[str, ...]) -> tuple[str, ...]:
    # Cached: comparing a query with each candidate asks for the same rotations again and again.
    return tuple("".join(parts[i:] + parts[:i]) for i in range(len(parts)))


@cache
def _converter() -> opencc.OpenCC:
    """OpenCC's Hong Kong → simplified converter, without the fonts-missing dictionaries."""
    return opencc.OpenCC("hk2s", include_tofu_risk_dictionaries=False)


def to_simplified(text: str) -> str:
    """`text` in simplified characters, character by character (OpenCC `hk2s`), a fixed point.

    A name is not running text: OpenCC's phrase table would make a character's conversion depend
    on its neighbours (it keeps 於 in 於琳 but not in 於明), so one person's name could come out
    two ways. Each character is converted on its own.
    """
    return "".join(_simplified_character(character) for character in text)


@cache
def _simplified_character(character: str) -> str:
    """One character simplified until OpenCC leaves it unchanged (薴 → 苧 → 苎)."""
    if character in _KEEP_AS_WRITTEN:
        return character
    for _ in range(_SIMPLIFY_ROUNDS):
        converted: str = _converter().convert(character)
        if converted == character:
            break
        character = converted
    return character


def split_han_name(han: str) -> tuple[str, str]:
    """(surname, given name) of a Chinese name: the longest compound surname, else 1 character.

    A compound surname is taken only when a given name is left (欧阳 alone is 欧 + 阳).
    """
    for length in range(min(LONGEST_SURNAME, len(han) - 1), 1, -1):
        if han[:length] in COMPOUND_SURNAMES:
            return han[:length], han[length:]
    return han[:1], han[1:]


def fold_syllable(syllable: str) -> str:
    """A pinyin syllable in the ASCII form names are compared in: ü (written v) as u."""
    return _NOT_LOWER_ASCII.sub("", syllable.lower().replace("v", "u").replace("ü", "u"))


def fold_latin_token(token: str) -> str:
    """A Latin token with the spellings of ü in pinyin folded to u (LYU, LV, LÜ → lu)."""
    for spelling in ("yue", "ve", "yu", "v"):
        for initial in ("l", "n"):
            if token == initial + spelling:
                return initial + ("ue" if spelling.endswith("e") else "u")
    return token


def _fallback_reading(character: str) -> str:
    """A reading for a character pypinyin does not know: anyascii's, else nothing."""
    if character in _EXTRA_READINGS:
        return _EXTRA_READINGS[character]
    return fold_syllable(anyascii(character))


def _phrase_readings(han: str) -> list[str]:
    """Pypinyin's reading of each character of `han`, using its phrase table for context."""
    readings: list[str] = []
    run = ""
    for character in han + "\0":  # a sentinel without reading closes the last run
        if ord(character) in pinyin_dict:
            run += character
            continue
        if run:
            raw = lazy_pinyin(run, style=Style.NORMAL)
            if len(raw) != len(run):  # one syllable per character is pypinyin's rule; check it
                raw = [_isolated_reading(c) for c in run]
            readings.extend(fold_syllable(syllable) for syllable in raw)
            run = ""
        if character != "\0":
            readings.append(_fallback_reading(character))
    return readings


@cache
def _isolated_reading(character: str) -> str:
    """Pypinyin's default reading of one character on its own (its most frequent reading)."""
    if ord(character) not in pinyin_dict:
        return _fallback_reading(character)
    return fold_syllable(lazy_pinyin(character, style=Style.NORMAL)[0])


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    """The non-empty items in order, each once."""
    return tuple(dict.fromkeys(item for item in items if item))


@lru_cache(maxsize=4096)
def surname_readings(surname: str) -> Unit:
    """The readings of a surname as syllable tuples, the right surname reading first.

    pypinyin's own readings (with its phrase table, then character by character) follow as less
    likely variants: they are what a converter without surname rules produces.
    """
    table = tuple(tuple(reading.split()) for reading in SURNAME_READINGS.get(surname, ()))
    phrase = tuple(_phrase_readings(surname))
    naive = tuple(_isolated_reading(character) for character in surname)
    ordered = [tuple(fold_syllable(s) for s in reading) for reading in (*table, phrase, naive)]
    return tuple(dict.fromkeys(reading for reading in ordered if all(reading)))


# Given names repeat far more than whole names (伟, 芳, 志强 …), and pypinyin is most of the
# cost of normalising a name that the whole-name cache has not seen.
@lru_cache(maxsize=65536)
def given_name_readings(given: str) -> tuple[Unit, ...]:
    """For each character of a given name, its readings in names, the most likely first.

    pypinyin's phrase-aware reading leads where the phrase table chose it against the
    character's default (重阳 chong yang); then the readings names give the character.
    """
    phrase = _phrase_readings(given)
    choices: list[Unit] = []
    for character, in_context in zip(given, phrase, strict=True):
        alone = _isolated_reading(character)
        table = tuple(fold_syllable(s) for s in GIVEN_NAME_READINGS.get(character, ()))
        lead = (in_context,) if in_context != alone else ()
        choices.append(tuple((reading,) for reading in _unique((*lead, *table, in_context, alone))))
    return tuple(choices)


def _k_best(choices: Sequence[Unit], limit: int) -> list[tuple[int, ...]]:
    """The `limit` combinations of option indexes with the smallest index sums, in that order.

    The index of an option is how unlikely it is; the sum ranks a whole reading. Ties keep the
    earlier positions' preferences (a deterministic order).
    """
    beam: list[tuple[int, tuple[int, ...]]] = [(0, ())]
    for options in choices:
        extended = (
            (cost + index, (*picked, index))
            for cost, picked in beam
            for index in range(len(options))
        )
        beam = heapq.nsmallest(limit, extended)
    return [picked for _, picked in beam]


def han_readings(
    segments: Sequence[Segment], *, rank_offset: int = 0
) -> list[tuple[tuple[Syllables, ...], int]]:
    """Readings of a name made of segments (surname, given name, or the parts of a dotted name).

    Each segment is a list of units (a compound surname is one unit), each unit a tuple of
    options, each option a tuple of syllables. Returns (syllables per segment, rank) pairs.
    """
    units = [
        (number, options)
        for number, segment in enumerate(segments)
        for options in segment
        if options  # a character with no reading at all is left out of the romanisation
    ]
    readings: list[tuple[tuple[tuple[str, ...], ...], int]] = []
    for picked in _k_best([options for _, options in units], MAX_READINGS):
        syllables: list[list[str]] = [[] for _ in segments]
        for (number, options), index in zip(units, picked, strict=True):
            syllables[number].extend(options[index])
        readings.append((tuple(tuple(s) for s in syllables), rank_offset + sum(picked)))
    return readings


def chinese_name_romanisations(surname: str, given: str) -> list[Romanisation]:
    """The readings of a Chinese name, surname first: pinyin, most likely first, then Wade-Giles.

    At most 16 pinyin readings. When the surname is a compound, the readings as a single
    surname + given name (钟 + 离明 for 钟离明, 单 + 于明 for 单于明) follow at a lower rank,
    for the person whose name the compound rule split wrongly.
    """
    found = han_readings([[surname_readings(surname)], given_name_readings(given)])
    if len(surname) > 1 and given:
        worst = max(rank for _, rank in found)
        found += han_readings(
            [[surname_readings(surname[0])], given_name_readings(surname[1:] + given)],
            rank_offset=worst + 1,
        )
    romanisations = _romanisations(found, Scheme.PINYIN)
    if not romanisations:
        return romanisations
    best_syllables, _ = found[0]
    traditional = Romanisation(parts=wade_giles(best_syllables), scheme=Scheme.WADE_GILES)
    if traditional.parts != romanisations[0].parts:
        romanisations.append(traditional)
    return romanisations


def parts_romanisations(parts: Sequence[str]) -> list[Romanisation]:
    """The pinyin readings of a name in parts without a surname (阿卜杜拉·买买提), at most 16."""
    segments = [given_name_readings(part) for part in parts]
    return _romanisations(han_readings(segments), Scheme.PINYIN)


def _romanisations(
    found: Iterable[tuple[tuple[Syllables, ...], int]], scheme: Scheme
) -> list[Romanisation]:
    """Distinct readings as `Romanisation`s, by rank, at most `MAX_READINGS`."""
    seen: dict[tuple[str, ...], Romanisation] = {}
    for syllables, rank in sorted(found, key=lambda item: item[1]):
        parts = tuple("".join(segment) for segment in syllables if segment)
        if parts and parts not in seen:
            seen[parts] = Romanisation(parts=parts, scheme=scheme, rank=rank)
    return list(seen.values())[:MAX_READINGS]


def wade_giles(syllables: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """Wade-Giles of pinyin syllables grouped in parts, apostrophes and umlauts dropped."""
    parts = ("".join(fold_syllable(_wade_giles_syllable(s)) for s in part) for part in syllables)
    return tuple(part for part in parts if part)


@cache
def _wade_giles_syllable(syllable: str) -> str:
    """One toneless pinyin syllable in Wade-Giles (pypinyin's table)."""
    converted: str = convert_style(syllable, Style.WADEGILES, strict=False, default=syllable)
    return converted


@cache
def _palladius_table() -> dict[str, str]:
    """Palladius Cyrillic syllable → toneless pinyin syllable, from pypinyin's table."""
    marked = {reading for readings in pinyin_dict.values() for reading in readings.split(",")}
    syllables = {to_normal(reading) for reading in marked}  # ~1,500 distinct, of 40,000 entries
    table: dict[str, str] = {}
    for syllable in sorted(syllables):
        if not syllable.isascii() or not syllable.isalpha():
            continue
        cyrillic: str = convert_style(syllable, Style.CYRILLIC, strict=False, default="")
        if cyrillic and all("\u0400" <= c <= "\u04ff" for c in cyrillic):
            table.setdefault(cyrillic, fold_syllable(syllable))
    return table


def palladius_to_pinyin(word: str) -> str | None:
    """A lower-case Cyrillic word read as Palladius syllables, as pinyin; None if it is not one.

    The reading with the fewest syllables wins (Сяомин → xiao + ming).
    """
    table = _palladius_table()
    longest = max(len(key) for key in table)
    # best[i]: the fewest-syllable reading of word[:i], as (syllable count, pinyin)
    best: list[tuple[int, str] | None] = [(0, "")] + [None] * len(word)
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - longest), end):
            before = best[start]
            syllable = table.get(word[start:end])
            if before is None or syllable is None:
                continue
            candidate = (before[0] + 1, before[1] + syllable)
            current = best[end]
            if current is None or candidate[0] < current[0]:
                best[end] = candidate
    result = best[len(word)]
    return None if result is None else result[1]
