"""The notice and re-check pages over HTTP: the notice in both languages (the rule, the period,
never the record), the officer's request with a document, the reviewer's decision, the
institution's page before and after; who may see each."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from shouhu.accounts.models import Organisation
from shouhu.accounts.roles import OrgType, Role
from shouhu.core.audit.models import AuditEvent
from shouhu.identity.prc_id import latest_possible_date
from shouhu.screening.models import Inquiry
from shouhu.screening.recheck_models import InquiryRecheck
from tests.factories.accounts import make_org, make_user
from tests.web.conftest import SignedInClient
from tests.web.recheck_page_cases import PNG, found_inquiry, received_today

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import User

Signer = Callable[..., SignedInClient]
ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


def _actions(session: Session, object_id: str) -> list[str]:
    session.expire_all()
    return list(
        session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_id == object_id)
            .order_by(AuditEvent.seq)
        )
    )


def test_the_notice_cites_the_rule_and_the_period_in_both_languages_for_its_institution_only(
    session: Session, signed_in: Signer
) -> None:
    authority = make_org(session, org_type=OrgType.EDUCATION_AUTHORITY, name="东城区教育委员会")
    school = make_org(session, org_type=OrgType.INSTITUTION, parent=authority, name="东城第一小学")
    inquiry = found_inquiry(session, school)
    hr = make_user(session, roles=(Role.INSTITUTION_HR,), org=school)
    officer = make_user(session, roles=(Role.EDUCATION_OFFICER,), org=authority)
    other_hr = make_user(
        session, roles=(Role.INSTITUTION_HR,), org=make_org(session, org_type=OrgType.INSTITUTION)
    )
    session.commit()
    answered = inquiry.completed_at.date()  # type: ignore[union-attr]
    deadline = (answered + timedelta(days=30)).isoformat()
    path = f"/inquiries/{inquiry.id}/notice"
    client, _, _ = signed_in(user=hr)

    page = client.get(path, headers=EN)
    assert page.status_code == 200
    text = page.text
    for shown in (
        "Notice of the inquiry&#39;s answer",
        "To the candidate 韩*军",
        "东城第一小学",
        "体育教师",
        answered.isoformat(),
        "art. 10",
        "A school or kindergarten may not hire a person who has a record of a sexual offence",
        "东城区教育委员会",
        f"within 30 days of the date of the answer, that is by {deadline}",
        "data-print",
        "/static/print.js",
    ):
        assert shown in text, shown
    for secret in ("韩立军", "110105198001010011", "猥亵", "child_molestation", "刑初"):
        assert secret not in text
    zh = client.get(path, headers=ZH).text
    for shown in (
        "查询结果告知书",
        "第十条",
        "第六十二条",
        "东城区教育委员会",
        deadline,
        "申请复查",
    ):
        assert shown in zh, shown
    assert _actions(session, str(inquiry.id)) == ["web:inquiry:notice_read"] * 2
    # The institution's inquiry page: no hire button after a record, the notice link instead.
    inquiry_page = client.get(f"/inquiries/{inquiry.id}", headers=EN).text
    assert 'data-testid="notice-link"' in inquiry_page
    assert 'data-testid="hired"' not in inquiry_page
    assert 'data-testid="not-hired"' in inquiry_page

    # Nobody else: the supervising authority's officer and another institution get 404.
    assert signed_in(user=officer)[0].get(path).status_code == 404
    assert signed_in(user=other_hr)[0].get(path).status_code == 404
    assert _actions(session, str(inquiry.id)) == ["web:inquiry:notice_read"] * 2


def test_an_officer_enters_a_request_a_reviewer_overturns_and_the_institution_may_hire(
    session: Session, signed_in: Signer
) -> None:
    authority = make_org(session, org_type=OrgType.EDUCATION_AUTHORITY)
    school = make_org(session, org_type=OrgType.INSTITUTION, parent=authority)
    inquiry = found_inquiry(session, school)
    hr = make_user(session, roles=(Role.INSTITUTION_HR,), org=school)
    officer = make_user(session, roles=(Role.EDUCATION_OFFICER,), org=authority)
    bureau = make_org(session, org_type=OrgType.PUBLIC_SECURITY)
    reviewer = make_user(session, roles=(Role.REGISTRY_REVIEWER,), org=bureau)
    session.commit()

    officer_client, _, officer_csrf = signed_in(user=officer)
    listed = officer_client.get("/recheck-requests", headers=EN).text
    assert f"/recheck-requests/{inquiry.id}/new" in listed
    assert "韩立军" in listed  # the authority knows whom its schools asked about
    form = officer_client.get(f"/recheck-requests/{inquiry.id}/new", headers=EN).text
    assert 'enctype="multipart/form-data"' in form
    fields = {
        "csrf_token": officer_csrf,
        "grounds": "我不是此人。",
        "received_on": received_today(),
    }
    # A renamed file is refused at its field; nothing is stored.
    renamed = officer_client.post(
        f"/recheck-requests/{inquiry.id}",
        data=fields,
        files={"document": ("证明.png", b"%PDF-1.7 not a png", "image/png")},
        headers=EN,
    )
    assert renamed.status_code == 422
    assert 'data-testid="error-document"' in renamed.text
    assert "Upload the document as PDF, JPEG or PNG." in renamed.text
    assert "我不是此人。" in renamed.text  # what was typed is kept
    late = officer_client.post(
        f"/recheck-requests/{inquiry.id}",
        data={**fields, "received_on": (latest_possible_date() + timedelta(days=60)).isoformat()},
        headers=EN,
    )
    assert (late.status_code, 'data-testid="error-received_on"' in late.text) == (422, True)
    sent = officer_client.post(
        f"/recheck-requests/{inquiry.id}",
        data=fields,
        files={"document": ("证明.png", PNG, "image/png")},
    )
    assert (sent.status_code, sent.headers["location"]) == (303, "/recheck-requests")
    session.expire_all()
    recheck = session.scalars(
        select(InquiryRecheck).where(InquiryRecheck.inquiry_id == inquiry.id)
    ).one()
    assert 'data-status="pending"' in officer_client.get("/recheck-requests").text

    _institution_sees_pending_and_reviewer_overturns(session, signed_in, hr, reviewer, recheck)


def _institution_sees_pending_and_reviewer_overturns(
    session: Session, signed_in: Signer, hr: User, reviewer: User, recheck: InquiryRecheck
) -> None:
    inquiry = session.get_one(Inquiry, recheck.inquiry_id)
    school_client, _, school_csrf = signed_in(user=hr)
    pending = school_client.get(f"/inquiries/{inquiry.id}", headers=EN).text
    assert 'data-testid="recheck" data-status="pending"' in pending
    assert "我不是此人" not in pending  # the grounds stay with the authority and the registry
    assert "Re-check pending" in school_client.get("/inquiries", headers=EN).text

    reviewer_client, _, reviewer_csrf = signed_in(user=reviewer)
    queue = reviewer_client.get("/rechecks", headers=EN).text
    assert f"/rechecks/{recheck.id}" in queue
    detail = reviewer_client.get(f"/rechecks/{recheck.id}", headers=EN).text
    for shown in ("我不是此人。", 'data-testid="candidate"', 'data-testid="registry-person"'):
        assert shown in detail
    document = reviewer_client.get(f"/rechecks/{recheck.id}/document")
    assert (document.status_code, document.content) == (200, PNG)
    assert document.headers["cache-control"] == "no-store"
    no_ground = reviewer_client.post(
        f"/rechecks/{recheck.id}/decision",
        data={"csrf_token": reviewer_csrf, "outcome": "overturned", "note": "另一人。"},
        headers=EN,
    )
    assert no_ground.status_code == 422
    assert 'data-testid="error-ground"' in no_ground.text
    decided = reviewer_client.post(
        f"/rechecks/{recheck.id}/decision",
        data={
            "csrf_token": reviewer_csrf,
            "outcome": "overturned",
            "ground": "record_revoked_or_corrected",
            "note": "原判决已被撤销。",
        },
    )
    assert decided.status_code == 303
    after = reviewer_client.get(f"/rechecks/{recheck.id}", headers=EN).text
    assert 'data-testid="decision" data-status="overturned"' in after
    assert "The record was revoked or corrected" in after

    answered = school_client.get(f"/inquiries/{inquiry.id}", headers=EN).text
    assert 'data-answer="no_record"' in answered
    assert 'data-testid="recheck" data-status="overturned"' in answered
    assert "原判决" not in answered
    assert "revoked or corrected" not in answered  # the outcome, not the registry's reason
    assert 'data-testid="hired"' in answered
    withdrawn = school_client.get(f"/inquiries/{inquiry.id}/notice", headers=EN).text
    assert 'data-withdrawn="true"' in withdrawn
    hired = school_client.post(
        f"/inquiries/{inquiry.id}/decision", data={"csrf_token": school_csrf, "decision": "hired"}
    )
    assert hired.status_code == 303
    assert _actions(session, str(recheck.id)) == [
        "web:inquiry:recheck_enter",
        "web:inquiry:recheck_view",
        "web:inquiry:recheck_file_read",
        "web:inquiry:recheck_view",
        "web:inquiry:recheck_overturn",
        "web:inquiry:recheck_view",
    ]


def test_the_reviewer_who_confirmed_the_match_sees_no_decision_form(
    session: Session, signed_in: Signer
) -> None:
    authority = make_org(session, org_type=OrgType.EDUCATION_AUTHORITY)
    inquiry = found_inquiry(
        session, make_org(session, org_type=OrgType.INSTITUTION, parent=authority)
    )
    bureau = make_org(session, org_type=OrgType.PUBLIC_SECURITY)
    reviewer = make_user(session, roles=(Role.REGISTRY_REVIEWER,), org=bureau)
    inquiry.reviewed_by_id = reviewer.id  # they confirmed the possible match
    officer = make_user(session, roles=(Role.EDUCATION_OFFICER,), org=authority)
    session.commit()
    officer_client, _, csrf = signed_in(user=officer)
    sent = officer_client.post(
        f"/recheck-requests/{inquiry.id}",
        data={"csrf_token": csrf, "grounds": "不是我。", "received_on": received_today()},
    )
    assert sent.status_code == 303
    session.expire_all()
    recheck = session.scalars(
        select(InquiryRecheck).where(InquiryRecheck.inquiry_id == inquiry.id)
    ).one()
    client, _, reviewer_csrf = signed_in(user=reviewer)
    page = client.get(f"/rechecks/{recheck.id}", headers=EN).text
    assert 'data-testid="four-eyes"' in page
    assert 'data-testid="decision-form"' not in page
    assert "another reviewer decides" in client.get("/rechecks", headers=EN).text
    refused = client.post(
        f"/rechecks/{recheck.id}/decision",
        data={"csrf_token": reviewer_csrf, "outcome": "upheld", "note": "维持。"},
    )
    assert refused.status_code == 403
    # A second request while one is open: the officer's list offers none, and a post is refused.
    listed = officer_client.get("/recheck-requests").text
    assert f"/recheck-requests/{inquiry.id}/new" not in listed
    again = officer_client.post(
        f"/recheck-requests/{inquiry.id}",
        data={"csrf_token": csrf, "grounds": "再次申请。", "received_on": received_today()},
        headers=EN,
    )
    assert again.status_code == 409
    assert "already open" in again.text
    # An answer of no record has nothing to re-check: the refusal, not a form.
    clean = found_inquiry(session, session.get_one(Organisation, inquiry.institution_id))
    clean.answer = "no_record"
    session.commit()
    nothing = officer_client.post(
        f"/recheck-requests/{clean.id}",
        data={"csrf_token": csrf, "grounds": "不是我。", "received_on": received_today()},
        headers=EN,
    )
    assert nothing.status_code == 409
    assert "Only an answer that found a record can be re-checked." in nothing.text
