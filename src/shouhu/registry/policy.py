"""The disclosure policy: which registry records count for which inquiry, as versioned data.

Each version is a TOML file shipped with the package (`data/policies/policy-N.toml`) holding the
offence catalogue and the inquiry purposes. A released version is never edited: its SHA-256 is
listed in `RELEASED`, `policy()` refuses a file that does not match, and a change is a new
version. An inquiry records the version it was answered under, so an answer can always be
explained by the rules of its day.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, Final

from shouhu.registry.models import RecordKind, RecordStatus
from shouhu.registry.offences import (
    CatalogueError,
    OffenceCatalogue,
    OffenceCategory,
    parse_catalogue,
)

# version → SHA-256 of its file. Add a line per release; never change one.
RELEASED: Final[dict[int, str]] = {
    1: "9d21bb3cf211ee8ccedffbb92845de70f0c6fdbaedee90fe18d6bc080d464b43",
    2: "a60e340b87157fbf1d0b236806e0f111a57f3ea2315b4fb2e1ce2ef930e85b78",
}
CURRENT_VERSION: Final = max(RELEASED)


class InquiryPurpose(StrEnum):
    """Why an inquiry is made; the policy says which records count for each."""

    SCHOOL_STAFF = "school_staff"
    CLOSE_CONTACT = "close_contact"
    TEACHER_QUALIFICATION = "teacher_qualification"
    ANNUAL_RECHECK = "annual_recheck"


class PolicyError(CatalogueError):
    """A packaged policy file is malformed or was edited after release (a defect of the release)."""


@dataclass(frozen=True, slots=True)
class Purpose:
    """What one inquiry purpose discloses, and on what legal basis."""

    code: InquiryPurpose
    name_zh: str
    name_en: str
    legal_basis: str
    categories: frozenset[OffenceCategory]
    record_kinds: frozenset[RecordKind]
    employer: bool  # an employer's inquiry: sealed records never count (CPL art. 286)


@dataclass(frozen=True, slots=True)
class RecordScope:
    """The records that count for one purpose under one policy version, as plain values.

    Plain sorted tuples, so that the scope can be sent to worker processes and bound in SQL.
    """

    policy_version: int
    purpose: InquiryPurpose
    statuses: tuple[str, ...]
    record_kinds: tuple[str, ...]
    offences: tuple[str, ...]

    def counts(self, *, status: str, kind: str, offence: str) -> bool:
        """Whether a record with these values counts for this purpose."""
        return status in self.statuses and kind in self.record_kinds and offence in self.offences


@dataclass(frozen=True, slots=True)
class SealingRule:
    """When a record may be sealed (Criminal Procedure Law art. 286)."""

    under_age: int
    max_sentence_months: int
    legal_basis: str


@dataclass(frozen=True)
class DisclosurePolicy:
    """One version of the policy: its catalogue, its purposes and its record rules.

    A version without `sealing` allows no record to be sealed; `sealed_visible_to` names the
    roles that may read a sealed record; `unfinished_submission_days` (None: kept) is how long
    a draft or returned submission is kept after its last change.
    """

    version: int
    effective: date
    catalogue: OffenceCatalogue
    purposes: dict[InquiryPurpose, Purpose]
    sealing: SealingRule | None = None
    sealed_visible_to: frozenset[str] = frozenset()
    unfinished_submission_days: int | None = None

    def scope(self, purpose: InquiryPurpose) -> RecordScope:
        """The records that count for `purpose`."""
        rule = self.purposes[purpose]
        offences = sorted(
            offence.code
            for offence in self.catalogue.offences.values()
            if offence.category in rule.categories and offence.record_kinds & rule.record_kinds
        )
        return RecordScope(
            policy_version=self.version,
            purpose=purpose,
            # Revoked, corrected and unapproved records count for nothing; a sealed one never
            # for an employer's inquiry (Criminal Procedure Law art. 286).
            statuses=(
                (RecordStatus.ACTIVE.value,)
                if rule.employer
                else (RecordStatus.ACTIVE.value, RecordStatus.SEALED.value)
            ),
            record_kinds=tuple(sorted(kind.value for kind in rule.record_kinds)),
            offences=tuple(offences),
        )


def _purpose(code: str, entry: dict[str, Any]) -> Purpose:
    try:
        return Purpose(
            code=InquiryPurpose(code),
            name_zh=str(entry["name_zh"]),
            name_en=str(entry["name_en"]),
            legal_basis=str(entry["legal_basis"]),
            categories=frozenset(OffenceCategory(c) for c in entry["categories"]),
            record_kinds=frozenset(RecordKind(k) for k in entry["record_kinds"]),
            employer=bool(entry["employer"]),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise PolicyError(f"bad purpose {code!r}: {exc}") from exc


def _sealing(entry: Any) -> SealingRule | None:
    if entry is None:
        return None
    try:
        return SealingRule(
            under_age=int(entry["under_age"]),
            max_sentence_months=int(entry["max_sentence_months"]),
            legal_basis=str(entry["legal_basis"]),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise PolicyError(f"bad [sealing]: {exc}") from exc


def _roles(entry: Any) -> frozenset[str]:
    if entry is None:
        return frozenset()
    roles = entry.get("visible_to") if isinstance(entry, dict) else None
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise PolicyError("[sealed] visible_to must be a list of role names")
    return frozenset(roles)


def _retention(entry: Any) -> int | None:
    if entry is None:
        return None
    days = entry.get("unfinished_submission_days") if isinstance(entry, dict) else None
    if not isinstance(days, int) or days < 1:
        raise PolicyError("[retention] unfinished_submission_days must be a positive integer")
    return days


def parse_policy(text: str) -> DisclosurePolicy:
    """Parse a policy file: its version, effective date, catalogue, purposes and record rules."""
    data = tomllib.loads(text)
    effective = data.get("effective")
    if not isinstance(effective, date):
        raise PolicyError("the policy needs an `effective` date")
    purposes = {
        purpose.code: purpose
        for purpose in (_purpose(code, entry) for code, entry in data.get("purpose", {}).items())
    }
    missing = sorted(set(InquiryPurpose) - set(purposes))
    if missing:
        raise PolicyError(f"the policy does not cover the purposes {', '.join(missing)}")
    catalogue = parse_catalogue(text)
    return DisclosurePolicy(
        catalogue.version,
        effective,
        catalogue,
        purposes,
        sealing=_sealing(data.get("sealing")),
        sealed_visible_to=_roles(data.get("sealed")),
        unfinished_submission_days=_retention(data.get("retention")),
    )


def policy_text(version: int) -> bytes:
    """The packaged file of a policy version, as released."""
    files = resources.files("shouhu.registry").joinpath("data", "policies")
    return files.joinpath(f"policy-{version}.toml").read_bytes()


def policy(version: int | None = None) -> DisclosurePolicy:
    """A released policy version (the current one by default), checked against its digest."""
    return _load(CURRENT_VERSION if version is None else version)


@cache
def _load(version: int) -> DisclosurePolicy:
    """Read, check and parse one version (once per process)."""
    if version not in RELEASED:
        raise PolicyError(f"policy version {version} was never released")
    raw = policy_text(version)
    if hashlib.sha256(raw).hexdigest() != RELEASED[version]:
        raise PolicyError(
            f"policy-{version}.toml differs from the released version {version}: a released"
            " policy is never edited; write the change as the next version"
        )
    parsed = parse_policy(raw.decode("utf-8"))
    if parsed.version != version:
        raise PolicyError(f"policy-{version}.toml says it is version {parsed.version}")
    return parsed


def catalogue() -> OffenceCatalogue:
    """The current policy's offence catalogue: the codes an import may name."""
    return policy().catalogue
