"""Name normalisation: scripts, surname readings, heteronyms, keys and similarity.

The names are common names or invented ones: no registry person's name belongs here.
"""

from __future__ import annotations

from random import Random

import opencc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shouhu.identity.errors import IdentityError
from shouhu.identity.names import (
    MAX_LENGTH,
    NameComparison,
    NameMatchReason,
    NormalisedName,
    name_keys,
    name_similarity,
    normalise_name,
)
from shouhu.identity.pinyin import MAX_READINGS, Scheme

EQUAL_REASONS = {NameMatchReason.PINYIN_EQUAL, NameMatchReason.PINYIN_ORDER_SWAPPED}
TO_TRADITIONAL = opencc.OpenCC("s2t")

# Surnames whose reading as a surname is not the everyday one, with a given name after them.
SURNAME_READINGS = [
    ("单", "shan"),
    ("曾", "zeng"),
    ("区", "ou"),
    ("仇", "qiu"),
    ("解", "xie"),
    ("朴", "piao"),
    ("查", "zha"),
    ("盖", "ge"),
    ("乐", "yue"),
    ("覃", "qin"),
    ("缪", "miao"),
    ("召", "shao"),
    ("尉迟", "yuchi"),
    ("万俟", "moqi"),
    ("长孙", "zhangsun"),
    ("令狐", "linghu"),
    ("秘", "bi"),
    ("员", "yun"),
    ("黑", "he"),
    ("种", "chong"),
    ("繁", "po"),
    ("翟", "zhai"),
    ("隗", "wei"),
    ("逄", "pang"),
    ("折", "she"),
    ("能", "nai"),
    ("宓", "fu"),
    ("葛", "ge"),
    ("朝", "chao"),
]

COMPOUND_SURNAMES = [
    *("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文"),
    *("司徒", "夏侯", "令狐", "端木", "万俟", "澹台", "公冶", "宗政", "濮阳", "淳于", "单于"),
    *("太叔", "申屠", "轩辕", "呼延", "南宫", "东郭", "闻人", "拓跋", "百里", "钟离"),
]


def pinyin_readings(name: NormalisedName) -> list[tuple[str, ...]]:
    return [r.parts for r in name.romanisations if r.scheme is Scheme.PINYIN]


# --- Han names: surname readings, compound surnames, traditional characters ---


@pytest.mark.parametrize(("surname", "reading"), SURNAME_READINGS)
def test_surname_is_read_as_a_surname(surname: str, reading: str) -> None:
    name = normalise_name(surname + "明")
    assert name.han_surname == surname
    assert name.tokens == (reading, "ming")
    comparison = name_similarity(name, f"{reading.upper()} Ming")
    assert comparison.reason is NameMatchReason.PINYIN_EQUAL
    assert comparison.score == 0.95  # the most likely reading, not a variant
    swapped = name_similarity(f"Ming {reading.title()}", name)
    assert swapped.reason is NameMatchReason.PINYIN_ORDER_SWAPPED
    assert f"rom:{reading}ming" in name_keys(name)


@pytest.mark.parametrize(
    ("name", "everyday"), [("单田芳", "dan"), ("曾国藩", "ceng"), ("朴明", "pu")]
)
def test_a_converters_everyday_reading_still_matches_as_a_variant(name: str, everyday: str) -> None:
    # Documents typed through a converter without surname rules carry the everyday reading.
    normalised = normalise_name(name)
    latin = f"{everyday} {normalised.tokens[1]}"
    assert name_keys(name) & name_keys(latin)
    comparison = name_similarity(name, latin)
    assert comparison.reason is NameMatchReason.PINYIN_EQUAL
    assert comparison.score < name_similarity(name, " ".join(normalised.tokens)).score


@pytest.mark.parametrize("surname", COMPOUND_SURNAMES)
def test_compound_surname_is_split_off(surname: str) -> None:
    name = normalise_name(surname + "明")
    assert (name.han_surname, name.han_given) == (surname, "明")
    assert name.tokens[1] == "ming"
    assert len(name.tokens) == 2


def test_compound_surname_readings_and_traditional_forms() -> None:
    assert normalise_name("歐陽修").han_parts == ("欧阳", "修")
    assert normalise_name("歐陽修").tokens == ("ouyang", "xiu")
    assert normalise_name("單于明").tokens == ("chanyu", "ming")
    assert normalise_name("乐正明").tokens == ("yuezheng", "ming")  # pypinyin alone: lezheng
    assert normalise_name("爱新觉罗溥仪").han_parts == ("爱新觉罗", "溥仪")


def test_a_compound_surname_alone_is_surname_and_given_name() -> None:
    name = normalise_name("欧阳")
    assert name.han_parts == ("欧", "阳")


def test_a_compound_surname_is_also_read_as_single_surname_and_given_name() -> None:
    # 单于明 is most likely Chanyu Ming, but may be Shan Yuming: both must be found.
    assert name_keys("单于明") >= {"rom:chanyuming", "rom:shanyuming"}
    comparison = name_similarity("单于明", "Shan Yuming")
    assert comparison.reason is NameMatchReason.PINYIN_EQUAL
    assert comparison.score < name_similarity("单于明", "Chanyu Ming").score


def test_a_space_states_the_surname() -> None:
    explicit = normalise_name("单 于明")
    assert explicit.han_parts == ("单", "于明")
    assert explicit.tokens == ("shan", "yuming")
    assert explicit.display == "单 于明"
    assert normalise_name("张 晓明") == normalise_name("张晓明")
    assert normalise_name("张 晓明").display == "张晓明"
    assert normalise_name("王 小 明") == normalise_name("王小明")


def test_married_womans_double_surname_is_not_split_specially() -> None:
    name = normalise_name("张王丽")
    assert name.han_parts == ("张", "王丽")
    assert name_keys("张王丽") & name_keys("Zhang Wang Li")


def test_a_han_name_carries_its_pinyin_forms() -> None:
    reading = normalise_name("歐陽曉明").romanisations[0]
    assert reading.scheme is Scheme.PINYIN
    assert reading.spaced == "ouyang xiaoming"
    assert reading.joined == "ouyangxiaoming"
    assert reading.swapped_spaced == "xiaoming ouyang"
    assert reading.swapped_joined == "xiaomingouyang"


def test_traditional_and_simplified_are_the_same_name() -> None:
    traditional, simplified = normalise_name("單田芳"), normalise_name("单田芳")
    assert traditional == simplified
    assert traditional.display == "单田芳"
    assert traditional.tokens == ("shan", "tianfang")
    assert name_keys(traditional) == name_keys(simplified)
    assert name_similarity("單田芳", "单田芳") == NameComparison(
        1.0, NameMatchReason.TRADITIONAL_SIMPLIFIED
    )
    assert name_similarity("单田芳", "单 田芳") == NameComparison(1.0, NameMatchReason.EXACT_HAN)


@pytest.mark.parametrize(
    ("variant", "simplified"),
    [
        ("衞明", "卫明"),
        ("鍾離春", "钟离春"),
        ("敍明", "叙明"),
        ("曾國藩", "曾国藩"),
        ("蕭紅", "萧红"),
    ],
)
def test_variant_characters_are_folded(variant: str, simplified: str) -> None:
    assert normalise_name(variant).han == simplified
    assert name_keys(variant) == name_keys(simplified)


def test_qian_is_not_simplified_to_gan() -> None:
    # 乾 is a standard simplified character for qián (通用规范汉字表); OpenCC would make it 干.
    name = normalise_name("王乾")
    assert name.han == "王乾"
    assert name.tokens == ("wang", "qian")
    assert name_similarity("王乾", "Wang Qian").score == 0.95


# --- Given names: heteronyms ---


@pytest.mark.parametrize(
    ("name", "readings"),
    [
        ("张乐", {"le", "yue"}),
        ("李行", {"xing", "hang"}),
        ("王长", {"chang", "zhang"}),
        ("刘重", {"zhong", "chong"}),
    ],
)
def test_every_reading_of_an_unclear_given_name_character(name: str, readings: set[str]) -> None:
    found = {parts[1] for parts in pinyin_readings(normalise_name(name))}
    assert found == readings
    surname = normalise_name(name).tokens[0]
    for reading in readings:
        assert f"rom:{surname}{reading}" in name_keys(name)
        assert name_similarity(name, f"{surname} {reading}").reason is NameMatchReason.PINYIN_EQUAL


def test_the_most_likely_reading_comes_first() -> None:
    assert normalise_name("王重阳").tokens == ("wang", "chongyang")  # phrase: 重阳 chóngyáng
    assert normalise_name("张乐").tokens == ("zhang", "le")
    assert name_similarity("张乐", "Zhang Le").score > name_similarity("张乐", "Zhang Yue").score


def test_variants_are_capped_most_likely_first() -> None:
    name = normalise_name("曾乐行长重朝盛")  # seven heteronyms: 2^7 = 128 combinations
    readings = pinyin_readings(name)
    assert len(readings) == MAX_READINGS
    assert readings[0] == name.tokens
    assert name.tokens[0] == "zeng"
    ranks = [r.rank for r in name.romanisations if r.scheme is Scheme.PINYIN]
    assert ranks == sorted(ranks)
    assert len(name_keys(name)) <= MAX_READINGS + 2


# --- Latin names ---


@pytest.mark.parametrize(
    "latin",
    [
        "ZHANG, Xiaoming",
        "Xiaoming Zhang",
        "zhang xiao-ming",
        "Zhāng Xiǎomíng",
        "Xiao Ming Zhang",
        "ＺＨＡＮＧ　Ｘｉａｏｍｉｎｇ",
        "Zhang Xiao’ming",
    ],
)
def test_romanised_spellings_match_the_characters(latin: str) -> None:
    comparison = name_similarity("张晓明", latin)
    assert comparison.reason in EQUAL_REASONS
    assert comparison.score >= 0.9
    assert name_similarity(latin, "張曉明") == comparison
    assert name_keys("张晓明") & name_keys(latin)


def test_latin_tokens_are_canonical() -> None:
    name = normalise_name("ZHANG, Xiao-Ming")
    assert name.script == "latin"
    assert name.tokens == ("zhang", "xiaoming")
    assert name.order_insensitive_key == "xiaoming zhang"
    assert name.joined_key == "zhangxiaoming"
    assert normalise_name("Xi'an").tokens == ("xian",)
    assert normalise_name("O’Brien").tokens == normalise_name("OBrien").tokens == ("obrien",)
    assert normalise_name("Müller").tokens == ("muller",)
    assert normalise_name("Søren Kierkegaard").tokens == ("soren", "kierkegaard")


def test_run_together_given_names_are_equal() -> None:
    comparison = name_similarity("Xiao Ming Zhang", "Zhang Xiaoming")
    assert comparison.reason is NameMatchReason.LATIN_TOKENS_EQUAL
    assert comparison.score >= 0.95
    assert name_keys("Xiao Ming Zhang") & name_keys("Zhang Xiaoming")
    assert name_similarity("Zhang Xiaoming", "xiaoming ZHANG") == NameComparison(
        1.0, NameMatchReason.LATIN_TOKENS_EQUAL
    )


@pytest.mark.parametrize("spelling", ["LYU Bu", "Lü Bu", "Lv Bu", "Lu Bu", "Lǚ Bù"])
def test_spellings_of_u_umlaut_in_pinyin(spelling: str) -> None:
    # GB/T 28039-2011: ü may be written YU in capitals (passports: LYU); older documents LU.
    assert name_similarity("吕布", spelling).reason is NameMatchReason.PINYIN_EQUAL
    assert "rom:lubu" in name_keys(spelling)


def test_icao_spelling_of_umlauts() -> None:
    # ICAO 9303: the machine-readable zone writes Ü as UE.
    assert name_keys("Jürgen Müller") & name_keys("MUELLER, JUERGEN")
    assert name_similarity("Jürgen Müller", "MUELLER, JUERGEN").score >= 0.9
    assert name_similarity("Jürgen Müller", "Jurgen Muller").score == 1.0


def test_wade_giles_matches_the_characters() -> None:
    comparison = name_similarity("張曉明", "CHANG Hsiao-ming")
    assert comparison.reason is NameMatchReason.TRANSLITERATION_EQUAL
    assert comparison.score >= 0.85
    assert "rom:changhsiaoming" in name_keys("张晓明")


# --- Other scripts ---


def test_cyrillic_is_transliterated_and_read_back_as_pinyin() -> None:
    name = normalise_name("Чжан Сяомин")
    assert name.script == "cyrillic"
    assert name.tokens == ("chzhan", "syaomin")
    assert all(token.isascii() for token in name.tokens)
    assert ("zhang", "xiaoming") in [r.parts for r in name.romanisations]
    assert name_similarity(name, "张晓明").reason is NameMatchReason.TRANSLITERATION_EQUAL
    assert name_keys(name) & name_keys("张晓明")
    assert name_similarity("ЧЖАН СЯОМИН", name).score == 1.0
    assert name_similarity("Иван Петров", "Ivan Petrov").score >= 0.85


def test_hangul_is_transliterated() -> None:
    name = normalise_name("김철수")
    assert name.script == "hangul"
    assert name.tokens == ("gim", "cheolsu")
    assert name.display == "김철수"
    assert name_keys(name) & name_keys("KIM Cheolsu")  # the usual passport spelling of 김
    assert normalise_name("남궁민수").tokens == ("namgung", "minsu")


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("やまだ たろう", ("yamada", "tarou")),
        ("ﾔﾏﾀﾞ ﾀﾛｳ", ("yamada", "tarou")),  # half-width katakana, folded by NFKC
        ("Γιώργος Παπαδόπουλος", ("giorgos", "papadopoulos")),
        ("محمد", ("mhmd",)),
    ],
)
def test_other_scripts_become_ascii_tokens(text: str, tokens: tuple[str, ...]) -> None:
    assert normalise_name(text).tokens == tokens


def test_a_mix_of_characters_and_letters() -> None:
    name = normalise_name("张 Lily")
    assert name.script == "mixed"
    assert name.tokens == ("zhang", "lily")
    assert name_keys(name) & name_keys("Lily Zhang")


# --- Transliterated names in parts ---


@pytest.mark.parametrize("dot", ["·", "・", "•", ".", "‧", "･", " · "])
def test_dots_separate_the_parts_of_a_transliterated_name(dot: str) -> None:
    name = normalise_name(f"阿卜杜拉{dot}买买提")
    assert name.display == "阿卜杜拉·买买提"
    assert name.han_parts == ("阿卜杜拉", "买买提")
    assert name.han_surname == ""
    assert name.tokens == ("abudula", "maimaiti")


def test_a_transliterated_name_with_and_without_its_dot() -> None:
    assert name_keys("阿卜杜拉·买买提") & name_keys("阿卜杜拉买买提")
    assert name_similarity("阿卜杜拉·买买提", "阿卜杜拉买买提").reason is NameMatchReason.EXACT_HAN
    assert name_similarity("阿卜杜拉·买买提", "Maimaiti Abudula").score >= 0.9


# --- Homophones and different names ---


def test_homophone_typo_shares_a_key() -> None:
    assert "rom:wangxiaoming" in name_keys("王晓明") & name_keys("王小明")
    assert name_similarity("王晓明", "王小明").reason is NameMatchReason.PINYIN_EQUAL


def test_homonyms_are_alike_by_pinyin_not_equal() -> None:
    comparison = name_similarity("张伟", "张玮")
    assert comparison.reason is NameMatchReason.PINYIN_EQUAL
    assert 0.85 <= comparison.score < 1.0
    assert name_similarity("张伟", "张伟").score > comparison.score


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("张伟", "李娜"),
        ("张三", "李四"),
        ("John Smith", "Mary Jones"),
        ("王芳", "Li Na"),
        ("Zhang Wei", "Li Wei"),
        ("欧阳修", "司马光"),
    ],
)
def test_clearly_different_names_score_low(first: str, second: str) -> None:
    comparison = name_similarity(first, second)
    assert comparison.reason is NameMatchReason.DIFFERENT
    assert comparison.score < 0.5
    assert not name_keys(first) & name_keys(second)


def test_a_typing_error_is_fuzzy() -> None:
    comparison = name_similarity("张晓明", "Zhang Xiaomign")
    assert comparison.reason is NameMatchReason.FUZZY
    assert 0.6 < comparison.score < 0.8


# --- Errors ---


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", "empty"), ("   ", "empty"), ("·, -", "empty"), ("12345", "no_letters")],
)
def test_a_text_without_a_name_is_refused(text: str, reason: str) -> None:
    with pytest.raises(IdentityError) as raised:
        normalise_name(text)
    assert (raised.value.field, raised.value.reason) == ("name", reason)


def test_a_paragraph_is_not_a_name() -> None:
    with pytest.raises(IdentityError) as raised:
        normalise_name("a" * (MAX_LENGTH + 1))
    assert raised.value.reason == "too_long"


# --- Properties ---

HAN_SURNAMES = [
    *"张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡",
    *"贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段",
    *"单区仇解朴查盖乐覃",
    *("欧阳", "司马", "上官", "诸葛", "尉迟", "万俟"),
]
# Common given-name characters, with heteronyms; 干 is left out (乾 is kept as written).
GIVEN_CHARACTERS = list(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂华晓红玉兰文辉建国志海林云飞鹏宇浩凯"
    "乐行长重朝龙凤东南书学进岚发后松钟台里系范谷冲丰凌颖佳慧婷雪琳欣怡梦晨瑞鑫"
)
han_names = st.builds(
    lambda surname, given: surname + "".join(given),
    st.sampled_from(HAN_SURNAMES),
    st.lists(st.sampled_from(GIVEN_CHARACTERS), min_size=1, max_size=3),
)
latin_words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=9)
name_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(GIVEN_CHARACTERS + HAN_SURNAMES[:40] + list("單歐陽曉張鍾離衞薴乾〇々")),
        st.sampled_from(list("abcxyzÄÖÜäöüßéèñçøåŁłÆæ'’-·・. ,　ＡＢ")),
        st.sampled_from(list("ЧжанСяоминёЁΓιώργοςΣσς김철수이やまだタロウ")),
        st.characters(codec="utf-8", exclude_categories=("Cs", "Co", "Cn")),
    ),
    min_size=1,
    max_size=24,
)


@settings(max_examples=300)
@given(name_text)
def test_normalisation_is_idempotent(text: str) -> None:
    try:
        name = normalise_name(text)
    except IdentityError:
        return
    again = normalise_name(name.display)
    assert again == name
    assert again.display == name.display
    assert name_keys(again) == name_keys(name)
    assert name_keys(name)  # a name without a key could never be found


@given(st.lists(latin_words, min_size=1, max_size=4), st.randoms(use_true_random=False))
def test_latin_key_is_invariant_under_order_and_case(words: list[str], random: Random) -> None:
    shuffled = list(words)
    random.shuffle(shuffled)
    cased = " ".join(
        word.upper() if i % 3 == 0 else word.title() if i % 3 == 1 else word
        for i, word in enumerate(shuffled)
    )
    original, other = normalise_name(" ".join(words)), normalise_name(cased)
    assert original.order_insensitive_key == other.order_insensitive_key
    assert f"tok:{original.order_insensitive_key}" in name_keys(original) & name_keys(other)
    assert name_similarity(original, other) == NameComparison(
        1.0, NameMatchReason.LATIN_TOKENS_EQUAL
    )


@given(han_names)
def test_a_han_name_and_its_traditional_form_give_the_same_keys(name: str) -> None:
    traditional = TO_TRADITIONAL.convert(name)
    assert normalise_name(traditional) == normalise_name(name)
    assert name_keys(traditional) == name_keys(name)
    assert name_similarity(traditional, name).reason in {
        NameMatchReason.EXACT_HAN,
        NameMatchReason.TRADITIONAL_SIMPLIFIED,
    }


@given(han_names)
def test_a_han_name_meets_its_pinyin_in_either_order(name: str) -> None:
    normalised = normalise_name(name)
    surname_first = " ".join(normalised.tokens)
    given_first = " ".join((*normalised.tokens[1:], normalised.tokens[0]))
    for latin in (surname_first, given_first.upper()):
        assert name_keys(name) & name_keys(latin)
        assert name_similarity(name, latin).reason in EQUAL_REASONS


@given(name_text, name_text)
def test_similarity_is_symmetric_and_bounded(first: str, second: str) -> None:
    try:
        one, two = normalise_name(first), normalise_name(second)
    except IdentityError:
        return
    comparison = name_similarity(one, two)
    assert comparison == name_similarity(two, one)
    assert 0.0 <= comparison.score <= 1.0
    assert name_similarity(one, one).score == 1.0
