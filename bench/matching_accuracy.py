"""Matching accuracy on synthetic Chinese and foreign identities, per variation category.

Usage: .venv/bin/python bench/matching_accuracy.py [--persons 20000] [--queries 12000]
       [--url URL] [--no-fit] [--show N]

A registry of synthetic persons (`shouhu.registry.synthetic`: realistic surnames and given names
with namesakes, 15- and 18-digit numbers, permits, passports, former names) is imported through
`shouhu registry import`; queries with every DESIGN §5 variation are screened through `shouhu
screen`'s service. For each category it prints how many answers fell in the category's expected
set (EXPECTED in synthetic.py) and how many did not, with the stated weights and with weights
fitted to the registry (`shouhu registry fit-weights`). A `hit` on the wrong person, or on someone
not in the registry, is counted separately and must be 0.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

from common import databases, rate

from shouhu.core.database import transaction
from shouhu.core.principal import system_principal
from shouhu.core.settings import Settings
from shouhu.identity.prc_id import latest_possible_date
from shouhu.matching.fit import refit
from shouhu.registry.importer import import_file
from shouhu.registry.policy import InquiryPurpose
from shouhu.registry.profiles import sample_profiles
from shouhu.registry.synthetic import (
    EXPECTED,
    Category,
    SyntheticQuery,
    generate_persons,
    generate_queries,
    write_queries_csv,
    write_registry_csv,
)
from shouhu.screening.files import screen_file
from shouhu.screening.service import Matcher

# Every offence of the catalogue counts for this purpose: the benches measure matching alone.
PURPOSE = InquiryPurpose.CLOSE_CONTACT

OUTCOMES = ("hit", "possible_match", "no_record", "invalid")


def evaluate(answers: Path, queries: list[SyntheticQuery], show: int) -> bool:
    """Print per-category results; whether every answer was expected and no hit was wrong."""
    by_reference = {query.reference: query for query in queries}
    table: dict[Category, Counter[str]] = defaultdict(Counter)
    wrong_hits: list[tuple[SyntheticQuery, dict[str, str]]] = []
    unexpected: list[tuple[SyntheticQuery, dict[str, str]]] = []
    with answers.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            query = by_reference[row["reference"]]
            table[query.category][row["outcome"]] += 1
            if row["outcome"] == "hit" and row["matched_external_id"] != query.target_external_id:
                wrong_hits.append((query, row))
            elif row["outcome"] not in query.expected:
                unexpected.append((query, row))
    print(
        f"  {'category':<42}{'n':>6} {'as expected':>12}  " + " ".join(f"{o:>14}" for o in OUTCOMES)
    )
    total = good = 0
    for category in Category:
        counts = table.get(category)
        if not counts:
            continue
        n = sum(counts.values())
        ok = sum(counts[o] for o in EXPECTED[category])
        total, good = total + n, good + ok
        cells = " ".join(f"{counts[o]:>14}" for o in OUTCOMES)
        print(f"  {category.value:<42}{n:>6} {ok / n:>11.1%}  {cells}")
    print(f"  {'all':<42}{total:>6} {good / total:>11.1%}")
    print(f"  wrong-person hits: {len(wrong_hits)}")
    for query, row in (wrong_hits + unexpected)[:show]:
        print(
            f"    {query.category.value} {query.name!r} {query.id_type} {query.id_number}"
            f" → {row['outcome']} {row['score']} {row['matched_external_id']} {row['reasons']}"
        )
    return not wrong_hits and good == total


def main() -> None:
    """Generate, import, screen and evaluate on each backend."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=12_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--url", help="a database URL to measure instead of the defaults")
    parser.add_argument("--no-fit", action="store_true", help="only the stated weights")
    parser.add_argument("--show", type=int, default=15, help="print this many failures")
    args = parser.parse_args()
    stated = Matcher.from_settings(Settings(data_dir=Path("/nonexistent")), purpose=PURPOSE)
    actor = system_principal("cli")
    with tempfile.TemporaryDirectory() as directory, databases(Path(directory), args.url) as dbs:
        tmp = Path(directory)
        persons = list(generate_persons(args.persons, seed=args.seed))
        registry = tmp / "registry.csv"
        write_registry_csv(registry, persons, seed=args.seed)
        queries = list(generate_queries(persons, args.queries, seed=args.seed))
        query_file = tmp / "queries.csv"
        write_queries_csv(query_file, queries)
        print(f"{len(persons):,} registry persons, {len(queries):,} queries (seed {args.seed})")
        for db in dbs:
            db.activate()
            started = time.perf_counter()
            imported = import_file(db.factory, actor=actor, path=registry)
            elapsed = time.perf_counter() - started
            print(
                f"{db.label}: imported {imported.rows_total:,} rows, {imported.rows_rejected}"
                f" rejected, {rate(imported.rows_total, elapsed)}"
            )
            matchers = [("stated", stated)]
            if not args.no_fit:
                with transaction(db.factory) as session:
                    profiles = sample_profiles(session, actor=actor, persons=20_000)
                fitted = refit(stated.model, profiles, pairs=200_000)
                matchers.append(("fitted", replace(stated, model=fitted)))
            for label, matcher in matchers:
                answers = tmp / f"answers-{db.label}-{label}.csv"
                started = time.perf_counter()
                summary = screen_file(
                    db.engine,
                    db.factory,
                    actor=actor,
                    path=query_file,
                    out=answers,
                    matcher=matcher,
                    today=latest_possible_date(),
                    explain=True,
                )
                elapsed = time.perf_counter() - started
                speed = rate(summary.rows, elapsed, "queries")
                print(f" {label} weights ({matcher.model.version}): {speed}")
                evaluate(answers, queries, args.show)


if __name__ == "__main__":
    main()
