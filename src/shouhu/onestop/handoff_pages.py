"""Pages of the hand-off to the registry: the form for one suspect, and the case page's column.

Each page calls `onestop.handoff`, as the API does. A case the reader is not on the team of is
the 404 of one that does not exist; a case not judged, or a suspect already sent, is a 409 page.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from shouhu.accounts.roles import Permission
from shouhu.core.errors import DomainError, ForbiddenError, NotFoundError, ValidationFailedError
from shouhu.core.i18n import gettext
from shouhu.core.principal import Principal
from shouhu.identity.documents import IdType
from shouhu.onestop import cases, handoff
from shouhu.onestop.labels import labels
from shouhu.onestop.models import OneStopCase
from shouhu.registry.lifecycle import SubmissionInvalidError
from shouhu.registry.pages import ID_TYPE_LABELS
from shouhu.registry.pages import STATUS_LABELS as RECORD_STATUS_LABELS
from shouhu.web.deps import Db, PagePermission, SignedIn
from shouhu.web.form_errors import PYDANTIC_MESSAGES, rejection_text
from shouhu.web.templating import render

router = APIRouter(prefix="/onestop/cases", include_in_schema=False)

Sender = Annotated[SignedIn, Depends(PagePermission(Permission.ONESTOP_REGISTRY_HANDOFF))]

MAX_MONTHS_DIGITS: Final = 4


def case_section(db: Session, principal: Principal, case: OneStopCase) -> dict[str, Any]:
    """What the case page shows of the hand-offs: each suspect's, and whether to offer one."""
    return {
        "handoffs": handoff.handoffs_of(db, case),
        "may_hand_off": handoff.may_hand_off(db, principal, case),
        "record_status_labels": RECORD_STATUS_LABELS,
    }


async def handoff_form(request: Request) -> dict[str, str]:
    """The form's fields by name, read once."""
    form = await request.form()
    return {
        name: value.strip() for name in handoff.FIELDS if isinstance(value := form.get(name), str)
    }


def _date(values: dict[str, str], field: str) -> date | None:
    text = values.get(field, "")
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailedError("Enter a date written YYYY-MM-DD.", field=field) from None


def _months(values: dict[str, str]) -> int | None:
    text = values.get("sentence_months", "")
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_MONTHS_DIGITS:
        raise ValidationFailedError("Enter a whole number.", field="sentence_months")
    return int(text)


def _judgment(values: dict[str, str]) -> handoff.Judgment:
    return handoff.Judgment(
        decision_authority=values.get("decision_authority", ""),
        decision_number=values.get("decision_number", ""),
        decision_date=values.get("decision_date", ""),
        offence=values.get("offence", ""),
        offence_date=_date(values, "offence_date"),
        sentence_months=_months(values),
        sex=values.get("sex", ""),
        date_of_birth=values.get("date_of_birth", ""),
        nationality=values.get("nationality", ""),
        former_names=values.get("former_names", ""),
        id_type=values.get("id_type", ""),
        id_number=values.get("id_number", ""),
    )


def _errors(exc: DomainError) -> dict[str, str]:
    """Each field at fault, in the reader's language (the registry submission's wording)."""
    if isinstance(exc, SubmissionInvalidError):
        found = {}
        for field, message in exc.problems.items():
            reason = exc.reasons.get(field, "")
            if reason in PYDANTIC_MESSAGES:
                found[field] = gettext(PYDANTIC_MESSAGES[reason])
            else:
                found[field] = rejection_text(reason, message)
        return found
    return {exc.field or "": gettext(exc.message, **exc.params)}


def _form_page(
    request: Request,
    db: Session,
    me: SignedIn,
    case_id: uuid.UUID,
    suspect_id: uuid.UUID,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    # The page shows the suspect's name: read through the case, as the case page is (audited).
    case = cases.read_case(db, actor=me.principal, case_id=case_id)
    _, suspect = handoff.target(db, actor=me.principal, case_id=case.id, suspect_id=suspect_id)
    if values is None:
        values = {
            "offence": case.offence,
            **handoff.identity_from_document(suspect.id_type, suspect.id_number),
        }
    context = {
        **labels(),
        "case": case,
        "suspect": suspect,
        "values": values,
        "errors": errors or {},
        "id_types": [(t.value, ID_TYPE_LABELS[t]) for t in IdType],
        "id_type_labels": {t.value: ID_TYPE_LABELS[t] for t in IdType},
    }
    response = render(request, "onestop/handoff_form.html", context, status=status)
    response.headers["Cache-Control"] = "no-store"  # a suspect's identity and a judgment
    return response


PATH: Final = "/{case_id}/suspects/{suspect_id}/registry-handoff"


@router.get(PATH)
def handoff_new(
    request: Request, db: Db, me: Sender, case_id: uuid.UUID, suspect_id: uuid.UUID
) -> Response:
    """The form to send a convicted suspect of a judged case to the registry."""
    return _form_page(request, db, me, case_id, suspect_id)


@router.post(PATH)
def handoff_create(  # noqa: PLR0917 - FastAPI's parameters: path, session, user, form
    request: Request,
    db: Db,
    me: Sender,
    case_id: uuid.UUID,
    suspect_id: uuid.UUID,
    values: Annotated[dict[str, str], Depends(handoff_form)],
) -> Response:
    """Send the suspect to the registry as a draft, or show the form with the fields at fault."""
    try:
        handoff.hand_off(
            db,
            actor=me.principal,
            case_id=case_id,
            suspect_id=suspect_id,
            judgment=_judgment(values),
        )
    except (NotFoundError, ForbiddenError):
        db.rollback()
        raise
    except ValidationFailedError as exc:
        db.rollback()
        return _form_page(
            request,
            db,
            me,
            case_id,
            suspect_id,
            values=values,
            errors=_errors(exc),
            status=exc.status_code,
        )
    return RedirectResponse(f"/onestop/cases/{case_id}", status_code=303)
