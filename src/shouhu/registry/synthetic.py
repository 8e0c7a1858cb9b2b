"""Synthetic identities: registry persons, import rows and screening queries, all seeded.

Used by the demo (a registry of ≥10,000 persons), the accuracy benchmark (≥10,000 queries per
variation category) and the speed benchmark (10^5-10^6 registry persons). Everything is drawn
from one `random.Random(seed)`: the same seed gives the same persons, rows and queries.

Persons. About 92% are Chinese: surnames with their approximate shares in the population (the
top hundred, a tail, the surnames read specially, 单 Shan, 曾 Zeng, 区 Ou …, and compound
surnames), given names typical of the birth decade, so that 王伟, 张伟, 李娜 and 刘洋 recur as in
life and some namesakes even share a birth date; a PRC number with a real GB/T 2260 region code
(about 5% retired codes valid when the number was issued), a sequence whose parity gives the
sex and never a centenarian code (996-999, which would make the 15-digit form read as 18xx), and
its check character; about 10% of those born before 1985 are registered under the old 15-digit
form. About 3% carry a Hong Kong/Macao or Taiwan permit instead, 1% a Chinese passport; about 15%
have a former name (曾用名), a few two. Foreign persons carry passports in their country's format,
or a foreign permanent-residence ID (the 2023 18-digit form, some of the old 15-character form);
Russians keep their Cyrillic spelling (the Latin one is what `anyascii` reads from it, so both
share blocking keys), Koreans their Hangul. Every document passes `normalise_document`.

Queries and the outcomes the matching engine must give (the contract it is judged against):

| category | what the query is | expected |
| --- | --- | --- |
| EXACT | the registered name and document | hit |
| ID_15_DIGIT | the other form (15 ↔ 18 digits) of the PRC number | hit |
| TRADITIONAL | the name in traditional characters (OpenCC s2t) | hit |
| PINYIN | the name in pinyin, surname read as a surname ("ZHANG Wei") | hit |
| PINYIN_SWAPPED | the pinyin with the given name first ("Wei Zhang") | hit |
| CAPITALS_DIACRITICS | a Latin name in capitals, with or without accents, commas, hyphens | hit |
| CYRILLIC | a Russian name in Cyrillic, or a Chinese name in Palladius | hit |
| HANGUL | a Korean name in Hangul | hit |
| FORMER_NAME | a former name (曾用名) with the document | hit |
| ALIAS | an alias (an English or Chinese name) with the document | hit |
| NAME_CHANGED_SAME_ID | a completely different name, same document and birth date | hit |
| HOMOPHONE_TYPO_SAME_ID | one given-name character replaced by a homophone | hit |
| NAME_TYPO_SAME_ID | a one-letter typo, or a look-alike wrong character | hit |
| REGISTRY_TYPO_SAME_ID | the right name where the registry holds a mistyped one | hit |
| PERMIT_RENEWED | a permit with another renewal count: same lifelong number | hit |
| NEW_ID_SAME_NAME_DOB_SEX | a new valid number, same name, birth date and sex | possible_match |
| RENEWED_PASSPORT | a new passport number, same name, birth date, nationality | possible_match |
| HOMONYM_SAME_BIRTH_DATE_NOT_IN_REGISTRY | a namesake born that day | possible_match, no_record |
| HOMONYM_NOT_IN_REGISTRY | same name, another birth date and document | no_record |
| STRANGER | a person not in the registry | no_record |

`possible_match` for NEW_ID and RENEWED_PASSPORT means a reviewer must look: a `hit` there would
be a false hit on whoever shares the name. Outsiders' documents never share a lifelong number
with a registry person, and their birth dates are never near (one date component apart or day
and month swapped) that of a registry person whose name sounds the same. Half of the queries
give birth date and sex where the document already carries them; where it does not, they are
always given.
"""

from __future__ import annotations

import csv
import random
import re
import unicodedata
from bisect import bisect
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from itertools import accumulate
from typing import TYPE_CHECKING, Final, Generic, TypeVar

import opencc
import pycountry
from anyascii import anyascii
from pypinyin import Style, lazy_pinyin
from pypinyin.pinyin_dict import pinyin_dict
from pypinyin.style import convert as convert_style

from shouhu.identity.documents import CHINA, IdType
from shouhu.identity.names import name_keys, normalise_name
from shouhu.identity.pinyin import (
    given_name_readings,
    split_han_name,
    surname_readings,
    to_simplified,
)
from shouhu.identity.prc_id import CENTENARIAN_SEQUENCES, prc_check_character
from shouhu.identity.regions import DATA_FILE, region_history, region_name
from shouhu.identity.surnames import COMPOUND_SURNAMES, KOREAN_SURNAME_SPELLINGS
from shouhu.registry.importer import COLUMNS
from shouhu.registry.models import RecordKind
from shouhu.registry.policy import catalogue

if TYPE_CHECKING:
    from pathlib import Path

T = TypeVar("T")

# Decision dates are drawn up to this day, not today, so that a seed gives the same rows on any
# day (and no date is ever in the future).
AS_OF: Final = date(2026, 6, 30)
BIRTH_FIRST: Final = date(1950, 1, 1)
BIRTH_LAST: Final = date(2006, 12, 31)
# Most offenders recorded were born in these years; the rest are spread over the whole range.
_BIRTH_CORE: Final = (date(1965, 1, 1), date(1995, 12, 31))
_BIRTH_CORE_SHARE: Final = 0.7
# The screening file's columns (DESIGN.md §6).
SCREENING_COLUMNS: Final = (
    "reference",
    "name",
    "id_type",
    "id_number",
    "date_of_birth",
    "sex",
    "nationality",
)

# Shares among Chinese persons.
PERMIT_SHARE: Final = 0.03  # HK/Macao or Taiwan permits
HKMO_OF_PERMITS: Final = 2 / 3
MACAO_OF_HKMO: Final = 0.15
RESIDENCE_PERMIT_OF_PERMITS: Final = 0.2  # the 2018 18-digit residence permits
RENEWAL_COUNT_SHARE: Final = 0.7  # travel permits written with their 2-digit renewal count
CHINESE_PASSPORT_SHARE: Final = 0.01
RETIRED_REGION_SHARE: Final = 0.05
FIFTEEN_DIGIT_SHARE: Final = 0.1  # of those born before 1985: registered under the old form
FIFTEEN_DIGIT_BEFORE: Final = 1985
ONE_FORMER_NAME_SHARE: Final = 0.13
TWO_FORMER_NAMES_SHARE: Final = 0.02
REGISTRY_TYPO_SHARE: Final = 0.01
MAINLAND_ALIAS_SHARE: Final = 0.01  # a nickname (阿伟) recorded as an alias
HKMO_ALIAS_SHARE: Final = 0.3  # an English name (Peter Chan)
# Shares among foreign persons.
FOREIGN_PR_SHARE: Final = 0.15
OLD_PR_OF_PR: Final = 0.3
FOREIGN_ALIAS_SHARE: Final = 0.2  # a Chinese name
FOREIGN_FORMER_NAME_SHARE: Final = 0.05
# Resident identity numbers were first issued in 1984-85: an older person's number carries the
# region code valid then, a younger one's the code valid in the year of birth.
FIRST_ISSUE_YEAR: Final = 1985
# Sequence codes 996-999 are the centenarians' (prc_id.CENTENARIAN_SEQUENCES): never drawn.
_LAST_SEQUENCE: Final = min(int(code) for code in CENTENARIAN_SEQUENCES) - 1
_SEQUENCE_PAIRS: Final = (_LAST_SEQUENCE - 1) // 2  # male 2k+1, female 2k+2: both ≤ 995
_MAX_TRIES: Final = 200
_HALF: Final = 0.5
# A surname followed by a given name starting so could read as a compound surname (乐 + 正阳).
_COMPOUND_INITIALS: Final = frozenset(surname[0] for surname in COMPOUND_SURNAMES)


class Category(StrEnum):
    """How a query varies from the registry person it is about (or that it is not)."""

    EXACT = "exact"
    ID_15_DIGIT = "id_15_digit"
    TRADITIONAL = "traditional"
    PINYIN = "pinyin"
    PINYIN_SWAPPED = "pinyin_swapped"
    CAPITALS_DIACRITICS = "capitals_diacritics"
    CYRILLIC = "cyrillic"
    HANGUL = "hangul"
    FORMER_NAME = "former_name"
    ALIAS = "alias"
    NAME_CHANGED_SAME_ID = "name_changed_same_id"
    HOMOPHONE_TYPO_SAME_ID = "homophone_typo_same_id"
    NAME_TYPO_SAME_ID = "name_typo_same_id"
    REGISTRY_TYPO_SAME_ID = "registry_typo_same_id"
    PERMIT_RENEWED = "permit_renewed"
    NEW_ID_SAME_NAME_DOB_SEX = "new_id_same_name_dob_sex"
    RENEWED_PASSPORT = "renewed_passport"
    HOMONYM_SAME_BIRTH_DATE_NOT_IN_REGISTRY = "homonym_same_birth_date_not_in_registry"
    HOMONYM_NOT_IN_REGISTRY = "homonym_not_in_registry"
    STRANGER = "stranger"


HIT: Final = "hit"
POSSIBLE_MATCH: Final = "possible_match"
NO_RECORD: Final = "no_record"
_HIT_ONLY: Final = frozenset({HIT})
EXPECTED: Final[dict[Category, frozenset[str]]] = {
    Category.EXACT: _HIT_ONLY,
    Category.ID_15_DIGIT: _HIT_ONLY,
    Category.TRADITIONAL: _HIT_ONLY,
    Category.PINYIN: _HIT_ONLY,
    Category.PINYIN_SWAPPED: _HIT_ONLY,
    Category.CAPITALS_DIACRITICS: _HIT_ONLY,
    Category.CYRILLIC: _HIT_ONLY,
    Category.HANGUL: _HIT_ONLY,
    Category.FORMER_NAME: _HIT_ONLY,
    Category.ALIAS: _HIT_ONLY,
    Category.NAME_CHANGED_SAME_ID: _HIT_ONLY,
    Category.HOMOPHONE_TYPO_SAME_ID: _HIT_ONLY,
    Category.NAME_TYPO_SAME_ID: _HIT_ONLY,
    Category.REGISTRY_TYPO_SAME_ID: _HIT_ONLY,
    Category.PERMIT_RENEWED: _HIT_ONLY,
    # A reviewer must look: a hit would be a false hit on whoever shares the name.
    Category.NEW_ID_SAME_NAME_DOB_SEX: frozenset({POSSIBLE_MATCH}),
    Category.RENEWED_PASSPORT: frozenset({POSSIBLE_MATCH}),
    # DESIGN.md §5's "review": a namesake born the same day may be sent to a reviewer.
    Category.HOMONYM_SAME_BIRTH_DATE_NOT_IN_REGISTRY: frozenset({POSSIBLE_MATCH, NO_RECORD}),
    Category.HOMONYM_NOT_IN_REGISTRY: frozenset({NO_RECORD}),
    Category.STRANGER: frozenset({NO_RECORD}),
}
# Queries about people who are not in the registry.
OUTSIDER_CATEGORIES: Final = frozenset(
    {
        Category.HOMONYM_SAME_BIRTH_DATE_NOT_IN_REGISTRY,
        Category.HOMONYM_NOT_IN_REGISTRY,
        Category.STRANGER,
    }
)


@dataclass(frozen=True, slots=True)
class SyntheticPerson:
    """One synthetic human as the registry holds them, with what query variations need."""

    external_id: str
    name: str  # as the registry holds it (mistyped for a few: see `true_name`)
    former_names: tuple[str, ...]
    sex: str  # "M" or "F"
    date_of_birth: date
    nationality: str  # ISO 3166-1 alpha-3
    id_type: str  # an `IdType` value
    id_number: str  # canonical: the 18-character form of a PRC number
    registered_id_number: str  # as the registry file writes it (15 digits for some)
    surname: str  # Han characters, or the Latin surname as spelled in the name
    given_name: str
    true_name: str  # the name the person bears; differs from `name` where the registry mistyped
    aliases: tuple[str, ...] = ()
    native_name: str = ""  # Cyrillic ("Иванов Иван") or Hangul ("김민준"), else ""
    region: str = ""  # the GB/T 2260 code of a PRC number

    @property
    def is_han(self) -> bool:
        """Whether the name is written in Chinese characters."""
        return bool(self.name) and _is_han_text(self.name)


@dataclass(frozen=True, slots=True)
class SyntheticQuery:
    """One row of a screening file (DESIGN.md §6), with what the engine must answer."""

    reference: str
    name: str
    id_type: str
    id_number: str
    date_of_birth: str  # YYYY-MM-DD or ""
    sex: str  # "M", "F" or ""
    nationality: str  # ISO alpha-3 or ""
    category: Category
    expected: frozenset[str]
    target_external_id: str | None  # the registry person it is about; None for outsiders

    def screening_row(self) -> dict[str, str]:
        """The screening-file columns of this query."""
        return {column: getattr(self, column) for column in SCREENING_COLUMNS}


# --- weighted choice ----------------------------------------------------------------------------


class _Weighted(Generic[T]):
    """Items with weights, drawn by bisecting the cumulative weights (one random() a draw)."""

    __slots__ = ("cumulative", "items", "total")

    def __init__(self, pairs: Iterable[tuple[T, float]]) -> None:
        listed = list(pairs)
        self.items = tuple(item for item, _ in listed)
        self.cumulative = tuple(accumulate(weight for _, weight in listed))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> T:
        """One item, with probability proportional to its weight."""
        return self.items[bisect(self.cumulative, rng.random() * self.total)]


def _words(text: str) -> tuple[str, ...]:
    """The space-separated words of a text (tables of names are written as text)."""
    return tuple(text.split())


def _rng(seed: int | str) -> random.Random:
    """A random stream of its own for one seed: reproducible test data, never secrets."""
    return random.Random(seed)  # noqa: S311 - determinism is the point; nothing is secret


def _tiered(*tiers: tuple[str, float]) -> list[tuple[str, float]]:
    """Characters (or space-separated words) of each tier with the tier's weight, first kept."""
    weights: dict[str, float] = {}
    for text, weight in tiers:
        for item in text.split() if " " in text else text:
            weights.setdefault(item, weight)
    return list(weights.items())


# --- Chinese names ------------------------------------------------------------------------------

# Approximate shares (%) of the hundred most frequent surnames (MPS household-register reports
# 2019-2020: together about 86% of the population).
_TOP_SURNAMES: Final = (
    "王7.2 李7.1 张6.8 刘5.4 陈4.5 杨3.1 黄2.2 赵2.2 吴2.0 周1.9 徐1.6 孙1.5 马1.4 胡1.3 "
    "朱1.3 郭1.2 何1.1 罗0.9 高1.1 林1.1 郑0.8 梁0.8 谢0.7 宋0.6 唐0.6 许0.6 韩0.6 冯0.6 "
    "邓0.6 曹0.6 彭0.5 曾0.5 肖0.5 田0.5 董0.5 袁0.5 潘0.5 于0.5 蒋0.5 蔡0.4 余0.4 杜0.4 "
    "叶0.4 程0.4 苏0.4 魏0.4 吕0.4 丁0.4 任0.4 沈0.4 姚0.3 卢0.3 姜0.3 崔0.3 钟0.3 谭0.3 "
    "陆0.3 汪0.3 范0.3 金0.3 石0.3 廖0.3 贾0.3 夏0.3 韦0.3 付0.3 方0.3 白0.25 邹0.25 "
    "孟0.25 熊0.24 秦0.24 邱0.24 江0.23 尹0.23 薛0.22 闫0.22 段0.21 雷0.21 侯0.21 龙0.2 "
    "史0.2 陶0.2 黎0.19 贺0.19 顾0.19 毛0.18 郝0.18 龚0.18 邵0.17 万0.17 钱0.17 严0.16 "
    "覃0.16 武0.16 戴0.15 莫0.15 孔0.15 向0.15 汤0.15"
)
# A tail of less frequent surnames, each about 0.08%.
_TAIL_SURNAMES: Final = (
    "常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮"
    "柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时"
    "穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬"
    "师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
_TAIL_SHARE: Final = 0.08
# Surnames a plain converter reads wrongly (surnames.SURNAME_READINGS) and compound surnames, at
# small shares, so that matching meets them (曾 and 覃 are among the top hundred).
_SPECIAL_SURNAMES: Final = (
    "区0.02 乐0.02 朴0.03 盖0.01 欧阳0.05 司马0.01 诸葛0.006 上官0.01 尉迟0.003 万俟0.001 "
    "皇甫0.004 令狐0.003 东方0.002 端木0.002"
)


def _shares(text: str) -> list[tuple[str, float]]:
    """("王", 7.2) pairs from "王7.2 李7.1 …"."""
    pairs = []
    for item in text.split():
        split = next(i for i, c in enumerate(item) if c.isdigit())
        pairs.append((item[:split], float(item[split:])))
    return pairs


@cache
def _surnames() -> _Weighted[str]:
    top = _shares(_TOP_SURNAMES)
    known = {surname for surname, _ in top}
    tail = [(s, _TAIL_SHARE) for s in dict.fromkeys(_TAIL_SURNAMES) if s not in known]
    special = [(s, w) for s, w in _shares(_SPECIAL_SURNAMES) if s not in known]
    return _Weighted(top + tail + special)


# Given-name characters by sex, in tiers of popularity (weights 4, 2, 1).
_MALE_CHARACTERS: Final = (
    ("伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩", 4.0),
    (
        "凯健俊帆帅旭宁龙林阳建亮成峰志国文海东晓博彬振江雷鸣远航毅翔坤庆德新永忠立晨昊睿哲轩泽宏",
        3.0,
    ),
    (
        (
            "威武雄豪诚信安康福兵卫胜利春光金山松柏森楠洋扬铭钧骏峻君皓灏昕炜玮维巍辰锐锋剑彪虎"
            "嘉杭凡正朝益星翰然子一天梓佑铮卓恒达宸烨煜昱逸奕奇"
        ),
        1.0,
    ),
)
_FEMALE_CHARACTERS: Final = (
    ("芳娜敏静丽艳娟霞燕玲丹萍红洁琳颖倩婷雪莉", 4.0),
    ("晶慧璐佳欣怡涵萱梅兰英秀桂凤珍玉云莲琴蓉菲薇蕾娅婕瑶雯琪璇妍悦彤嘉淑惠雅秋月春雨露岚", 2.0),
    (
        (
            "媛婧菁靖莹瑛盈卉蕙馨昕钰瑜语羽晗寒茗美玫依宜仪艺逸亦苹伶灵凌亭庭俐妮娇嫣诗梦思琦可舒"
            "冰清素贞爱芬芸芝蓓萌曼蔓容华花桦晓小子梓紫一诺晴"
        ),
        1.0,
    ),
)
# Whole given names that were popular in each period, by sex: the namesakes (张伟, 王秀英).
_ERAS: Final = (1970, 1990)  # born before 1970, 1970-1989, 1990 and later
_MALE_NAMES: Final = (
    _tiered(
        ("建国 建华 建军 国强 国庆 志强 卫国 卫东 德明 永强", 5),
        ("伟 军 强 平 刚 华 明 勇 斌 林", 3),
        ("福生 建平 建新 红军 忠 春生 金龙 振华 文华 海", 2),
    ),
    _tiered(
        ("伟 强 磊 军 勇 杰 涛 明 超 刚", 5),
        ("平 辉 鹏 华 飞 鑫 波 斌 浩 凯", 3),
        ("健 俊 亮 峰 晓明 海涛 志强 建华 宇 龙 帅 阳 旭", 2),
    ),
    _tiered(
        ("浩 宇 轩 子轩 浩然 宇轩 俊杰 梓豪 浩宇 子豪", 5),
        ("宇航 博文 天佑 皓轩 一鸣 晨 鑫 磊 杰 涛", 3),
        ("子墨 宇泽 睿 泽宇 俊熙 伟 鹏 超", 2),
    ),
)
_FEMALE_NAMES: Final = (
    _tiered(
        ("秀英 桂英 秀兰 玉兰 桂兰 秀珍 凤英 玉珍 玉英 兰英", 5),
        ("淑珍 桂芳 玉梅 秀云 淑兰 英 芳 红 梅 华", 3),
        ("萍 丽 霞 秀芳 桂香", 2),
    ),
    _tiered(
        ("芳 娜 敏 静 丽 艳 娟 霞 燕 玲", 5),
        ("丹 萍 红 洁 琳 颖 倩 婷 雪 莉", 3),
        ("晶 慧 璐 晓燕 丽娟 海燕 丽丽 小红", 2),
    ),
    _tiered(
        ("婷 欣 怡 佳 雨 涵 萱 梓涵 子涵 欣怡", 5),
        ("梓萱 诗涵 雨涵 一诺 依诺 可馨 思彤 紫涵 佳怡 雨萱", 3),
        ("娜 丹 静 悦 彤", 2),
    ),
)
_WHOLE_NAME_SHARE: Final = 0.3
# A former name: a childhood given name replaced, the other parent's (or an adoptive) surname,
# or a different name altogether.
_FORMER_NAME_KINDS: Final = _Weighted((("given", 0.7), ("surname", 0.2), ("both", 0.1)))
# Of composed given names, the share of one character, by era (older people had more).
_SINGLE_CHARACTER_SHARE: Final = (0.4, 0.3, 0.12)
# Look-alike characters that a typist confuses (a wrong character, not a homophone).
_LOOK_ALIKES: Final = (
    "王玉 未末 己已 日曰 大太 天夫 土士 千干 刀力 晴睛 折析 崇祟 明朋 兵乒 华毕 宇字 宁宇 "
    "浩洁 敏敢 丹舟 雪雷 怡恰 佳住 鑫森 帆帜 龙尤 林材 阳阴 威咸 平乎 波坡 海悔 晓烧 国固 "
    "永水 梅海 李季 陈阵 吴昊 刘浏 胡湖 杨扬 梁粱 彬杉 凤风 娟捐 辉挥 峰锋 晶品 琳淋 斌武"
)
# Cantonese spellings of surnames, for Hong Kong and Macao residents' English names.
_CANTONESE: Final = (
    "陈Chan 李Lee 张Cheung 黄Wong 王Wong 刘Lau 林Lam 吴Ng 何Ho 梁Leung 郑Cheng 杨Yeung "
    "周Chow 谢Tse 郭Kwok 罗Law 胡Wu 朱Chu 许Hui 曾Tsang 邓Tang 冯Fung 叶Yip 蔡Choi 潘Poon "
    "袁Yuen 余Yu 马Ma 孙Suen 徐Tsui 高Ko 苏So 卢Lo 蒋Tseung 沈Shum 钟Chung 彭Pang 廖Liu 区Au "
    "江Kong 邱Yau 温Wan 韩Hon 赵Chiu 唐Tong 方Fong 石Shek 莫Mok 黎Lai 龚Kung 董Tung 麦Mak"
)
_ENGLISH_GIVEN: Final = (
    ("Peter", "Michael", "David", "Kenneth", "Raymond", "Tony", "Eric", "Jason", "Kelvin", "Alan"),
    ("Mary", "Carmen", "Winnie", "Grace", "Ivy", "Karen", "Cindy", "Joyce", "Fiona", "Vivian"),
)


def _look_alike_pairs(text: str) -> dict[str, str]:
    """{"王": "玉", "玉": "王", …} from "王玉 …": either may be typed for the other."""
    result: dict[str, str] = {}
    for pair in text.split():
        result.setdefault(pair[0], pair[1])
        result.setdefault(pair[1], pair[0])
    return result


def _spellings(text: str) -> dict[str, str]:
    """{"陈": "Chan", …} from "陈Chan …": the first character, spelled by the rest."""
    return {item[0]: item[1:] for item in text.split()}


@cache
def _given_characters(sex: str) -> _Weighted[str]:
    return _Weighted(_tiered(*(_MALE_CHARACTERS if sex == "M" else _FEMALE_CHARACTERS)))


@cache
def _whole_given_names(sex: str, era: int) -> _Weighted[str]:
    return _Weighted((_MALE_NAMES if sex == "M" else _FEMALE_NAMES)[era])


def _era(year: int) -> int:
    return bisect(_ERAS, year)


@cache
def _single_reading(character: str) -> str | None:
    """The toneless pinyin of a character pypinyin reads one way only, else None."""
    readings = pinyin_dict.get(ord(character))
    if readings is None or "," in readings:
        return None
    return lazy_pinyin(character)[0]


@cache
def _homophones() -> dict[str, tuple[str, ...]]:
    """Given-name characters → the other pool characters with the same (only) reading."""
    pool = {c for sex in "MF" for c in _given_characters(sex).items}
    groups: dict[str, list[str]] = {}
    for character in sorted(pool):
        reading = _single_reading(character)
        if reading is not None:
            groups.setdefault(reading, []).append(character)
    return {
        character: tuple(other for other in group if other != character)
        for group in groups.values()
        if len(group) > 1
        for character in group
    }


@cache
def _look_alikes() -> dict[str, str]:
    return _look_alike_pairs(_LOOK_ALIKES)


@cache
def _cantonese() -> dict[str, str]:
    return _spellings(_CANTONESE)


@cache
def _s2t() -> opencc.OpenCC:
    return opencc.OpenCC("s2t")


def _is_han_text(text: str) -> bool:
    return all("\u3400" <= c <= "\u9fff" for c in text)


# --- foreign names ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Pool:
    """Names of one nationality: surnames and given names by sex, and how they are written."""

    surnames: tuple[str, ...]
    male: tuple[str, ...]
    female: tuple[str, ...]
    surname_first: bool  # written surname first at home (Korea, Japan, Vietnam)
    female_surname: Callable[[str], str] = str  # Russian surnames take a feminine ending


def _russian_feminine(surname: str) -> str:
    if surname.endswith("ий"):
        return surname[:-2] + "ая"
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    return surname


_ENGLISH: Final = _Pool(
    surnames=_words(
        "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore "
        "Martin Jackson Thompson White Harris Clark Lewis Walker O'Brien Smith-Jones"
    ),
    male=_words(
        "James John Robert Michael William David Richard Joseph Thomas Christopher Daniel "
        "Matthew Anthony Mark Paul Steven Andrew Kevin Brian George"
    ),
    female=_words(
        "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Emily Emma "
        "Olivia Anne-Marie Mary-Jane Rachel Laura Hannah"
    ),
    surname_first=False,
)
_GERMAN: Final = _Pool(
    surnames=_words(
        "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer "
        "Koch Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Krüger Hartmann "
        "Köhler Groß Weiß Böhm"
    ),
    male=_words(
        "Hans Jürgen Klaus Stefan Michael Thomas Andreas Jörg Uwe Karl-Heinz Günter Dieter "
        "Wolfgang Matthias"
    ),
    female=_words("Ursula Sabine Monika Petra Jana Anja Gisela Brigitte Jutta Birgit Käthe Renate"),
    surname_first=False,
)
_FRENCH: Final = _Pool(
    surnames=_words(
        "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent "
        "Lefèvre Michel Fontaine Rousseau Chevalier Bonnet Girard Mercier"
    ),
    male=_words(
        "Jean Pierre Jean-Pierre Michel Philippe Alain Nicolas François Jérôme Stéphane "
        "Frédéric Sébastien"
    ),
    female=_words(
        "Marie Nathalie Isabelle Sylvie Catherine Françoise Hélène Céline Élodie Anne-Sophie"
    ),
    surname_first=False,
)
_SPANISH: Final = _Pool(
    surnames=_words(
        "García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Jiménez Ruiz "
        "Hernández Díaz Muñoz Álvarez Núñez"
    ),
    male=_words("José Antonio Manuel Francisco Juan Javier Jesús Carlos Ángel Luis"),
    female=_words("María Carmen Ana Josefa Isabel Laura Lucía Mercedes Pilar"),
    surname_first=False,
)
_RUSSIAN: Final = _Pool(
    surnames=_words(
        "Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров "
        "Морозов Волков Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев "
        "Зайцев Ковалевский"
    ),
    male=_words(
        "Александр Сергей Дмитрий Андрей Алексей Максим Евгений Иван Михаил Владимир "
        "Николай Юрий Олег Павел"
    ),
    female=_words("Елена Ольга Наталья Татьяна Ирина Светлана Анна Мария Екатерина Юлия Людмила"),
    surname_first=True,
    female_surname=_russian_feminine,
)
_KOREAN: Final = _Pool(
    surnames=_words("김 이 박 최 정 강 조 윤 장 임 한 오 서 신 권"),
    male=_words(
        "민준 서준 도윤 예준 시우 하준 지호 준서 준우 현우 지훈 성민 동현 재현 상훈 영수 영호 "
        "정호 성호"
    ),
    female=_words(
        "서연 서윤 지우 서현 민서 하은 하윤 윤서 지민 수빈 지현 은지 혜진 민지 수진 영희 미경 "
        "정희 은영"
    ),
    surname_first=True,
)
_JAPANESE: Final = _Pool(
    surnames=_words(
        "Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato Yoshida "
        "Yamada Sasaki Yamaguchi Matsumoto Inoue Kimura Hayashi Shimizu Saito Ono"
    ),
    male=_words("Hiroshi Takashi Kenji Daisuke Yusuke Shota Ryota Takuya Kazuki Haruto Kota"),
    female=_words("Yuki Yoko Keiko Kyoko Akiko Yumi Naoko Ayaka Misaki Yui Yuko"),
    surname_first=True,
)
_VIETNAMESE: Final = _Pool(
    surnames=_words("Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ"),
    male=("Văn An", "Văn Hùng", "Minh Tuấn", "Đức Anh", "Quang Huy", "Văn Nam", "Thành Long"),
    female=("Thị Lan", "Thị Hương", "Thị Mai", "Ngọc Anh", "Thu Trang", "Thị Hoa", "Thị Hằng"),
    surname_first=True,
)
_INDIAN: Final = _Pool(
    surnames=_words("Sharma Patel Singh Kumar Gupta Reddy Iyer Nair Das Mehta"),
    male=_words("Rahul Amit Vikram Suresh Rajesh Arjun Sanjay"),
    female=_words("Priya Anjali Sunita Pooja Neha Kavita Deepa"),
    surname_first=False,
)
# Hepburn long vowels, written with macrons in Japan and without them in passports.
_MACRONS: Final = {
    "Sato": "Satō",
    "Ito": "Itō",
    "Kato": "Katō",
    "Saito": "Saitō",
    "Ono": "Ōno",
    "Yusuke": "Yūsuke",
    "Shota": "Shōta",
    "Ryota": "Ryōta",
    "Kyoko": "Kyōko",
    "Yoko": "Yōko",
    "Yuko": "Yūko",
    "Kota": "Kōta",
}
# Korean surnames as Hanja (as Chinese records write a Korean's name).
_HANJA_SURNAMES: Final = _spellings(
    "김金 이李 박朴 최崔 정郑 강姜 조赵 윤尹 장张 임林 한韩 오吴 서徐 신申 권权"
)
# A foreigner's Chinese name often starts with a character sounding like the surname's start.
_CHINESE_NAME_SURNAMES: Final = "白贝柯戴艾费高何伊杰康林马倪欧潘齐罗史唐吴文谢杨扎"
# Nationalities of foreign persons and their shares.
_NATIONALITIES: Final = (
    ("KOR", 16.0, _KOREAN),
    ("USA", 12.0, _ENGLISH),
    ("RUS", 12.0, _RUSSIAN),
    ("JPN", 10.0, _JAPANESE),
    ("VNM", 10.0, _VIETNAMESE),
    ("DEU", 6.0, _GERMAN),
    ("FRA", 6.0, _FRENCH),
    ("GBR", 6.0, _ENGLISH),
    ("IND", 5.0, _INDIAN),
    ("CAN", 4.0, _ENGLISH),
    ("AUS", 4.0, _ENGLISH),
    ("ESP", 4.0, _SPANISH),
    ("MEX", 3.0, _SPANISH),
    ("AUT", 2.0, _GERMAN),
)
# How registry clerks write a foreign name (the passport's "SURNAME Given" among them).
_SURNAME_FIRST_STYLES: Final = _Weighted(
    (("{SURNAME} {given}", 0.4), ("{surname} {given}", 0.45), ("{given} {surname}", 0.15))
)
_GIVEN_FIRST_STYLES: Final = _Weighted(
    (("{given} {surname}", 0.5), ("{SURNAME} {given}", 0.3), ("{SURNAME}, {given}", 0.2))
)
# Korean passports mostly keep a traditional surname spelling (Kim, Lee, Park); some given names
# are written with a hyphen between the syllables (Min-jun).
_KOREAN_TRADITIONAL_SPELLING_SHARE: Final = 0.7
_HYPHENATED_KOREAN_GIVEN_SHARE: Final = 0.3
# ICAO 9303 spellings of letters that passports spell out.
_ICAO: Final = {"Ä": "AE", "Ö": "OE", "Ü": "UE", "ß": "SS", "ä": "ae", "ö": "oe", "ü": "ue"}


@cache
def _nationalities() -> _Weighted[str]:
    return _Weighted((code, share) for code, share, _ in _NATIONALITIES)


@cache
def _pool(nationality: str) -> _Pool:
    return next(pool for code, _, pool in _NATIONALITIES if code == nationality)


@cache
def _numeric(nationality: str) -> str:
    country = pycountry.countries.get(alpha_3=nationality)
    return str(country.numeric) if country is not None else "000"


def _latin(text: str) -> str:
    """The Latin spelling `names.normalise_name` reads from Cyrillic or Hangul (anyascii)."""
    return anyascii(text).replace("'", "")


def _title(word: str) -> str:
    return "-".join(part[:1].upper() + part[1:].lower() for part in word.split("-"))


# --- passports and permits ----------------------------------------------------------------------

_DIGITS: Final = "0123456789"
_LETTERS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_NO_I_O: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ"
# German passports: C and 8 characters without vowels that could be misread.
_GERMAN_ALPHABET: Final = "CFGHJKLMNPRTVWXYZ0123456789"


def _draw(rng: random.Random, alphabet: str, count: int) -> str:
    """`count` characters of `alphabet`, uniformly."""
    if alphabet == _DIGITS:  # the common case, in one draw
        return f"{int(rng.random() * 10**count):0{count}d}"
    return "".join(alphabet[int(rng.random() * len(alphabet))] for _ in range(count))


def _passport_format(nationality: str, rng: random.Random) -> str:
    """A passport number in one of the issuing country's formats (documents.py accepts them)."""

    def digits(count: int) -> str:
        return _draw(rng, _DIGITS, count)

    def letters(alphabet: str, count: int = 1) -> str:
        return _draw(rng, alphabet, count)

    forms: dict[str, tuple[Callable[[], str], ...]] = {
        # CHN: e-passports since 2012 (E + 8 digits), since 2017 (E + letter + 7), older G.
        "CHN": (
            lambda: "E" + digits(8),
            lambda: "E" + letters(_NO_I_O) + digits(7),
            lambda: "G" + digits(8),
        ),
        "USA": (lambda: letters("56A") + digits(8),),
        "GBR": (lambda: digits(9),),
        "CAN": (lambda: letters(_LETTERS, 2) + digits(6),),
        "AUS": (lambda: "N" + digits(7), lambda: "PA" + digits(7)),
        "DEU": (lambda: "C" + letters(_GERMAN_ALPHABET, 8),),
        "AUT": (lambda: "P" + digits(7),),
        "FRA": (lambda: digits(2) + letters(_LETTERS, 2) + digits(5),),
        "ESP": (lambda: letters(_LETTERS, 3) + digits(6),),
        "MEX": (lambda: "G" + digits(8),),
        "RUS": (lambda: "7" + letters("2356") + digits(7),),
        # KOR: M + 8 digits, and since 2021 M + 3 digits + a letter + 4 digits.
        "KOR": (lambda: "M" + digits(8), lambda: "M" + digits(3) + "A" + digits(4)),
        "JPN": (lambda: letters("TM") + letters("KRZ") + digits(7),),
        "VNM": (lambda: letters("BCN") + digits(7),),
        "IND": (lambda: letters("JKLMNPRSTUVZ") + digits(7),),
    }
    return rng.choice(forms[nationality])()


def _lifelong(id_type: str, number: str) -> str:
    """The part of a number that stays with the holder (the permits' 终身号), as matching keys it.

    Outsiders and renewed documents are kept apart from registry persons by this key; different
    kinds of document share one key space on purpose (a Korean passport M12345678 and a Macao
    permit M12345678 must not both appear).
    """
    if id_type == IdType.HKMO_PERMIT and len(number) != _GB11643_LENGTH:
        return number[:9]
    if id_type == IdType.TW_PERMIT and len(number) != _GB11643_LENGTH:
        return number[:8]
    return number


_GB11643_LENGTH: Final = 18
_FIFTEEN_LENGTH: Final = 15


def fifteen_digit_form(number: str) -> str:
    """The first-generation 15-digit form of an 18-character number of someone born in 19xx."""
    return number[:6] + number[8:17]


def _gb11643(prefix: str, born: date, sequence: int) -> str:
    first17 = f"{prefix}{born.year:04d}{born.month:02d}{born.day:02d}{sequence:03d}"
    return first17 + prc_check_character(first17)


# --- regions ------------------------------------------------------------------------------------

# Not issued to residents of Taiwan, Hong Kong or Macao: they hold permits.
_NO_PRC_ID_PROVINCES: Final = frozenset({"71", "81", "82"})
# Court case-number abbreviations of the provinces (最高人民法院 2015 案号规定).
_PROVINCE_ABBREVIATIONS: Final = dict(
    zip(
        _words(
            "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 "
            "63 64 65"
        ),
        "京津冀晋内辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川黔云藏陕甘青宁新",
        strict=True,
    )
)
_NOT_A_PLACE: Final = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
_ALWAYS: Final = 9999


@cache
def _county_spans() -> tuple[tuple[str, int, int, bool], ...]:
    """Every county-level code: (code, first year, last year, still current)."""
    text = resources.files("shouhu.identity").joinpath("data", DATA_FILE).read_text("utf-8")
    codes = dict.fromkeys(line.split("\t", 1)[0] for line in text.splitlines()[1:] if line)
    spans = []
    for code in codes:
        if code.endswith("00") or code[:2] in _NO_PRC_ID_PROVINCES:
            continue
        history = region_history(code)
        current = history[-1].is_current
        last = _ALWAYS if current else max(r.last_year or _ALWAYS for r in history)
        spans.append((code, min(r.first_year for r in history), last, current))
    return tuple(spans)


@cache
def _regions_in(year: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(current codes, retired codes) that were in the code list of `year`."""
    valid = [span for span in _county_spans() if span[1] <= year <= span[2]]
    return (
        tuple(code for code, _, _, current in valid if current),
        tuple(code for code, _, _, current in valid if not current),
    )


@cache
def _courts() -> tuple[str, ...]:
    """Current county-level codes of the 31 provinces whose names are usable in authorities."""
    return tuple(
        code
        for code, _, _, current in _county_spans()
        if current and code[:2] in _PROVINCE_ABBREVIATIONS and _place_parts(code) is not None
    )


@cache
def _place_parts(code: str) -> tuple[str, str] | None:
    """(the city or province it belongs to, the county's own name) for authority names."""
    county = region_name(code)
    if county is None or len(county) < 2 or county[-1] not in "区县市旗":  # noqa: PLR2004
        return None
    province = region_name(code[:2] + "0000") or ""
    city = region_name(code[:4] + "00")
    if county.endswith("区") and city and city not in _NOT_A_PLACE:
        return city, county
    return province, county


# --- generating persons -------------------------------------------------------------------------


class _Factory:
    """Draws persons and documents from one random stream, never reusing a document number."""

    def __init__(self, rng: random.Random, used: set[str] | None = None) -> None:
        self.rng = rng
        self.used: set[str] = used if used is not None else set()
        # The tables of the hot path, looked up once (generating must reach 50,000 persons/s).
        self.surnames = _surnames()
        self.characters = {sex: _given_characters(sex) for sex in "MF"}
        self.whole_names = {
            (sex, era): _whole_given_names(sex, era)
            for sex in "MF"
            for era in range(len(_ERAS) + 1)
        }
        first, last = BIRTH_FIRST.toordinal(), BIRTH_LAST.toordinal()
        core_first, core_last = (day.toordinal() for day in _BIRTH_CORE)
        self._birth = (first, last - first + 1, core_first, core_last - core_first + 1)

    def claim(self, id_type: str, number: str) -> bool:
        """Reserve a number's lifelong part; False if a person already holds it."""
        key = _lifelong(id_type, number)
        if key in self.used:
            return False
        self.used.add(key)
        return True

    def birth_date(self) -> date:
        """A birth date in 1950-2006, most in 1965-1995."""
        first, span, core_first, core_span = self._birth
        draw = self.rng.random
        if draw() < _BIRTH_CORE_SHARE:
            return date.fromordinal(core_first + int(draw() * core_span))
        return date.fromordinal(first + int(draw() * span))

    def sequence(self, sex: str) -> int:
        """A 3-digit sequence code of the right parity (odd male), never 996-999."""
        return 2 * int(self.rng.random() * _SEQUENCE_PAIRS) + (1 if sex == "M" else 2)

    def region(self, born: date) -> str:
        """A county code in the code list when the number was issued; ~5% since retired."""
        current, retired = _regions_in(max(born.year, FIRST_ISSUE_YEAR))
        draw = self.rng.random
        if retired and draw() < RETIRED_REGION_SHARE:
            return retired[int(draw() * len(retired))]
        return current[int(draw() * len(current))]

    def prc_number(self, born: date, sex: str, *, avoid_region: str = "") -> tuple[str, str]:
        """(a new valid PRC number, its region), in a region other than `avoid_region`."""
        for _ in range(_MAX_TRIES):
            region = self.region(born)
            if region == avoid_region:
                continue
            number = _gb11643(region, born, self.sequence(sex))
            if number not in self.used:  # the lifelong key of a PRC number is the number
                self.used.add(number)
                return number, region
        raise RuntimeError("no free PRC number")

    def _unique(self, id_type: str, draw: Callable[[], str]) -> str:
        for _ in range(_MAX_TRIES):
            number = draw()
            if self.claim(id_type, number):
                return number
        raise RuntimeError(f"no free {id_type} number")

    def passport(self, nationality: str) -> str:
        """A new passport number in the country's format."""
        return self._unique(IdType.PASSPORT, lambda: _passport_format(nationality, self.rng))

    def permit(self, id_type: str, born: date, sex: str) -> str:
        """A new HK/Macao or Taiwan permit number: travel permit or residence permit."""
        rng = self.rng
        if rng.random() < RESIDENCE_PERMIT_OF_PERMITS:
            if id_type == IdType.TW_PERMIT:
                prefix = "830000"
            else:
                prefix = "820000" if rng.random() < MACAO_OF_HKMO else "810000"
            return self._unique(id_type, lambda: _gb11643(prefix, born, self.sequence(sex)))
        if id_type == IdType.TW_PERMIT:
            lifelong = self._unique(id_type, lambda: _draw(rng, _DIGITS, 8))
        else:
            letter = "M" if rng.random() < MACAO_OF_HKMO else "H"
            lifelong = self._unique(id_type, lambda: letter + _draw(rng, _DIGITS, 8))
        if rng.random() < RENEWAL_COUNT_SHARE:
            return f"{lifelong}{rng.randrange(8):02d}"
        return lifelong

    def foreign_pr(self, nationality: str, born: date, sex: str, *, old: bool) -> str:
        """A foreign permanent-residence ID number: the 2023 18-digit form or the old one."""
        rng = self.rng
        if old:
            # Nationality letters, 4-digit issuing place, YYMMDD, 2 digits (NIA rule, pre-2023).
            return self._unique(
                IdType.FOREIGN_PR_ID,
                lambda: (
                    f"{nationality}{rng.choice(('1100', '3100', '4400', '3200'))}"
                    f"{born:%y%m%d}{rng.randrange(100):02d}"
                ),
            )
        # 9, province, numeric nationality, birth date, sequence (odd male, assumed), check.
        province = rng.choice(("11", "31", "44", "32", "33", "37", "21", "51"))
        prefix = f"9{province}{_numeric(nationality)}"
        return self._unique(
            IdType.FOREIGN_PR_ID, lambda: _gb11643(prefix, born, self.sequence(sex))
        )

    # - names -

    def given_name(self, sex: str, born: date) -> str:
        """A given name typical of the person's sex and birth decade."""
        rng = self.rng
        era = _era(born.year)
        if rng.random() < _WHOLE_NAME_SHARE:
            return self.whole_names[sex, era].pick(rng)
        characters = self.characters[sex]
        if rng.random() < _SINGLE_CHARACTER_SHARE[era]:
            return characters.pick(rng)
        return characters.pick(rng) + characters.pick(rng)

    def han_name(
        self, sex: str, born: date, *, avoid: tuple[str, str] = ("", "")
    ) -> tuple[str, str]:
        """(surname, given name), both unlike `avoid`'s, split as names.py splits them."""
        for _ in range(_MAX_TRIES):
            surname = self.surnames.pick(self.rng)
            given = self.given_name(sex, born)
            if surname == avoid[0] or given == avoid[1]:
                continue
            # 乐 + 正X would read as the compound surname 乐正: draw again.
            if surname[0] not in _COMPOUND_INITIALS or split_han_name(surname + given) == (
                surname,
                given,
            ):
                return surname, given
        raise RuntimeError("no Chinese name")

    def former_names(self, surname: str, given: str, sex: str, born: date) -> tuple[str, ...]:
        """No former name (most), one (~13%) or two (~2%): mostly a changed given name."""
        roll = self.rng.random()
        count = 0
        if roll < ONE_FORMER_NAME_SHARE + TWO_FORMER_NAMES_SHARE:
            count = 2 if roll < TWO_FORMER_NAMES_SHARE else 1
        names: list[str] = []
        while len(names) < count:
            kind = _FORMER_NAME_KINDS.pick(self.rng)
            if kind == "given":
                other = surname + self.given_name(sex, born)
            elif kind == "surname":
                other = self.surnames.pick(self.rng) + given
            else:
                other = "".join(self.han_name(sex, born))
            if other != surname + given and other not in names:
                names.append(other)
        return tuple(names)

    def latin_name(self, nationality: str, sex: str) -> tuple[str, str, str]:
        """(surname, given name, native spelling or "") of a foreigner."""
        pool = _pool(nationality)
        rng = self.rng
        surname = rng.choice(pool.surnames)
        given = rng.choice(pool.male if sex == "M" else pool.female)
        if sex == "F":
            surname = pool.female_surname(surname)
        if nationality == "RUS":
            return _latin(surname), _latin(given), f"{surname} {given}"
        if nationality == "KOR":
            spellings = KOREAN_SURNAME_SPELLINGS.get(surname, ())
            traditional = spellings and rng.random() < _KOREAN_TRADITIONAL_SPELLING_SHARE
            latin_surname = spellings[0] if traditional else _latin(surname)
            syllables = [_latin(s).lower() for s in given]
            hyphenated = rng.random() < _HYPHENATED_KOREAN_GIVEN_SHARE
            latin_given = ("-" if hyphenated else "").join(syllables)
            return _title(latin_surname), _title(latin_given), surname + given
        return surname, given, ""

    def render_latin(self, nationality: str, surname: str, given: str) -> str:
        """A foreign name as a registry clerk writes it: order and capitals vary."""
        styles = _SURNAME_FIRST_STYLES if _pool(nationality).surname_first else _GIVEN_FIRST_STYLES
        return styles.pick(self.rng).format(surname=surname, SURNAME=surname.upper(), given=given)

    def chinese_alias(self, sex: str, born: date, first: str = "") -> str:
        """A Chinese name for a foreigner (the surname sounding like theirs, or Hanja)."""
        surname = first or self.rng.choice(_CHINESE_NAME_SURNAMES)
        return surname + self.given_name(sex, born)

    # - persons -

    def person(self, external_id: str, foreign_share: float) -> SyntheticPerson:
        """One person: Chinese, or with probability `foreign_share` foreign."""
        if self.rng.random() < foreign_share:
            return self.foreign(external_id)
        return self.chinese(external_id)

    def chinese(self, external_id: str) -> SyntheticPerson:
        """A Chinese citizen: PRC number (or a permit, or a passport) and a Han name."""
        rng = self.rng
        sex = "M" if rng.random() < _HALF else "F"
        born = self.birth_date()
        surname, given = self.han_name(sex, born)
        id_type, number, registered, region = self._chinese_document(born, sex)
        true_name = surname + given
        name = true_name
        if rng.random() < REGISTRY_TYPO_SHARE:
            name = _han_typo(rng, surname, given) or true_name
        aliases: tuple[str, ...] = ()
        alias_roll = rng.random()
        if id_type == IdType.HKMO_PERMIT and alias_roll < HKMO_ALIAS_SHARE:
            spelled = _cantonese().get(surname)
            if spelled:
                aliases = (f"{rng.choice(_ENGLISH_GIVEN[sex == 'F'])} {spelled}",)
        elif alias_roll < MAINLAND_ALIAS_SHARE:
            aliases = ("阿" + given[-1],)
        return SyntheticPerson(
            external_id=external_id,
            name=name,
            former_names=self.former_names(surname, given, sex, born),
            sex=sex,
            date_of_birth=born,
            nationality=CHINA,
            id_type=id_type,
            id_number=number,
            registered_id_number=registered,
            surname=surname,
            given_name=given,
            true_name=true_name,
            aliases=aliases,
            region=region,
        )

    def _chinese_document(self, born: date, sex: str) -> tuple[str, str, str, str]:
        """(id_type, canonical number, number as registered, region)."""
        roll = self.rng.random()
        if roll < PERMIT_SHARE:
            hkmo = roll < PERMIT_SHARE * HKMO_OF_PERMITS
            id_type = IdType.HKMO_PERMIT if hkmo else IdType.TW_PERMIT
            number = self.permit(id_type, born, sex)
            return id_type.value, number, number, ""
        if roll < PERMIT_SHARE + CHINESE_PASSPORT_SHARE:
            number = self.passport(CHINA)
            return IdType.PASSPORT.value, number, number, ""
        number, region = self.prc_number(born, sex)
        registered = number
        if born.year < FIFTEEN_DIGIT_BEFORE and self.rng.random() < FIFTEEN_DIGIT_SHARE:
            registered = fifteen_digit_form(number)
        return IdType.PRC_ID.value, number, registered, region

    def foreign(self, external_id: str, nationality: str = "") -> SyntheticPerson:
        """A foreigner: passport (or permanent-residence ID) and a name in their letters."""
        rng = self.rng
        nationality = nationality or _nationalities().pick(rng)
        sex = "M" if rng.random() < _HALF else "F"
        born = self.birth_date()
        surname, given, native = self.latin_name(nationality, sex)
        id_type, number = self.foreign_document(nationality, born, sex)
        name = self.render_latin(nationality, surname, given)
        aliases: tuple[str, ...] = ()
        if rng.random() < FOREIGN_ALIAS_SHARE:
            hanja = _HANJA_SURNAMES.get(native[:1], "") if native else ""
            aliases = (self.chinese_alias(sex, born, hanja),)
        former: tuple[str, ...] = ()
        # A maiden name: women only, so twice the share among them.
        if sex == "F" and rng.random() < FOREIGN_FORMER_NAME_SHARE * 2:
            maiden, _, _ = self.latin_name(nationality, sex)  # a surname before marriage
            if maiden != surname:
                former = (self.render_latin(nationality, maiden, given),)
        true_name = name
        if rng.random() < REGISTRY_TYPO_SHARE:
            name = _latin_typo(rng, name) or name
        return SyntheticPerson(
            external_id=external_id,
            name=name,
            former_names=former,
            sex=sex,
            date_of_birth=born,
            nationality=nationality,
            id_type=id_type,
            id_number=number,
            registered_id_number=number,
            surname=surname,
            given_name=given,
            true_name=true_name,
            aliases=aliases,
            native_name=native,
        )

    def foreign_document(self, nationality: str, born: date, sex: str) -> tuple[str, str]:
        """(id_type, number): a passport, or a permanent-residence ID."""
        if self.rng.random() < FOREIGN_PR_SHARE:
            old = self.rng.random() < OLD_PR_OF_PR
            return IdType.FOREIGN_PR_ID.value, self.foreign_pr(nationality, born, sex, old=old)
        return IdType.PASSPORT.value, self.passport(nationality)


def generate_persons(
    count: int, *, seed: int = 0, foreign_share: float = 0.08
) -> Iterator[SyntheticPerson]:
    """`count` distinct synthetic persons, the same for the same seed (see the module doc)."""
    factory = _Factory(_rng(seed))
    for index in range(count):
        yield factory.person(f"SYN{index:08d}", foreign_share)


# --- typing errors ------------------------------------------------------------------------------

# Neighbouring keys on a QWERTY keyboard, for letter substitutions.
_QWERTY_ROWS: Final = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_MIN_TYPO_WORD: Final = 4


@cache
def _neighbours() -> dict[str, str]:
    result: dict[str, str] = {}
    for row in _QWERTY_ROWS:
        for i, key in enumerate(row):
            result[key] = row[max(0, i - 1) : i] + row[i + 1 : i + 2]
    return result


def _han_typo(rng: random.Random, surname: str, given: str) -> str | None:
    """The name with one character replaced by a look-alike; None if none has one."""
    name = surname + given
    positions = [i for i, c in enumerate(name) if c in _look_alikes()]
    if not positions:
        return None
    i = rng.choice(positions)
    typo = name[:i] + _look_alikes()[name[i]] + name[i + 1 :]
    # A typo that turns the name into one with a compound surname would change its reading.
    return typo if len(split_han_name(typo)[0]) == len(surname) else None


def _word_typo(rng: random.Random, word: str) -> str:
    """One typing error in a word: a neighbouring key, a dropped, doubled or swapped letter."""
    i = rng.randrange(1, len(word) - 1)  # the first letter is the one people get right
    kind = rng.randrange(4)
    letter = word[i]
    if kind == 0 and letter.lower() in _neighbours():
        wrong = rng.choice(_neighbours()[letter.lower()])
        return word[:i] + (wrong.upper() if letter.isupper() else wrong) + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    if kind == 2:  # noqa: PLR2004
        return word[:i] + letter + word[i:]
    return word[:i] + word[i + 1] + letter + word[i + 2 :]


def _latin_typo(rng: random.Random, name: str) -> str | None:
    """The name with one typing error in its longest word; None if no word is long enough."""
    words = re.split(r"(\W+)", name)
    longest = max(range(len(words)), key=lambda i: (len(words[i]), -i))
    if len(words[longest]) < _MIN_TYPO_WORD or not words[longest].isalpha():
        return None
    for _ in range(_MAX_TRIES):
        typo = _word_typo(rng, words[longest])
        if typo != words[longest]:
            return "".join([*words[:longest], typo, *words[longest + 1 :]])
    return None


# --- registry rows ------------------------------------------------------------------------------

_RECORD_KINDS: Final = (
    (RecordKind.CONVICTION, 70.0),
    (RecordKind.NON_PROSECUTION, 15.0),
    (RecordKind.ADMINISTRATIVE_PENALTY, 15.0),
)
# Relative frequencies of the catalogue's offences (codes not listed weigh 1).
_OFFENCE_WEIGHTS: Final = {
    "child_molestation": 30.0,
    "forcible_indecency": 25.0,
    "rape": 20.0,
    "intentional_injury": 7.0,
    "abuse": 4.0,
    "sex_with_minor_in_care": 3.0,
    "trafficking": 3.0,
    "abuse_under_care": 3.0,
    "minor_prostitution": 2.0,
    "child_abduction": 2.0,
    "indecency_administrative": 1.0,
}
# No decision before the law that creates the offence: the 1997 Criminal Law, Amendment IX
# (art. 260-1, 2015-11-01), Amendment XI (art. 236-1, 2021-03-01), the 2005 Public Security
# Administration Punishments Law (in force 2006-03-01).
_CRIMINAL_LAW: Final = date(1997, 10, 1)
_IN_FORCE: Final = {
    "abuse_under_care": date(2015, 11, 1),
    "sex_with_minor_in_care": date(2021, 3, 1),
    "indecency_administrative": date(2006, 3, 1),
}
_AGE_OF_RESPONSIBILITY: Final = 14
_TWO_RECORDS_SHARE: Final = 0.2
_OWN_REGION_SHARE: Final = 0.6  # decided where the person's number was issued
_NEW_CASE_NUMBERS: Final = 2016  # 案号 of the form (2019)京0108刑初1234号 since 2016
_OPTIONAL_BIRTH_FIELDS_SHARE: Final = 0.15  # rows leaving sex and birth date to the PRC number


@cache
def _offences(kind: RecordKind) -> _Weighted[str]:
    return _Weighted(
        (offence.code, _OFFENCE_WEIGHTS.get(offence.code, 1.0))
        for offence in catalogue().offences.values()
        if kind in offence.record_kinds
    )


def _birthday(born: date, years: int) -> date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # born on 29 February
        return born.replace(year=born.year + years, day=28)


def _authority(kind: RecordKind, code: str, decided: date, serial: int) -> tuple[str, str]:
    """(decision authority, decision number) of a decision taken in county `code`."""
    place = _place_parts(code)
    assert place is not None  # noqa: S101 - _courts() keeps only places with names
    city, county = place
    abbreviation = _PROVINCE_ABBREVIATIONS[code[:2]]
    short, year = county[0], decided.year
    if kind is RecordKind.CONVICTION:
        if year >= _NEW_CASE_NUMBERS:
            return f"{city}{county}人民法院", f"({year}){abbreviation}{code[2:]}刑初{serial}号"
        return f"{city}{county}人民法院", f"({year}){short}刑初字第{serial}号"
    if kind is RecordKind.NON_PROSECUTION:
        return f"{city}{county}人民检察院", f"{abbreviation}{short}检刑不诉〔{year}〕{serial}号"
    if county.endswith("区") and len(county) > 2:  # noqa: PLR2004 - 海淀区 → 海淀分局
        police = f"{city}公安局{county[:-1]}分局"
    else:
        police = f"{county}公安局"
    return police, f"{abbreviation}公{short}行罚决字〔{year}〕{serial}号"


def _record(
    rng: random.Random, person: SyntheticPerson, kind: RecordKind
) -> tuple[str, str, str, date]:
    """(offence, authority, number, decision date) for one record of the person."""
    earliest_age = _birthday(person.date_of_birth, _AGE_OF_RESPONSIBILITY)
    for _ in range(_MAX_TRIES):
        offence = _offences(kind).pick(rng)
        earliest = max(earliest_age, _IN_FORCE.get(offence, _CRIMINAL_LAW))
        if earliest <= AS_OF:
            break
    else:
        raise RuntimeError("no offence possible for this birth date")
    decided = earliest + timedelta(days=rng.randrange((AS_OF - earliest).days + 1))
    own = person.region if person.region in _court_set() else ""
    code = own if own and rng.random() < _OWN_REGION_SHARE else rng.choice(_courts())
    authority, number = _authority(kind, code, decided, rng.randrange(1, 3000))
    return offence, authority, number, decided


@cache
def _court_set() -> frozenset[str]:
    return frozenset(_courts())


def registry_rows(persons: Iterable[SyntheticPerson], *, seed: int = 0) -> Iterator[dict[str, str]]:
    """Import rows (importer.COLUMNS) for the persons: one or two records each."""
    rng = _rng(seed)
    for person in persons:
        blank = person.id_type == IdType.PRC_ID and rng.random() < _OPTIONAL_BIRTH_FIELDS_SHARE
        base = {
            "external_id": person.external_id,
            "name": person.name,
            "former_names": ";".join((*person.former_names, *person.aliases)),
            "sex": "" if blank else person.sex,
            "date_of_birth": "" if blank else person.date_of_birth.isoformat(),
            "nationality": ""
            if person.nationality == CHINA and rng.random() < _HALF
            else person.nationality,
            "id_type": person.id_type,
            "id_number": person.registered_id_number,
        }
        count = 2 if rng.random() < _TWO_RECORDS_SHARE else 1
        seen: set[tuple[str, str, str]] = set()
        while len(seen) < count:
            kind = _record_kinds().pick(rng)
            offence, authority, number, decided = _record(rng, person, kind)
            if (kind.value, offence, number) in seen:
                continue
            seen.add((kind.value, offence, number))
            yield {
                **base,
                "record_kind": kind.value,
                "offence": offence,
                "decision_authority": authority,
                "decision_number": number,
                "decision_date": decided.isoformat(),
            }


@cache
def _record_kinds() -> _Weighted[RecordKind]:
    return _Weighted(_RECORD_KINDS)


def write_registry_csv(path: Path, persons: Iterable[SyntheticPerson], *, seed: int = 0) -> int:
    """Write a registry import file (UTF-8, header row); returns the number of rows."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        written = 0
        for row in registry_rows(persons, seed=seed):
            writer.writerow(row)
            written += 1
    return written


# --- queries ------------------------------------------------------------------------------------

_PALLADIUS_SHARE: Final = 0.25  # CYRILLIC queries about Chinese persons (Чжан Вэй), not Russians
_SAME_SEX_HOMONYM_SHARE: Final = 0.9
_SPACED_HANGUL_SHARE: Final = 0.2
_RENEWAL_COUNTS: Final = 16
_TW_OFFICE_LETTERS: Final = "ABCDFGHJK"
_NON_WORD: Final = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class _Draft:
    """What a query says, before birth date and sex are blanked where the document has them."""

    name: str
    id_type: str
    id_number: str
    born: date
    sex: str
    nationality: str
    target: str | None


def _carries(id_type: str, number: str) -> tuple[bool, bool]:
    """Whether the document's number carries (birth date, sex)."""
    if id_type == IdType.PRC_ID:
        return True, True
    if len(number) != _GB11643_LENGTH:
        return False, False
    # Residence permits are GB 11643-shaped; the 2023 PR number's sex digit is not read.
    return True, id_type != IdType.FOREIGN_PR_ID


def _near(first: date, second: date) -> bool:
    """Whether two birth dates could be one mistyped: two parts equal, or day and month swapped."""
    equal = (first.year == second.year) + (first.month == second.month) + (first.day == second.day)
    swapped = first.year == second.year and (first.month, first.day) == (second.day, second.month)
    return equal >= 2 or swapped  # noqa: PLR2004


@cache
def _character_sound(character: str) -> str:
    return lazy_pinyin(character)[0]


def _sound(name: str) -> str:
    """A key equal for names that sound alike: toneless pinyin, or the letters' words sorted."""
    if _is_han_text(name):
        return "".join(_character_sound(c) for c in name)
    folded = anyascii(name).lower().replace("'", "").replace("-", "")
    return " ".join(sorted(word for word in _NON_WORD.split(folded) if word))


@cache
def _cyrillic_syllable(syllable: str) -> str:
    converted: str = convert_style(syllable, Style.CYRILLIC, strict=False, default="")
    return "".join(c for c in converted if not c.isdigit())


def _palladius(name: str) -> str | None:
    """A Chinese name in the Russian (Palladius) transcription of its first reading."""
    surname, given = split_han_name(name)
    readings = surname_readings(surname)
    if not readings or not given:
        return None
    # The first option of each character: the reading `normalise_name` puts first.
    given_syllables = [syllable for unit in given_name_readings(given) for syllable in unit[0]]
    words = ["".join(map(_cyrillic_syllable, part)) for part in (readings[0], given_syllables)]
    if not all(words):
        return None
    text = " ".join(word.capitalize() for word in words)
    # Palladius is not always read back one way (Дуни: dong yi or du ni); keep it where it is.
    return text if name_keys(text) & name_keys(name) else None


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def _icao(text: str) -> str:
    return _strip_accents("".join(_ICAO.get(c, c) for c in text)).upper()


def _latin_variants(person: SyntheticPerson) -> list[str]:
    """The registry's Latin name in capitals, with accents dropped or spelled out, reordered."""
    name = person.name
    variants = [
        name.upper(),
        name.lower(),
        _strip_accents(name),
        _icao(name),
        name.replace("-", " "),
    ]
    if person.nationality == "JPN":  # Hepburn with macrons, as written in Japan
        variants.append(" ".join(_MACRONS.get(word.capitalize(), word) for word in name.split()))
    if name == person.true_name:
        surname, given = person.surname, person.given_name
        variants += [f"{surname.upper()}, {given}", f"{given} {surname.upper()}"]
    return [v for v in dict.fromkeys(variants) if v != name]


class _QueryMaker:
    """Draws queries about the registry's persons, and about people who are not in it."""

    def __init__(self, registry: Sequence[SyntheticPerson], seed: int) -> None:
        self.registry = registry
        self.rng = _rng(seed)
        used = {_lifelong(p.id_type, p.id_number) for p in registry}
        # Outsiders and new documents come from their own stream; `used` keeps their numbers
        # off every registry person's.
        self.factory = _Factory(_rng(f"{seed}:outsiders"), used)
        self.pools = _pools(registry)
        self._sounds: dict[str, list[date]] | None = None
        self.makers: dict[Category, tuple[str, Callable[[SyntheticPerson], _Draft | None]]] = {
            Category.EXACT: ("all", lambda p: self.same(p, p.name)),
            Category.ID_15_DIGIT: ("prc_19xx", self.fifteen),
            Category.TRADITIONAL: ("han", self.traditional),
            Category.PINYIN: ("han", lambda p: self.pinyin(p, swapped=False)),
            Category.PINYIN_SWAPPED: ("han", lambda p: self.pinyin(p, swapped=True)),
            Category.CAPITALS_DIACRITICS: ("latin", self.capitals),
            Category.CYRILLIC: ("russian", self.cyrillic),
            Category.HANGUL: ("korean", self.hangul),
            Category.FORMER_NAME: (
                "former",
                lambda p: self.same(p, self.rng.choice(p.former_names)),
            ),
            Category.ALIAS: ("alias", lambda p: self.same(p, self.rng.choice(p.aliases))),
            Category.NAME_CHANGED_SAME_ID: ("all", self.name_changed),
            Category.HOMOPHONE_TYPO_SAME_ID: ("han", self.homophone),
            Category.NAME_TYPO_SAME_ID: ("all", self.typo),
            Category.REGISTRY_TYPO_SAME_ID: ("retyped", lambda p: self.same(p, p.true_name)),
            Category.PERMIT_RENEWED: ("travel_permit", self.permit_renewed),
            Category.NEW_ID_SAME_NAME_DOB_SEX: ("new_id", self.new_id),
            Category.RENEWED_PASSPORT: ("passport", self.renewed_passport),
            Category.HOMONYM_SAME_BIRTH_DATE_NOT_IN_REGISTRY: ("all", self.homonym_same_birth),
            Category.HOMONYM_NOT_IN_REGISTRY: ("all", self.homonym),
            Category.STRANGER: ("all", self.stranger),
        }

    def query(self, reference: str, category: Category) -> SyntheticQuery:
        """One query of the category; ValueError if the registry has no one to base it on."""
        draft = self.draft(category)
        dob_carried, sex_carried = _carries(draft.id_type, draft.id_number)
        explicit = self.rng.random() < _HALF
        # A passport needs its country; a Chinese document implies it.
        implied = draft.nationality == CHINA and draft.id_type != IdType.PASSPORT
        return SyntheticQuery(
            reference=reference,
            name=draft.name,
            id_type=draft.id_type,
            id_number=draft.id_number,
            date_of_birth=draft.born.isoformat() if explicit or not dob_carried else "",
            sex=draft.sex if explicit or not sex_carried else "",
            nationality=draft.nationality if explicit or not implied else "",
            category=category,
            expected=EXPECTED[category],
            target_external_id=draft.target,
        )

    def draft(self, category: Category) -> _Draft:
        """A draft of the category about a person drawn from the category's pool."""
        pool_name, make = self.makers[category]
        if category is Category.CYRILLIC and (
            not self.pools["russian"] or self.rng.random() < _PALLADIUS_SHARE
        ):
            pool_name, make = "han", self.palladius
        pool = self.pools[pool_name]
        for _ in range(_MAX_TRIES if pool else 0):
            draft = make(self.registry[pool[self.rng.randrange(len(pool))]])
            if draft is not None:
                return draft
        raise ValueError(f"the registry has no person to base a {category.value} query on")

    # - the person, varied -

    @staticmethod
    def same(person: SyntheticPerson, name: str, number: str = "") -> _Draft:
        """The person's registered document and birth data under `name`."""
        return _Draft(
            name=name,
            id_type=person.id_type,
            id_number=number or person.registered_id_number,
            born=person.date_of_birth,
            sex=person.sex,
            nationality=person.nationality,
            target=person.external_id,
        )

    def fifteen(self, person: SyntheticPerson) -> _Draft:
        """The other form of the PRC number: 15 digits if registered with 18, and back."""
        registered = person.registered_id_number
        other = person.id_number if len(registered) == _FIFTEEN_LENGTH else None
        return self.same(person, person.name, other or fifteen_digit_form(person.id_number))

    def traditional(self, person: SyntheticPerson) -> _Draft | None:
        """The name in traditional characters, if any of them changes (and simplifies back)."""
        converted: str = _s2t().convert(person.name)
        if converted == person.name or to_simplified(converted) != person.name:
            return None
        return self.same(person, converted)

    def pinyin(self, person: SyntheticPerson, *, swapped: bool) -> _Draft | None:
        """The name in pinyin with the surname's reading: "Zhang Wei", "ZHANG Wei", "Wei Zhang"."""
        parts = normalise_name(person.name).romanisations[0].parts
        style = self.rng.randrange(3)
        surname = parts[0].upper() if style else parts[0].capitalize()
        given = "".join(parts[1:])
        given = given.upper() if style == 2 else given.capitalize()  # noqa: PLR2004
        return self.same(person, f"{given} {surname}" if swapped else f"{surname} {given}")

    def capitals(self, person: SyntheticPerson) -> _Draft | None:
        """A Latin name with other capitals, accents, commas or hyphens."""
        variants = _latin_variants(person)
        return self.same(person, self.rng.choice(variants)) if variants else None

    def cyrillic(self, person: SyntheticPerson) -> _Draft | None:
        """A Russian's name in Cyrillic, in either order."""
        if person.name != person.true_name:
            return None  # the registry's spelling has a typo that the Cyrillic does not
        surname, given = person.native_name.split(" ", 1)
        name = self.rng.choice(
            (f"{surname} {given}", f"{given} {surname}", f"{surname.upper()} {given}")
        )
        return self.same(person, name)

    def palladius(self, person: SyntheticPerson) -> _Draft | None:
        """A Chinese name in Cyrillic (Palladius), as Russian documents write it."""
        name = _palladius(person.name)
        return self.same(person, name) if name else None

    def hangul(self, person: SyntheticPerson) -> _Draft | None:
        """A Korean's name in Hangul, usually run together."""
        if person.name != person.true_name:
            return None  # the registry's spelling has a typo that the Hangul does not
        native = person.native_name
        spaced = self.rng.random() < _SPACED_HANGUL_SHARE
        return self.same(person, f"{native[0]} {native[1:]}" if spaced else native)

    def name_changed(self, person: SyntheticPerson) -> _Draft | None:
        """A completely different name (surname and given name) on the same document."""
        if person.is_han:
            surname, given = self.factory.han_name(
                person.sex, person.date_of_birth, avoid=split_han_name(person.name)
            )
            return self.same(person, surname + given)
        surname, given, _ = self.factory.latin_name(person.nationality, person.sex)
        if surname == person.surname or given == person.given_name:
            return None
        return self.same(person, self.factory.render_latin(person.nationality, surname, given))

    def homophone(self, person: SyntheticPerson) -> _Draft | None:
        """One given-name character replaced by another with the same (only) reading."""
        surname, given = split_han_name(person.name)
        positions = [i for i, c in enumerate(given) if c in _homophones()]
        if not positions:
            return None
        i = self.rng.choice(positions)
        typo = surname + given[:i] + self.rng.choice(_homophones()[given[i]]) + given[i + 1 :]
        mine, theirs = normalise_name(person.name), normalise_name(typo)
        if mine.romanisations[0].joined != theirs.romanisations[0].joined:
            return None  # the phrase table read one of them otherwise
        return self.same(person, typo)

    def typo(self, person: SyntheticPerson) -> _Draft | None:
        """A look-alike wrong character in a Han name, a typing error in a Latin one."""
        if person.is_han:
            typo = _han_typo(self.rng, *split_han_name(person.name))
        else:
            typo = _latin_typo(self.rng, person.name)
        return self.same(person, typo) if typo and typo != person.name else None

    def permit_renewed(self, person: SyntheticPerson) -> _Draft | None:
        """The permit with another renewal count (or none): the lifelong number is the same."""
        lifelong = _lifelong(person.id_type, person.id_number)
        count = person.id_number[len(lifelong) :]
        options = [f"{lifelong}{n:02d}" for n in range(_RENEWAL_COUNTS)]
        if count:
            options.append(lifelong)
        if person.id_type == IdType.TW_PERMIT:
            # Permits before 2008 also printed the issuing office's code: 1234567801(B).
            options.append(f"{lifelong}{count or '01'}({self.rng.choice(_TW_OFFICE_LETTERS)})")
        number = self.rng.choice([option for option in options if option != person.id_number])
        return self.same(person, person.name, number)

    def new_id(self, person: SyntheticPerson) -> _Draft | None:
        """A new valid number (another region and sequence), same name, birth date and sex."""
        return _replace_document(
            person, *self.new_document(person, person.date_of_birth, person.sex)
        )

    def renewed_passport(self, person: SyntheticPerson) -> _Draft | None:
        """A new passport of the same country."""
        return _replace_document(
            person, IdType.PASSPORT.value, self.factory.passport(person.nationality)
        )

    def new_document(self, person: SyntheticPerson, born: date, sex: str) -> tuple[str, str]:
        """A new document of the kind the person holds, for this birth date and sex."""
        factory = self.factory
        if person.id_type == IdType.PRC_ID:
            return IdType.PRC_ID.value, factory.prc_number(born, sex, avoid_region=person.region)[0]
        if person.id_type in {IdType.HKMO_PERMIT, IdType.TW_PERMIT}:
            return person.id_type, factory.permit(person.id_type, born, sex)
        if person.id_type == IdType.FOREIGN_PR_ID:
            return person.id_type, factory.foreign_pr(person.nationality, born, sex, old=False)
        return IdType.PASSPORT.value, factory.passport(person.nationality)

    # - outsiders -

    def sounds(self) -> dict[str, list[date]]:
        """The birth dates of registry persons by the sound of each of their names."""
        if self._sounds is None:
            self._sounds = {}
            for person in self.registry:
                names = {person.name, person.true_name, *person.former_names, *person.aliases}
                for name in names:
                    self._sounds.setdefault(_sound(name), []).append(person.date_of_birth)
        return self._sounds

    def clear_of_registry(self, name: str, born: date) -> bool:
        """Whether no registry person with a name sounding like `name` was born near `born`."""
        return not any(_near(born, known) for known in self.sounds().get(_sound(name), ()))

    def outsider(self, person: SyntheticPerson, born: date, sex: str) -> _Draft:
        """Someone else with the person's name: a new document of the same kind."""
        id_type, number = self.new_document(person, born, sex)
        return _Draft(person.name, id_type, number, born, sex, person.nationality, target=None)

    def homonym_same_birth(self, person: SyntheticPerson) -> _Draft | None:
        """Another person with the same name, birth date and sex."""
        return self.outsider(person, person.date_of_birth, person.sex)

    def homonym(self, person: SyntheticPerson) -> _Draft | None:
        """Another person with the same name, born on a date far from any namesake's."""
        born = self.factory.birth_date()
        if not self.clear_of_registry(person.name, born):
            return None
        same_sex = self.rng.random() < _SAME_SEX_HOMONYM_SHARE
        sex = person.sex if same_sex else ("F" if person.sex == "M" else "M")
        return self.outsider(person, born, sex)

    def stranger(self, _: SyntheticPerson) -> _Draft | None:
        """A fresh person whose name and birth date meet no registry person's."""
        fresh = self.factory.person("", foreign_share=0.08)
        if not self.clear_of_registry(fresh.name, fresh.date_of_birth):
            return None
        draft = self.same(fresh, fresh.name)
        return _Draft(
            draft.name,
            draft.id_type,
            draft.id_number,
            draft.born,
            draft.sex,
            draft.nationality,
            target=None,
        )


def _replace_document(person: SyntheticPerson, id_type: str, number: str) -> _Draft:
    """The person's name and birth data with another document."""
    return _Draft(
        person.name,
        id_type,
        number,
        person.date_of_birth,
        person.sex,
        person.nationality,
        person.external_id,
    )


_POOL_NAMES: Final = (
    "all",
    "han",
    "latin",
    "russian",
    "korean",
    "prc_19xx",
    "travel_permit",
    "passport",
    "former",
    "alias",
    "retyped",
    "new_id",
)


def _pools(registry: Sequence[SyntheticPerson]) -> dict[str, list[int]]:
    """Indexes of the registry persons each kind of query can be about."""
    pools: dict[str, list[int]] = {name: [] for name in _POOL_NAMES}
    for index, person in enumerate(registry):
        pools["all"].append(index)
        for name in (*_name_pools(person), *_document_pools(person)):
            pools[name].append(index)
    return pools


def _name_pools(person: SyntheticPerson) -> Iterator[str]:
    """The pools a person's names put them in."""
    if person.is_han:
        yield "han"
    elif person.nationality != CHINA:
        yield "latin"
    if person.nationality == "RUS" and person.native_name:
        yield "russian"
    if person.nationality == "KOR" and person.native_name:
        yield "korean"
    if person.former_names:
        yield "former"
    if person.aliases:
        yield "alias"
    if person.true_name != person.name:
        yield "retyped"


def _document_pools(person: SyntheticPerson) -> Iterator[str]:
    """The pools a person's document puts them in."""
    if person.id_type in {IdType.PRC_ID, IdType.FOREIGN_PR_ID}:
        yield "new_id"
    # 15-digit numbers were issued to people born in the 1900s (and to centenarians).
    if person.id_type == IdType.PRC_ID and person.date_of_birth.year // 100 == 19:  # noqa: PLR2004
        yield "prc_19xx"
    permit = person.id_type in {IdType.HKMO_PERMIT, IdType.TW_PERMIT}
    if permit and len(person.id_number) != _GB11643_LENGTH:
        yield "travel_permit"
    if person.id_type == IdType.PASSPORT:
        yield "passport"


def generate_queries(
    registry: Sequence[SyntheticPerson],
    count: int,
    *,
    seed: int = 0,
    categories: Iterable[Category] | None = None,
) -> Iterator[SyntheticQuery]:
    """`count` queries spread evenly (and shuffled) over the categories; see the module doc.

    Each category gets `count // len(categories)` queries or one more. ValueError if the
    registry has no person a category needs (no Russians for CYRILLIC, say).
    """
    maker = _QueryMaker(registry, seed)
    chosen = list(categories) if categories is not None else list(Category)
    schedule = [chosen[i % len(chosen)] for i in range(count)]
    maker.rng.shuffle(schedule)
    for number, category in enumerate(schedule, start=1):
        yield maker.query(f"Q{number:08d}", category)


def write_queries_csv(path: Path, queries: Iterable[SyntheticQuery]) -> int:
    """Write a screening file (DESIGN.md §6 columns, UTF-8, header row); returns the rows."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=SCREENING_COLUMNS)
        writer.writeheader()
        written = 0
        for query in queries:
            writer.writerow(query.screening_row())
            written += 1
    return written
