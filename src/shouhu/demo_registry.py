"""The demo's synthetic registry: persons to screen against from the first minute.

Seeded through the real import (`shouhu registry import`), with a file of sample queries of every
kind beside it and the matching weights fitted to it, so that a newcomer can run
`shouhu screen var/demo-queries.csv --out var/answers.csv --explain` at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shouhu.core.database import transaction
from shouhu.core.principal import system_principal
from shouhu.core.settings import FITTED_WEIGHTS_FILE
from shouhu.matching.fit import refit
from shouhu.matching.model import stated_model
from shouhu.registry.importer import import_file
from shouhu.registry.models import RegistryPerson
from shouhu.registry.profiles import sample_profiles
from shouhu.registry.synthetic import (
    generate_persons,
    generate_queries,
    write_queries_csv,
    write_registry_csv,
)

DEMO_PERSONS: Final = 10_000
DEMO_QUERIES: Final = 400
DEMO_SEED: Final = 2026
REGISTRY_FILE: Final = "demo-registry.csv"
QUERIES_FILE: Final = "demo-queries.csv"
FIT_PAIRS: Final = 50_000


@dataclass(frozen=True)
class DemoRegistry:
    """What the seed wrote."""

    persons: int
    rows: int
    queries_file: Path
    weights_file: Path


def registry_is_empty(session: Session) -> bool:
    """Whether the registry holds no person yet."""
    return session.scalar(select(RegistryPerson.id).limit(1)) is None


def seed_registry(
    factory: sessionmaker[Session],
    data_dir: Path,
    *,
    persons: int = DEMO_PERSONS,
    progress: Callable[[int, int], None] | None = None,
) -> DemoRegistry:
    """Import `persons` synthetic persons, write sample queries and fit the weights."""
    actor = system_principal("cli")
    people = list(generate_persons(persons, seed=DEMO_SEED))
    registry_file = data_dir / REGISTRY_FILE
    write_registry_csv(registry_file, people, seed=DEMO_SEED)
    result = import_file(factory, actor=actor, path=registry_file, progress=progress)
    queries_file = data_dir / QUERIES_FILE
    write_queries_csv(
        queries_file, generate_queries(people, min(DEMO_QUERIES, persons), seed=DEMO_SEED)
    )
    with transaction(factory) as session:
        profiles = sample_profiles(session, actor=actor, persons=persons)
    weights_file = data_dir / FITTED_WEIGHTS_FILE
    weights_file.write_text(
        refit(stated_model(), profiles, pairs=FIT_PAIRS, seed=DEMO_SEED).to_toml(),
        encoding="utf-8",
    )
    return DemoRegistry(
        result.counts.persons_created, result.rows_total, queries_file, weights_file
    )
