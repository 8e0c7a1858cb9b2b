"""Personal names normalised for matching: one canonical form, its readings, and blocking keys.

A registry person and a job candidate are the same person whatever script, order and case their
names were written in (DESIGN.md §5): 單田芳 = 单田芳, 张晓明 = "ZHANG, Xiaoming" = "Xiaoming
Zhang" = "zhang xiao-ming" = "Zhāng Xiǎomíng", and a homophone typo (王晓明 / 王小明) still meets
its target. The steps:

1. NFKC (full-width letters and spaces, compatibility ideographs), format characters dropped.
2. Separators: white space, commas, slashes, brackets and the dots of transliterated names
   (阿卜杜拉·买买提; ·, ・, •, ‧, "."). Apostrophes and hyphens join (Xi'an → xian, Xiao-Ming →
   xiaoming): in pinyin they only mark a syllable boundary (GB/T 28039-2011), and a hyphenated
   given name is one name.
3. Han names: simplified, split into surname + given name, read in pinyin with the surname
   readings, Wade-Giles added (see `shouhu.identity.pinyin`).
4. Other names: Latin letters lower-cased and stripped of diacritics; Cyrillic, Greek, Hangul,
   kana, Arabic … transliterated with anyascii (Han is never left to anyascii: it has no surname
   readings). A Cyrillic name is also read back from the Palladius system into pinyin.

`name_similarity` compares two names and says why; `name_keys` gives blocking keys such that two
spellings of one person share at least one. Both take a text or a `NormalisedName`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Final, Literal, TypeAlias

from anyascii import anyascii
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

from shouhu.identity.errors import IdentityError
from shouhu.identity.pinyin import (
    Romanisation,
    Scheme,
    chinese_name_romanisations,
    fold_latin_token,
    palladius_to_pinyin,
    parts_romanisations,
    split_han_name,
    to_simplified,
)
from shouhu.identity.surnames import COMPOUND_SURNAMES, KOREAN_SURNAME_SPELLINGS

Script: TypeAlias = Literal[
    "han", "latin", "cyrillic", "greek", "hangul", "kana", "arabic", "other", "mixed"
]

FIELD: Final = "name"
# Longer than any real name with all its parts (the longest Chinese names, transliterated
# minority names with a father's and grandfather's name, Iberian double surnames), short enough
# that a pasted paragraph is refused rather than turned into hundreds of keys.
MAX_LENGTH: Final = 128
# Fuzzy similarities are scaled into [0, FUZZY_CEILING) so that any equality reason scores above
# any fuzzy one; below FUZZY_FLOOR (unscaled) the names are reported as different.
FUZZY_CEILING: Final = 0.8
FUZZY_FLOOR: Final = 0.75
# Readings per side considered for fuzzy comparison: the likely ones; the rest only add noise.
_FUZZY_READINGS: Final = 4
# Rotations of a Latin name's parts turned into blocking keys (a name of more parts keeps the
# written order and the first rotations: surname moved to either end).
_MAX_ROTATION_KEYS: Final = 6

_DOTS: Final = frozenset("\u00b7\u30fb\u2022.\u2027\u2219\u22c5\u2e31\u16eb")
_APOSTROPHES: Final = frozenset("'\u2019\u2018\u02bc\u02bb`\u00b4\u2032\u02b9")
_MINUS_SIGN: Final = "\u2212"
_IDEOGRAPHIC_ZERO: Final = "\u3007"  # 〇
_ITERATION_MARK: Final = "\u3005"  # 々: repeats the character before it
# CJK Unified Ideographs and their extensions A-I, and the compatibility blocks (most of which
# NFKC has already folded).
_HAN_RANGES: Final = (
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2EE5F),
    (0x2F800, 0x2FA1F),
    (0x30000, 0x323AF),
)
_SURNAME_AND_GIVEN_NAME: Final = 2  # the number of parts of a name in surname + given name
# Korean two-syllable surnames (남궁 Namgung, 황보 Hwangbo, 제갈 Jegal …): the rest of a Hangul
# name is the given name, written as one word as in Revised Romanization.
_KOREAN_COMPOUND_SURNAMES: Final = frozenset(
    {"남궁", "황보", "제갈", "사공", "선우", "서문", "독고", "동방"}
)
# ICAO Doc 9303 part 3 (transliteration in the machine-readable zone) writes these letters so
# (MÜLLER → MUELLER); anyascii drops the diacritic instead (muller). Both readings are kept.
_ICAO_LETTERS: Final = {"ä": "ae", "ö": "oe", "ü": "ue", "å": "aa", "ø": "oe"}
# Greek ου is one vowel, u, in every romanisation (ELOT 743, ISO 843); anyascii writes "oy".
_GREEK_OU: Final = ("ου", "ού", "οϋ")
_SCRIPT_PREFIXES: Final[tuple[tuple[str, Script], ...]] = (
    ("LATIN", "latin"),
    ("CYRILLIC", "cyrillic"),
    ("GREEK", "greek"),
    ("HANGUL", "hangul"),
    ("HIRAGANA", "kana"),
    ("KATAKANA", "kana"),
    ("ARABIC", "arabic"),
)


class NameMatchReason(StrEnum):
    """Why two names were found alike (or not), from the strongest evidence to the weakest."""

    EXACT_HAN = "exact_han"  # the same characters
    TRADITIONAL_SIMPLIFIED = "traditional_simplified"  # the same once simplified
    LATIN_TOKENS_EQUAL = "latin_tokens_equal"  # the same words in any order, case, accents
    PINYIN_EQUAL = "pinyin_equal"  # the same pinyin (romanised, or homophone characters)
    PINYIN_ORDER_SWAPPED = "pinyin_order_swapped"  # the same pinyin, given name first
    TRANSLITERATION_EQUAL = "transliteration_equal"  # equal through Wade-Giles, Palladius …
    FUZZY = "fuzzy"  # alike letter by letter: a typing error, perhaps
    DIFFERENT = "different"


@dataclass(frozen=True, slots=True)
class NameComparison:
    """How alike two names are: `score` in [0, 1] and the reason behind it."""

    score: float
    reason: NameMatchReason


@dataclass(frozen=True, slots=True)
class NormalisedName:
    """A name in its canonical form, with what matching needs.

    `display` is the canonical text: simplified characters for a Han name (parts joined by "·"
    for a transliterated one), else the words lower-cased in their own letters, diacritics kept
    (they decide the ICAO spelling, ü → ue), separated by single spaces. It is for matching, not
    for showing people: normalising it again gives the same `NormalisedName`. `tokens` are the
    ASCII words (for a Han name, its most likely pinyin, surname first); `romanisations` all
    readings, the most likely first. `written` is the text as given (after NFKC) and takes no
    part in equality.
    """

    display: str
    script: Script
    han: str  # simplified characters without separators, "" unless the name is in Han only
    han_surname: str  # "" for a transliterated name in parts, which has no surname
    han_given: str
    han_parts: tuple[str, ...]  # (surname, given) or the parts of a transliterated name
    tokens: tuple[str, ...]
    romanisations: tuple[Romanisation, ...]
    written: str = field(default="", compare=False)

    @property
    def order_insensitive_key(self) -> str:
        """The tokens sorted and joined by spaces: the same for "Zhang San" and "SAN zhang"."""
        return " ".join(sorted(self.tokens))

    @property
    def joined_key(self) -> str:
        """The tokens run together: the same for "Xiao Ming" and "Xiaoming"."""
        return "".join(self.tokens)


@dataclass(frozen=True, slots=True)
class _Part:
    """A run of a name between separators, all Han or all not."""

    text: str
    is_han: bool


def normalise_name(text: str) -> NormalisedName:
    """The canonical form of a personal name in any script; `IdentityError` if it has none."""
    return _normalise(text)


# 32,768 names (some 50 MiB): the common names of a registry of 10⁶ and a day's queries.
@lru_cache(maxsize=32768)
def _normalise(text: str) -> NormalisedName:
    """`normalise_name`, cached: screening compares the same registry names again and again."""
    folded = " ".join(unicodedata.normalize("NFKC", text).split())
    if len(folded) > MAX_LENGTH:
        raise IdentityError(FIELD, "too_long", f"more than {MAX_LENGTH} characters")
    parts, dotted = _split(folded)
    if not parts:
        raise IdentityError(FIELD, "empty")
    # A part without letters (a stray number) is not part of a name.
    parts = [part for part in parts if part.is_han or any(c.isalpha() for c in part.text)]
    if not parts:
        raise IdentityError(FIELD, "no_letters")
    if all(part.is_han for part in parts):
        return _han_name(parts, dotted=dotted, written=folded)
    return _other_name(parts, written=folded)


def _is_han(character: str) -> bool:
    """Whether a character is a CJK ideograph (or 〇, or the iteration mark 々)."""
    if character in {_IDEOGRAPHIC_ZERO, _ITERATION_MARK}:
        return True
    point = ord(character)
    return any(low <= point <= high for low, high in _HAN_RANGES)


def _split(text: str) -> tuple[list[_Part], bool]:
    """The parts of a name, and whether a dot separated any of them."""
    parts: list[_Part] = []
    dotted = False
    current: list[str] = []
    current_is_han = False

    def close() -> None:
        if current:
            parts.append(_Part("".join(current), current_is_han))
            current.clear()

    for character in text:
        category = unicodedata.category(character)
        if character in _APOSTROPHES or category in {"Pd", "Cf"} or character == _MINUS_SIGN:
            continue  # joins: Xi'an, Xiao-Ming; invisible format characters vanish
        is_han = _is_han(character)
        if not is_han and category[0] not in {"L", "M", "N"}:
            dotted = dotted or character in _DOTS
            close()
            continue
        if current and is_han != current_is_han:
            close()
        letter = character
        if character == _ITERATION_MARK:  # 佐々木 = 佐佐木; alone it stands for nothing
            if not current:
                continue
            letter = current[-1]
        current.append(letter)
        current_is_han = is_han
    close()
    return parts, dotted


def _han_name(parts: list[_Part], *, dotted: bool, written: str) -> NormalisedName:
    """A name written in Han characters only."""
    texts = [part.text for part in parts]
    explicit_surname = (
        not dotted
        and len(texts) == _SURNAME_AND_GIVEN_NAME
        and (len(texts[0]) == 1 or to_simplified(texts[0]) in COMPOUND_SURNAMES)
    )
    if len(texts) == 1 or all(len(text) == 1 for text in texts):
        whole = to_simplified("".join(texts))
        surname, given = split_han_name(whole)
    elif explicit_surname:
        surname, given = to_simplified(texts[0]), to_simplified(texts[1])
    else:
        simplified = tuple(to_simplified(text) for text in texts)
        romanisations = tuple(parts_romanisations(simplified))
        return NormalisedName(
            display="·".join(simplified),
            script="han",
            han="".join(simplified),
            han_surname="",
            han_given="",
            han_parts=simplified,
            tokens=romanisations[0].parts if romanisations else (),
            romanisations=romanisations,
            written=written,
        )
    han = surname + given
    romanisations = tuple(chinese_name_romanisations(surname, given))
    return NormalisedName(
        # An explicit split that the surname rule would not make (单 于明, not 单于 明) keeps its
        # space, so that the display form normalises back to the same split.
        display=han if split_han_name(han) == (surname, given) else f"{surname} {given}",
        script="han",
        han=han,
        han_surname=surname,
        han_given=given,
        han_parts=(surname, given) if given else (surname,),
        tokens=romanisations[0].parts if romanisations else (),
        romanisations=romanisations,
        written=written,
    )


def _script_of(text: str) -> Script:
    """The script of the letters of a non-Han part: one of `Script`, "mixed" if several."""
    found: set[Script] = set()
    for character in text:
        if not character.isalpha():
            continue
        name = unicodedata.name(character, "")
        found.add(next((s for prefix, s in _SCRIPT_PREFIXES if name.startswith(prefix)), "other"))
    if len(found) == 1:
        return found.pop()
    return "mixed" if found else "latin"  # digits only: ASCII already


def _ascii_word(text: str) -> str:
    """A word in lower-case ASCII letters and digits (anyascii transliteration)."""
    text = text.casefold()
    for digraph in _GREEK_OU:
        text = text.replace(digraph, "ou")
    transliterated = anyascii(text).lower()
    return "".join(c for c in transliterated if c.isascii() and c.isalnum())


def _hangul_tokens(text: str) -> tuple[str, ...]:
    """A Hangul name run together (김철수): surname and given name as two ASCII words."""
    if len(text) < _SURNAME_AND_GIVEN_NAME or not all(
        unicodedata.name(c, "").startswith("HANGUL") for c in text
    ):
        return (_ascii_word(text),)
    compound = text[:2] in _KOREAN_COMPOUND_SURNAMES and len(text) > len("남궁")
    surname_length = len("남궁") if compound else 1
    return tuple(
        word
        for word in (_ascii_word(text[:surname_length]), _ascii_word(text[surname_length:]))
        if word
    )


def _icao_word(text: str) -> str:
    """A Latin word with the letters ICAO 9303 spells out (ü → ue) spelled out."""
    folded = text.casefold()
    for letter, spelling in _ICAO_LETTERS.items():
        folded = folded.replace(letter, spelling)
    return _ascii_word(folded)


def _other_name(parts: list[_Part], *, written: str) -> NormalisedName:
    """A name not (only) in Han characters: Latin, other scripts, or a mix with Han."""
    scripts: set[Script] = set()
    displays: list[str] = []
    tokens: list[str] = []
    icao: list[str] = []  # the tokens with ICAO spellings, where they differ
    for position, part in enumerate(parts):
        if part.is_han:
            scripts.add("han")
            simplified = to_simplified(part.text)
            readings = (
                chinese_name_romanisations(*split_han_name(simplified))
                if position == 0
                else parts_romanisations((simplified,))
            )
            displays.append(simplified)
            tokens.extend(readings[0].parts if readings else ())
            icao.extend(readings[0].parts if readings else ())
            continue
        script = _script_of(part.text)
        scripts.add(script)
        if script == "hangul" and len(parts) == 1:  # a Korean name run together: 김철수
            words = _hangul_tokens(part.text)
        else:
            words = (fold_latin_token(_ascii_word(part.text)),)
        words = tuple(word for word in words if word)
        tokens.extend(words)
        icao.extend(words if script != "latin" else (_icao_word(part.text),))
        displays.append(part.text.casefold())
    if not tokens:
        raise IdentityError(FIELD, "no_letters", "nothing that can be written in Latin letters")
    script_of_name: Script = next(iter(scripts)) if len(scripts) == 1 else "mixed"
    # Han words among Latin ones were read in pinyin: the tokens are still Latin letters.
    scheme = Scheme.LATIN if scripts <= {"latin", "han"} else Scheme.TRANSLITERATED
    romanisations = [Romanisation(parts=tuple(tokens), scheme=scheme)]
    variants = [tuple(word for word in icao if word)]
    if script_of_name == "hangul" and len(tokens) == _SURNAME_AND_GIVEN_NAME:
        spellings = KOREAN_SURNAME_SPELLINGS.get(parts[0].text[:1], ())
        variants.extend((spelling, *tokens[1:]) for spelling in spellings)
    for variant in dict.fromkeys(variants):
        if variant and variant != romanisations[0].parts:
            romanisations.append(Romanisation(parts=variant, scheme=scheme, rank=1))
    if script_of_name == "cyrillic":
        palladius = [palladius_to_pinyin(part.text.casefold()) for part in parts]
        if all(palladius):
            pinyin_parts = tuple(word for word in palladius if word)
            romanisations.append(Romanisation(parts=pinyin_parts, scheme=Scheme.PALLADIUS))
    return NormalisedName(
        display=" ".join(displays),
        script=script_of_name,
        han="",
        han_surname="",
        han_given="",
        han_parts=(),
        tokens=tuple(tokens),
        romanisations=tuple(romanisations),
        written=written,
    )


def _coerce(name: str | NormalisedName) -> NormalisedName:
    """A `NormalisedName` as is, a text normalised."""
    return name if isinstance(name, NormalisedName) else normalise_name(name)


def name_keys(name: str | NormalisedName) -> set[str]:
    """Blocking keys: two spellings of one person share at least one.

    `han:` the simplified characters (traditional = simplified); `rom:` a reading run together,
    surname first for a Han name (every pinyin variant and Wade-Giles, so homophones and
    heteronyms meet), every rotation of the words for a name written in letters (so the surname
    may stand at either end); `tok:` the words of a name written in letters, sorted.
    """
    normalised = _coerce(name)
    keys: set[str] = set()
    if normalised.han:
        keys.add(f"han:{normalised.han}")
    for reading in normalised.romanisations:
        if reading.scheme in {Scheme.PINYIN, Scheme.WADE_GILES}:
            keys.add(f"rom:{reading.joined}")
            continue
        keys.update(f"rom:{joined}" for joined in reading.rotations_joined()[:_MAX_ROTATION_KEYS])
        keys.add(f"tok:{' '.join(sorted(reading.parts))}")
    return keys


def name_similarity(a: str | NormalisedName, b: str | NormalisedName) -> NameComparison:
    """How alike two names are, and why (the strongest reason that holds)."""
    first, second = _coerce(a), _coerce(b)
    if first.han and second.han and first.han == second.han:
        if _han_as_written(first) == _han_as_written(second):
            return NameComparison(1.0, NameMatchReason.EXACT_HAN)
        return NameComparison(1.0, NameMatchReason.TRADITIONAL_SIMPLIFIED)
    equal = _best_equal_reading(first, second)
    if equal is not None:
        return equal
    return _fuzzy(first, second)


def _han_as_written(name: NormalisedName) -> str:
    """The Han characters of the name as given, before simplification."""
    parts, _ = _split(name.written)
    return "".join(part.text for part in parts if part.is_han)


_FROM_HAN: Final = frozenset({Scheme.PINYIN, Scheme.WADE_GILES})


def _comparable(first: Romanisation, second: Romanisation) -> bool:
    """Whether two readings may be compared: Han names meet each other through pinyin only."""
    if first.scheme in _FROM_HAN and second.scheme in _FROM_HAN:
        return first.scheme == second.scheme == Scheme.PINYIN
    return True


def _best_equal_reading(first: NormalisedName, second: NormalisedName) -> NameComparison | None:
    """The best comparison among readings that are equal (run together, in some order)."""
    best: NameComparison | None = None
    for mine in first.romanisations:
        for theirs in second.romanisations:
            if not _comparable(mine, theirs):
                continue
            found = _equal_readings(mine, theirs)
            if found is not None and (best is None or found.score > best.score):
                best = found
    return best


def _equal_readings(mine: Romanisation, theirs: Romanisation) -> NameComparison | None:
    """The comparison of two readings if they are the same name, else None."""
    same_order = mine.joined == theirs.joined
    rotated = theirs.joined in mine.rotations_joined() or mine.joined in theirs.rotations_joined()
    same_words = sorted(mine.parts) == sorted(theirs.parts)
    if not (same_order or rotated or same_words):
        return None
    variant = mine.rank > 0 or theirs.rank > 0  # a less likely reading: a little less sure
    schemes = {mine.scheme, theirs.scheme}
    if schemes == {Scheme.PINYIN}:
        # Two Han names with the same sound: homophones (张伟 / 张玮), or a homophone typo.
        score = 0.9 if same_order else 0.8
        reason = (
            NameMatchReason.PINYIN_EQUAL if same_order else NameMatchReason.PINYIN_ORDER_SWAPPED
        )
    elif Scheme.PINYIN in schemes and not schemes & {Scheme.TRANSLITERATED, Scheme.PALLADIUS}:
        # Characters against letters: the letters are a pinyin spelling of the characters.
        score = 0.95 if same_order else 0.94
        reason = (
            NameMatchReason.PINYIN_EQUAL if same_order else NameMatchReason.PINYIN_ORDER_SWAPPED
        )
    elif len(schemes) == 1:
        # Two names in the same letters: the same words, or the same words split differently.
        score = 1.0 if same_words else 0.97
        reason = NameMatchReason.LATIN_TOKENS_EQUAL
    else:
        # Wade-Giles, Palladius or another script's transliteration on one side.
        score = 0.9
        reason = NameMatchReason.TRANSLITERATION_EQUAL
    return NameComparison(round(score - (0.05 if variant else 0.0), 4), reason)


def _fuzzy(first: NormalisedName, second: NormalisedName) -> NameComparison:
    """Letter-by-letter similarity of the likely readings (and of the characters)."""
    similarity = 0.0
    if first.han and second.han:
        similarity = Indel.normalized_similarity(first.han, second.han)
    for mine in first.romanisations[:_FUZZY_READINGS]:
        for theirs in second.romanisations[:_FUZZY_READINGS]:
            if not _comparable(mine, theirs):
                continue
            # Rotations of either side, so that the comparison is symmetric.
            ordered = max(
                *(fuzz.ratio(joined, theirs.joined) for joined in mine.rotations_joined()),
                *(fuzz.ratio(mine.joined, joined) for joined in theirs.rotations_joined()),
            )
            unordered = fuzz.token_sort_ratio(mine.spaced, theirs.spaced)
            similarity = max(similarity, ordered / 100, unordered / 100)
    reason = NameMatchReason.FUZZY if similarity >= FUZZY_FLOOR else NameMatchReason.DIFFERENT
    return NameComparison(round(FUZZY_CEILING * similarity, 4), reason)
