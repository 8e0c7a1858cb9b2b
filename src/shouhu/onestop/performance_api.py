"""Site performance over the API: aggregates of every one-stop site and of the nation."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Query

from shouhu.accounts.roles import Permission
from shouhu.core.principal import Principal
from shouhu.onestop import performance
from shouhu.onestop.api_errors import errors
from shouhu.onestop.performance_schemas import PerformanceOut, performance_out
from shouhu.web.deps import ApiPermission, Db

router = APIRouter(prefix="/onestop/performance", tags=["onestop"])

Reader = Annotated[Principal, Depends(ApiPermission(Permission.ONESTOP_PERFORMANCE_READ))]
MONTH: Final = r"^\d{4}-\d{2}$"


@router.get("", response_model=PerformanceOut, responses=errors())
def read_performance(
    db: Db,
    principal: Reader,
    from_month: Annotated[
        str | None,
        Query(
            alias="from",
            pattern=MONTH,
            description="First month, YYYY-MM; default 11 before `to`",
        ),
    ] = None,
    to_month: Annotated[
        str | None,
        Query(alias="to", pattern=MONTH, description="Last month, YYYY-MM; default this month"),
    ] = None,
) -> PerformanceOut:
    """Each site's figures and the nation's, by the cases received in the period.

    Months are Beijing time; by default the current month and the eleven before it. Any
    figure resting on fewer than 5 units (cases, sessions, children, interviews,
    examinations) is null with `suppressed: true`, and a site with fewer than 5 cases has
    every figure suppressed. Aggregates only: no case or child is named. The read is audited.
    """
    period = performance.period_of(from_month, to_month)
    report = performance.site_performance(db, actor=principal, period=period)
    return performance_out(report, performance.SUPPRESSION_THRESHOLD)
