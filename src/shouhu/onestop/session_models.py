"""Joint sessions, arrivals, the child's forensic interviews and approvals of a second one.

The one-stop promise (MPS pilot; DESIGN §1) is that every agency meets the child at once and the
child is interviewed once. A joint session records who was required and who came when; an
interview records one forensic interview of one child. A second interview of the same child in
the same case needs a prosecutor's written approval first (`SecondInterviewApproval`), which the
interview then uses up.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shouhu.core.crypto.fields import EncryptedString, Sealed
from shouhu.core.database import Base, UUIDPrimaryKey, utcnow


class Agency(StrEnum):
    """An agency that attends a joint session (MPS one-stop pilot)."""

    CRIMINAL_INVESTIGATION = "criminal_investigation"
    FORENSICS = "forensics"
    PROCURATORATE = "procuratorate"
    WOMENS_FEDERATION = "womens_federation"
    MEDICAL = "medical"
    PSYCHOLOGIST = "psychologist"
    GUARDIAN = "guardian"
    LEGAL_AID = "legal_aid"


class JointSession(UUIDPrimaryKey, Base):
    """A joint session of a case at a site: when, and which agencies must attend."""

    __tablename__ = "onestop_joint_sessions"
    __table_args__ = (Index("ix_onestop_joint_sessions_case", "case_id", "scheduled_for"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("onestop_cases.id", ondelete="CASCADE"))
    site_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("onestop_sites.id", ondelete="RESTRICT"), index=True
    )
    scheduled_for: Mapped[datetime]
    # The required agencies' codes (Agency), comma-separated in Agency order: a short closed
    # set read with the session every time, so a column rather than a table.
    required: Mapped[str] = mapped_column(String(200))
    scheduled_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    scheduled_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the session is called off (only before anyone arrived); the reason is in its
    # SessionChange. A cancelled session is kept, shown as cancelled, and counts for nothing.
    cancelled_at: Mapped[datetime | None]

    @property
    def cancelled(self) -> bool:
        """Whether the session was called off."""
        return self.cancelled_at is not None

    @property
    def required_agencies(self) -> list[Agency]:
        """The required agencies, in Agency order."""
        return agencies_of(self.required)


def agencies_of(required: str) -> list[Agency]:
    """The agencies of a session's stored `required` column (comma-separated codes)."""
    return [Agency(code) for code in required.split(",") if code]


class SessionChangeKind(StrEnum):
    """What was done to a session before anyone arrived."""

    RESCHEDULE = "reschedule"
    CANCEL = "cancel"


class SessionChange(UUIDPrimaryKey, Base):
    """A session moved to another time (or site), or called off: who, when, and why (sealed)."""

    __tablename__ = "onestop_session_changes"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("onestop_joint_sessions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # a SessionChangeKind
    previous_time: Mapped[datetime]
    new_time: Mapped[datetime | None]  # None for a cancellation
    previous_site_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("onestop_sites.id", ondelete="RESTRICT")
    )
    new_site_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("onestop_sites.id", ondelete="RESTRICT")
    )
    # The reason may speak of the child or the family (the guardian fell ill…): sealed.
    reason_sealed: Mapped[bytes] = mapped_column("reason", Sealed())
    reason = EncryptedString()
    changed_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class SessionArrival(UUIDPrimaryKey, Base):
    """Someone arriving at a joint session for an agency: a team member, or the named guardian."""

    __tablename__ = "onestop_session_arrivals"
    __table_args__ = (Index("ix_onestop_session_arrivals_session", "session_id", "arrived_at"),)

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("onestop_joint_sessions.id", ondelete="CASCADE")
    )
    agency: Mapped[str] = mapped_column(String(32))  # an Agency
    # A team member; None for the guardian, who is not a user and is named (sealed) instead.
    member_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("case_members.id", ondelete="RESTRICT")
    )
    person_name_sealed: Mapped[bytes | None] = mapped_column("person_name", Sealed())
    person_name = EncryptedString()
    arrived_at: Mapped[datetime]
    departed_at: Mapped[datetime | None]
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class SecondInterviewApproval(UUIDPrimaryKey, Base):
    """A prosecutor's written approval of one more interview of a child (used up by it)."""

    __tablename__ = "onestop_interview_approvals"
    __table_args__ = (Index("ix_onestop_interview_approvals_child", "child_id"),)

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("onestop_cases.id", ondelete="CASCADE"), index=True
    )
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_children.id", ondelete="CASCADE"))
    # The reason may name people and facts of the case: sealed.
    reason_sealed: Mapped[bytes] = mapped_column("reason", Sealed())
    reason = EncryptedString()
    approved_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    approved_at: Mapped[datetime] = mapped_column(default=utcnow)


class ForensicInterview(UUIDPrimaryKey, Base):
    """One forensic interview of a child of a case; the first needs no approval, others do.

    `number` counts the child's interviews in the case (1, 2…): the unique constraint on
    (child, number) makes two simultaneous "first" interviews impossible, whatever the timing.
    The recording file is evidence (its item points here), so no column names it.
    """

    __tablename__ = "onestop_interviews"
    __table_args__ = (
        UniqueConstraint("child_id", "number"),
        # One approval allows one interview.
        UniqueConstraint("approval_id"),
        Index("ix_onestop_interviews_case", "case_id", "started_at"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("onestop_cases.id", ondelete="CASCADE"))
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_children.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    # The joint session it took place in, if any (a session may be arranged for it or not).
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("onestop_joint_sessions.id", ondelete="SET NULL"), index=True
    )
    interviewer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_members.id", ondelete="RESTRICT")
    )
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    recorded: Mapped[bool] = mapped_column(Boolean)
    approval_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("onestop_interview_approvals.id", ondelete="RESTRICT")
    )
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
