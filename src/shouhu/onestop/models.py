"""One-stop sites and cases: the tables, and the codes their columns hold.

Everything about a child victim is sealed per field (DESIGN §4); what the case team reads every
day is the child's pseudonym ("Child A"), which says nothing about the child. Later parts of the
one-stop work (joint sessions, interviews, evidence, services) hang off `onestop_cases.id` and
`case_children.id`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from shouhu.core.crypto.fields import EncryptedString, Sealed
from shouhu.core.database import Base, UUIDPrimaryKey, utcnow
from shouhu.registry.models import BLIND_INDEX_LENGTH

ACTIVE_ONLY = text("removed_at IS NULL")


class ReportingChannel(StrEnum):
    """How the case reached public security (Minors Law art. 11: mandatory reporting)."""

    POLICE_REPORT = "police_report"
    MANDATORY_REPORT_SCHOOL = "mandatory_report_school"
    MANDATORY_REPORT_HOSPITAL = "mandatory_report_hospital"
    MANDATORY_REPORT_OTHER = "mandatory_report_other"
    FAMILY = "family"


class CaseStatus(StrEnum):
    """Where a case is on its path from receipt to closure (docs/onestop.md)."""

    RECEIVED = "received"
    JOINT_SESSION_SCHEDULED = "joint_session_scheduled"
    EVIDENCE_COLLECTED = "evidence_collected"
    UNDER_INVESTIGATION = "under_investigation"
    PROSECUTED = "prosecuted"
    NOT_PROSECUTED = "not_prosecuted"
    JUDGED = "judged"
    CLOSED = "closed"


class CaseRole(StrEnum):
    """What a member does in one case (not a system role: a prosecutor may attend many cases)."""

    LEAD_OFFICER = "lead_officer"
    INVESTIGATOR = "investigator"
    FORENSIC = "forensic"
    PROSECUTOR = "prosecutor"
    SUPPORT = "support"
    PSYCHOLOGIST = "psychologist"
    MEDICAL = "medical"
    LEGAL_AID = "legal_aid"
    WOMENS_FEDERATION = "womens_federation"


class ChildSex(StrEnum):
    """A child's sex as recorded at intake."""

    FEMALE = "F"
    MALE = "M"


class OneStopSite(UUIDPrimaryKey, Base):
    """A one-stop evidence collection site: a place where every agency meets the child once."""

    __tablename__ = "onestop_sites"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    # GB/T 2260 administrative division code, 6 digits.
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    # The public security organ that runs the site.
    host_unit_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    interview_room: Mapped[bool] = mapped_column(Boolean, default=False)  # recorded interviews
    medical_room: Mapped[bool] = mapped_column(Boolean, default=False)  # examinations on site
    waiting_room: Mapped[bool] = mapped_column(Boolean, default=False)  # child-friendly
    # An office's telephone and address, not a person's: plain text.
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SitePartner(UUIDPrimaryKey, Base):
    """A partner organisation attached to a site: its staff may join the site's case teams."""

    __tablename__ = "onestop_site_partners"
    __table_args__ = (UniqueConstraint("site_id", "organisation_id"),)

    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("onestop_sites.id", ondelete="CASCADE"))
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    added_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class OneStopCase(UUIDPrimaryKey, Base):
    """A case of a child victim received by public security and worked by its team."""

    __tablename__ = "onestop_cases"
    __table_args__ = (Index("ix_onestop_cases_status", "status", "received_at"),)

    received_at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(32))  # a ReportingChannel
    offence: Mapped[str] = mapped_column(String(40))  # a code of the registry's catalogue
    # Where it happened can identify the child (a home, a school): sealed.
    place_sealed: Mapped[bytes] = mapped_column("place", Sealed())
    place = EncryptedString()
    jurisdiction: Mapped[str] = mapped_column(String(6), index=True)  # GB/T 2260
    site_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("onestop_sites.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(String(32))  # a CaseStatus
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    # The intake officer's organisation (the receiving public security organ).
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseStatusChange(UUIDPrimaryKey, Base):
    """One move of a case along its status path, with who made it and (sealed) why."""

    __tablename__ = "case_status_changes"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("onestop_cases.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str | None] = mapped_column(String(32))  # None: the intake
    to_status: Mapped[str] = mapped_column(String(32))
    # A reason may name people or facts of the case: sealed.
    reason_sealed: Mapped[bytes | None] = mapped_column("reason", Sealed())
    reason = EncryptedString()
    changed_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseChild(UUIDPrimaryKey, Base):
    """A child victim of a case: a pseudonym everywhere, the real identity sealed."""

    __tablename__ = "case_children"
    __table_args__ = (UniqueConstraint("case_id", "letter"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("onestop_cases.id", ondelete="CASCADE"))
    # The pseudonym's letter, given in order of entry within the case ("Child A", "儿童 A"): it
    # is derived from nothing about the child, so it reveals nothing.
    letter: Mapped[str] = mapped_column(String(3))
    name_sealed: Mapped[bytes] = mapped_column("name", Sealed())
    name = EncryptedString()
    id_type: Mapped[str | None] = mapped_column(String(16))
    id_number_sealed: Mapped[bytes | None] = mapped_column("id_number", Sealed())
    id_number = EncryptedString()
    # Blind index of the child's document (onestop.interviews.child_index): the same child in
    # several cases, for counting interviews across cases without decrypting anything.
    id_index: Mapped[str | None] = mapped_column(String(BLIND_INDEX_LENGTH), index=True)
    date_of_birth_sealed: Mapped[bytes | None] = mapped_column("date_of_birth", Sealed())
    date_of_birth = EncryptedString()  # ISO 8601
    age_at_intake: Mapped[int]
    sex: Mapped[str] = mapped_column(String(1))  # a ChildSex
    guardian_name_sealed: Mapped[bytes | None] = mapped_column("guardian_name", Sealed())
    guardian_name = EncryptedString()
    guardian_relationship_sealed: Mapped[bytes | None] = mapped_column(
        "guardian_relationship", Sealed()
    )
    guardian_relationship = EncryptedString()
    special_needs_sealed: Mapped[bytes | None] = mapped_column("special_needs", Sealed())
    special_needs = EncryptedString()
    added_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseSuspect(UUIDPrimaryKey, Base):
    """A suspect of a case, with a blind index of their document for a later registry link."""

    __tablename__ = "case_suspects"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("onestop_cases.id", ondelete="CASCADE"), index=True
    )
    name_sealed: Mapped[bytes] = mapped_column("name", Sealed())
    name = EncryptedString()
    id_type: Mapped[str | None] = mapped_column(String(16))
    id_number_sealed: Mapped[bytes | None] = mapped_column("id_number", Sealed())
    id_number = EncryptedString()
    # The registry's document index (same key and domain), so linking a suspect to a registry
    # person is an equality look-up on `registry_documents.number_index`, never a decryption.
    id_index: Mapped[str | None] = mapped_column(String(BLIND_INDEX_LENGTH), index=True)
    registry_person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("registry_persons.id", ondelete="SET NULL")
    )
    added_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseMember(UUIDPrimaryKey, Base):
    """A user on a case's team, from `added_at` until `removed_at`; only members see the case."""

    __tablename__ = "case_members"
    __table_args__ = (
        # "Is this user on this case's team now?" is asked by every case read: the partial
        # index answers it, and makes one active membership per user and case a database rule.
        Index(
            "uq_case_members_active",
            "case_id",
            "user_id",
            unique=True,
            sqlite_where=ACTIVE_ONLY,
            postgresql_where=ACTIVE_ONLY,
        ),
        # "Which cases is this user on?": the Cases list.
        Index(
            "ix_case_members_user_active",
            "user_id",
            sqlite_where=ACTIVE_ONLY,
            postgresql_where=ACTIVE_ONLY,
        ),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("onestop_cases.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    role: Mapped[str] = mapped_column(String(32))  # a CaseRole
    added_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    removed_at: Mapped[datetime | None]
