"""Compliance pages for education officers and prosecutors: read-only, the same for both.

Each page calls `screening.compliance`, as the API does; only the scope differs (an authority's
tree, a procuratorate's territory). Nothing here changes anything but the audit log, which
records each read.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from shouhu.accounts.policies import allows
from shouhu.accounts.roles import Permission
from shouhu.core.errors import DomainError, ValidationFailedError
from shouhu.core.i18n import N_, current_language, gettext
from shouhu.identity.regions import region_name
from shouhu.registry.policy import policy
from shouhu.screening import compliance
from shouhu.screening.compliance import (
    OUTCOMES,
    STALE_PENDING_DAYS,
    Flag,
    InstitutionMeasures,
    Period,
)
from shouhu.screening.pages import ANSWER_LABELS, HIRING_LABELS, STATUS_LABELS
from shouhu.web.deps import Db, PagePermission, SignedIn
from shouhu.web.templating import render

router = APIRouter(prefix="/compliance", include_in_schema=False)

Supervisor = Annotated[SignedIn, Depends(PagePermission(Permission.COMPLIANCE_READ))]
DateText = Annotated[str, Query(max_length=10)]

FLAG_LABELS: Final = {
    Flag.HIRED_WITHOUT_NO_RECORD: N_("Hired without a no-record answer"),
    Flag.HIRES_REFUSED: N_("Hires refused"),
    Flag.STALE_PENDING: N_("Waiting over {days} days"),
    Flag.NO_ANNUAL_RECHECK: N_("No annual re-check"),
}
OUTCOME_LABELS: Final = {
    "no_record": N_("No record"),
    "record_found": N_("Record found"),
    "under_review": N_("Under review"),
    "pending_approval": N_("Awaiting approval"),
    "refused": N_("Refused by the authority"),
}
FLAG_MEANINGS: Final = {
    Flag.HIRED_WITHOUT_NO_RECORD: N_(
        "A hire recorded on an inquiry whose answer is not “no record”: Minors Law art. 62"
        " forbids it, so the person's employment needs checking at once."
    ),
    Flag.HIRES_REFUSED: N_(
        "The institution tried to hire after a record was found, or before any answer;"
        " Shouhu refused and recorded it."
    ),
    Flag.STALE_PENDING: N_(
        "An inquiry has waited for approval or review longer than {days} days, holding up a hiring."
    ),
    Flag.NO_ANNUAL_RECHECK: N_(
        "No annual re-check inquiry in a period of a year or more (Minors Law art. 62: all"
        " staff are re-checked every year)."
    ),
}
# The table's narrow columns.
OUTCOME_COLUMNS: Final = {**OUTCOME_LABELS, "refused": N_("Refused")}
# The table's orders: the gravest flags first unless the reader picks another column.
ORDERS: Final[dict[str, Callable[[InstitutionMeasures], Any]]] = {
    "flags": lambda m: (-m.weight, m.name),
    "name": lambda m: m.name,
    "inquiries": lambda m: (-m.inquiries, m.name),
    "refused": lambda m: (-m.hires_refused, m.name),
    "pending": lambda m: (-(m.oldest_pending_days or -1), -m.pending, m.name),
    "turnaround": lambda m: (-(m.turnaround.median_hours or -1), m.name),
}
# The chart compares this many institutions, in the table's order; the table lists them all.
CHART_INSTITUTIONS: Final = 30


def _date(text: str, field: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValidationFailedError("Enter a date written YYYY-MM-DD.", field=field) from exc


def _period(since: str, until: str) -> Period:
    return compliance.period_of(_date(since, "since"), _date(until, "until"))


def _purpose_names() -> dict[str, str]:
    chinese = current_language() == "zh_CN"
    return {
        code.value: rule.name_zh if chinese else rule.name_en
        for code, rule in policy().purposes.items()
    }


def _labels() -> dict[str, Any]:
    return {
        "flag_labels": FLAG_LABELS,
        "flag_meanings": FLAG_MEANINGS,
        "outcome_labels": OUTCOME_LABELS,
        "outcome_columns": OUTCOME_COLUMNS,
        "outcomes": OUTCOMES,
        "stale_days": STALE_PENDING_DAYS,
        "purpose_names": _purpose_names(),
        "status_labels": STATUS_LABELS,
        "answer_labels": ANSWER_LABELS,
        "hiring_labels": HIRING_LABELS,
    }


def _chart(institutions: list[InstitutionMeasures]) -> dict[str, Any]:
    """What the chart draws: turnaround and pending answers, by institution."""
    shown = institutions[:CHART_INSTITUTIONS]
    return {
        "institutions": [m.name for m in shown],
        "median": [_round(m.turnaround.median_hours) for m in shown],
        "p90": [_round(m.turnaround.p90_hours) for m in shown],
        "pending": [m.pending for m in shown],
        "labels": {
            "median": gettext("Median turnaround (hours)"),
            "p90": gettext("90th percentile turnaround (hours)"),
            "pending": gettext("Answers pending"),
            "hours": gettext("Hours"),
            "count": gettext("Inquiries"),
        },
    }


def _round(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def _error_page(
    request: Request, template: str, exc: DomainError, values: dict[str, Any]
) -> Response:
    context = {
        "error": gettext(exc.message, **exc.params),
        "report": None,
        "detail": None,
        **values,
        **_labels(),
    }
    return render(request, template, context, status=exc.status_code)


@router.get("")
def compliance_overview(
    request: Request,
    db: Db,
    me: Supervisor,
    *,
    since: DateText = "",
    until: DateText = "",
    order: Annotated[str, Query(max_length=20)] = "flags",
) -> Response:
    """The supervisor's institutions over the period, the gravest flags first, and a chart."""
    chosen = order if order in ORDERS else "flags"
    values = {"since": since, "until": until, "order": chosen, "orders": list(ORDERS)}
    try:
        period = _period(since, until)
    except DomainError as exc:
        return _error_page(request, "screening/compliance.html", exc, values)
    report = compliance.compliance_report(db, actor=me.principal, period=period)
    institutions = sorted(report.institutions, key=ORDERS[chosen])
    context = {
        **values,
        "since": period.since.isoformat(),
        "until": period.until.isoformat(),
        "report": report,
        "institutions": institutions,
        "territory_name": region_name(report.territory) if report.territory else None,
        "organisation": me.user.organisation.name,
        "chart": _chart(institutions),
        "chart_limit": CHART_INSTITUTIONS,
        "error": None,
        **_labels(),
    }
    return render(request, "screening/compliance.html", context)


@router.get("/{institution_id}")
def compliance_institution(
    request: Request,
    db: Db,
    me: Supervisor,
    institution_id: uuid.UUID,
    *,
    since: DateText = "",
    until: DateText = "",
) -> Response:
    """One institution: its measures, its inquiries (names masked) and its refused hires."""
    values = {"since": since, "until": until, "institution_id": institution_id}
    try:
        period = _period(since, until)
    except DomainError as exc:
        return _error_page(request, "screening/compliance_institution.html", exc, values)
    detail = compliance.institution_compliance(
        db, actor=me.principal, institution_id=institution_id, period=period
    )
    context = {
        **values,
        "since": period.since.isoformat(),
        "until": period.until.isoformat(),
        "detail": detail,
        "m": detail.measures,
        # The audit trail is the prosecutors' and auditors' to read (DESIGN §2).
        "audit_link": allows(me.principal, Permission.AUDIT_READ),
        "error": None,
        **_labels(),
    }
    return render(request, "screening/compliance_institution.html", context)
