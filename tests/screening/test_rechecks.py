"""The refusal notice and re-check (复查) appeals: every transition and refusal, audited."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shouhu.accounts.models import Organisation
from shouhu.accounts.roles import OrgType, Role
from shouhu.core.audit.models import AuditEvent
from shouhu.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from shouhu.core.principal import Principal
from shouhu.core.settings import Settings
from shouhu.identity.prc_id import latest_possible_date
from shouhu.registry.lifecycle import Scan
from shouhu.registry.policy import RELEASED, InquiryPurpose
from shouhu.screening import inquiries, rechecks
from shouhu.screening.certificates import current_certificate, verify_code
from shouhu.screening.inquiries import submit_inquiry
from shouhu.screening.models import Certificate, Inquiry
from shouhu.screening.recheck_models import InquiryRecheck, InquiryRecheckDocument
from shouhu.screening.rechecks import RecheckRequest
from tests.factories.accounts import make_org, make_user
from tests.factories.lifecycle import principal_of
from tests.factories.registry import import_rows, prc_number, registry_row
from tests.screening.test_inquiries import actions_since, ask, head

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session, sessionmaker

BORN = date(1980, 5, 17)
OFFENDER = prc_number("110101", BORN, 123)  # 王小明 of registry_row: child molestation
NAMESAKE = prc_number("310101", BORN, 457)  # 王小明 born the same day, another number
STRANGER = prc_number("110105", date(1992, 8, 8), 555)
GROUNDS = "本人从未受过处罚。\n身份证曾于2019年遗失。"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n%fake but well-started\n"


@dataclass(frozen=True)
class Scene:
    """An authority with a school and a university, another authority, two registry reviewers."""

    authority: Organisation
    university: Organisation
    school_hr: Principal
    university_hr: Principal
    officer: Principal
    other_officer: Principal
    other_school_hr: Principal
    reviewer: Principal
    second_reviewer: Principal


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


@pytest.fixture
def scene(session: Session, session_factory: sessionmaker[Session], tmp_path: Path) -> Scene:
    assert import_rows(session_factory, tmp_path / "registry.csv", [registry_row()]).complete
    authority = make_org(session, org_type=OrgType.EDUCATION_AUTHORITY, name="示范区教育局")
    other_authority = make_org(session, org_type=OrgType.EDUCATION_AUTHORITY)
    school = make_org(session, org_type=OrgType.INSTITUTION, parent=authority)
    university = make_org(
        session, org_type=OrgType.INSTITUTION, kind="university", parent=authority, name="示范大学"
    )
    other_school = make_org(
        session, org_type=OrgType.INSTITUTION, kind="kindergarten", parent=other_authority
    )
    bureau = make_org(session, org_type=OrgType.PUBLIC_SECURITY)

    def user(org: Organisation, role: Role) -> Principal:
        return principal_of(make_user(session, roles=(role,), org=org))

    return Scene(
        authority=authority,
        university=university,
        school_hr=user(school, Role.INSTITUTION_HR),
        university_hr=user(university, Role.INSTITUTION_HR),
        officer=user(authority, Role.EDUCATION_OFFICER),
        other_officer=user(other_authority, Role.EDUCATION_OFFICER),
        other_school_hr=user(other_school, Role.INSTITUTION_HR),
        reviewer=user(bureau, Role.REGISTRY_REVIEWER),
        second_reviewer=user(bureau, Role.REGISTRY_REVIEWER),
    )


def found(session: Session, scene: Scene, settings: Settings, number: str = OFFENDER) -> Inquiry:
    """The university's inquiry about the offender: record_found at once."""
    inquiry = submit_inquiry(
        session, actor=scene.university_hr, request=ask(number), settings=settings
    )
    assert inquiry.answer == "record_found"
    return inquiry


def request(
    received: date | None = None, document: Scan | None = None, grounds: str = GROUNDS
) -> RecheckRequest:
    """A request received today unless told otherwise."""
    return RecheckRequest(
        grounds=grounds,
        received_on=received or latest_possible_date() - timedelta(days=1),
        document=document,
    )


def enter(session: Session, scene: Scene, inquiry: Inquiry, **extra) -> InquiryRecheck:
    return rechecks.enter_recheck(
        session, actor=scene.officer, inquiry_id=inquiry.id, request=request(**extra)
    )


def backdate(session: Session, inquiry: Inquiry, days: int) -> None:
    """Move the inquiry's answer (and its certificate) `days` into the past."""
    certificate = current_certificate(session, inquiry.id)
    assert certificate is not None
    certificate.issued_at -= timedelta(days=days)
    assert inquiry.completed_at is not None
    inquiry.completed_at -= timedelta(days=days)
    session.flush()


# --- the notice ---------------------------------------------------------------------------------


def test_the_notice_names_the_rule_and_the_way_to_a_recheck_and_its_reading_is_audited(
    session, scene, settings
):
    inquiry = found(session, scene, settings)
    certificate = current_certificate(session, inquiry.id)
    assert certificate is not None
    start = head(session)
    notice = rechecks.read_notice(session, actor=scene.university_hr, inquiry_id=inquiry.id)
    assert actions_since(session, start) == ["web:inquiry:notice_read"]
    assert (notice.institution, notice.candidate, notice.authority) == (
        "示范大学",
        "王*明",
        "示范区教育局",
    )
    assert notice.certificate_code == certificate.code
    assert notice.answered_on == certificate.issued_at.date()
    assert notice.deadline == notice.answered_on + timedelta(days=30)
    assert notice.rule == rechecks.NOTICE_RULES[2][InquiryPurpose.SCHOOL_STAFF]
    assert "art. 10" in notice.rule.basis
    assert "art. 62" in notice.rule.basis
    # The rule, never the offence: nothing of the record is in what the notice says.
    said = f"{notice.rule.basis} {notice.rule.text} {notice.institution} {notice.candidate}"
    for secret in ("child_molestation", "猥亵", "刑初", "人民法院", OFFENDER, "王小明"):
        assert secret not in said
    details = session.scalar(select(AuditEvent.details).where(AuditEvent.seq > start))
    assert "王" not in (details or "")


def test_the_rule_follows_the_purpose(session, scene, settings):
    inquiry = submit_inquiry(
        session,
        actor=scene.university_hr,
        request=ask(OFFENDER, purpose="close_contact"),
        settings=settings,
    )
    notice = rechecks.read_notice(session, actor=scene.university_hr, inquiry_id=inquiry.id)
    assert notice.rule.basis == "Law on the Protection of Minors, art. 62, para. 1"


def test_every_released_policy_has_a_rule_for_every_purpose():
    # A new policy version must say under which rule its records disqualify, before it ships.
    assert set(rechecks.NOTICE_RULES) == set(RELEASED)
    for rules in rechecks.NOTICE_RULES.values():
        assert set(rules) == set(InquiryPurpose)


def test_only_the_asking_institution_reads_the_notice_and_only_after_a_record(
    session, scene, settings
):
    inquiry = found(session, scene, settings)
    clean = submit_inquiry(
        session, actor=scene.university_hr, request=ask(STRANGER, name="李四"), settings=settings
    )
    start = head(session)
    with pytest.raises(NotFoundError):  # another institution
        rechecks.read_notice(session, actor=scene.other_school_hr, inquiry_id=inquiry.id)
    with pytest.raises(NotFoundError):  # the supervising authority is not the institution
        rechecks.read_notice(session, actor=scene.officer, inquiry_id=inquiry.id)
    with pytest.raises(ForbiddenError):
        rechecks.read_notice(session, actor=scene.reviewer, inquiry_id=inquiry.id)
    with pytest.raises(NotFoundError):  # no record, no notice
        rechecks.read_notice(session, actor=scene.university_hr, inquiry_id=clean.id)
    assert actions_since(session, start) == []


def test_without_an_authority_on_record_the_notice_says_so_and_nobody_can_enter_it(
    session, settings, scene
):
    orphan = make_org(session, org_type=OrgType.INSTITUTION, kind="training_body")
    hr = principal_of(make_user(session, roles=(Role.INSTITUTION_HR,), org=orphan))
    inquiry = submit_inquiry(session, actor=hr, request=ask(OFFENDER), settings=settings)
    assert rechecks.read_notice(session, actor=hr, inquiry_id=inquiry.id).authority is None
    for officer in (scene.officer, scene.other_officer):
        with pytest.raises(NotFoundError):
            rechecks.enter_recheck(session, actor=officer, inquiry_id=inquiry.id, request=request())


def test_an_authority_with_none_above_it_enters_the_recheck_of_its_own_inquiry(
    session, scene, settings
):
    inquiry = submit_inquiry(session, actor=scene.officer, request=ask(OFFENDER), settings=settings)
    assert (inquiry.authority_id, inquiry.answer) == (None, "record_found")
    notice = rechecks.read_notice(session, actor=scene.officer, inquiry_id=inquiry.id)
    assert notice.authority == "示范区教育局"
    recheck = enter(session, scene, inquiry)
    assert recheck.authority_id == scene.authority.id


# --- the request --------------------------------------------------------------------------------


def test_the_officer_enters_a_request_sealed_and_the_institution_sees_only_that_it_is_pending(
    session, scene, settings
):
    inquiry = found(session, scene, settings)
    start = head(session)
    recheck = enter(session, scene, inquiry, document=Scan("身份证遗失证明.png", "image/png", PNG))
    assert actions_since(session, start) == ["web:inquiry:recheck_enter"]
    assert (recheck.status, recheck.grounds, recheck.authority_id) == (
        "pending",
        GROUNDS,
        scene.authority.id,
    )
    assert recheck.certificate_id == current_certificate(session, inquiry.id).id
    # Grounds, file name and file are stored sealed.
    assert GROUNDS.encode() not in recheck.grounds_sealed
    document = session.scalar(
        select(InquiryRecheckDocument).where(InquiryRecheckDocument.recheck_id == recheck.id)
    )
    assert document is not None
    assert (document.content, document.sha256) == (PNG, hashlib.sha256(PNG).hexdigest())
    assert PNG not in bytes(document.content_sealed)
    details = session.scalar(select(AuditEvent.details).where(AuditEvent.seq > start)) or ""
    assert "遗失" not in details
    assert hashlib.sha256(PNG).hexdigest() in details
    # The institution: the status of its inquiry's re-check, and nothing of it.
    assert rechecks.latest_rechecks(session, [inquiry.id])[inquiry.id].status == "pending"
    with pytest.raises(NotFoundError):
        rechecks.get_recheck(session, scene.university_hr, recheck.id)
    with pytest.raises(ForbiddenError):
        rechecks.read_recheck(session, actor=scene.university_hr, recheck_id=recheck.id)
    with pytest.raises(ForbiddenError):
        rechecks.read_document(session, actor=scene.university_hr, recheck_id=recheck.id)
    assert inquiry.status == "completed"  # the status stays within its documented values


def test_requests_are_refused_by_role_authority_answer_and_while_one_is_open(
    session, scene, settings
):
    inquiry = found(session, scene, settings)
    clean = submit_inquiry(
        session, actor=scene.university_hr, request=ask(STRANGER, name="李四"), settings=settings
    )
    start = head(session)
    for wrong in (scene.university_hr, scene.reviewer):
        with pytest.raises(ForbiddenError):
            rechecks.enter_recheck(session, actor=wrong, inquiry_id=inquiry.id, request=request())
    with pytest.raises(NotFoundError):
        rechecks.enter_recheck(
            session, actor=scene.other_officer, inquiry_id=inquiry.id, request=request()
        )
    with pytest.raises(ConflictError):  # no record found, nothing to re-check
        enter(session, scene, clean)
    enter(session, scene, inquiry)
    with pytest.raises(ConflictError):  # one open re-check at a time
        enter(session, scene, inquiry)
    assert actions_since(session, start) == ["web:inquiry:recheck_enter"]


def test_a_second_open_request_is_stopped_by_the_index_too(session, scene, settings):
    inquiry = found(session, scene, settings)
    first = enter(session, scene, inquiry)
    # As if another officer's request had slipped past the check: the database refuses it.
    twin = InquiryRecheck(
        inquiry_id=inquiry.id,
        authority_id=first.authority_id,
        status="pending",
        received_on=first.received_on,
        entered_by_id=first.entered_by_id,
    )
    twin.ensure_id()
    twin.grounds = "again"
    session.add(twin)
    with pytest.raises(IntegrityError), session.begin_nested():
        session.flush()


@pytest.mark.parametrize(
    ("received", "field"),
    [
        (None, "received_on"),
        (latest_possible_date() + timedelta(days=2), "received_on"),
        (date(2020, 1, 1), "received_on"),  # before the answer
    ],
)
def test_the_date_received_is_checked(session, scene, settings, received, field):
    inquiry = found(session, scene, settings)
    with pytest.raises(ValidationFailedError) as caught:
        rechecks.enter_recheck(
            session,
            actor=scene.officer,
            inquiry_id=inquiry.id,
            request=RecheckRequest(grounds=GROUNDS, received_on=received),
        )
    assert caught.value.field == field


def test_the_request_must_arrive_within_30_days_of_the_answer(session, scene, settings):
    inquiry = found(session, scene, settings)
    backdate(session, inquiry, 40)
    answered = inquiry.completed_at.date()  # type: ignore[union-attr]
    with pytest.raises(ValidationFailedError) as caught:
        enter(session, scene, inquiry, received=answered + timedelta(days=31))
    assert caught.value.field == "received_on"
    # Received on the 30th day (and entered later): in time.
    assert enter(session, scene, inquiry, received=answered + timedelta(days=30)).status == (
        "pending"
    )


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"grounds": "  "}, "grounds"),
        ({"grounds": "理" * 4001}, "grounds"),
        ({"grounds": "bad\x00byte"}, "grounds"),
        ({"document": Scan("a.pdf", "application/pdf", b"")}, "document"),
        ({"document": Scan("a.pdf", "application/pdf", b"GIF89a not a pdf")}, "document"),
        ({"document": Scan("a.png", "image/png", PDF)}, "document"),  # renamed, caught by bytes
        ({"document": Scan("a.tif", "image/tiff", b"II*\x00rest")}, "document"),  # not for this
    ],
)
def test_grounds_and_document_are_checked(session, scene, settings, extra, field):
    inquiry = found(session, scene, settings)
    with pytest.raises(ValidationFailedError) as caught:
        enter(session, scene, inquiry, **extra)
    assert caught.value.field == field
    assert session.scalar(select(InquiryRecheck.id)) is None


# --- the decision -------------------------------------------------------------------------------


def decide(
    session, actor, recheck, *, outcome="overturned", ground="not_the_same_person", note="x"
):
    return rechecks.decide_recheck(
        session, actor=actor, recheck_id=recheck.id, outcome=outcome, ground=ground, note=note
    )


def test_an_overturn_answers_no_record_with_a_new_certificate_and_the_old_one_is_not_current(
    session, scene, settings
):
    inquiry = found(session, scene, settings)
    old = current_certificate(session, inquiry.id)
    assert old is not None
    inquiries.record_hiring(
        session, actor=scene.university_hr, inquiry_id=inquiry.id, decision="not_hired"
    )
    recheck = enter(session, scene, inquiry)
    start = head(session)
    decide(session, scene.reviewer, recheck, note="系同名同生日的另一人。")
    assert actions_since(session, start) == ["web:inquiry:recheck_overturn"]
    assert (recheck.status, recheck.ground, recheck.note) == (
        "overturned",
        "not_the_same_person",
        "系同名同生日的另一人。",
    )
    assert recheck.decided_by_id == scene.reviewer.user_id
    assert (inquiry.status, inquiry.answer) == ("completed", "no_record")
    new = current_certificate(session, inquiry.id)
    assert new is not None
    assert new.id != old.id
    assert recheck.new_certificate_id == new.id
    session.refresh(old)
    assert old.superseded_at is not None
    # Anyone checking the old code is told it is no longer current; the new one is.
    checked_old, checked_new = verify_code(session, old.code), verify_code(session, new.code)
    assert checked_old is not None
    assert checked_new is not None
    assert (checked_old.genuine, checked_old.current) == (True, False)
    assert (checked_new.genuine, checked_new.current) == (True, True)
    assert '"answer":"no_record"' in new.document
    details = session.scalar(select(AuditEvent.details).where(AuditEvent.seq > start)) or ""
    assert "另一人" not in details
    assert str(old.id) in details
    # The institution sees the new answer and may now hire (not_hired → hired on no_record).
    assert rechecks.latest_rechecks(session, [inquiry.id])[inquiry.id].status == "overturned"
    start = head(session)
    inquiries.record_hiring(
        session, actor=scene.university_hr, inquiry_id=inquiry.id, decision="hired"
    )
    assert inquiry.hiring == "hired"
    assert actions_since(session, start) == ["web:inquiry:hiring"]
    # The notice is still readable: withdrawn, with the new certificate's code.
    notice = rechecks.read_notice(session, actor=scene.university_hr, inquiry_id=inquiry.id)
    assert (notice.certificate_code, notice.new_certificate_code) == (old.code, new.code)
    # No record now: nothing to re-check any more.
    with pytest.raises(ConflictError):
        enter(session, scene, inquiry)


def test_an_upheld_answer_keeps_its_certificate_and_the_hire_stays_refused(
    session, scene, settings
):
    inquiry = found(session, scene, settings)
    certificate = current_certificate(session, inquiry.id)
    recheck = enter(session, scene, inquiry)
    start = head(session)
    decide(session, scene.reviewer, recheck, outcome="upheld", ground=None, note="号码一致。")
    assert actions_since(session, start) == ["web:inquiry:recheck_uphold"]
    assert (recheck.status, recheck.ground, recheck.new_certificate_id) == ("upheld", None, None)
    assert inquiry.answer == "record_found"
    assert current_certificate(session, inquiry.id) == certificate
    assert verify_code(session, certificate.code).current  # type: ignore[union-attr]
    assert (
        session.scalar(
            select(Certificate.id).where(Certificate.inquiry_id == inquiry.id).limit(2).offset(1)
        )
        is None
    )
    with pytest.raises(ConflictError):
        inquiries.record_hiring(
            session, actor=scene.university_hr, inquiry_id=inquiry.id, decision="hired"
        )
    with pytest.raises(ConflictError):  # decided is decided
        decide(session, scene.second_reviewer, recheck)
    # Within the period the candidate may ask again (new grounds, say).
    assert enter(session, scene, inquiry).status == "pending"


def test_the_reviewer_who_confirmed_the_match_may_not_decide_its_recheck(session, scene, settings):
    inquiry = submit_inquiry(
        session, actor=scene.university_hr, request=ask(NAMESAKE), settings=settings
    )
    assert inquiry.status == "under_review"
    inquiries.confirm_match(session, actor=scene.reviewer, inquiry_id=inquiry.id)
    recheck = enter(session, scene, inquiry)
    start = head(session)
    with pytest.raises(ForbiddenError):
        decide(session, scene.reviewer, recheck)
    assert recheck.status == "pending"
    assert actions_since(session, start) == []
    decide(session, scene.second_reviewer, recheck)
    assert (recheck.status, inquiry.answer) == ("overturned", "no_record")
    assert actions_since(session, start) == ["web:inquiry:recheck_overturn"]


@pytest.mark.parametrize(
    "case",
    [
        ("maybe", None, "x", "outcome"),
        ("pending", None, "x", "outcome"),
        ("overturned", None, "x", "ground"),
        ("overturned", "no_reason", "x", "ground"),
        ("upheld", "not_the_same_person", "x", "ground"),
        ("upheld", None, " ", "note"),
        ("overturned", "record_not_in_scope", "理" * 2001, "note"),
    ],
)
def test_a_decision_names_the_field_at_fault(session, scene, settings, case):
    outcome, ground, note, field = case
    recheck = enter(session, scene, found(session, scene, settings))
    with pytest.raises(ValidationFailedError) as caught:
        decide(session, scene.reviewer, recheck, outcome=outcome, ground=ground, note=note)
    assert caught.value.field == field
    assert recheck.status == "pending"


def test_only_registry_reviewers_decide_and_officers_see_only_their_authoritys(
    session, scene, settings
):
    recheck = enter(session, scene, found(session, scene, settings))
    for wrong in (scene.officer, scene.university_hr):
        with pytest.raises(ForbiddenError):
            decide(session, wrong, recheck)
    start = head(session)
    assert rechecks.read_recheck(session, actor=scene.officer, recheck_id=recheck.id) is recheck
    assert rechecks.read_recheck(session, actor=scene.reviewer, recheck_id=recheck.id) is recheck
    assert actions_since(session, start) == [
        "web:inquiry:recheck_view",
        "web:inquiry:recheck_view",
    ]
    with pytest.raises(NotFoundError):
        rechecks.read_recheck(session, actor=scene.other_officer, recheck_id=recheck.id)
    other = list(session.scalars(rechecks.readable_rechecks(scene.other_officer)))
    assert other == []


def test_the_document_is_read_back_checked_and_audited(session, scene, settings):
    recheck = enter(
        session,
        scene,
        found(session, scene, settings),
        document=Scan("证明.pdf", "application/pdf", PDF),
    )
    start = head(session)
    stored = rechecks.read_document(session, actor=scene.reviewer, recheck_id=recheck.id)
    assert (stored.content, stored.content_type, stored.filename) == (
        PDF,
        "application/pdf",
        "证明.pdf",
    )
    assert actions_since(session, start) == ["web:inquiry:recheck_file_read"]
    stored.content = PDF + b"tampered"
    session.flush()
    with pytest.raises(ConflictError):
        rechecks.read_document(session, actor=scene.reviewer, recheck_id=recheck.id)
    with pytest.raises(NotFoundError):
        rechecks.read_document(session, actor=scene.other_officer, recheck_id=recheck.id)
