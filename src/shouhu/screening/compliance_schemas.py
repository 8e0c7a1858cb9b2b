"""API shapes of the compliance view: counts per institution, never a candidate."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Final

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from shouhu.screening.compliance import (
    ComplianceReport,
    Flag,
    InstitutionMeasures,
    Scope,
    Turnaround,
)

EXAMPLE_INSTITUTION: Final[JsonDict] = {
    "id": "3c9e1a52-7d4b-4f1e-a0c2-5b8d6e7f9a10",
    "name": "天河区第一小学",
    "kind": "primary_school",
    "region_code": "440106",
    "active": True,
    "inquiries": 42,
    "by_purpose": {"school_staff": 30, "annual_recheck": 12},
    "outcomes": {
        "no_record": 38,
        "record_found": 1,
        "under_review": 1,
        "pending_approval": 1,
        "refused": 1,
    },
    "hires": 25,
    "hires_refused": 1,
    "hires_without_no_record": 0,
    "pending": 2,
    "oldest_pending_days": 9.4,
    "turnaround": {"answered": 39, "median_hours": 2.5, "p90_hours": 30.1},
    "flags": ["hires_refused", "stale_pending"],
}


class OutcomesOut(BaseModel):
    """What became of the period's inquiries: the answer, or where each stands."""

    no_record: int
    record_found: int
    under_review: int = Field(description="A possible match, waiting for a registry reviewer")
    pending_approval: int = Field(description="Waiting for the education authority's approval")
    refused: int = Field(description="The authority refused to run it")


class TurnaroundOut(BaseModel):
    """From submission to final answer, over the answers given in the period."""

    answered: int = Field(description="Answers given in the period")
    median_hours: float | None = Field(description="null without answers")
    p90_hours: float | None = Field(description="90th percentile; null without answers")


class InstitutionComplianceOut(BaseModel):
    """One supervised institution over the period."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_INSTITUTION]})

    id: uuid.UUID
    name: str
    kind: str | None
    region_code: str = Field(description="GB/T 2260 code")
    active: bool
    inquiries: int = Field(description="Inquiries submitted in the period")
    by_purpose: dict[str, int] = Field(description="Those inquiries by purpose")
    outcomes: OutcomesOut
    hires: int = Field(description="Hires recorded in the period")
    hires_refused: int = Field(
        description="Hires refused in the period: after record_found, or before any answer"
    )
    hires_without_no_record: int = Field(
        description="Hires whose inquiry's answer is not no_record (should be 0)"
    )
    pending: int = Field(description="Inquiries waiting for approval or review now")
    oldest_pending_days: float | None = Field(description="How long the oldest has waited")
    turnaround: TurnaroundOut
    flags: list[Flag] = Field(description="What to look into, the gravest first")


class ComplianceOut(BaseModel):
    """The caller's institutions: below their authority, or in their procuratorate's territory."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "scope": "territory",
                    "territory": "440100",
                    "since": "2025-03-10",
                    "until": "2026-03-10",
                    "generated_at": "2026-03-10T08:30:00Z",
                    "institutions": [EXAMPLE_INSTITUTION],
                }
            ]
        }
    )

    scope: Scope = Field(
        description="authority: below the caller's authority in the organisation tree;"
        " territory: in the caller's procuratorate's region"
    )
    territory: str | None = Field(description="The procuratorate's region code, for territory")
    since: date = Field(description="First day of the period (UTC)")
    until: date = Field(description="Last day of the period (UTC), inclusive")
    generated_at: datetime
    institutions: list[InstitutionComplianceOut] = Field(description="The gravest flags first")


def _hours(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def turnaround_out(turnaround: Turnaround) -> TurnaroundOut:
    """The turnaround, rounded to hundredths of an hour."""
    return TurnaroundOut(
        answered=turnaround.answered,
        median_hours=_hours(turnaround.median_hours),
        p90_hours=_hours(turnaround.p90_hours),
    )


def institution_out(measures: InstitutionMeasures) -> InstitutionComplianceOut:
    """One institution's measures."""
    return InstitutionComplianceOut(
        id=measures.id,
        name=measures.name,
        kind=measures.kind,
        region_code=measures.region_code,
        active=measures.active,
        inquiries=measures.inquiries,
        by_purpose=measures.by_purpose,
        outcomes=OutcomesOut(**measures.outcomes),
        hires=measures.hires,
        hires_refused=measures.hires_refused,
        hires_without_no_record=measures.hires_without_no_record,
        pending=measures.pending,
        oldest_pending_days=_hours(measures.oldest_pending_days),
        turnaround=turnaround_out(measures.turnaround),
        flags=measures.flags,
    )


def compliance_out(report: ComplianceReport) -> ComplianceOut:
    """The report as the API gives it."""
    return ComplianceOut(
        scope=report.scope,
        territory=report.territory,
        since=report.period.since,
        until=report.period.until,
        generated_at=report.generated_at,
        institutions=[institution_out(m) for m in report.institutions],
    )
