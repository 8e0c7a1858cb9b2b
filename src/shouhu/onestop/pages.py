"""Pages of one-stop cases: the team member's Cases, the intake form, a case, a child's identity.

Each page calls `onestop.cases` or `onestop.team`, as the API does. A case the reader is not on
the team of is the 404 of one that does not exist.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.accounts.models import User
from shouhu.accounts.policies import allows
from shouhu.accounts.repository import find_user_by_username
from shouhu.accounts.roles import Permission
from shouhu.core.errors import DomainError, ForbiddenError, NotFoundError, ValidationFailedError
from shouhu.core.i18n import gettext
from shouhu.identity.documents import IdType
from shouhu.onestop import cases, evidence_pages, handoff_pages, repository, team
from shouhu.onestop.labels import labels
from shouhu.onestop.models import CaseRole, ChildSex, OneStopCase, OneStopSite, ReportingChannel
from shouhu.onestop.session_views import section_context
from shouhu.registry.pages import ID_TYPE_LABELS
from shouhu.web.deps import Db, PagePermission, SignedIn
from shouhu.web.templating import render

router = APIRouter(prefix="/onestop/cases", include_in_schema=False)

Reader = Annotated[SignedIn, Depends(PagePermission(Permission.ONESTOP_CASES_READ))]
Intake = Annotated[SignedIn, Depends(PagePermission(Permission.ONESTOP_CASES_INTAKE))]
Manager = Annotated[SignedIn, Depends(PagePermission(Permission.ONESTOP_CASES_MANAGE))]

# The case officers who type a time received are in China, which keeps one time zone and no
# summer time: a form's local time is Beijing time. Stored in UTC like every time.
BEIJING: Final = timezone(timedelta(hours=8), "UTC+8")
CHILD_FIELDS: Final = (
    "name",
    "sex",
    "date_of_birth",
    "age_at_intake",
    "id_type",
    "id_number",
    "guardian_name",
    "guardian_relationship",
    "special_needs",
)
SUSPECT_FIELDS: Final = ("name", "id_type", "id_number")


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def beijing(moment: datetime) -> str:
    """A stored time as the case officers read it: Beijing time, to the minute."""
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def _context(**values: Any) -> dict[str, Any]:
    return {"beijing": beijing, **labels(), **values}


# --- the Cases list -----------------------------------------------------------------------------


@router.get("")
def case_list(request: Request, db: Db, me: Reader) -> Response:
    """The cases the reader is on the team of, the latest received first."""
    rows = list(
        db.scalars(
            repository.readable_cases(me.principal)
            .order_by(OneStopCase.received_at.desc(), OneStopCase.id)
            .limit(300)
        )
    )
    context = _context(
        rows=rows,
        letters=repository.pseudonym_letters(db, [row.id for row in rows]),
        site_names=_site_names(db, {row.site_id for row in rows}),
        may_intake=allows(me.principal, Permission.ONESTOP_CASES_INTAKE),
    )
    return render(request, "onestop/cases.html", context)


def _site_names(db: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = db.execute(select(OneStopSite.id, OneStopSite.name).where(OneStopSite.id.in_(ids)))
    return dict(rows.all())  # a Result has keys(): dict() would take it for a mapping


# --- the intake ---------------------------------------------------------------------------------


def _intake_page(
    request: Request,
    db: Session,
    me: SignedIn,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    sites = list(
        db.scalars(
            repository.readable_sites(me.principal)
            .where(OneStopSite.active.is_(True))
            .order_by(OneStopSite.name)
            .limit(1000)
        )
    )
    context = _context(
        values=values,
        errors=errors,
        sites=sites,
        channels=list(ReportingChannel),
        sexes=list(ChildSex),
        id_types=[(t.value, ID_TYPE_LABELS[t]) for t in IdType],
    )
    return render(request, "onestop/case_form.html", context, status=status)


@router.get("/new")
def case_new(request: Request, db: Db, me: Intake) -> Response:
    """The intake form."""
    now = datetime.now(BEIJING).strftime("%Y-%m-%dT%H:%M")
    return _intake_page(request, db, me, values={"received_at": now}, errors={})


async def intake_form(request: Request) -> dict[str, str]:
    """The intake form's text fields by name (`children.0.name`…), read once."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _parsed_date(values: dict[str, str], field: str) -> date | None:
    text = values.get(field, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailedError("Enter a date written YYYY-MM-DD.", field=field) from None


def _parsed_age(values: dict[str, str], field: str) -> int | None:
    text = values.get(field, "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 3:  # noqa: PLR2004 - an age
        raise ValidationFailedError("Enter a whole number.", field=field)
    return int(text)


def _received(values: dict[str, str]) -> datetime | None:
    text = values.get("received_at", "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailedError(
            "Enter a date and time written YYYY-MM-DD HH:MM.", field="received_at"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=BEIJING)


def _numbered(values: dict[str, str], group: str, names: tuple[str, ...]) -> list[int]:
    """The indexes of the children (or suspects) of which any field was filled in."""
    return [
        index
        for index in range(cases.MAX_CHILDREN)
        if any(values.get(f"{group}.{index}.{name}", "").strip() for name in names)
    ]


def _intake(values: dict[str, str]) -> cases.CaseIntake:
    """The service's input from the form; a value the form cannot parse names its field."""
    children = []
    for position, index in enumerate(_numbered(values, "children", CHILD_FIELDS)):
        prefix = f"children.{index}."
        if position != index:
            raise ValidationFailedError("Enter the children in order.", field=prefix + "name")
        children.append(
            cases.ChildInput(
                name=values.get(prefix + "name", ""),
                sex=values.get(prefix + "sex", ""),
                age_at_intake=_parsed_age(values, prefix + "age_at_intake"),
                date_of_birth=_parsed_date(values, prefix + "date_of_birth"),
                id_type=values.get(prefix + "id_type") or None,
                id_number=values.get(prefix + "id_number") or None,
                guardian_name=values.get(prefix + "guardian_name") or None,
                guardian_relationship=values.get(prefix + "guardian_relationship") or None,
                special_needs=values.get(prefix + "special_needs") or None,
            )
        )
    suspects = []
    for index in _numbered(values, "suspects", ("name", "id_number")):
        prefix = f"suspects.{index}."
        suspects.append(
            cases.SuspectInput(
                name=values.get(prefix + "name", ""),
                id_type=values.get(prefix + "id_type") or None,
                id_number=values.get(prefix + "id_number") or None,
            )
        )
    site_text = values.get("site_id", "")
    try:
        site_id = uuid.UUID(site_text) if site_text else None
    except ValueError:
        site_id = None
    return cases.CaseIntake(
        received_at=_received(values),
        channel=values.get("channel", ""),
        offence=values.get("offence", ""),
        place=values.get("place", ""),
        jurisdiction=values.get("jurisdiction", ""),
        site_id=site_id,
        children=tuple(children),
        suspects=tuple(suspects),
    )


@router.post("")
def case_create(
    request: Request,
    db: Db,
    me: Intake,
    values: Annotated[dict[str, str], Depends(intake_form)],
) -> Response:
    """Receive the case, or show the form again with the field at fault."""
    shown = {key: value for key, value in values.items() if key != "csrf_token"}
    try:
        case = cases.open_case(db, actor=me.principal, intake=_intake(values))
    except DomainError as exc:
        db.rollback()
        errors = {exc.field or "": gettext(exc.message, **exc.params)}
        return _intake_page(request, db, me, values=shown, errors=errors, status=exc.status_code)
    return _redirect(f"/onestop/cases/{case.id}")


# --- a case -------------------------------------------------------------------------------------


def _case_page(
    request: Request,
    db: Session,
    me: SignedIn,
    case_id: uuid.UUID,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    case = cases.read_case(db, actor=me.principal, case_id=case_id)
    member = repository.membership(db, case.id, me.principal.user_id)
    history = repository.status_history(db, case.id)
    rows = db.execute(
        select(User.id, User.username).where(User.id.in_({c.changed_by_id for c in history}))
    )
    names = dict(rows.all())
    context = _context(
        case=case,
        site=db.get(OneStopSite, case.site_id),
        children=repository.children_of(db, case.id),
        suspects=repository.suspects_of(db, case.id),
        team=repository.team(db, case.id),
        history=history,
        changed_by=names,
        me=member,
        may_manage=allows(me.principal, Permission.ONESTOP_CASES_MANAGE)
        and cases.may_manage(member, me.principal),
        next_statuses=cases.next_statuses(case.status),
        needs_reason=[s.value for s in cases.NEEDS_REASON],
        case_roles=[r for r in CaseRole if r is not CaseRole.LEAD_OFFICER],
        id_type_labels={t.value: ID_TYPE_LABELS[t] for t in IdType},
        values=values or {},
        errors=errors or {},
        **section_context(db, me.principal, case, member),
        **evidence_pages.case_section(db, me.principal, case),
        **handoff_pages.case_section(db, me.principal, case),
    )
    return render(request, "onestop/case.html", context, status=status)


@router.get("/{case_id}")
def case_detail(request: Request, db: Db, me: Reader, case_id: uuid.UUID) -> Response:
    """A case: children by pseudonym, suspects, team, status and its history (audited)."""
    return _case_page(request, db, me, case_id)


@router.get("/{case_id}/children/{child_id}/identity")
def child_identity(
    request: Request, db: Db, me: Reader, case_id: uuid.UUID, child_id: uuid.UUID
) -> Response:
    """A child's real identity, for the case team; the reading is audited."""
    child = cases.read_child_identity(db, actor=me.principal, case_id=case_id, child_id=child_id)
    context = _context(
        case_id=case_id,
        child=child,
        id_type_labels={t.value: ID_TYPE_LABELS[t] for t in IdType},
    )
    response = render(request, "onestop/child_identity.html", context)
    response.headers["Cache-Control"] = "no-store"  # not kept in a shared computer's cache
    return response


def _refused(
    request: Request, db: Session, me: SignedIn, case_id: uuid.UUID, exc: DomainError, **shown: str
) -> Response:
    db.rollback()
    if isinstance(exc, NotFoundError | ForbiddenError):
        raise exc
    errors = {exc.field or "": gettext(exc.message, **exc.params)}
    return _case_page(request, db, me, case_id, values=shown, errors=errors, status=exc.status_code)


@router.post("/{case_id}/status")
def case_status(
    request: Request,
    db: Db,
    me: Manager,
    case_id: uuid.UUID,
    status: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Move the case one step along its path."""
    try:
        cases.change_status(db, actor=me.principal, case_id=case_id, status=status, reason=reason)
    except DomainError as exc:
        return _refused(request, db, me, case_id, exc, status=status, reason=reason)
    return _redirect(f"/onestop/cases/{case_id}")


@router.post("/{case_id}/members")
def member_add(
    request: Request,
    db: Db,
    me: Manager,
    case_id: uuid.UUID,
    username: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
) -> Response:
    """Put a user on the team, found by username."""
    try:
        # Only a team's manager learns whether a username exists: the case is checked first.
        cases.require_manager(db, me.principal, repository.get_case(db, me.principal, case_id))
        user = find_user_by_username(db, username) if username.strip() else None
        if user is None:
            raise ValidationFailedError("No active user has this username.", field="username")
        team.add_member(db, actor=me.principal, case_id=case_id, user_id=user.id, role=role)
    except DomainError as exc:
        if exc.field == "user_id":
            exc.field = "username"  # the form asks for a username
        return _refused(request, db, me, case_id, exc, username=username, role=role)
    return _redirect(f"/onestop/cases/{case_id}")


@router.post("/{case_id}/members/{member_id}/remove")
def member_remove(
    request: Request, db: Db, me: Manager, case_id: uuid.UUID, member_id: uuid.UUID
) -> Response:
    """Take a member off the team."""
    try:
        team.remove_member(db, actor=me.principal, case_id=case_id, member_id=member_id)
    except DomainError as exc:
        return _refused(request, db, me, case_id, exc)
    return _redirect(f"/onestop/cases/{case_id}")
