"""The site-performance page: a period form, a table and charts, aggregates only.

It calls `onestop.performance`, as the API does. A suppressed figure is shown as "fewer than
5", never as 0, and is left out of the charts with a note saying which sites were left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from shouhu.accounts.roles import Permission
from shouhu.core.errors import DomainError
from shouhu.core.i18n import N_, gettext
from shouhu.onestop import performance
from shouhu.onestop.performance import Figure, Measures, PerformanceReport
from shouhu.web.deps import Db, PagePermission, SignedIn
from shouhu.web.templating import render

router = APIRouter(prefix="/onestop", include_in_schema=False)

Reader = Annotated[SignedIn, Depends(PagePermission(Permission.ONESTOP_PERFORMANCE_READ))]
MonthText = Annotated[str, Query(max_length=7)]


@dataclass(frozen=True)
class Chart:
    """One chart: a measure, how its value is shown, and its title."""

    key: str
    title: str
    unit: str
    scale: float  # shares are charted as percentages
    digits: int


CHARTS: Final = (
    Chart(
        "session_median_hours",
        N_("Hours from receipt to the joint session (median)"),
        N_("Hours"),
        1,
        1,
    ),
    Chart(
        "full_attendance_share",
        N_("Sessions with every required agency (%)"),
        "%",
        100,
        1,
    ),
    Chart("interviews_per_child", N_("Interviews per child"), N_("Interviews"), 1, 2),
    Chart("recorded_share", N_("Interviews recorded (%)"), "%", 100, 1),
    Chart("medical_on_site_share", N_("Medical examinations on site (%)"), "%", 100, 1),
    Chart(
        "service_median_hours",
        N_("Hours from receipt to the first service (median)"),
        N_("Hours"),
        1,
        1,
    ),
)
# The table's columns, in order, with how each figure is written.
COLUMNS: Final = (
    ("cases", N_("Cases"), "count"),
    ("session_median_hours", N_("Hours to joint session, median"), "hours"),
    ("session_p90_hours", N_("Hours to joint session, 90%"), "hours"),
    ("full_attendance_share", N_("Sessions with every required agency"), "share"),
    ("interviews_per_child", N_("Interviews per child"), "mean"),
    ("reinterviewed_share", N_("Children interviewed more than once"), "share"),
    ("recorded_share", N_("Interviews recorded"), "share"),
    ("medical_on_site_share", N_("Medical examinations on site"), "share"),
    ("service_median_hours", N_("Hours to first service, median"), "hours"),
)
FORMATS: Final[dict[str, Callable[[float], str]]] = {
    "count": lambda v: f"{v:.0f}",
    "hours": lambda v: f"{v:.1f}",
    "share": lambda v: f"{100 * v:.0f}%",
    "mean": lambda v: f"{v:.2f}",
}


def _cells(measures: Measures) -> list[dict[str, Any]]:
    cells = []
    for key, _label, style in COLUMNS:
        figure: Figure = getattr(measures, key)
        text = None if figure.suppressed or figure.value is None else FORMATS[style](figure.value)
        cells.append({"key": key, "text": text, "withheld": figure.withheld})
    return cells


def _charts(report: PerformanceReport) -> list[dict[str, Any]]:
    """Each measure's chart: the nation, then every site whose figure is shown."""
    charts = []
    national_label = gettext("National")
    for chart in CHARTS:
        names: list[str] = []
        values: list[float] = []
        national: Figure = getattr(report.national, chart.key)
        if not national.suppressed and national.value is not None:
            names.append(national_label)
            values.append(round(national.value * chart.scale, chart.digits))
        left_out: list[str] = []
        withheld: list[str] = []
        for site in report.sites:
            figure: Figure = getattr(site.measures, chart.key)
            if figure.suppressed or figure.value is None:
                (withheld if figure.withheld else left_out).append(site.name)
                continue
            names.append(site.name)
            values.append(round(figure.value * chart.scale, chart.digits))
        charts.append(
            {
                "key": chart.key,
                "title": gettext(chart.title),
                "unit": gettext(chart.unit),
                "names": names,
                "values": values,
                "national": national_label if names and names[0] == national_label else None,
                "left_out": left_out,
                "withheld": withheld,
            }
        )
    return charts


@router.get("/performance")
def performance_page(
    request: Request,
    db: Db,
    me: Reader,
    *,
    from_month: Annotated[MonthText, Query(alias="from")] = "",
    to_month: Annotated[MonthText, Query(alias="to")] = "",
) -> Response:
    """Every site's figures and the nation's over the period, as a table and charts."""
    context: dict[str, Any] = {
        "from_month": from_month,
        "to_month": to_month,
        "columns": COLUMNS,
        "threshold": performance.SUPPRESSION_THRESHOLD,
        "report": None,
        "error": None,
    }
    try:
        period = performance.period_of(from_month, to_month)
    except DomainError as exc:
        context["error"] = gettext(exc.message, **exc.params)
        return render(request, "onestop/performance.html", context, status=exc.status_code)
    report = performance.site_performance(db, actor=me.principal, period=period)
    charts = _charts(report)
    context.update(
        {
            "from_month": period.first_text,
            "to_month": period.last_text,
            "report": report,
            "national": _cells(report.national),
            "sites": [(site, _cells(site.measures)) for site in report.sites],
            "charts": charts,
            "chart_data": {"charts": [c for c in charts if c["values"]]},
        }
    )
    return render(request, "onestop/performance.html", context)
