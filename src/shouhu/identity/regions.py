"""GB/T 2260 administrative division codes, current and retired, from 1980 to the latest list.

The table in `data/gb2260.tsv` (see `data/README.md` for its sources) has one row per code and
name, with the first and last year of the code lists that carried it; an empty last year means
the code is in the latest list. A code whose name changed has one row per name.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

DATA_FILE: Final = "gb2260.tsv"
CODE_LENGTH: Final = 6


@dataclass(frozen=True, slots=True)
class Region:
    """One name that a code carried, and the years of the code lists that carried it."""

    code: str
    name: str
    first_year: int
    last_year: int | None  # None: still in the latest list

    @property
    def is_current(self) -> bool:
        """Whether the latest code list carries this code under this name."""
        return self.last_year is None


@cache
def _table() -> dict[str, tuple[Region, ...]]:
    """Every code with its names, in the order they went out of use (the current one last)."""
    text = resources.files("shouhu.identity").joinpath("data", DATA_FILE).read_text("utf-8")
    by_code: dict[str, list[Region]] = {}
    for row in csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE):
        region = Region(
            code=row["code"],
            name=row["name"],
            first_year=int(row["first"]),
            last_year=int(row["last"]) if row["last"] else None,
        )
        by_code.setdefault(region.code, []).append(region)
    return {
        code: tuple(sorted(regions, key=lambda r: (r.is_current, r.last_year or 0, r.first_year)))
        for code, regions in by_code.items()
    }


def _well_formed(code: str) -> bool:
    return len(code) == CODE_LENGTH and code.isascii() and code.isdigit()


def region_history(code: str) -> tuple[Region, ...]:
    """Every name the code has carried, the current one (if any) last; empty if unknown."""
    if not _well_formed(code):
        return ()
    return _table().get(code, ())


def is_known_region(code: str) -> bool:
    """Whether any code list since 1980 carried this 6-digit code (retired codes count)."""
    return bool(region_history(code))


def is_current_region(code: str) -> bool:
    """Whether the latest code list carries this 6-digit code."""
    history = region_history(code)
    return bool(history) and history[-1].is_current


def region_name(code: str) -> str | None:
    """The code's current name, or for a retired code the last name it carried."""
    history = region_history(code)
    if not history:
        return None
    return history[-1].name


def province_code(code: str) -> str | None:
    """The 6-digit code of the province-level division that a known code belongs to."""
    if not is_known_region(code):
        return None
    province = code[:2] + "0000"
    return province if is_known_region(province) else None


def province_of(code: str) -> str | None:
    """The name of the province-level division that a known code belongs to."""
    province = province_code(code)
    return region_name(province) if province else None


def latest_year() -> int:
    """The year of the latest code list in the table."""
    return max(
        max(region.first_year, region.last_year or 0)
        for history in _table().values()
        for region in history
    )
