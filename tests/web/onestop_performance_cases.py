"""The site-performance routes' rows of the authorisation matrix (test_authorization_matrix.py).

Aggregates of every site: there is no object of someone else's to ask for, so no 404 row; a
role outside `onestop:performance_read` gets 403 (tests/onestop/test_performance.py names them).
"""

from __future__ import annotations

from typing import Any

from shouhu.accounts.roles import Permission


def cases(case: type[Any]) -> list[Any]:
    """The page's and the API's cases, built with the matrix's `Case`."""
    read = Permission.ONESTOP_PERFORMANCE_READ
    return [
        case("GET", "/onestop/performance", read),
        case("GET", "/api/v1/onestop/performance", read),
    ]
