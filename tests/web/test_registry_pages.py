"""The registry pages over HTTP: other organisations' records are 404, sealed content stays
hidden, reads are audited, and a merge is made and undone from its pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import select

from shouhu.accounts.roles import OrgType, Role
from shouhu.core.audit.models import AuditEvent
from shouhu.registry import lifecycle
from shouhu.registry.models import RegistryDuplicatePair, RegistryPerson
from tests.factories.accounts import make_org, make_user
from tests.factories.lifecycle import juvenile_submission
from tests.web.conftest import SignedInClient
from tests.web.registry_page_cases import PDF, principal_of, submission

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import Organisation, User

Signer = Callable[..., SignedInClient]


def _org(session: Session, org_type: OrgType) -> Organisation:
    return make_org(session, org_type=org_type)


def _user(session: Session, role: Role, org: Organisation) -> User:
    return make_user(session, roles=(role,), org=org)


def _actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_another_courts_clerk_and_another_bureaus_reviewer_get_404(
    session: Session, signed_in: Signer
) -> None:
    bureau = _org(session, OrgType.PUBLIC_SECURITY)
    clerk = _user(session, Role.COURT_CLERK, _org(session, OrgType.COURT))
    draft = lifecycle.submit_record(
        session,
        actor=principal_of(clerk),
        data=submission(review_organisation_id=str(bureau.id)),
        send=False,
    )
    pending = lifecycle.submit_record(
        session,
        actor=principal_of(clerk),
        data=submission(review_organisation_id=str(bureau.id)),
    )
    other_clerk = _user(session, Role.COURT_CLERK, _org(session, OrgType.COURT))
    other_reviewer = _user(session, Role.REGISTRY_REVIEWER, _org(session, OrgType.PUBLIC_SECURITY))
    session.commit()
    court_client, _, court_csrf = signed_in(user=other_clerk)
    assert court_client.get(f"/registry/records/{draft.id}").status_code == 404
    assert court_client.get(f"/registry/records/{draft.id}/edit").status_code == 404
    sent = court_client.post(f"/registry/records/{draft.id}/send", data={"csrf_token": court_csrf})
    assert sent.status_code == 404
    bureau_client, _, bureau_csrf = signed_in(user=other_reviewer)
    assert bureau_client.get(f"/registry/records/{pending.id}").status_code == 404
    approve = bureau_client.post(
        f"/registry/records/{pending.id}/approve", data={"csrf_token": bureau_csrf}
    )
    assert approve.status_code == 404
    assert str(pending.id) not in bureau_client.get("/registry/review").text
    session.expire_all()
    assert (draft.status, pending.status) == ("draft", "pending_review")


def test_a_sealed_record_shows_its_content_only_to_the_roles_the_policy_names(
    session: Session, signed_in: Signer
) -> None:
    bureau = _org(session, OrgType.PUBLIC_SECURITY)
    clerk = _user(session, Role.COURT_CLERK, _org(session, OrgType.COURT))
    reviewer = _user(session, Role.REGISTRY_REVIEWER, bureau)
    record = lifecycle.submit_record(
        session,
        actor=principal_of(clerk),
        data=juvenile_submission(review_organisation_id=str(bureau.id)),
    )
    lifecycle.approve_record(session, actor=principal_of(reviewer), record_id=record.id)
    assert record.status == "sealed"
    registry_clerk = _user(session, Role.REGISTRY_CLERK, bureau)
    session.commit()
    number = "(2022)京0101刑初45号"
    as_clerk, _, _ = signed_in(user=registry_clerk)
    page = as_clerk.get(f"/registry/records/{record.id}")
    assert page.status_code == 200
    assert 'data-testid="sealed-notice"' in page.text
    assert number not in page.text
    assert "李小红" not in page.text
    person = as_clerk.get(f"/registry/persons/{record.person_id}").text
    assert number not in person
    as_reviewer, _, _ = signed_in(user=reviewer)
    assert number in as_reviewer.get(f"/registry/records/{record.id}").text
    assert number in as_reviewer.get(f"/registry/persons/{record.person_id}").text


def test_reading_a_person_a_record_and_a_scan_is_audited(
    session: Session, signed_in: Signer
) -> None:
    bureau = _org(session, OrgType.PUBLIC_SECURITY)
    clerk = _user(session, Role.COURT_CLERK, _org(session, OrgType.COURT))
    reviewer = _user(session, Role.REGISTRY_REVIEWER, bureau)
    record = lifecycle.submit_record(
        session,
        actor=principal_of(clerk),
        data=submission(review_organisation_id=str(bureau.id)),
        scan=lifecycle.Scan("judgment.pdf", "application/pdf", PDF),
    )
    lifecycle.approve_record(session, actor=principal_of(reviewer), record_id=record.id)
    session.commit()
    client, _, _ = signed_in(user=reviewer)
    before = len(_actions(session))
    assert client.get(f"/registry/records/{record.id}").status_code == 200
    assert client.get(f"/registry/persons/{record.person_id}").status_code == 200
    scan = client.get(f"/registry/records/{record.id}/files/{record.files[0].id}")
    assert scan.content == PDF
    assert scan.headers["cache-control"] == "no-store"
    session.expire_all()
    assert _actions(session)[before:] == [
        "web:registry:record_view",
        "web:registry:person_view",
        "web:registry:record_file_read",
    ]


def test_a_pair_is_merged_and_the_merge_undone_from_the_pages(
    session: Session, signed_in: Signer
) -> None:
    bureau = _org(session, OrgType.PUBLIC_SECURITY)
    clerk = _user(session, Role.COURT_CLERK, _org(session, OrgType.COURT))
    reviewer = _user(session, Role.REGISTRY_REVIEWER, bureau)
    persons = []
    for _ in range(2):
        record = lifecycle.submit_record(
            session,
            actor=principal_of(clerk),
            data=submission(review_organisation_id=str(bureau.id)),
        )
        lifecycle.approve_record(session, actor=principal_of(reviewer), record_id=record.id)
        persons.append(record.person_id)
    low, high = sorted(p for p in persons if p is not None)
    pair = RegistryDuplicatePair(
        first_person_id=low,
        second_person_id=high,
        outcome="possible_match",
        score=11.0,
        reasons="name=exact +7.9; rule=new_document_review",
    )
    session.add(pair)
    session.commit()
    client, _, csrf = signed_in(user=reviewer)
    listing = client.get("/registry/duplicates").text
    assert f"/registry/duplicates/{pair.id}" in listing
    assert "rule=new_document_review" in client.get(f"/registry/duplicates/{pair.id}").text
    refused = client.post(
        f"/registry/duplicates/{pair.id}/merge", data={"csrf_token": csrf, "keep": "first"}
    )
    assert refused.status_code == 422  # no reason given
    merged = client.post(
        f"/registry/duplicates/{pair.id}/merge",
        data={"csrf_token": csrf, "keep": "first", "reason": "同一人，两个户籍号"},
    )
    assert merged.status_code == 303
    merge_page = merged.headers["location"]
    assert 'data-state="in_force"' in client.get(merge_page).text
    gone = client.get(f"/registry/persons/{high}").text
    assert 'data-testid="merged-into"' in gone
    assert f"/registry/duplicates/{pair.id}" not in client.get("/registry/duplicates").text
    undone = client.post(
        f"{merge_page}/undo", data={"csrf_token": csrf, "reason": "两个人：同名同生日"}
    )
    assert undone.status_code == 303
    assert 'data-state="undone"' in client.get(merge_page).text
    session.expire_all()
    assert session.get_one(RegistryPerson, high).merged_into_id is None
    assert session.get_one(RegistryDuplicatePair, pair.id).status == "dismissed"
    assert [a for a in _actions(session) if "person_merge" in a] == [
        "web:registry:person_merge",
        "web:registry:person_merge_undo",
    ]


def test_no_form_or_history_shows_a_sealed_records_content_to_others(
    session: Session, signed_in: Signer
) -> None:
    bureau = _org(session, OrgType.PUBLIC_SECURITY)
    clerk = _user(session, Role.COURT_CLERK, _org(session, OrgType.COURT))
    reviewer = _user(session, Role.REGISTRY_REVIEWER, bureau)
    record = lifecycle.submit_record(
        session,
        actor=principal_of(clerk),
        data=juvenile_submission(review_organisation_id=str(bureau.id)),
    )
    lifecycle.approve_record(session, actor=principal_of(reviewer), record_id=record.id)
    lifecycle.revoke_record(
        session, actor=principal_of(reviewer), record_id=record.id, reason="再审改判：李小红无罪"
    )
    registry_clerk = _user(session, Role.REGISTRY_CLERK, bureau)
    session.commit()
    as_registry_clerk, _, _ = signed_in(user=registry_clerk)
    page = as_registry_clerk.get(f"/registry/records/{record.id}").text
    assert "李小红" not in page  # neither the subject nor the revocation's reason
    assert "(2022)京0101刑初45号" not in page
    assert as_registry_clerk.get(f"/registry/records/{record.id}/correct").status_code == 404
    as_court_clerk, _, _ = signed_in(user=clerk)
    edit = as_court_clerk.get(f"/registry/records/{record.id}/edit")
    assert edit.status_code == 409
    assert "李小红" not in edit.text
