"""GB/T 2260 administrative division codes, current and retired (identity/data/gb2260.tsv)."""

from __future__ import annotations

import pytest

from shouhu.identity import regions
from shouhu.identity.regions import (
    is_current_region,
    is_known_region,
    latest_year,
    province_code,
    province_of,
    region_history,
    region_name,
)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("110000", "北京市"),
        ("110101", "东城区"),
        ("440305", "南山区"),
        ("440300", "深圳市"),
        ("650000", "新疆维吾尔自治区"),
        ("500157", "两江新区"),  # set up in 2025
        ("653132", "岑岭县"),  # set up in 2026
        ("710000", "台湾省"),
    ],
)
def test_current_codes(code: str, name: str) -> None:
    assert is_known_region(code)
    assert is_current_region(code)
    assert region_name(code) == name


@pytest.mark.parametrize(
    ("code", "name", "last_year"),
    [
        ("110103", "崇文区", 2009),  # merged into 东城区 in 2010
        ("442100", "海南行政区", 1987),  # Hainan was part of Guangdong until 1988
        ("371200", "莱芜市", 2019),  # merged into 济南市
        ("500105", "江北区", 2024),  # merged into 两江新区 in 2025
        ("320602", "崇川区", 2019),  # the code changed to 320613 in 2020
    ],
)
def test_retired_codes_are_known_but_not_current(code: str, name: str, last_year: int) -> None:
    assert is_known_region(code)
    assert not is_current_region(code)
    assert region_name(code) == name
    assert region_history(code)[-1].last_year == last_year


def test_renamed_code_keeps_its_history() -> None:
    # 120110 was 东郊区 until 1991, then 东丽区.
    history = region_history("120110")
    assert [(r.name, r.first_year, r.last_year) for r in history] == [
        ("东郊区", 1980, 1991),
        ("东丽区", 1992, None),
    ]
    assert region_name("120110") == "东丽区"


@pytest.mark.parametrize("code", ["999999", "110199", "000000", "11010", "1101011", "11010A", ""])
def test_unknown_or_malformed(code: str) -> None:
    assert not is_known_region(code)
    assert not is_current_region(code)
    assert region_name(code) is None
    assert province_of(code) is None
    assert region_history(code) == ()


def test_full_width_digits_are_not_codes() -> None:
    assert not is_known_region("１１０１０１")


@pytest.mark.parametrize(
    ("code", "province"),
    [
        ("110101", "北京市"),
        ("440305", "广东省"),
        ("442100", "广东省"),  # a retired code keeps the province it belonged to
        ("460302", "海南省"),
        ("810000", "香港特别行政区"),
    ],
)
def test_province_of(code: str, province: str) -> None:
    assert province_of(code) == province
    assert province_code(code) == code[:2] + "0000"


def test_table_covers_current_and_retired_codes() -> None:
    table = regions._table()
    current = [code for code, history in table.items() if history[-1].is_current]
    # 34 province-level, 333 prefecture-level and 2,847 county-level codes are in use...
    assert len(current) == 3214
    # ...and thousands more were retired since the first list of 1980.
    assert len(table) - len(current) > 3800
    assert min(r.first_year for history in table.values() for r in history) == 1980
    assert latest_year() == 2026
