"""The Fellegi–Sunter scoring model: stated weights per field and agreement level.

A level's weight is log2(m / u): how much more likely that agreement is between two records of one
person than between two different people. A pair's score is the sum over its fields. The weights
are data (`data/weights.toml`, or the file `SHOUHU_MATCH_WEIGHTS` names), so they can be read by
a reviewer, refitted to a registry (`shouhu.matching.fit`) and versioned.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from shouhu.matching.compare import Comparison, Field, Level


class WeightsError(ValueError):
    """A weights file that cannot be used, and why."""


@dataclass(frozen=True, slots=True)
class LevelProbabilities:
    """m and u of one agreement level of one field."""

    m: float
    u: float

    @property
    def weight(self) -> float:
        """log2(m / u)."""
        return math.log2(self.m / self.u)


@dataclass(frozen=True, slots=True)
class ScoredComparison:
    """A field's comparison with the weight it added."""

    comparison: Comparison
    weight: float


@dataclass(frozen=True, slots=True)
class MatchModel:
    """m and u per field and level, and the version they are known by."""

    version: str
    levels: Mapping[Field, Mapping[Level, LevelProbabilities]]

    def weight(self, comparison: Comparison) -> float:
        """The weight of one comparison."""
        return self.levels[comparison.field][comparison.level].weight

    def score(self, comparisons: list[Comparison]) -> tuple[float, list[ScoredComparison]]:
        """The total weight and each field's share of it."""
        scored = [ScoredComparison(c, self.weight(c)) for c in comparisons]
        return sum(s.weight for s in scored), scored

    def to_toml(self) -> str:
        """The model as a weights file."""
        lines = [f'version = "{self.version}"']
        for field_, levels in self.levels.items():
            lines.append(f"\n[{field_.value}]")
            lines.extend(
                f"{level.value} = {{ m = {p.m:.6g}, u = {p.u:.6g} }}" for level, p in levels.items()
            )
        return "\n".join(lines) + "\n"


# Which levels each field must have: what `shouhu.matching.compare` can produce for it.
REQUIRED_LEVELS: dict[Field, tuple[Level, ...]] = {
    Field.DOCUMENT: (Level.EXACT, Level.CLOSE, Level.DIFFERENT),
    Field.NAME: (
        Level.EXACT,
        Level.PHONETIC,
        Level.CLOSE,
        Level.PARTIAL,
        Level.FUZZY,
        Level.DIFFERENT,
    ),
    Field.DATE_OF_BIRTH: (Level.EXACT, Level.CLOSE, Level.DIFFERENT),
    Field.SEX: (Level.EXACT, Level.DIFFERENT),
    Field.NATIONALITY: (Level.EXACT, Level.DIFFERENT),
}


def _probability(value: Any, where: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value <= 1:
        raise WeightsError(f"{where}: must be a number in (0, 1], not {value!r}")
    return float(value)


def parse_model(document: Mapping[str, Any], source: str) -> MatchModel:
    """A model from a parsed weights file; `WeightsError` naming the entry at fault."""
    version = document.get("version")
    if not isinstance(version, str) or not version:
        raise WeightsError(f"{source}: `version` must be a non-empty string")
    levels: dict[Field, dict[Level, LevelProbabilities]] = {}
    for field_, required in REQUIRED_LEVELS.items():
        table = document.get(field_.value)
        if not isinstance(table, dict):
            raise WeightsError(f"{source}: the table [{field_.value}] is missing")
        levels[field_] = {}
        for level in required:
            entry = table.get(level.value)
            where = f"{source}: {field_.value}.{level.value}"
            if not isinstance(entry, dict):
                raise WeightsError(f"{where} is missing")
            levels[field_][level] = LevelProbabilities(
                _probability(entry.get("m"), f"{where}.m"),
                _probability(entry.get("u"), f"{where}.u"),
            )
    return MatchModel(version, levels)


def load_model(path: Path) -> MatchModel:
    """Read a weights file (parsed again only when it changes: every inquiry asks for it)."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise WeightsError(f"{path}: {exc}") from exc
    return _parsed_model(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _parsed_model(path: Path, _mtime_ns: int, _size: int) -> MatchModel:
    """A weights file's model; the file's time and size are the cache's key."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise WeightsError(f"{path}: {exc}") from exc
    return parse_model(document, str(path))


@cache
def stated_model() -> MatchModel:
    """The weights shipped with Shouhu."""
    text = resources.files("shouhu.matching").joinpath("data/weights.toml").read_text("utf-8")
    return parse_model(tomllib.loads(text), "shouhu/matching/data/weights.toml")
