"""The decision: candidates by blocking keys, scored, thresholded and explained (DESIGN §5).

`decide` knows nothing of the database: a `CandidateSource` (the registry's, in
`shouhu.registry.candidates`) finds candidates by key, opens their profiles and says which of them
hold a record in scope. Missing an offender is the failure that matters most, so every candidate
a key finds is scored (up to a bound that only pathological buckets reach); a false hit on an
innocent candidate is the next, so `hit` needs the document to agree exactly as well as a score
over the hit threshold; anything less that is still likely goes to a reviewer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol, TypeAlias

from shouhu.matching.blocking import DOCUMENT_KINDS, NAME_KINDS, KeyKind, QueryKeys, query_keys
from shouhu.matching.compare import Field, Level, compare_profiles
from shouhu.matching.model import MatchModel, ScoredComparison
from shouhu.matching.profile import MatchProfile

# How a candidate source names a person: whatever its database returns (a UUID, 32 hex
# digits), never converted on the hot path.
PersonRef: TypeAlias = Hashable

# At most this many candidates are scored; they are taken strongest evidence first, so only a
# bucket of thousands (a placeholder birth date, say) is ever cut, and never a document match.
MAX_CANDIDATES: Final = 500
# A name alone is looked up (a query without a birth date) up to this many persons per key.
NAME_ONLY_CAP: Final = 200


class Outcome(StrEnum):
    """What the engine answers (DESIGN §5)."""

    HIT = "hit"
    POSSIBLE_MATCH = "possible_match"
    NO_RECORD = "no_record"


class Rule(StrEnum):
    """Why the outcome is what it is, beyond the score."""

    SCORE_OVER_HIT = "score_over_hit_threshold_and_document_exact"
    DOCUMENT_NOT_EXACT = "score_over_hit_threshold_but_document_not_exact"
    SCORE_OVER_REVIEW = "score_over_review_threshold"
    SCORE_UNDER_REVIEW = "score_under_review_threshold"
    NOTHING_IDENTIFYING = "neither_name_nor_document_agrees"
    NO_CANDIDATE = "no_candidate"
    NO_RECORD_IN_SCOPE = "no_record_in_scope"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Scores at which a candidate becomes a hit (with an exact document) or goes to review."""

    hit: float
    review: float

    def __post_init__(self) -> None:
        """The hit threshold is never below the review threshold."""
        if self.hit < self.review:
            raise ValueError("the hit threshold must not be below the review threshold")


class CandidateSource(Protocol):
    """Where candidates come from: the registry, or a test's list."""

    def lookup(self, keys: Collection[bytes]) -> Mapping[bytes, list[tuple[PersonRef, KeyKind]]]:
        """For each key, the persons holding it (and the key's kind)."""
        ...

    def lookup_capped(self, key: bytes, *, cap: int) -> list[tuple[PersonRef, KeyKind]]:
        """Up to `cap` persons holding one key (a name alone may be held by thousands)."""
        ...

    def profiles(self, person_ids: Collection[PersonRef]) -> Mapping[PersonRef, Candidate]:
        """The candidates' profiles, and whether each holds a record that counts."""
        ...


@dataclass(frozen=True, slots=True)
class Candidate:
    """A registry person as matching sees it."""

    person_id: PersonRef
    external_id: str
    profile: MatchProfile
    in_scope: bool  # holds a record that counts for this inquiry


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a candidate scored as it did: for the reviewer, never for the institution."""

    person_id: PersonRef
    external_id: str
    score: float
    fields: tuple[ScoredComparison, ...]
    keys: frozenset[KeyKind]
    rule: Rule
    model_version: str

    def reasons(self) -> str:
        """One line: each field's level and weight, strongest evidence first."""
        ordered = sorted(self.fields, key=lambda s: -abs(s.weight))
        parts = [
            f"{s.comparison.field.value}={s.comparison.level.value}"
            + (f" ({s.comparison.detail})" if s.comparison.detail else "")
            + f" {s.weight:+.1f}"
            for s in ordered
        ]
        return "; ".join([*parts, f"rule={self.rule.value}"])


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one query, with the best candidate's explanation."""

    outcome: Outcome
    score: float | None  # the best candidate's score; None without candidates
    explanation: Explanation | None
    candidates: int  # how many were scored


def _evidence(kinds: set[KeyKind]) -> tuple[int, int, int]:
    """Sort key: document keys first, then name keys, then how many kinds agree."""
    return (
        -len(kinds & DOCUMENT_KINDS),
        -len(kinds & NAME_KINDS),
        -len(kinds),
    )


def _strongest(found: Mapping[PersonRef, set[KeyKind]], limit: int) -> list[PersonRef]:
    ordered = sorted(found, key=lambda person_id: _evidence(found[person_id]))
    return ordered[:limit]


def _level(fields: list[ScoredComparison], field: Field) -> Level | None:
    return next((s.comparison.level for s in fields if s.comparison.field is field), None)


def _outcome(
    score: float, fields: list[ScoredComparison], limits: Thresholds
) -> tuple[Outcome, Rule]:
    document = _level(fields, Field.DOCUMENT)
    document_exact = document is Level.EXACT
    if document not in {Level.EXACT, Level.CLOSE} and _level(fields, Field.NAME) is Level.DIFFERENT:
        # A birth date, a sex and a nationality are shared by thousands: without the name or
        # the number agreeing at all, nothing says this is the same person.
        return Outcome.NO_RECORD, Rule.NOTHING_IDENTIFYING
    if score >= limits.hit:
        if document_exact:
            return Outcome.HIT, Rule.SCORE_OVER_HIT
        # A new identity number for the same name, birth date and sex, or a renewed passport:
        # perhaps the same person, perhaps a namesake; a person must decide (DESIGN §5).
        return Outcome.POSSIBLE_MATCH, Rule.DOCUMENT_NOT_EXACT
    if score >= limits.review:
        return Outcome.POSSIBLE_MATCH, Rule.SCORE_OVER_REVIEW
    return Outcome.NO_RECORD, Rule.SCORE_UNDER_REVIEW


_RANK: Final = {Outcome.HIT: 0, Outcome.POSSIBLE_MATCH: 1, Outcome.NO_RECORD: 2}


def _found(
    keys: QueryKeys,
    bounded: Mapping[bytes, list[tuple[PersonRef, KeyKind]]],
    source: CandidateSource,
) -> dict[PersonRef, set[KeyKind]]:
    found: dict[PersonRef, set[KeyKind]] = defaultdict(set)
    for key in keys.bounded:
        for person_id, kind in bounded.get(key, ()):
            found[person_id].add(kind)
    for key in keys.capped:
        for person_id, kind in source.lookup_capped(key, cap=NAME_ONLY_CAP):
            found[person_id].add(kind)
    return found


_Scored: TypeAlias = tuple[Outcome, float, Explanation, bool]


def _scored(
    query: MatchProfile,
    found: Mapping[PersonRef, set[KeyKind]],
    candidates: Mapping[PersonRef, Candidate],
    model: MatchModel,
    thresholds: Thresholds,
) -> list[_Scored]:
    """Each candidate's outcome, score, explanation and scope, strongest first."""
    scored: list[_Scored] = []
    for person_id in _strongest(found, MAX_CANDIDATES):
        candidate = candidates.get(person_id)
        if candidate is None:
            continue  # removed since the look-up
        score, fields = model.score(compare_profiles(query, candidate.profile))
        outcome, rule = _outcome(score, fields, thresholds)
        explanation = Explanation(
            person_id,
            candidate.external_id,
            round(score, 2),
            tuple(fields),
            frozenset(found[person_id]),
            rule,
            model.version,
        )
        scored.append((outcome, score, explanation, candidate.in_scope))
    scored.sort(key=lambda item: (_RANK[item[0]], -item[1]))
    return scored


def _choose(scored: list[_Scored]) -> Decision:
    """The best candidate with a record in scope wins; else the best one explains no record."""
    if not scored:
        return Decision(Outcome.NO_RECORD, None, None, 0)
    for outcome, score, explanation, in_scope in scored:
        if outcome is not Outcome.NO_RECORD and in_scope:
            return Decision(outcome, round(score, 2), explanation, len(scored))
    best_outcome, best_score, best, _ = scored[0]
    if best_outcome is not Outcome.NO_RECORD:
        # The person matched, but nothing they hold counts for this inquiry.
        best = _with_rule(best, Rule.NO_RECORD_IN_SCOPE)
    return Decision(Outcome.NO_RECORD, round(best_score, 2), best, len(scored))


def _candidates_of(
    queries: Sequence[MatchProfile], source: CandidateSource
) -> tuple[list[dict[PersonRef, set[KeyKind]]], Mapping[PersonRef, Candidate]]:
    """One key look-up and one profile fetch for a whole batch of queries."""
    keys = [query_keys(query) for query in queries]
    bounded = source.lookup({key for query in keys for key in query.bounded})
    found = [_found(query, bounded, source) for query in keys]
    wanted = {
        person_id for candidates in found for person_id in _strongest(candidates, MAX_CANDIDATES)
    }
    return found, source.profiles(wanted)


def decide_many(
    queries: Sequence[MatchProfile],
    source: CandidateSource,
    *,
    model: MatchModel,
    thresholds: Thresholds,
) -> list[Decision]:
    """Decide a batch: one key look-up and one profile fetch for all of them, then each alone."""
    found, candidates = _candidates_of(queries, source)
    return [
        _choose(_scored(query, each, candidates, model, thresholds))
        for query, each in zip(queries, found, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class ScoredCandidate:
    """One candidate of a query: what it alone would answer (whatever its records) and why."""

    outcome: Outcome
    explanation: Explanation


def score_candidates(
    queries: Sequence[MatchProfile],
    source: CandidateSource,
    *,
    model: MatchModel,
    thresholds: Thresholds,
) -> list[list[ScoredCandidate]]:
    """Every candidate of each query, scored, strongest outcome and score first.

    For sweeps of the registry against itself (duplicate persons), where every likely pair
    matters, not only the answer an inquiry would get.
    """
    found, candidates = _candidates_of(queries, source)
    return [
        [
            ScoredCandidate(outcome, explanation)
            for outcome, _, explanation, _ in _scored(query, each, candidates, model, thresholds)
        ]
        for query, each in zip(queries, found, strict=True)
    ]


def decide(
    query: MatchProfile,
    source: CandidateSource,
    *,
    model: MatchModel,
    thresholds: Thresholds,
) -> Decision:
    """Find, score and decide one query; the best candidate with a record in scope wins."""
    return decide_many([query], source, model=model, thresholds=thresholds)[0]


def _with_rule(explanation: Explanation, rule: Rule) -> Explanation:
    return Explanation(
        explanation.person_id,
        explanation.external_id,
        explanation.score,
        explanation.fields,
        explanation.keys,
        rule,
        explanation.model_version,
    )
