"""The registry pages' rows of the authorisation matrix (tests/web/test_authorization_matrix.py).

Each builder makes, for the user holding the allowed role, an object that user may act on. The
404 for another organisation's record is tested in tests/web/test_registry_pages.py: the matrix's
404 case signs in an institution's user, who holds no registry permission at all (a 403).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from shouhu.accounts.models import Organisation
from shouhu.accounts.roles import OrgType, Permission, Role
from shouhu.core.principal import system_principal
from shouhu.registry import lifecycle, merging
from shouhu.registry.lifecycle import Scan
from shouhu.registry.models import RegistryDuplicatePair, RegistryRecord
from shouhu.registry.schemas import RecordSubmission
from tests.factories.accounts import make_org, make_user
from tests.factories.lifecycle import principal_of
from tests.factories.registry import prc_number, registry_row

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import User

PDF = b"%PDF-1.4 decision scan\n%%EOF\n"


def submission(**overrides: Any) -> RecordSubmission:
    """A valid conviction submission with a fresh PRC number (a man born 1980-05-17)."""
    row = registry_row()
    row.pop("external_id")
    sequence = _next_sequence()
    row["id_number"] = prc_number("110101", date(1980, 5, 17), sequence)
    row["decision_number"] = f"(2021)京0101刑初{sequence}号"
    row.update(overrides)
    return RecordSubmission.model_validate(row)


_sequence = [101]


def _next_sequence() -> int:
    _sequence[0] = _sequence[0] + 2 if _sequence[0] < 997 else 103
    return _sequence[0]


def _court_clerk(session: Session) -> User:
    court = make_org(session, org_type=OrgType.COURT)
    return make_user(session, roles=(Role.COURT_CLERK,), org=court)


# The builders also run for users of the wrong role (whose request must be refused with 403),
# so they act through users of their own where the given one could not.


def _submitter(session: Session, user: User) -> User:
    return user if Role.COURT_CLERK.value in user.role_names else _court_clerk(session)


def _reviewers(session: Session, user: User) -> Organisation:
    if user.organisation.type == OrgType.PUBLIC_SECURITY.value:
        return user.organisation
    return make_org(session, org_type=OrgType.PUBLIC_SECURITY)


def own_draft(session: Session, user: User) -> dict[str, Any]:
    """A draft the (court clerk) user entered, with a scan."""
    reviewers = make_org(session, org_type=OrgType.PUBLIC_SECURITY)
    record = lifecycle.submit_record(
        session,
        actor=principal_of(_submitter(session, user)),
        data=submission(review_organisation_id=str(reviewers.id)),
        scan=Scan("judgment.pdf", "application/pdf", PDF),
        send=False,
    )
    return {"record_id": record.id, "file_id": record.files[0].id}


def own_active(session: Session, user: User) -> dict[str, Any]:
    """An active record the (court clerk) user's organisation submitted."""
    reviewers = make_org(session, org_type=OrgType.PUBLIC_SECURITY)
    reviewer = make_user(session, roles=(Role.REGISTRY_REVIEWER,), org=reviewers)
    record = lifecycle.submit_record(
        session,
        actor=principal_of(_submitter(session, user)),
        data=submission(review_organisation_id=str(reviewers.id)),
    )
    lifecycle.approve_record(session, actor=principal_of(reviewer), record_id=record.id)
    return {"record_id": record.id}


def pending_for(session: Session, user: User) -> dict[str, Any]:
    """A record a court clerk sent to the (reviewer) user's organisation."""
    record = lifecycle.submit_record(
        session,
        actor=principal_of(_court_clerk(session)),
        data=submission(review_organisation_id=str(_reviewers(session, user).id)),
    )
    return {"record_id": record.id}


def adult_active_for(session: Session, user: User) -> dict[str, Any]:
    """An adult's record the (reviewer) user's organisation approved, by another reviewer."""
    reviewers = _reviewers(session, user)
    record = lifecycle.submit_record(
        session,
        actor=principal_of(_court_clerk(session)),
        data=submission(review_organisation_id=str(reviewers.id)),
    )
    colleague = make_user(session, roles=(Role.REGISTRY_REVIEWER,), org=reviewers)
    lifecycle.approve_record(session, actor=principal_of(colleague), record_id=record.id)
    return {"record_id": record.id}


def revoked_for(session: Session, user: User) -> dict[str, Any]:
    """A record of the (reviewer) user's organisation that a colleague revoked."""
    values = adult_active_for(session, user)
    record = session.get_one(RegistryRecord, values["record_id"])
    reviewers = session.get_one(Organisation, record.review_organisation_id)
    colleague = make_user(session, roles=(Role.REGISTRY_REVIEWER,), org=reviewers)
    lifecycle.revoke_record(
        session, actor=principal_of(colleague), record_id=values["record_id"], reason="Quashed."
    )
    return values


def person_of(session: Session, _user: User) -> dict[str, Any]:
    """A registry person (through an approved record)."""
    reviewers = make_org(session, org_type=OrgType.PUBLIC_SECURITY)
    record = lifecycle.submit_record(
        session,
        actor=principal_of(_court_clerk(session)),
        data=submission(review_organisation_id=str(reviewers.id)),
    )
    reviewer = make_user(session, roles=(Role.REGISTRY_REVIEWER,), org=reviewers)
    approved = lifecycle.approve_record(session, actor=principal_of(reviewer), record_id=record.id)
    return {"person_id": approved.person_id}


def pair_of(session: Session, user: User) -> dict[str, Any]:
    """An open pair of the duplicate sweep: two registry persons."""
    first = person_of(session, user)["person_id"]
    second = person_of(session, user)["person_id"]
    low, high = sorted((first, second))
    pair = RegistryDuplicatePair(
        first_person_id=low,
        second_person_id=high,
        outcome="possible_match",
        score=9.5,
        reasons="name=agree +6.0; birth_date=agree +4.0; rule=review",
    )
    session.add(pair)
    session.flush()
    return {"pair_id": pair.id}


def merge_of(session: Session, user: User) -> dict[str, Any]:
    """A merge in force (of a pair's two persons)."""
    pair = session.get_one(RegistryDuplicatePair, pair_of(session, user)["pair_id"])
    merge = merging.merge_for_pair(
        session, actor=system_principal("cli"), pair_id=pair.id, keep="first", reason="Same man."
    )
    return {"merge_id": merge.id}


def new_submission_form(session: Session, _user: User) -> dict[str, Any]:
    """The form fields of a valid submission."""
    reviewers = make_org(session, org_type=OrgType.PUBLIC_SECURITY)
    data = submission(review_organisation_id=str(reviewers.id))
    return {k: v for k, v in data.model_dump(exclude_none=True).items() if k != "received_on_paper"}


def correction_form(_session: Session, _user: User) -> dict[str, Any]:
    """The form fields of a correction (another decision date)."""
    data = submission(decision_date="2020-02-02")
    return {
        "record_kind": data.record_kind,
        "offence": data.offence,
        "decision_authority": data.decision_authority,
        "decision_number": "(2020)京0101刑再1号",
        "decision_date": data.decision_date,
    }


def cases(case: type[Any]) -> list[Any]:
    """The registry pages' cases, built with the matrix's `Case`."""
    submit, review = Permission.REGISTRY_SUBMIT, Permission.REGISTRY_REVIEW
    records, read = Permission.REGISTRY_RECORDS, Permission.REGISTRY_READ
    duplicates = Permission.REGISTRY_DUPLICATES
    return [
        case("GET", "/registry/submissions", submit),
        case("GET", "/registry/submissions/new", submit),
        case("POST", "/registry/submissions", submit, form_build=new_submission_form, ok=(303,)),
        case("GET", "/registry/records/{record_id}/edit", submit, own_draft),
        case(
            "POST",
            "/registry/records/{record_id}",
            submit,
            own_draft,
            form_build=new_submission_form,
            ok=(303,),
        ),
        case("POST", "/registry/records/{record_id}/send", submit, own_draft, ok=(303,)),
        case("GET", "/registry/records/{record_id}/correct", submit, own_active),
        case(
            "POST",
            "/registry/records/{record_id}/corrections",
            submit,
            own_active,
            form_build=correction_form,
            ok=(303,),
        ),
        case("GET", "/registry/records/{record_id}", records, own_draft),
        case("GET", "/registry/records/{record_id}/files/{file_id}", records, own_draft),
        case("GET", "/registry/review", review),
        case("POST", "/registry/records/{record_id}/approve", review, pending_for, ok=(303,)),
        case(
            "POST",
            "/registry/records/{record_id}/return",
            review,
            pending_for,
            form={"reason": "The decision number is missing its court code."},
            ok=(303,),
        ),
        case(
            "POST",
            "/registry/records/{record_id}/revoke",
            review,
            adult_active_for,
            form={"reason": "Quashed on retrial."},
            ok=(303,),
        ),
        # An adult's record: the service refuses to seal it, and the page says so (409).
        case(
            "POST",
            "/registry/records/{record_id}/seal",
            review,
            adult_active_for,
            form={"reason": "Juvenile record."},
            ok=(409,),
        ),
        case("GET", "/registry/duplicates", duplicates),
        case("GET", "/registry/duplicates/{pair_id}", duplicates, pair_of),
        case(
            "POST",
            "/registry/duplicates/{pair_id}/merge",
            duplicates,
            pair_of,
            form={"keep": "second", "reason": "One man under two passports."},
            ok=(303,),
        ),
        case(
            "POST",
            "/registry/duplicates/{pair_id}/dismiss",
            duplicates,
            pair_of,
            form={"reason": "Namesakes born on the same day."},
            ok=(303,),
        ),
        case("GET", "/registry/merges/{merge_id}", duplicates, merge_of),
        case(
            "POST",
            "/registry/merges/{merge_id}/undo",
            duplicates,
            merge_of,
            form={"reason": "Two brothers."},
            ok=(303,),
        ),
        case(
            "POST",
            "/registry/records/{record_id}/reinstate",
            review,
            revoked_for,
            form={"reason": "Revoked by mistake: the retrial upheld the judgment."},
            ok=(303,),
        ),
        case("GET", "/registry/persons", read),
        case(
            "POST",
            "/registry/persons",
            read,
            form={"id_type": "prc_id", "id_number": prc_number("110101", date(1980, 5, 17), 1)},
        ),
        case("GET", "/registry/persons/{person_id}", read, person_of),
    ]
