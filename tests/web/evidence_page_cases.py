"""Evidence rows of the authorisation matrix, pages and API (tests/onestop/test_evidence_api.py).

As in onestop_page_cases: the signed-in user is put on the team of another officer's case (as an
investigator, who handles evidence), and another team's case is asked for by a case officer,
who must get the 404 of a case that does not exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shouhu.accounts.roles import Permission, Role
from shouhu.onestop import repository
from shouhu.onestop.evidence_models import EvidenceAlert
from shouhu.onestop.models import OneStopCase
from tests.factories.accounts import make_user
from tests.factories.evidence import record_item
from tests.factories.onestop import join
from tests.web.onestop_page_cases import foreign_case, own_case

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import User

ITEM_FORM = {
    "kind": "document",
    "description": "学校的书面报告。",
    "place": "区公安分局",
    "holder": "区公安分局物证室",
    "reason": "作为书证固定。",
}


def _with_item(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    case = session.get_one(OneStopCase, values["case_id"])
    examiner = make_user(session, roles=(Role.FORENSIC_EXAMINER,))
    join(session, case, examiner, "forensic")
    return {**values, "item_id": record_item(session, examiner, case).id}


def own_item(session: Session, user: User) -> dict[str, Any]:
    """An item of a case whose team the user is on."""
    return _with_item(session, own_case(session, user))


def foreign_item(session: Session, user: User) -> dict[str, Any]:
    """An item of another team's case."""
    return _with_item(session, foreign_case(session, user))


def _with_alert(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    alert = EvidenceAlert(
        case_id=values["case_id"], item_id=values["item_id"], kind="file_integrity", details={}
    )
    alert.ensure_id()
    session.add(alert)
    session.flush()
    return {**values, "alert_id": alert.id}


def own_alert(session: Session, user: User) -> dict[str, Any]:
    """An alert on a case the user leads (only the lead acknowledges)."""
    values = own_item(session, user)
    member = repository.membership(session, values["case_id"], user.id)
    assert member is not None  # own_case put the user on the team
    member.role = "lead_officer"
    session.flush()
    return _with_alert(session, values)


def own_case_to_export(session: Session, user: User) -> dict[str, Any]:
    """An item of a case the user leads (the lead officer and the prosecutor export)."""
    values = own_item(session, user)
    member = repository.membership(session, values["case_id"], user.id)
    assert member is not None  # own_case put the user on the team
    member.role = "lead_officer"
    session.flush()
    return values


def foreign_alert(session: Session, user: User) -> dict[str, Any]:
    """An alert on another team's case."""
    return _with_alert(session, foreign_item(session, user))


def cases(case: type[Any], *, prefix: str = "") -> list[Any]:
    """The evidence rows: pages, or the API's with `prefix="/api/v1"`."""
    read, record = Permission.ONESTOP_CASES_READ, Permission.ONESTOP_EVIDENCE_RECORD
    manage = Permission.ONESTOP_CASES_MANAGE
    api = bool(prefix)
    base = prefix + "/onestop/cases/{case_id}"
    item = base + "/evidence/{item_id}"
    mine: dict[str, Any] = {"foreign_role": Role.CASE_OFFICER}
    created, moved = ((201,), (201,)) if api else ((303,), (303,))
    send: dict[str, Any] = {"json": ITEM_FORM} if api else {"form": ITEM_FORM}
    custody = {"event": "analysed", "reason": "检验。", "place": "物证室"}
    rows = [
        case(
            "GET",
            base + "/evidence/export",
            Permission.ONESTOP_EVIDENCE_EXPORT,
            own_case_to_export,
            foreign=foreign_case,
            **mine,
        ),
        case(
            "POST",
            base + "/evidence",
            record,
            own_case,
            foreign=foreign_case,
            ok=created,
            **send,
            **mine,
        ),
        case("GET", item, read, own_item, foreign=foreign_item, **mine),
        # The item has no file yet: the route's own 404, after every check passed.
        case("GET", item + "/file", read, own_item, foreign=foreign_item, ok=(404,), **mine),
        case(
            "POST",
            item + "/custody",
            record,
            own_item,
            foreign=foreign_item,
            ok=moved,
            **({"json": custody} if api else {"form": custody}),
            **mine,
        ),
        case("POST", item + "/custody/verify", read, own_item, foreign=foreign_item, **mine),
        case(
            "POST",
            base + "/alerts/{alert_id}/acknowledge",
            manage,
            own_alert,
            foreign=foreign_alert,
            ok=((200,) if api else (303,)),
            **mine,
        ),
    ]
    if api:
        return [
            *rows,
            case("GET", base + "/evidence", read, own_case, foreign=foreign_case, **mine),
            case("GET", base + "/alerts", read, own_case, foreign=foreign_case, **mine),
            case(
                "PUT",
                item + "/file",
                record,
                own_item,
                foreign=foreign_item,
                json={"the": "file"},
                **mine,
            ),
        ]
    return [
        *rows,
        case("GET", base + "/evidence/new", record, own_case, foreign=foreign_case, **mine),
        case(
            "POST",
            item + "/file",
            record,
            own_item,
            foreign=foreign_item,
            files={"file": ("学校报告.pdf", b"%PDF-1.4 report", "application/pdf")},
            ok=(303,),
            **mine,
        ),
    ]
