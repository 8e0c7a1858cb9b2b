"""The registry's pages: submissions, the reviewers' queue, a record, a person, finding a person.

Every page calls the services of `registry.lifecycle` and `registry.browse`, so the rules, the
audit events and the refusals are the same as on the API and the command line.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from starlette.datastructures import UploadFile

from shouhu.accounts.models import Organisation, User
from shouhu.accounts.policies import allows
from shouhu.accounts.roles import OrgType, Permission, Role
from shouhu.core.database import utcnow
from shouhu.core.errors import ConflictError, DomainError, NotFoundError
from shouhu.core.i18n import N_, current_language, gettext
from shouhu.identity.documents import IdType
from shouhu.registry import browse, lifecycle, repository
from shouhu.registry.indexes import document_number_index
from shouhu.registry.lifecycle import MAX_SCAN_BYTES, RecordCorrection, Scan, SubmissionInvalidError
from shouhu.registry.models import (
    RecordKind,
    RecordStatus,
    RegistryPerson,
    RegistryPersonMerge,
    RegistryRecord,
)
from shouhu.registry.policy import policy
from shouhu.registry.schemas import RecordSubmission
from shouhu.web.deps import Db, PagePermission, SignedIn
from shouhu.web.form_errors import pydantic_errors, rejection_text
from shouhu.web.templating import render

router = APIRouter(prefix="/registry", include_in_schema=False)

Submitter = Annotated[SignedIn, Depends(PagePermission(Permission.REGISTRY_SUBMIT))]
Reviewer = Annotated[SignedIn, Depends(PagePermission(Permission.REGISTRY_REVIEW))]
Reader = Annotated[SignedIn, Depends(PagePermission(Permission.REGISTRY_READ))]
# A record's page: the repository decides which records each holder sees (their submissions,
# their queue, decided records); any other record is the 404 of one that does not exist.
RecordReader = Annotated[SignedIn, Depends(PagePermission(Permission.REGISTRY_RECORDS))]

STATUS_LABELS: Final = {
    RecordStatus.DRAFT: N_("Draft"),
    RecordStatus.PENDING_REVIEW: N_("Waiting for review"),
    RecordStatus.RETURNED: N_("Returned"),
    RecordStatus.ACTIVE: N_("Active"),
    RecordStatus.CORRECTED: N_("Corrected (superseded)"),
    RecordStatus.REVOKED: N_("Revoked"),
    RecordStatus.SEALED: N_("Sealed"),
}
KIND_LABELS: Final = {
    RecordKind.CONVICTION: N_("Conviction"),
    RecordKind.NON_PROSECUTION: N_("Non-prosecution decision"),
    RecordKind.ADMINISTRATIVE_PENALTY: N_("Administrative penalty"),
}
SOURCE_LABELS: Final = {
    "import": N_("Bulk import"),
    "court": N_("Court"),
    "procuratorate": N_("Procuratorate"),
    "public_security": N_("Public security"),
    "paper": N_("Received on paper"),
    "onestop_case": N_("One-stop case hand-off"),
}
ID_TYPE_LABELS: Final = {
    IdType.PRC_ID: N_("Resident identity card"),
    IdType.PASSPORT: N_("Passport"),
    IdType.HKMO_PERMIT: N_("Hong Kong/Macao permit"),
    IdType.TW_PERMIT: N_("Taiwan permit"),
    IdType.FOREIGN_PR_ID: N_("Foreign permanent residence ID"),
    IdType.OTHER: N_("Other document"),
}
SUBMISSION_FIELDS: Final = (
    "name",
    "former_names",
    "sex",
    "date_of_birth",
    "nationality",
    "id_type",
    "id_number",
    "record_kind",
    "offence",
    "decision_authority",
    "decision_number",
    "decision_date",
    "offence_date",
    "sentence_months",
    "review_organisation_id",
)
CORRECTION_FIELDS: Final = (
    "record_kind",
    "offence",
    "decision_authority",
    "decision_number",
    "decision_date",
    "offence_date",
    "sentence_months",
)


@dataclass(frozen=True)
class SubmittedForm:
    """A submission form as sent: its text fields, the scan if one was attached, the button."""

    values: dict[str, str]
    scan: Scan | None
    send: bool
    on_paper: bool


async def submitted_form(request: Request) -> SubmittedForm:
    """Read a (multipart) submission form once; the route itself stays synchronous."""
    form = await request.form()
    values = {
        name: value.strip()
        for name in SUBMISSION_FIELDS
        if isinstance(value := form.get(name), str)
    }
    scan: Scan | None = None
    upload = form.get("scan")
    if isinstance(upload, UploadFile) and upload.filename:
        # One byte over the limit is enough to refuse; the rest is never read.
        content = await upload.read(MAX_SCAN_BYTES + 1)
        scan = Scan(upload.filename, upload.content_type or "", content)
    return SubmittedForm(
        values=values,
        scan=scan,
        send=form.get("action") != "draft",
        on_paper=form.get("received_on_paper") == "on",
    )


Submitted = Annotated[SubmittedForm, Depends(submitted_form)]


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _field_errors(exc: ValidationError) -> dict[str, str]:
    return pydantic_errors(exc)


def _domain_errors(exc: DomainError) -> dict[str, str]:
    if isinstance(exc, SubmissionInvalidError):
        return {
            field: rejection_text(exc.reasons.get(field, ""), message)
            for field, message in exc.problems.items()
        }
    return {exc.field or "": gettext(exc.message, **exc.params)}


def _offences() -> list[tuple[str, str, str]]:
    """(code, name in the reader's language, legal basis) of every catalogue offence."""
    chinese = current_language() == "zh_CN"
    return [
        (o.code, o.name_zh if chinese else o.name_en, o.legal_basis)
        for o in policy().catalogue.offences.values()
    ]


def _offence_name(code: str) -> str:
    offence = policy().catalogue.get(code)
    if offence is None:
        return code
    return offence.name_zh if current_language() == "zh_CN" else offence.name_en


def _form_context(
    db: Session, me: SignedIn, values: dict[str, str], errors: dict[str, str], **extra: Any
) -> dict[str, Any]:
    own_type = me.principal.org_type
    return {
        "values": values,
        "errors": errors,
        "offences": _offences(),
        "kinds": [(kind.value, KIND_LABELS[kind]) for kind in RecordKind],
        "id_types": [(t.value, ID_TYPE_LABELS[t]) for t in IdType],
        "review_orgs": lifecycle.review_organisations(db),
        "choose_reviewer": own_type != OrgType.PUBLIC_SECURITY.value,
        "may_mark_paper": me.principal.has_role(Role.REGISTRY_CLERK.value),
        "max_scan_mib": MAX_SCAN_BYTES >> 20,
        **extra,
    }


def _submission(form: SubmittedForm) -> RecordSubmission:
    values: dict[str, Any] = {k: v for k, v in form.values.items() if k in SUBMISSION_FIELDS}
    for optional in ("offence_date", "sentence_months", "review_organisation_id"):
        if not values.get(optional):
            values.pop(optional, None)
    values["received_on_paper"] = form.on_paper
    return RecordSubmission.model_validate(values)


def _correction(form: SubmittedForm) -> RecordCorrection:
    values = form.values
    submission = RecordSubmission.model_validate(
        {
            **{k: values.get(k, "") for k in CORRECTION_FIELDS if values.get(k)},
            "name": "-",
            "id_type": "other",
            "id_number": "-",
            "record_kind": values.get("record_kind", ""),
            "offence": values.get("offence", ""),
            "decision_authority": values.get("decision_authority", ""),
            "decision_number": values.get("decision_number", ""),
            "decision_date": values.get("decision_date", ""),
        }
    )  # the shared field rules (lengths, sentence bounds, dates) of a submission
    return RecordCorrection(
        record_kind=submission.record_kind,
        offence=submission.offence,
        decision_authority=submission.decision_authority,
        decision_number=submission.decision_number,
        decision_date=submission.decision_date,
        offence_date=submission.offence_date,
        sentence_months=submission.sentence_months,
    )


# --- lists --------------------------------------------------------------------------------------


def waiting(since: datetime | None, now: datetime) -> str:
    """How long something has waited, in the reader's language ("2 d 3 h", "45 min")."""
    if since is None:
        return ""
    minutes = max(0, int((now - since).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return gettext("{days} d {hours} h", days=days, hours=hours)
    if hours:
        return gettext("{hours} h {minutes} min", hours=hours, minutes=minutes)
    return gettext("{minutes} min", minutes=minutes)


def _rows(records: list[RegistryRecord], now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "record": record,
            "kind": KIND_LABELS.get(RecordKind(record.kind), record.kind),
            "offence": _offence_name(record.offence),
            "status": STATUS_LABELS[RecordStatus(record.status)],
            "source": SOURCE_LABELS.get(record.source, record.source),
            "waited": waiting(record.submitted_at, now),
            "resent": any(t.to_status == RecordStatus.RETURNED.value for t in record.transitions),
        }
        for record in records
    ]


@router.get("/submissions")
def submission_list(request: Request, db: Db, me: Submitter) -> Response:
    """The organisation's submissions, newest change first."""
    own = repository.own_submissions(me.principal).limit(200)
    records = list(db.scalars(own.options(selectinload(RegistryRecord.transitions))))
    return render(request, "registry/submissions.html", {"rows": _rows(records, utcnow())})


@router.get("/review")
def review_queue(request: Request, db: Db, me: Reviewer) -> Response:
    """Records waiting for this organisation's reviewers, oldest first, with how long."""
    queue = repository.review_queue(me.principal).limit(500)
    records = list(db.scalars(queue.options(selectinload(RegistryRecord.transitions))))
    return render(request, "registry/review_queue.html", {"rows": _rows(records, utcnow())})


# --- submitting ---------------------------------------------------------------------------------


@router.get("/submissions/new")
def submission_new(request: Request, db: Db, me: Submitter) -> Response:
    """The form to enter a decision."""
    kind = {
        OrgType.COURT.value: RecordKind.CONVICTION.value,
        OrgType.PROCURATORATE.value: RecordKind.NON_PROSECUTION.value,
        OrgType.PUBLIC_SECURITY.value: RecordKind.ADMINISTRATIVE_PENALTY.value,
    }.get(me.principal.org_type or "", "")
    context = _form_context(db, me, {"record_kind": kind, "nationality": "CHN"}, {}, mode="new")
    return render(request, "registry/submission_form.html", context)


@router.post("/submissions")
def submission_create(request: Request, db: Db, me: Submitter, form: Submitted) -> Response:
    """Enter a decision: sent for review, or kept as a draft."""
    try:
        record = lifecycle.submit_record(
            db, actor=me.principal, data=_submission(form), scan=form.scan, send=form.send
        )
    except ValidationError as exc:
        context = _form_context(db, me, form.values, _field_errors(exc), mode="new")
        return render(request, "registry/submission_form.html", context, status=422)
    except DomainError as exc:
        db.rollback()
        context = _form_context(db, me, form.values, _domain_errors(exc), mode="new")
        return render(request, "registry/submission_form.html", context, status=exc.status_code)
    return _redirect(f"/registry/records/{record.id}")


def _values_of(record: RegistryRecord) -> dict[str, str]:
    values = dict(record.subject or {})
    values.update(
        record_kind=record.kind,
        offence=record.offence,
        decision_authority=record.decision_authority,
        decision_number=record.decision_number or "",
        decision_date=record.decision_date.isoformat(),
        offence_date=record.offence_date.isoformat() if record.offence_date else "",
        sentence_months="" if record.sentence_months is None else str(record.sentence_months),
        review_organisation_id=str(record.review_organisation_id or ""),
    )
    return values


@router.get("/records/{record_id}/edit")
def submission_edit(request: Request, db: Db, me: Submitter, record_id: uuid.UUID) -> Response:
    """The form to change a draft or returned submission of the organisation."""
    lifecycle.editable_record(db, me.principal, record_id)  # its organisation's, not decided
    record = lifecycle.view_record(db, actor=me.principal, record_id=record_id)  # audited
    mode = "edit_correction" if record.supersedes_id else "edit"
    context = _form_context(db, me, _values_of(record), {}, mode=mode, record=record)
    return render(request, "registry/submission_form.html", context)


@router.post("/records/{record_id}")
def submission_update(
    request: Request, db: Db, me: Submitter, record_id: uuid.UUID, form: Submitted
) -> Response:
    """Save a changed draft or returned submission, and send it unless kept as a draft."""
    record = repository.get_record(db, me.principal, record_id)
    correction = record.supersedes_id is not None
    mode = "edit_correction" if correction else "edit"
    try:
        data = _correction(form) if correction else _submission(form)
        lifecycle.update_submission(
            db, actor=me.principal, record_id=record_id, data=data, scan=form.scan, send=form.send
        )
    except ValidationError as exc:
        context = _form_context(db, me, form.values, _field_errors(exc), mode=mode, record=record)
        return render(request, "registry/submission_form.html", context, status=422)
    except DomainError as exc:
        db.rollback()
        record = repository.get_record(db, me.principal, record_id)
        context = _form_context(db, me, form.values, _domain_errors(exc), mode=mode, record=record)
        return render(request, "registry/submission_form.html", context, status=exc.status_code)
    return _redirect(f"/registry/records/{record_id}")


@router.get("/records/{record_id}/correct")
def correction_new(request: Request, db: Db, me: Submitter, record_id: uuid.UUID) -> Response:
    """The form for a new version of an active record."""
    record = lifecycle.view_record(db, actor=me.principal, record_id=record_id)  # audited
    if record.id in repository.withheld_records(db, me.principal, [record]):
        raise NotFoundError("Record not found.")
    if record.status != RecordStatus.ACTIVE.value:
        raise ConflictError(
            "Only an active record can be corrected; this one is {status}.", status=record.status
        )
    context = _form_context(db, me, _values_of(record), {}, mode="correct", record=record)
    return render(request, "registry/submission_form.html", context)


@router.post("/records/{record_id}/corrections")
def correction_create(
    request: Request, db: Db, me: Submitter, record_id: uuid.UUID, form: Submitted
) -> Response:
    """Submit a correction: a new version reviewed like any submission."""
    try:
        corrected = lifecycle.submit_correction(
            db,
            actor=me.principal,
            record_id=record_id,
            data=_correction(form),
            scan=form.scan,
            send=form.send,
        )
    except ValidationError as exc:
        record = repository.get_record(db, me.principal, record_id)
        context = _form_context(
            db, me, form.values, _field_errors(exc), mode="correct", record=record
        )
        return render(request, "registry/submission_form.html", context, status=422)
    except DomainError as exc:
        db.rollback()
        record = repository.get_record(db, me.principal, record_id)
        context = _form_context(
            db, me, form.values, _domain_errors(exc), mode="correct", record=record
        )
        return render(request, "registry/submission_form.html", context, status=exc.status_code)
    return _redirect(f"/registry/records/{corrected.id}")


# --- one record ---------------------------------------------------------------------------------


def _usernames(db: Session, ids: set[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = db.execute(select(User.id, User.username).where(User.id.in_(wanted)))
    return {row[0]: row[1] for row in rows}


def _org_names(db: Session, ids: set[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = db.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(wanted)))
    return {row[0]: row[1] for row in rows}


def _holder(db: Session, record: RegistryRecord) -> RegistryPerson | None:
    """The registry person an approval would add the record to (by the subject's document)."""
    if record.person_id is not None:
        return db.get(RegistryPerson, record.person_id)
    subject = record.subject or {}
    if not subject.get("id_number"):
        return None
    index = document_number_index(subject["id_number"])
    return db.scalar(repository.holder_statement(subject.get("id_type", ""), index))


def _return_reason(record: RegistryRecord) -> str | None:
    """Why a returned record was sent back (the latest return's reason)."""
    if record.status != RecordStatus.RETURNED.value:
        return None
    returns = [t for t in record.transitions if t.to_status == RecordStatus.RETURNED.value]
    return returns[-1].reason if returns else None


def _record_page(
    request: Request,
    db: Session,
    me: SignedIn,
    record: RegistryRecord,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    principal = me.principal
    org = principal.organisation_id
    state = RecordStatus(record.status)
    # A sealed record, one revoked after sealing, and their older versions: CPL art. 286.
    hidden = record.id in repository.withheld_records(db, principal, [record])
    reviews_here = allows(principal, Permission.REGISTRY_REVIEW) and (
        record.review_organisation_id in {None, org}
    )
    submits_here = allows(principal, Permission.REGISTRY_SUBMIT) and (
        record.submitting_organisation_id == org or principal.has_role(Role.REGISTRY_CLERK.value)
    )
    users = _usernames(
        db,
        {t.actor_id for t in record.transitions} | {record.submitted_by_id, record.approved_by_id},
    )
    orgs = _org_names(db, {record.submitting_organisation_id, record.review_organisation_id})
    # The versions next to this one that the reader may see (the one it corrects, its correction).
    versions = list(
        db.scalars(
            repository.readable_records(principal)
            .where(
                (RegistryRecord.supersedes_id == record.id)
                | (RegistryRecord.id == record.supersedes_id)
            )
            .order_by(RegistryRecord.version)
        )
    )
    holder = None if hidden else _holder(db, record)
    context = {
        "record": record,
        "hidden": hidden,
        "status_label": STATUS_LABELS[state],
        "status_labels": STATUS_LABELS,
        "kind_label": KIND_LABELS.get(RecordKind(record.kind), record.kind),
        "source_label": SOURCE_LABELS.get(record.source, record.source),
        "id_type_labels": ID_TYPE_LABELS,
        "offence": _offence_name(record.offence),
        "subject": None if hidden else record.subject,
        "users": users,
        "orgs": orgs,
        "versions": versions,
        "holder": holder,
        "may_open_person": allows(principal, Permission.REGISTRY_READ),
        "may_edit": record.submitting_organisation_id == org
        and state in {RecordStatus.DRAFT, RecordStatus.RETURNED},
        "may_decide": reviews_here
        and record.review_organisation_id == org
        and state is RecordStatus.PENDING_REVIEW,
        # Four eyes: whoever wrote any of it may not decide it (the service refuses too).
        "own_submission": principal.user_id in lifecycle.authors_of(db, record),
        "return_reason": _return_reason(record),
        "may_revoke": reviews_here and state in {RecordStatus.ACTIVE, RecordStatus.SEALED},
        "may_seal": reviews_here and state is RecordStatus.ACTIVE,
        "may_reinstate": reviews_here and state is RecordStatus.REVOKED,
        "may_correct": submits_here and state is RecordStatus.ACTIVE,
        "error": error,
    }
    return render(request, "registry/record.html", context, status=status)


@router.get("/records/{record_id}")
def record_detail(request: Request, db: Db, me: RecordReader, record_id: uuid.UUID) -> Response:
    """One record: the decision, its subject, its history and what the reader may do next."""
    record = lifecycle.view_record(db, actor=me.principal, record_id=record_id)
    return _record_page(request, db, me, record)


def _record_action(
    request: Request,
    db: Session,
    me: SignedIn,
    record_id: uuid.UUID,
    action: Callable[[], object],
) -> Response:
    """Run one action on a record; back to its page, with the refusal shown if any."""
    try:
        action()
    except DomainError as exc:
        db.rollback()
        record = repository.get_record(db, me.principal, record_id)
        return _record_page(
            request,
            db,
            me,
            record,
            error=gettext(exc.message, **exc.params),
            status=exc.status_code,
        )
    return _redirect(f"/registry/records/{record_id}")


@router.post("/records/{record_id}/send")
def record_send(request: Request, db: Db, me: Submitter, record_id: uuid.UUID) -> Response:
    """Send a draft or returned record for review."""
    return _record_action(
        request,
        db,
        me,
        record_id,
        lambda: lifecycle.send_for_review(db, actor=me.principal, record_id=record_id),
    )


@router.post("/records/{record_id}/approve")
def record_approve(request: Request, db: Db, me: Reviewer, record_id: uuid.UUID) -> Response:
    """Approve a submission (four eyes: never the submitter)."""
    return _record_action(
        request,
        db,
        me,
        record_id,
        lambda: lifecycle.approve_record(db, actor=me.principal, record_id=record_id),
    )


@router.post("/records/{record_id}/return")
def record_return(
    request: Request,
    db: Db,
    me: Reviewer,
    record_id: uuid.UUID,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Return a submission to its submitter with the reason."""
    return _record_action(
        request,
        db,
        me,
        record_id,
        lambda: lifecycle.return_record(db, actor=me.principal, record_id=record_id, reason=reason),
    )


@router.post("/records/{record_id}/revoke")
def record_revoke(
    request: Request,
    db: Db,
    me: Reviewer,
    record_id: uuid.UUID,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Revoke a record: quashed on appeal or retrial, or the decision withdrawn."""
    return _record_action(
        request,
        db,
        me,
        record_id,
        lambda: lifecycle.revoke_record(db, actor=me.principal, record_id=record_id, reason=reason),
    )


@router.post("/records/{record_id}/seal")
def record_seal(
    request: Request,
    db: Db,
    me: Reviewer,
    record_id: uuid.UUID,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Seal a juvenile record (Criminal Procedure Law art. 286)."""
    return _record_action(
        request,
        db,
        me,
        record_id,
        lambda: lifecycle.seal_record(db, actor=me.principal, record_id=record_id, reason=reason),
    )


@router.post("/records/{record_id}/reinstate")
def record_reinstate(
    request: Request,
    db: Db,
    me: Reviewer,
    record_id: uuid.UUID,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Reinstate a record revoked by mistake (another reviewer than the one who revoked it)."""
    return _record_action(
        request,
        db,
        me,
        record_id,
        lambda: lifecycle.reinstate_record(
            db, actor=me.principal, record_id=record_id, reason=reason
        ),
    )


@router.get("/records/{record_id}/files/{file_id}")
def record_file(db: Db, me: RecordReader, record_id: uuid.UUID, file_id: uuid.UUID) -> Response:
    """Download a scan of the decision document (checked against its SHA-256; audited)."""
    record = repository.get_record(db, me.principal, record_id)
    if record.id in repository.withheld_records(db, me.principal, [record]):
        raise NotFoundError("File not found.")
    stored = lifecycle.read_scan(db, actor=me.principal, record_id=record_id, file_id=file_id)
    return Response(
        stored.content or b"",
        media_type=stored.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="scan-{stored.sha256[:12]}"',
            "Cache-Control": "no-store",
        },
    )


# --- persons ------------------------------------------------------------------------------------


def _find_page(
    request: Request,
    values: dict[str, str],
    found: list[browse.FoundPerson] | None = None,
    error: str | None = None,
) -> Response:
    context = {
        "found": found,
        "error": error,
        "values": values,
        "id_types": [(t.value, ID_TYPE_LABELS[t]) for t in IdType],
    }
    return render(request, "registry/person_find.html", context, status=422 if error else 200)


@router.get("/persons")
def person_find_form(request: Request, me: Reader) -> Response:
    """The form to find the registry persons holding an identity document."""
    return _find_page(request, {"id_type": "prc_id", "id_number": "", "nationality": ""})


@router.post("/persons")
def person_find(
    request: Request,
    db: Db,
    me: Reader,
    id_type: Annotated[str, Form()] = "",
    id_number: Annotated[str, Form()] = "",
    nationality: Annotated[str, Form()] = "",
) -> Response:
    """Find the registry persons holding an identity document.

    Posted, so that a number never sits in an address, a browser's history or an access log.
    """
    values = {"id_type": id_type, "id_number": id_number, "nationality": nationality}
    try:
        found = browse.find_persons(
            db, actor=me.principal, id_type=id_type, id_number=id_number, nationality=nationality
        )
    except DomainError as exc:
        db.rollback()
        return _find_page(request, values, error=gettext(exc.message, **exc.params))
    return _find_page(request, values, found)


@router.get("/persons/{person_id}")
def person_detail(request: Request, db: Db, me: Reader, person_id: uuid.UUID) -> Response:
    """One registry person: names, documents, every version of every record and its history."""
    person = browse.view_person(db, actor=me.principal, person_id=person_id)
    records = sorted(person.records, key=lambda r: (r.decision_date, r.version, r.created_at))
    withheld = repository.withheld_records(db, me.principal, records)
    users = _usernames(db, {t.actor_id for r in records for t in r.transitions})
    rows = [
        {
            "record": record,
            "hidden": record.id in withheld,
            "kind": KIND_LABELS.get(RecordKind(record.kind), record.kind),
            "offence": _offence_name(record.offence),
            "status": STATUS_LABELS[RecordStatus(record.status)],
        }
        for record in records
        # Submissions waiting for review are the reviewers' (their queue), not the person's.
        if record.status in repository.DECIDED_STATUSES
    ]
    merges = list(
        db.scalars(
            select(RegistryPersonMerge)
            .where(
                (RegistryPersonMerge.kept_person_id == person.id)
                | (RegistryPersonMerge.merged_person_id == person.id)
            )
            .order_by(RegistryPersonMerge.merged_at)
        )
    )
    merged_into = db.get(RegistryPerson, person.merged_into_id) if person.merged_into_id else None
    return render(
        request,
        "registry/person.html",
        {
            "merges": merges,
            "merged_into": merged_into,
            "may_decide_duplicates": allows(me.principal, Permission.REGISTRY_DUPLICATES),
            "person": person,
            "rows": rows,
            "users": users,
            "status_labels": STATUS_LABELS,
            "id_type_labels": ID_TYPE_LABELS,
        },
    )
