"""Chinese surnames and name characters whose reading differs from the everyday word.

Three tables, all keyed by simplified characters (names are simplified before they are looked up):

- `COMPOUND_SURNAMES`: two-character (and a few longer) family names, so that 欧阳修 splits into
  欧阳 + 修 and not 欧 + 阳修. The 60 compound surnames are those of the 百家姓 (Hundred Family
  Surnames, Northern Song; public domain), from 万俟 to 第五. 仉督 is left out: most editions and
  modern studies read it as the two single surnames 仉 and 督. 谷梁 is also listed as 榖梁, the
  spelling some editions keep and OpenCC does not simplify. A few clan names of later dynasties
  that Chinese people still bear (独孤, 完颜, 纳兰, 贺兰, 爱新觉罗, 叶赫那拉) are added.
- `SURNAME_READINGS`: the reading of a character (or compound) *as a family name*, which for
  these characters is not the reading a pinyin converter picks for the character alone:
  单 is Shàn, not dān; 曾 is Zēng, not céng. Readings are those of 《现代汉语词典》 (7th ed.)
  for the surname sense and of the 百家姓 tradition (the same readings are collected in the MIT
  licensed surname tables of the `pinyin` npm package and of overtrue/pinyin; pypinyin's issue
  #297 lists them too). Where a surname is genuinely read two ways by different families
  (覃 Qín / Tán, 盖 Gě / Gài, 乐 Yuè / Lè, 翟 Zhái / Dí, 宓 Fú / Mì …) both are given, the more
  common first. Tones are dropped: names are compared without them.
- `GIVEN_NAME_READINGS`: characters frequent in given names that are read more than one way,
  with the readings a name can take, the more usual first. A character not listed here is given
  pypinyin's reading only: pypinyin's own list of readings for a character also holds archaic and
  dialect ones (明 méng, 王 yù), and offering those as variants would only add false candidates.

Not handled specially: a married woman's double surname (张王丽, Hong Kong's 陈李美玲) is split
as surname 张 + given name 王丽; the pinyin (zhang wangli) is the same either way, so matching is
unaffected, only the order-swapped form differs.
"""

from __future__ import annotations

from typing import Final

COMPOUND_SURNAMES: Final[frozenset[str]] = frozenset(
    {
        # 百家姓, in the order of the text.
        "万俟", "司马", "上官", "欧阳", "夏侯", "诸葛", "闻人", "东方", "赫连", "皇甫",
        "尉迟", "公羊", "澹台", "公冶", "宗政", "濮阳", "淳于", "单于", "太叔", "申屠",
        "公孙", "仲孙", "轩辕", "令狐", "钟离", "宇文", "长孙", "慕容", "鲜于", "闾丘",
        "司徒", "司空", "亓官", "司寇", "子车", "颛孙", "端木", "巫马", "公西", "漆雕",
        "乐正", "壤驷", "公良", "拓跋", "夹谷", "宰父", "谷梁", "榖梁", "段干", "百里",
        "东郭", "南门", "呼延", "羊舌", "微生", "梁丘", "左丘", "东门", "西门", "南宫",
        "第五",
        # Clan names of the Northern dynasties, the Jin and the Qing still borne today.
        "独孤", "完颜", "纳兰", "贺兰", "爱新觉罗", "叶赫那拉",
    }
)  # fmt: skip

LONGEST_SURNAME: Final = max(len(surname) for surname in COMPOUND_SURNAMES)

# Surname → its readings as a surname, the usual one first: toneless pinyin, ü written "v",
# the syllables of a compound separated by a space.
SURNAME_READINGS: Final[dict[str, tuple[str, ...]]] = {
    # The single surnames that a plain converter reads wrongly (pypinyin 0.55 picks the
    # everyday reading: dan, ceng, qu, chou, jie, pu, cha, gai, le, tan …).
    "单": ("shan",),
    "曾": ("zeng",),
    "区": ("ou",),
    "仇": ("qiu",),
    "解": ("xie",),
    "朴": ("piao",),  # Korean 박 (Park) as written in PRC documents
    "查": ("zha",),
    "盖": ("ge", "gai"),
    "乐": ("yue", "le"),
    "覃": ("qin", "tan"),
    "缪": ("miao",),
    "召": ("shao",),
    "秘": ("bi",),
    "员": ("yun",),
    "贠": ("yun",),  # pypinyin knows only yuan
    "黑": ("he", "hei"),  # pypinyin knows only hei
    "种": ("chong",),
    "繁": ("po",),
    "翟": ("zhai", "di"),
    "隗": ("wei", "kui"),
    "逄": ("pang",),
    "折": ("she",),
    "能": ("nai",),
    "宓": ("fu", "mi"),
    "葛": ("ge",),
    "朝": ("chao",),
    "尉": ("wei",),
    "句": ("gou",),
    "莘": ("shen",),
    "贲": ("ben",),
    "郦": ("li",),
    "蕃": ("pi",),
    "祭": ("zhai",),
    "谌": ("chen", "shen"),
    "眭": ("sui",),
    "厍": ("she",),
    "佴": ("nai",),
    "乜": ("nie",),
    "卜": ("bu",),
    "阚": ("kan",),
    "薄": ("bo",),
    "藏": ("zang",),
    "都": ("du",),
    "重": ("chong",),
    "长": ("chang",),
    "六": ("lu",),
    "粘": ("nian",),
    "扎": ("za",),
    "炅": ("gui", "jiong"),
    "洗": ("xian",),
    "番": ("pan",),
    "么": ("yao",),
    "钭": ("tou",),
    "镡": ("tan", "xin"),
    "颉": ("xie", "jie"),
    "牟": ("mou", "mu"),
    "蔚": ("wei", "yu"),
    "郇": ("huan", "xun"),
    # Heteronyms whose first reading pypinyin already gets right; listed so that the choice is
    # stated here and does not depend on a converter's default.
    "柏": ("bai",),
    "石": ("shi",),
    "沈": ("shen",),
    "宿": ("su",),
    "盛": ("sheng",),
    "殷": ("yin",),
    "车": ("che",),
    "贾": ("jia",),
    "叶": ("ye",),
    "任": ("ren",),
    "瞿": ("qu",),
    "那": ("na",),
    "和": ("he",),
    "南": ("nan",),
    "陆": ("lu",),
    "万": ("wan",),
    "俞": ("yu",),
    "许": ("xu",),
    "齐": ("qi",),
    "於": ("yu",),
    "余": ("yu",),
    "艾": ("ai",),
    "强": ("qiang",),
    "阿": ("a",),
    "汤": ("tang",),
    "丁": ("ding",),
    "寻": ("xun",),
    "褚": ("chu",),
    "臧": ("zang",),
    "尚": ("shang",),
    "家": ("jia",),
    "苑": ("yuan",),
    "宁": ("ning",),
    "朱": ("zhu",),
    "冯": ("feng",),
    "冼": ("xian",),
    "华": ("hua",),
    # Compound surnames; pypinyin's phrase table has many of them, not all.
    "万俟": ("mo qi",),
    "尉迟": ("yu chi",),
    "长孙": ("zhang sun",),
    "令狐": ("ling hu",),
    "单于": ("chan yu",),
    "澹台": ("tan tai",),
    "乐正": ("yue zheng",),
    "子车": ("zi ju",),
    "夹谷": ("jia gu",),
    "宰父": ("zai fu",),
    "亓官": ("qi guan",),
    "闾丘": ("lv qiu",),
    "皇甫": ("huang fu",),
    "诸葛": ("zhu ge",),
    "谷梁": ("gu liang",),
    "榖梁": ("gu liang",),
    "羊舌": ("yang she",),
    "叶赫那拉": ("ye he na la",),
    "爱新觉罗": ("ai xin jue luo",),
}

# Given-name character → the readings it takes in names, the more usual first.
GIVEN_NAME_READINGS: Final[dict[str, tuple[str, ...]]] = {
    "乐": ("le", "yue"),
    "行": ("xing", "hang"),
    "长": ("chang", "zhang"),
    "重": ("zhong", "chong"),
    "朝": ("zhao", "chao"),
    "曾": ("ceng", "zeng"),
    "单": ("dan", "shan"),
    "传": ("chuan", "zhuan"),
    "会": ("hui", "kuai"),
    "解": ("jie", "xie"),
    "角": ("jiao", "jue"),
    "藏": ("zang", "cang"),
    "参": ("can", "shen", "cen"),
    "茜": ("qian", "xi"),
    "莘": ("shen", "xin"),
    "蔚": ("wei", "yu"),
    "强": ("qiang", "jiang"),
    "柏": ("bai", "bo"),
    "泊": ("bo", "po"),
    "朴": ("pu", "piao"),
    "调": ("tiao", "diao"),
    "都": ("du", "dou"),
    "晟": ("sheng", "cheng"),
    "伽": ("jia", "qie", "ga"),
    "娜": ("na", "nuo"),
    "卜": ("bu", "bo"),
    "奇": ("qi", "ji"),
    "纶": ("lun", "guan"),
    "禅": ("chan", "shan"),
    "盛": ("sheng", "cheng"),
    "隽": ("juan", "jun"),
    "宿": ("su", "xiu"),
    "乾": ("qian", "gan"),
    "叶": ("ye", "xie"),
    "和": ("he", "huo"),
    "澄": ("cheng", "deng"),
    "虹": ("hong", "jiang"),
    "靓": ("jing", "liang"),
    "筠": ("yun", "jun"),
    "焘": ("tao", "dao"),
    "露": ("lu", "lou"),
    "乘": ("cheng", "sheng"),
    "觉": ("jue", "jiao"),
    "省": ("sheng", "xing"),
    "降": ("jiang", "xiang"),
    "尉": ("wei", "yu"),
    "厦": ("xia", "sha"),
    "杉": ("shan", "sha"),
    "识": ("shi", "zhi"),
    "车": ("che", "ju"),
    "大": ("da", "dai"),
    "贾": ("jia", "gu"),
    "炅": ("jiong", "gui"),
    "谌": ("chen", "shen"),
    "珩": ("heng", "hang"),
    "颉": ("jie", "xie"),
    "栎": ("li", "yue"),
    "仇": ("chou", "qiu"),
    "查": ("cha", "zha"),
    "区": ("qu", "ou"),
    "盖": ("gai", "ge"),
    "覃": ("tan", "qin"),
    "缪": ("miao", "mou", "miu"),
    "召": ("zhao", "shao"),
    "秘": ("mi", "bi"),
    "员": ("yuan", "yun"),
    "种": ("zhong", "chong"),
    "翟": ("zhai", "di"),
    "折": ("zhe", "she"),
    "薄": ("bo", "bao"),
    "沈": ("shen", "chen"),
    "石": ("shi", "dan"),
    "蕃": ("fan", "bo"),
    "佃": ("dian", "tian"),
    "阿": ("a", "e"),
    "苑": ("yuan", "yu"),
    "宛": ("wan", "yuan"),
    "吁": ("xu", "yu"),
    "将": ("jiang", "qiang"),
    "便": ("bian", "pian"),
    "数": ("shu", "shuo"),
    "系": ("xi", "ji"),
    "还": ("huan", "hai"),
    "率": ("shuai", "lv"),
    "弹": ("dan", "tan"),
    "校": ("xiao", "jiao"),
    "期": ("qi", "ji"),
}

# Korean surnames (Hangul) → the spellings Koreans mostly use in passports, where they differ
# from the Revised Romanization that anyascii produces (김 gim → Kim, 이 i → Lee, 박 bak → Park).
# The Revised Romanization of Korean (2000) leaves surnames to be settled separately, and most
# people keep these traditional spellings; the 40 most frequent surnames.
KOREAN_SURNAME_SPELLINGS: Final[dict[str, tuple[str, ...]]] = {
    "김": ("kim",),
    "이": ("lee", "yi", "rhee"),
    "박": ("park", "pak"),
    "최": ("choi",),
    "정": ("jung", "chung"),
    "강": ("kang",),
    "조": ("cho",),
    "윤": ("yoon",),
    "장": ("chang",),
    "임": ("lim",),
    "오": ("oh",),
    "서": ("suh",),
    "신": ("shin",),
    "권": ("kwon",),
    "안": ("ahn",),
    "류": ("yoo", "yu", "ryoo"),
    "유": ("yoo",),
    "전": ("jun", "chun"),
    "고": ("ko", "koh"),
    "문": ("moon",),
    "손": ("sohn",),
    "백": ("paik", "paek"),
    "허": ("hur",),
    "심": ("shim",),
    "노": ("noh", "roh"),
    "곽": ("kwak",),
    "성": ("sung",),
    "주": ("joo",),
    "우": ("woo",),
    "구": ("koo", "ku"),
    "나": ("ra",),
    "엄": ("um",),
    "천": ("chun",),
    "공": ("kong",),
    "현": ("hyun",),
    "변": ("byun",),
    "추": ("choo",),
    "길": ("kil",),
    "명": ("myung",),
    "기": ("ki",),
}
