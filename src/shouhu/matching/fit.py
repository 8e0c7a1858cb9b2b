"""Refitting the model's u-probabilities to a registry, from random pairs of its persons.

u = P(level | two different people) is a property of the population: how often two strangers
share a birth date, a surname, a passport prefix. It is estimated without labels, as Splink does,
by comparing random pairs of registry persons (almost surely different people) and counting the
levels. m = P(level | one person) describes errors and changes, which the registry cannot show
without labelled pairs, so it is kept from the stated model.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from datetime import date

from shouhu.matching.compare import Field, Level, compare_profiles
from shouhu.matching.model import LevelProbabilities, MatchModel
from shouhu.matching.profile import MatchProfile

MIN_PERSONS = 2


def estimate_u(
    profiles: Sequence[MatchProfile], *, pairs: int, seed: int = 0
) -> tuple[dict[Field, Counter[Level]], dict[Field, int]]:
    """Level counts per field over `pairs` random pairs, and how many pairs compared each field."""
    if len(profiles) < MIN_PERSONS:
        raise ValueError("at least two persons are needed to estimate u")
    rng = random.Random(seed)  # noqa: S311 - sampling, not secrecy; seeded to be repeatable
    counts: dict[Field, Counter[Level]] = {field: Counter() for field in Field}
    compared: Counter[Field] = Counter()
    for _ in range(pairs):
        first, second = rng.sample(range(len(profiles)), 2)
        for comparison in compare_profiles(profiles[first], profiles[second]):
            counts[comparison.field][comparison.level] += 1
            compared[comparison.field] += 1
    return counts, dict(compared)


def refit(
    model: MatchModel,
    profiles: Sequence[MatchProfile],
    *,
    pairs: int,
    seed: int = 0,
    today: date | None = None,
) -> MatchModel:
    """The model with u re-estimated from random pairs of `profiles`; m unchanged."""
    counts, compared = estimate_u(profiles, pairs=pairs, seed=seed)
    levels: dict[Field, dict[Level, LevelProbabilities]] = {}
    for field, stated in model.levels.items():
        total = compared.get(field, 0)
        levels[field] = {}
        for level, probabilities in stated.items():
            seen = counts[field][level]
            if total == 0:
                u = probabilities.u  # never compared: nothing learnt
            elif seen == 0:
                # Never seen among strangers: rarer than one in `total`, and the stated value
                # (from a larger population) may know how much rarer.
                u = min(probabilities.u, 0.5 / total)
            else:
                u = seen / total
            levels[field][level] = LevelProbabilities(probabilities.m, u)
    stamp = (today or date.today()).isoformat()  # noqa: DTZ011 - a label, not a deadline
    version = f"fitted-{stamp}-{len(profiles)}p-{pairs}pairs"
    return MatchModel(version, levels)
