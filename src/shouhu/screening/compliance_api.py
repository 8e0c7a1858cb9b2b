"""The compliance view over the API: for the authorities' and procuratorates' own systems."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query

from shouhu.accounts.roles import Permission
from shouhu.core.principal import Principal
from shouhu.screening import compliance
from shouhu.screening.compliance_schemas import ComplianceOut, compliance_out
from shouhu.web.deps import ApiPermission, Db

router = APIRouter(prefix="/compliance", tags=["compliance"])

Supervisor = Annotated[Principal, Depends(ApiPermission(Permission.COMPLIANCE_READ))]

PROBLEM: Final[dict[str, Any]] = {
    "content": {"application/problem+json": {"schema": {"type": "object"}}}
}
ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"description": "No valid bearer token", **PROBLEM},
    403: {"description": "Not an education officer or a prosecutor", **PROBLEM},
    422: {"description": "An invalid period; `errors` names the field", **PROBLEM},
}


@router.get("", response_model=ComplianceOut, responses=ERRORS)
def read_compliance(
    db: Db,
    principal: Supervisor,
    since: Annotated[
        date | None,
        Query(description="First day of the period (UTC); default a year before `until`"),
    ] = None,
    until: Annotated[
        date | None, Query(description="Last day of the period (UTC), inclusive; default today")
    ] = None,
) -> ComplianceOut:
    """Each institution the caller supervises, measured over the period.

    An education officer's are the institutions below their authority in the organisation
    tree, at any depth; a prosecutor's those in their procuratorate's territory (a county
    code: that county; a prefecture's `xxxx00`: its counties; a province's `xx0000`: the
    province). Counts only, never a candidate; the read is audited. `pending` and
    `oldest_pending_days` are as of now, whenever the inquiry was submitted; hires and refused
    hires are counted when they were recorded; the turnaround over answers given in the period.
    """
    period = compliance.period_of(since, until)
    report = compliance.compliance_report(db, actor=principal, period=period)
    return compliance_out(report)
