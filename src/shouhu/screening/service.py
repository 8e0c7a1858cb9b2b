"""Screening queries against the registry: the one service the CLI, the API and batches use."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from shouhu.accounts.policies import require
from shouhu.accounts.roles import Permission
from shouhu.core.audit.chain import record as audit_record
from shouhu.core.errors import ConflictError
from shouhu.core.principal import Principal
from shouhu.core.settings import Settings
from shouhu.matching.engine import Decision, Outcome, Thresholds, decide_many
from shouhu.matching.model import MatchModel, load_model, stated_model
from shouhu.registry.candidates import RegistryCandidates
from shouhu.registry.policy import InquiryPurpose, RecordScope, policy
from shouhu.registry.profiles import count_stale, has_stale
from shouhu.screening.queries import InvalidQuery, ValidQuery

AUDIT_ACTION: Final = "screening:screen"
INVALID: Final = "invalid"
OUTCOMES: Final = (*(outcome.value for outcome in Outcome), INVALID)


class StaleKeysError(ConflictError):
    """Some persons' keys were built by an older derivation: screening would miss them."""

    code = "stale_matching_keys"


@dataclass(frozen=True, slots=True)
class Matcher:
    """What screening decides with: the model, the thresholds and the records that count."""

    model: MatchModel
    thresholds: Thresholds
    scope: RecordScope

    @classmethod
    def from_settings(cls, settings: Settings, *, purpose: InquiryPurpose) -> Matcher:
        """The settings' weights (else the stated ones) and thresholds; the current policy."""
        path = settings.resolved_match_weights
        model = load_model(path) if path else stated_model()
        return cls(
            model,
            Thresholds(hit=settings.match_hit_threshold, review=settings.match_review_threshold),
            policy().scope(purpose),
        )


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    """The answer to one query: an outcome (or `invalid` with a message) and its decision."""

    reference: str
    outcome: str
    message: str = ""
    decision: Decision | None = None

    @property
    def score(self) -> float | None:
        """The best candidate's score, if any was scored."""
        return self.decision.score if self.decision else None


def check_keys_current(session: Session) -> None:
    """Refuse to screen while some persons' keys are stale: they could be missed."""
    if has_stale(session):  # the index answers at once; counting would read them all
        raise StaleKeysError(
            "{count} registry persons have matching keys built by an older version; run "
            "`shouhu registry rebuild-keys` before screening.",
            count=count_stale(session),
        )


def match_queries(
    session: Session, *, queries: Sequence[ValidQuery | InvalidQuery], matcher: Matcher
) -> list[ScreeningResult]:
    """Answer each query in order (reads only: the caller audits with `record_screening`)."""
    valid = [query for query in queries if isinstance(query, ValidQuery)]
    decisions = iter(
        decide_many(
            [query.profile for query in valid],
            RegistryCandidates(session, matcher.scope),
            model=matcher.model,
            thresholds=matcher.thresholds,
        )
    )
    results: list[ScreeningResult] = []
    for query in queries:
        if isinstance(query, InvalidQuery):
            results.append(ScreeningResult(query.reference, INVALID, query.message()))
        else:
            decision = next(decisions)
            results.append(ScreeningResult(query.reference, decision.outcome.value, "", decision))
    return results


def record_screening(
    session: Session,
    *,
    actor: Principal,
    results: Sequence[ScreeningResult],
    matcher: Matcher,
    via: str,
    object_id: object | None = None,
) -> None:
    """The audit event of a screening: counts per outcome, never an identity (DESIGN §4)."""
    outcomes = Counter(result.outcome for result in results)
    audit_record(
        session,
        actor=actor,
        action=AUDIT_ACTION,
        object_type="screening",
        object_id=object_id,
        details={
            "via": via,
            "inquiry_purpose": matcher.scope.purpose.value,
            "policy_version": matcher.scope.policy_version,
            "queries": len(results),
            "model": matcher.model.version,
            **{f"outcome_{name}": outcomes.get(name, 0) for name in OUTCOMES},
        },
    )


def screen(
    session: Session,
    *,
    actor: Principal,
    queries: Sequence[ValidQuery | InvalidQuery],
    matcher: Matcher,
    via: str,
) -> list[ScreeningResult]:
    """Check the right, answer each query and audit it, all in the session's transaction."""
    require(actor, Permission.REGISTRY_SCREEN)
    check_keys_current(session)
    results = match_queries(session, queries=queries, matcher=matcher)
    record_screening(session, actor=actor, results=results, matcher=matcher, via=via)
    return results
