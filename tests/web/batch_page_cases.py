"""The batch pages' rows of the authorisation matrix (tests/web/test_authorization_matrix.py)."""

from __future__ import annotations

from typing import Any

from shouhu.accounts.roles import Permission
from tests.screening.test_batch_api import (
    UPLOAD_FILES,
    awaiting_own_authority,
    foreign_batch,
    form,
    own_batch,
)

PAGES = "/inquiry-batches"


def cases(case: type[Any]) -> list[Any]:
    """The batch pages' cases, built with the matrix's `Case`."""
    ask, approve = Permission.INQUIRY_SUBMIT, Permission.INQUIRY_APPROVE
    return [
        case("GET", PAGES, ask),
        case("GET", f"{PAGES}/new", ask),
        case("POST", PAGES, ask, form=form(), files=UPLOAD_FILES, ok=(303,)),
        case("GET", f"{PAGES}/{{batch_id}}", ask, own_batch, foreign=foreign_batch),
        case("GET", f"{PAGES}/{{batch_id}}/progress", ask, own_batch, foreign=foreign_batch),
        case("GET", f"{PAGES}/{{batch_id}}/results.csv", ask, own_batch, foreign=foreign_batch),
        case("GET", f"{PAGES}/{{batch_id}}/results.xlsx", ask, own_batch, foreign=foreign_batch),
        case("POST", f"{PAGES}/{{batch_id}}/approve", approve, awaiting_own_authority, ok=(303,)),
        case(
            "POST",
            f"{PAGES}/{{batch_id}}/refuse",
            approve,
            awaiting_own_authority,
            form={"reason": "不是应聘人员名单。"},
            ok=(303,),
        ),
    ]
