"""The inquiry pages over HTTP: a school asks, its authority approves, the answer shows, a hire
after a record is refused and the refusal kept; a reviewer clears a possible match."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from shouhu.accounts.roles import OrgType, Role
from shouhu.core.audit.models import AuditEvent
from shouhu.identity.prc_id import latest_possible_date
from shouhu.registry import lifecycle
from shouhu.screening.models import Inquiry
from tests.factories.accounts import make_org, make_user
from tests.factories.registry import prc_number
from tests.web.conftest import SignedInClient
from tests.web.registry_page_cases import principal_of, submission

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Signer = Callable[..., SignedInClient]
OFFENDER = prc_number("110101", date(1980, 5, 17), 123)


def _offender(session: Session) -> None:
    """王小明 (born 1980-05-17) with an active conviction for indecency with a child."""
    bureau = make_org(session, org_type=OrgType.PUBLIC_SECURITY)
    court = make_org(session, org_type=OrgType.COURT)
    clerk = make_user(session, roles=(Role.COURT_CLERK,), org=court)
    reviewer = make_user(session, roles=(Role.REGISTRY_REVIEWER,), org=bureau)
    record = lifecycle.submit_record(
        session,
        actor=principal_of(clerk),
        data=submission(id_number=OFFENDER, review_organisation_id=str(bureau.id)),
    )
    lifecycle.approve_record(session, actor=principal_of(reviewer), record_id=record.id)


def _form(csrf: str, number: str) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "purpose": "school_staff",
        "name": "王小明",
        "id_type": "prc_id",
        "id_number": number,
        "position": "体育教师",
        "consent_reference": "同意书-2026-17",
        "consent_signed_on": (latest_possible_date() - timedelta(days=2)).isoformat(),
    }


def test_a_school_asks_its_authority_approves_and_a_hire_after_a_record_is_refused(
    session: Session, signed_in: Signer
) -> None:
    _offender(session)
    authority = make_org(session, org_type=OrgType.EDUCATION_AUTHORITY)
    school = make_org(
        session, org_type=OrgType.INSTITUTION, kind="primary_school", parent=authority
    )
    hr = make_user(session, roles=(Role.INSTITUTION_HR,), org=school)
    officer = make_user(session, roles=(Role.EDUCATION_OFFICER,), org=authority)
    session.commit()
    school_client, _, school_csrf = signed_in(user=hr)
    refused = school_client.post(
        "/inquiries", data={**_form(school_csrf, OFFENDER), "consent_reference": ""}
    )
    assert refused.status_code == 422
    assert 'data-testid="error-consent_reference"' in refused.text
    sent = school_client.post("/inquiries", data=_form(school_csrf, OFFENDER))
    assert sent.status_code == 303
    page = sent.headers["location"]
    assert 'data-status="pending_approval"' in school_client.get(page).text
    inquiry_id = page.rsplit("/", 1)[1]

    officer_client, _, officer_csrf = signed_in(user=officer)
    queue = officer_client.get("/approvals").text
    assert f"/approvals/{inquiry_id}/approve" in queue
    approved = officer_client.post(
        f"/approvals/{inquiry_id}/approve", data={"csrf_token": officer_csrf}
    )
    assert approved.status_code == 303

    answered = school_client.get(page).text
    assert 'data-answer="record_found"' in answered
    assert "(2019)" not in answered
    assert "猥亵" not in answered
    hire = school_client.post(
        f"{page}/decision", data={"csrf_token": school_csrf, "decision": "hired"}
    )
    assert hire.status_code == 409
    assert 'data-testid="inquiry-error"' in hire.text
    not_hired = school_client.post(
        f"{page}/decision", data={"csrf_token": school_csrf, "decision": "not_hired"}
    )
    assert not_hired.status_code == 303
    session.expire_all()
    actions = list(
        session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_id == inquiry_id)
            .order_by(AuditEvent.seq)
        )
    )
    assert actions == [
        "web:inquiry:submit",
        "web:inquiry:approve",
        "web:inquiry:lookup",
        "web:inquiry:hiring_refused",  # kept although the hire was refused
        "web:inquiry:hiring",
    ]


def test_a_reviewer_sees_both_sides_and_clears_a_possible_match(
    session: Session, signed_in: Signer
) -> None:
    _offender(session)
    university = make_org(session, org_type=OrgType.INSTITUTION, kind="university")
    hr = make_user(session, roles=(Role.INSTITUTION_HR,), org=university)
    reviewer = make_user(
        session,
        roles=(Role.REGISTRY_REVIEWER,),
        org=make_org(session, org_type=OrgType.PUBLIC_SECURITY),
    )
    session.commit()
    school_client, _, csrf = signed_in(user=hr)
    namesake = prc_number("310101", date(1980, 5, 17), 457)
    page = school_client.post("/inquiries", data=_form(csrf, namesake)).headers["location"]
    shown = school_client.get(page).text
    assert 'data-status="under_review"' in shown
    assert OFFENDER not in shown  # the institution learns nothing of the registry person
    inquiry_id = page.rsplit("/", 1)[1]

    reviewer_client, _, reviewer_csrf = signed_in(user=reviewer)
    assert f"/possible-matches/{inquiry_id}" in reviewer_client.get("/possible-matches").text
    detail = reviewer_client.get(f"/possible-matches/{inquiry_id}").text
    assert namesake in detail
    assert OFFENDER in detail
    cleared = reviewer_client.post(
        f"/possible-matches/{inquiry_id}/clear", data={"csrf_token": reviewer_csrf}
    )
    assert cleared.status_code == 303
    assert 'data-answer="no_record"' in school_client.get(page).text
    session.expire_all()
    inquiry = session.get_one(Inquiry, uuid.UUID(inquiry_id))
    assert (inquiry.status, inquiry.answer, inquiry.reviewed_by_id) == (
        "completed",
        "no_record",
        reviewer.id,
    )
