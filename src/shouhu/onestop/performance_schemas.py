"""Response bodies of the site-performance API (issue 6, item 8)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from shouhu.onestop.performance import Figure, Measures, PerformanceReport


class FigureOut(BaseModel):
    """One figure; null and `suppressed` when fewer than 5 units lie under it (DESIGN §4)."""

    value: float | None
    suppressed: bool
    withheld: bool = Field(
        description="Suppressed although 5 or more units lie under it, so that a smaller"
        " site's hidden figure cannot be worked out from the national one"
    )


class MeasuresOut(BaseModel):
    """The figures of a site or of the nation (docs/onestop.md, "Site performance")."""

    cases: FigureOut = Field(description="Cases received in the period")
    session_median_hours: FigureOut = Field(
        description="Median hours from receipt to the first joint session held"
    )
    session_p90_hours: FigureOut = Field(
        description="90th percentile hours from receipt to the first joint session held"
    )
    full_attendance_share: FigureOut = Field(
        description="Share of held sessions with every required agency present together"
    )
    interviews_per_child: FigureOut = Field(
        description="Mean forensic interviews per child interviewed"
    )
    reinterviewed_share: FigureOut = Field(
        description="Share of interviewed children interviewed more than once"
    )
    recorded_share: FigureOut = Field(description="Share of forensic interviews recorded")
    medical_on_site_share: FigureOut = Field(
        description="Share of medical examinations done at the site"
    )
    service_median_hours: FigureOut = Field(
        description="Median hours from receipt to the first service started"
    )


class SitePerformanceOut(BaseModel):
    """A site and its figures."""

    site_id: uuid.UUID
    name: str
    figures: MeasuresOut


class PerformanceOut(BaseModel):
    """The period's figures: national, then one entry per site by name."""

    from_month: str = Field(description="First month, YYYY-MM (Beijing time)")
    to_month: str = Field(description="Last month, YYYY-MM, inclusive")
    computed_at: datetime
    suppression_threshold: int = Field(description="Figures on fewer units are suppressed")
    national: MeasuresOut
    sites: list[SitePerformanceOut]


def _figure(figure: Figure) -> FigureOut:
    value = None if figure.suppressed or figure.value is None else round(figure.value, 4)
    return FigureOut(value=value, suppressed=figure.suppressed, withheld=figure.withheld)


def measures_out(measures: Measures) -> MeasuresOut:
    """The figures as the API answers them."""
    return MeasuresOut(
        **{name: _figure(getattr(measures, name)) for name in MeasuresOut.model_fields}
    )


def performance_out(report: PerformanceReport, threshold: int) -> PerformanceOut:
    """A report as the API answers it."""
    return PerformanceOut(
        from_month=report.period.first_text,
        to_month=report.period.last_text,
        computed_at=report.computed_at,
        suppression_threshold=threshold,
        national=measures_out(report.national),
        sites=[
            SitePerformanceOut(site_id=s.site_id, name=s.name, figures=measures_out(s.measures))
            for s in report.sites
        ],
    )
