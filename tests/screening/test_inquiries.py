"""The staff-access inquiry service: consent, approval, the look-up, review, repeats, visibility."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from shouhu.accounts.models import Organisation
from shouhu.accounts.roles import OrgType, Role
from shouhu.core.audit.models import AuditEvent
from shouhu.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from shouhu.core.principal import Principal
from shouhu.core.settings import Settings
from shouhu.identity.prc_id import latest_possible_date
from shouhu.screening import inquiries
from shouhu.screening.inquiries import InquiryInvalidError, InquiryRequest, submit_inquiry
from shouhu.screening.models import Inquiry
from tests.factories.accounts import make_org, make_user
from tests.factories.lifecycle import principal_of
from tests.factories.registry import import_rows, prc_number, registry_row

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session, sessionmaker

BORN = date(1980, 5, 17)
OFFENDER = prc_number("110101", BORN, 123)  # 王小明 of registry_row: child molestation
VIOLENT = prc_number("110101", date(1975, 2, 2), 321)  # 张强: intentional injury only
STRANGER = prc_number("110105", date(1992, 8, 8), 555)


@dataclass(frozen=True)
class Scene:
    """An authority with a school under it, a university, public security, and the registry."""

    authority: Organisation
    school_hr: Principal
    university_hr: Principal
    officer: Principal
    other_officer: Principal
    reviewer: Principal
    other_school_hr: Principal


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


@pytest.fixture
def scene(session: Session, session_factory: sessionmaker[Session], tmp_path: Path) -> Scene:
    rows = [
        registry_row(external_id="OFFENDER"),
        registry_row(
            external_id="VIOLENT",
            name="张强",
            date_of_birth="1975-02-02",
            id_number=VIOLENT,
            offence="intentional_injury",
            decision_number="(2018)京0101刑初77号",
        ),
    ]
    assert import_rows(session_factory, tmp_path / "registry.csv", rows).complete
    authority = make_org(session, org_type=OrgType.EDUCATION_AUTHORITY)
    other_authority = make_org(session, org_type=OrgType.EDUCATION_AUTHORITY)
    school = make_org(
        session, org_type=OrgType.INSTITUTION, kind="primary_school", parent=authority
    )
    other_school = make_org(
        session, org_type=OrgType.INSTITUTION, kind="kindergarten", parent=other_authority
    )
    university = make_org(
        session, org_type=OrgType.INSTITUTION, kind="university", parent=authority
    )

    def user(org: Organisation, role: Role) -> Principal:
        return principal_of(make_user(session, roles=(role,), org=org))

    return Scene(
        authority=authority,
        school_hr=user(school, Role.INSTITUTION_HR),
        university_hr=user(university, Role.INSTITUTION_HR),
        officer=user(authority, Role.EDUCATION_OFFICER),
        other_officer=user(other_authority, Role.EDUCATION_OFFICER),
        reviewer=user(make_org(session, org_type=OrgType.PUBLIC_SECURITY), Role.REGISTRY_REVIEWER),
        other_school_hr=user(other_school, Role.INSTITUTION_HR),
    )


def ask(
    number: str, *, name: str = "王小明", purpose: str = "school_staff", **extra
) -> InquiryRequest:
    """A request about a candidate, with consent signed last week."""
    return InquiryRequest(
        purpose=purpose,
        subject={"name": name, "id_type": "prc_id", "id_number": number},
        consent_reference="同意书-2026-001",
        consent_signed_on=latest_possible_date() - timedelta(days=7),
        position="语文教师",
        **extra,
    )


def actions_since(session: Session, start: int) -> list[str]:
    rows = session.scalars(
        select(AuditEvent.action).where(AuditEvent.seq > start).order_by(AuditEvent.seq)
    )
    return list(rows)


def head(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0)


def test_no_consent_no_inquiry(session, scene, settings):
    missing = InquiryRequest(
        purpose="school_staff",
        subject={"name": "王小明", "id_type": "prc_id", "id_number": OFFENDER},
        consent_reference=" ",
        consent_signed_on=latest_possible_date(),
    )
    with pytest.raises(ValidationFailedError) as caught:
        submit_inquiry(session, actor=scene.university_hr, request=missing, settings=settings)
    assert caught.value.field == "consent_reference"
    for signed in (None, latest_possible_date() + timedelta(days=2), date(2020, 1, 1)):
        request = InquiryRequest(
            purpose="school_staff",
            subject={"name": "王小明", "id_type": "prc_id", "id_number": OFFENDER},
            consent_reference="同意书-1",
            consent_signed_on=signed,
        )
        with pytest.raises(ValidationFailedError) as caught:
            submit_inquiry(session, actor=scene.university_hr, request=request, settings=settings)
        assert caught.value.field == "consent_signed_on"
    assert session.scalar(select(func.count()).select_from(Inquiry)) == 0


def test_a_bad_identity_number_names_the_field(session, scene, settings):
    with pytest.raises(InquiryInvalidError) as caught:
        submit_inquiry(
            session, actor=scene.university_hr, request=ask(OFFENDER[:-1] + "0"), settings=settings
        )
    assert "id_number" in caught.value.problems


def test_a_university_queries_directly_and_learns_only_whether_a_record_exists(
    session, scene, settings
):
    start = head(session)
    found = submit_inquiry(
        session, actor=scene.university_hr, request=ask(OFFENDER), settings=settings
    )
    assert (found.status, found.answer, found.policy_version) == ("completed", "record_found", 2)
    clean = submit_inquiry(
        session, actor=scene.university_hr, request=ask(STRANGER, name="李四"), settings=settings
    )
    assert (clean.status, clean.answer) == ("completed", "no_record")
    assert actions_since(session, start) == [
        "web:inquiry:submit",
        "web:inquiry:lookup",
        "web:inquiry:submit",
        "web:inquiry:lookup",
    ]
    details = " ".join(session.scalars(select(AuditEvent.details).where(AuditEvent.seq > start)))
    for secret in ("王小明", OFFENDER, STRANGER, "李四"):
        assert secret not in details


def test_the_purpose_decides_what_counts(session, scene, settings):
    # A record of intentional injury: Minors Law art. 62 counts it, the 2020 Opinions do not.
    school_staff = submit_inquiry(
        session, actor=scene.university_hr, request=ask(VIOLENT, name="张强"), settings=settings
    )
    close_contact = submit_inquiry(
        session,
        actor=scene.university_hr,
        request=ask(VIOLENT, name="张强", purpose="close_contact"),
        settings=settings,
    )
    assert (school_staff.answer, close_contact.answer) == ("no_record", "record_found")


def test_a_schools_inquiry_waits_for_its_own_authority(session, scene, settings):
    inquiry = submit_inquiry(
        session, actor=scene.school_hr, request=ask(OFFENDER), settings=settings
    )
    assert (inquiry.status, inquiry.answer, inquiry.engine_outcome) == (
        "pending_approval",
        None,
        None,
    )
    with pytest.raises(NotFoundError):
        inquiries.approve_inquiry(
            session, actor=scene.other_officer, inquiry_id=inquiry.id, settings=settings
        )
    with pytest.raises(ForbiddenError):
        inquiries.approve_inquiry(
            session, actor=scene.school_hr, inquiry_id=inquiry.id, settings=settings
        )
    start = head(session)
    inquiries.approve_inquiry(
        session, actor=scene.officer, inquiry_id=inquiry.id, settings=settings
    )
    assert (inquiry.status, inquiry.answer) == ("completed", "record_found")
    assert actions_since(session, start) == ["web:inquiry:approve", "web:inquiry:lookup"]
    with pytest.raises(ConflictError):
        inquiries.approve_inquiry(
            session, actor=scene.officer, inquiry_id=inquiry.id, settings=settings
        )


def test_the_authority_refuses_with_a_reason_and_nothing_is_looked_up(session, scene, settings):
    inquiry = submit_inquiry(
        session, actor=scene.school_hr, request=ask(OFFENDER), settings=settings
    )
    with pytest.raises(ValidationFailedError):
        inquiries.refuse_inquiry(session, actor=scene.officer, inquiry_id=inquiry.id, reason=" ")
    inquiries.refuse_inquiry(
        session, actor=scene.officer, inquiry_id=inquiry.id, reason="该人员并非应聘人员"
    )
    assert (inquiry.status, inquiry.answer, inquiry.engine_outcome) == ("refused", None, None)
    assert inquiry.reason == "该人员并非应聘人员"


def test_an_authority_may_let_its_schools_query_directly(session, scene, settings):
    scene.authority.inquiry_approval_required = False
    session.flush()
    inquiry = submit_inquiry(
        session, actor=scene.school_hr, request=ask(OFFENDER), settings=settings
    )
    assert (inquiry.status, inquiry.answer) == ("completed", "record_found")


def test_a_possible_match_waits_for_a_registry_reviewer(session, scene, settings):
    # 王小明 born the same day, under another number: the engine asks a person to look.
    other = prc_number("310101", BORN, 457)
    start = head(session)
    inquiry = submit_inquiry(
        session, actor=scene.university_hr, request=ask(other), settings=settings
    )
    assert (inquiry.status, inquiry.answer, inquiry.engine_outcome) == (
        "under_review",
        None,
        "possible_match",
    )
    assert json.loads(inquiry.explanation or "{}")["reasons"]
    assert inquiry.matched_person_id is not None
    with pytest.raises(ForbiddenError):
        inquiries.confirm_match(session, actor=scene.university_hr, inquiry_id=inquiry.id)
    inquiries.clear_match(session, actor=scene.reviewer, inquiry_id=inquiry.id)
    assert (inquiry.status, inquiry.answer) == ("completed", "no_record")
    assert inquiry.reviewed_by_id == scene.reviewer.user_id
    with pytest.raises(ConflictError):
        inquiries.confirm_match(session, actor=scene.reviewer, inquiry_id=inquiry.id)
    assert actions_since(session, start)[-1] == "web:inquiry:clear"
    again = submit_inquiry(
        session,
        actor=scene.university_hr,
        request=ask(other, new_lookup=True),
        settings=settings,
    )
    inquiries.confirm_match(session, actor=scene.reviewer, inquiry_id=again.id)
    assert (again.status, again.answer) == ("completed", "record_found")


def test_the_same_candidate_within_30_days_gets_the_earlier_answer(session, scene, settings):
    first = submit_inquiry(
        session, actor=scene.university_hr, request=ask(OFFENDER), settings=settings
    )
    start = head(session)
    # The 15-digit form of the same number is the same candidate.
    fifteen = OFFENDER[:6] + OFFENDER[8:17]
    repeat = submit_inquiry(
        session, actor=scene.university_hr, request=ask(fifteen), settings=settings
    )
    assert repeat.id == first.id
    assert actions_since(session, start) == ["web:inquiry:repeat"]
    fresh = submit_inquiry(
        session,
        actor=scene.university_hr,
        request=ask(OFFENDER, new_lookup=True),
        settings=settings,
    )
    assert fresh.id != first.id
    other_purpose = submit_inquiry(
        session,
        actor=scene.university_hr,
        request=ask(OFFENDER, purpose="teacher_qualification"),
        settings=settings,
    )
    assert other_purpose.id not in {first.id, fresh.id}
    first.submitted_at -= timedelta(days=31)
    fresh.submitted_at -= timedelta(days=31)
    session.flush()
    later = submit_inquiry(
        session, actor=scene.university_hr, request=ask(OFFENDER), settings=settings
    )
    assert later.id not in {first.id, fresh.id}


def test_one_institution_cannot_see_anothers_inquiry(session, scene, settings):
    inquiry = submit_inquiry(
        session, actor=scene.university_hr, request=ask(OFFENDER), settings=settings
    )
    with pytest.raises(NotFoundError):
        inquiries.get_inquiry(session, scene.other_school_hr, inquiry.id)
    with pytest.raises(NotFoundError):
        inquiries.get_inquiry(session, scene.other_officer, inquiry.id)
    # A reviewer sees only inquiries that needed one.
    with pytest.raises(NotFoundError):
        inquiries.get_inquiry(session, scene.reviewer, inquiry.id)
    assert inquiries.get_inquiry(session, scene.officer, inquiry.id).id == inquiry.id


def test_hiring_after_a_record_or_before_an_answer_is_refused_and_recorded(
    session, session_factory, scene, settings
):
    found = submit_inquiry(
        session, actor=scene.university_hr, request=ask(OFFENDER), settings=settings
    )
    waiting = submit_inquiry(
        session, actor=scene.school_hr, request=ask(OFFENDER), settings=settings
    )
    clean = submit_inquiry(
        session, actor=scene.university_hr, request=ask(STRANGER, name="李四"), settings=settings
    )
    start = head(session)
    with pytest.raises(ConflictError) as refused:
        inquiries.record_hiring(
            session, actor=scene.university_hr, inquiry_id=found.id, decision="hired"
        )
    assert refused.value.persist  # the unit of work keeps the refusal's audit event
    with pytest.raises(ConflictError):
        inquiries.record_hiring(
            session, actor=scene.school_hr, inquiry_id=waiting.id, decision="hired"
        )
    with pytest.raises(NotFoundError):  # another institution's inquiry
        inquiries.record_hiring(
            session, actor=scene.other_school_hr, inquiry_id=clean.id, decision="hired"
        )
    inquiries.record_hiring(
        session, actor=scene.university_hr, inquiry_id=found.id, decision="not_hired"
    )
    inquiries.record_hiring(
        session, actor=scene.university_hr, inquiry_id=clean.id, decision="hired"
    )
    assert (found.hiring, clean.hiring, waiting.hiring) == ("not_hired", "hired", None)
    assert actions_since(session, start) == [
        "web:inquiry:hiring_refused",
        "web:inquiry:hiring_refused",
        "web:inquiry:hiring",
        "web:inquiry:hiring",
    ]


def test_a_school_without_an_authority_on_record_cannot_skip_its_approval(session, settings):
    orphan = make_org(session, org_type=OrgType.INSTITUTION, kind="kindergarten")
    hr = principal_of(make_user(session, roles=(Role.INSTITUTION_HR,), org=orphan))
    with pytest.raises(ConflictError):
        submit_inquiry(session, actor=hr, request=ask(STRANGER, name="李四"), settings=settings)
    assert session.scalar(select(func.count()).select_from(Inquiry)) == 0


def test_an_overlong_refusal_reason_is_refused_by_name(session, scene, settings):
    inquiry = submit_inquiry(
        session, actor=scene.school_hr, request=ask(OFFENDER), settings=settings
    )
    with pytest.raises(ValidationFailedError) as caught:
        inquiries.refuse_inquiry(
            session, actor=scene.officer, inquiry_id=inquiry.id, reason="理" * 2001
        )
    assert caught.value.field == "reason"


def test_a_hiring_decision_changes_only_as_the_rule_allows_and_each_change_is_audited(
    session, scene, settings
):
    clean = submit_inquiry(
        session, actor=scene.university_hr, request=ask(STRANGER, name="李四"), settings=settings
    )
    found = submit_inquiry(
        session, actor=scene.university_hr, request=ask(OFFENDER), settings=settings
    )
    start = head(session)

    def hire(inquiry: Inquiry, decision: str) -> None:
        inquiries.record_hiring(
            session, actor=scene.university_hr, inquiry_id=inquiry.id, decision=decision
        )

    hire(clean, "not_hired")
    hire(clean, "hired")  # not hired, then hired after all: allowed while the answer is no_record
    hire(clean, "hired")  # the same again changes nothing and records nothing
    hire(clean, "not_hired")  # the person left, or the offer was withdrawn
    hire(found, "not_hired")
    with pytest.raises(ConflictError):
        hire(found, "hired")  # never after record_found, whatever was recorded before
    assert (clean.hiring, found.hiring) == ("not_hired", "not_hired")
    events = session.execute(
        select(AuditEvent.action, AuditEvent.details)
        .where(AuditEvent.seq > start)
        .order_by(AuditEvent.seq)
    ).all()
    assert [action for action, _ in events] == [
        "web:inquiry:hiring",
        "web:inquiry:hiring",
        "web:inquiry:hiring",
        "web:inquiry:hiring",
        "web:inquiry:hiring_refused",
    ]
    changes = [json.loads(details) for _, details in events[:4]]
    assert [(c["previous"], c["decision"]) for c in changes] == [
        (None, "not_hired"),
        ("not_hired", "hired"),
        ("hired", "not_hired"),
        (None, "not_hired"),
    ]
