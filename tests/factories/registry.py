"""Registry import rows and files for tests and benchmarks: valid by default, varied on demand."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook

from shouhu.core.principal import system_principal
from shouhu.identity.prc_id import prc_check_character
from shouhu.registry.importer import COLUMNS, ImportResult, import_file

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session, sessionmaker

# Current GB/T 2260 county codes (Beijing Dongcheng, Shanghai Huangpu, Guangzhou Tianhe,
# Chengdu Wuhou, Xi'an Yanta, Wuhan Jiang'an, Harbin Daoli, Urumqi Tianshan).
REGIONS = ("110101", "310101", "440106", "510107", "610113", "420102", "230102", "650102")
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬芳燕彩春菊兰凤"
    "洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎"
    "锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿"
    "聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思"
    "丽"
)
AUTHORITIES = (
    "北京市东城区人民法院",
    "上海市黄浦区人民检察院",
    "广州市公安局天河区分局",
    "成都市武侯区人民法院",
)
# Offence codes by record kind, from the packaged catalogue.
CRIMINAL_OFFENCES = ("rape", "forcible_indecency", "child_molestation", "abuse_under_care")


def prc_number(region: str, born: date, sequence: int) -> str:
    """A valid 18-character PRC identity number (GB 11643): odd sequence male, even female."""
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + prc_check_character(first17)


def to_15(number: str) -> str:
    """The first-generation 15-digit form of an 18-character number of someone born in 19xx."""
    return number[:6] + number[8:17]


def registry_row(**overrides: str) -> dict[str, str]:
    """One valid import row (a man born 1980-05-17, PRC number, one conviction); override any."""
    born = date(1980, 5, 17)
    row = {
        "external_id": "P-0001",
        "name": "王小明",
        "former_names": "",
        "sex": "M",
        "date_of_birth": born.isoformat(),
        "nationality": "CHN",
        "id_type": "prc_id",
        "id_number": prc_number("110101", born, 123),
        "record_kind": "conviction",
        "offence": "child_molestation",
        "decision_authority": "北京市东城区人民法院",
        "decision_number": "(2019)京0101刑初123号",
        "decision_date": "2019-11-05",
    }
    row.update(overrides)
    return row


def passport_row(**overrides: str) -> dict[str, str]:
    """Olga Ivanova, born 1979-01-02, on a Russian passport: `registry_row`'s foreign person."""
    return registry_row(
        **{
            "external_id": "B",
            "name": "Olga Ivanova",
            "sex": "F",
            "nationality": "RUS",
            "id_type": "passport",
            "id_number": "751234567",
            "date_of_birth": "1979-01-02",
            **overrides,
        }
    )


def synthetic_rows(
    count: int, *, seed: int = 7, records_per_person: int = 1
) -> Iterator[dict[str, str]]:
    """`count` valid rows of distinct Chinese persons (common names repeat, as in life)."""
    rng = random.Random(seed)
    start = date(1950, 1, 1)
    used: set[str] = set()
    for index in range(count // records_per_person):
        born = start + timedelta(days=rng.randrange(365 * 50))
        sex = rng.choice("MF")
        region = rng.choice(REGIONS)
        sequence = rng.randrange(500) * 2 + (1 if sex == "M" else 0)
        number = prc_number(region, born, sequence)
        while number in used:  # one number, one person
            sequence = (sequence + 2) % 1000
            number = prc_number(region, born, sequence)
        used.add(number)
        given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        name = rng.choice(SURNAMES) + given
        former = rng.choice(SURNAMES) + given if rng.random() < 0.1 else ""
        for record in range(records_per_person):
            decided = born + timedelta(days=365 * 20 + rng.randrange(365 * 20))
            decided = min(decided, date(2024, 12, 31))
            yield {
                "external_id": f"S{index:08d}",
                "name": name,
                "former_names": former,
                "sex": sex,
                "date_of_birth": born.isoformat(),
                "nationality": "CHN",
                "id_type": "prc_id",
                "id_number": number,
                "record_kind": "conviction",
                "offence": CRIMINAL_OFFENCES[(index + record) % len(CRIMINAL_OFFENCES)],
                "decision_authority": AUTHORITIES[index % len(AUTHORITIES)],
                "decision_number": f"({decided.year})刑初{index:06d}-{record}号",
                "decision_date": decided.isoformat(),
            }


def write_csv(
    path: Path,
    rows: Iterable[Mapping[str, str]],
    *,
    columns: Iterable[str] = COLUMNS,
    bom: bool = False,
) -> Path:
    """Write rows as a UTF-8 CSV file with a header (a byte-order mark if asked)."""
    header = list(columns)
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(column, "") for column in header])
    return path


def write_xlsx(
    path: Path, rows: Iterable[Mapping[str, object]], *, columns: Iterable[str] = COLUMNS
) -> Path:
    """Write rows into the first sheet of a workbook, header first."""
    header = list(columns)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("registry")
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(column) for column in header])
    workbook.save(path)
    return path


def import_rows(
    factory: sessionmaker[Session],
    path: Path,
    rows: Iterable[Mapping[str, str]],
    **options: Any,
) -> ImportResult:
    """Write rows to `path` (CSV, or XLSX by suffix) and import them as the operator's shell."""
    if path.suffix == ".xlsx":
        write_xlsx(path, rows)
    else:
        write_csv(path, rows)
    return import_file(factory, actor=system_principal("cli"), path=path, **options)
