"""Support services of a one-stop case: referrals of a child to a partner, and their notes.

A referral sends one child of a case to a partner organisation attached to the case's site for
one service (MPS one-stop pilot: psychological help, rehabilitation, family counselling, legal
and judicial assistance start at once). Its start deadline is fixed when it is made, from the
case's receipt, so a later change of the setting does not move a promise already made.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shouhu.core.crypto.fields import EncryptedString, Sealed
from shouhu.core.database import Base, UUIDPrimaryKey, utcnow


class ServiceKind(StrEnum):
    """The services a child victim is referred for (MPS one-stop pilot; DESIGN §1)."""

    PSYCHOLOGICAL = "psychological"  # assessment and treatment
    REHABILITATION = "rehabilitation"  # physical rehabilitation
    FAMILY_COUNSELLING = "family_counselling"
    LEGAL_ASSISTANCE = "legal_assistance"
    JUDICIAL_ASSISTANCE = "judicial_assistance"  # financial aid (司法救助)


class ReferralStatus(StrEnum):
    """Where a referral is: referred → accepted → in progress → completed, or declined.

    `withdrawn`: the case manager called it off (from referred or accepted), with a reason.
    """

    REFERRED = "referred"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class ServiceReferral(UUIDPrimaryKey, Base):
    """One child referred for one service to one partner organisation."""

    __tablename__ = "service_referrals"
    __table_args__ = (
        # A support worker's "My tasks" and the overdue sweep.
        Index("ix_service_referrals_org_status", "organisation_id", "status", "due_at"),
        Index("ix_service_referrals_assignee_status", "assigned_to_id", "status"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("onestop_cases.id", ondelete="CASCADE"), index=True
    )
    child_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_children.id", ondelete="CASCADE"), index=True
    )
    service: Mapped[str] = mapped_column(String(32))  # a ServiceKind
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    assigned_to_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    status: Mapped[str] = mapped_column(String(16))  # a ReferralStatus
    # The case's receipt plus SHOUHU_ONESTOP_SERVICE_START_HOURS, as of the referral.
    due_at: Mapped[datetime]
    referred_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    referred_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the partner first accepted it: the service's start (site figures: time to service).
    started_at: Mapped[datetime | None]
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A partner's reason for declining may speak of the child: sealed.
    decline_reason_sealed: Mapped[bytes | None] = mapped_column("decline_reason", Sealed())
    decline_reason = EncryptedString()


class ReferralChangeKind(StrEnum):
    """What a case manager did to a referral."""

    REASSIGN = "reassign"
    WITHDRAW = "withdraw"


class ReferralChange(UUIDPrimaryKey, Base):
    """A case manager's reassignment or withdrawal of a referral: from whom, to whom, why."""

    __tablename__ = "referral_changes"

    referral_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service_referrals.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # a ReferralChangeKind
    previous_organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    new_organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    previous_assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    new_assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    # It may speak of the child or the partner's work with them: sealed.
    reason_sealed: Mapped[bytes] = mapped_column("reason", Sealed())
    reason = EncryptedString()
    changed_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReferralNote(UUIDPrimaryKey, Base):
    """A follow-up note on a referral: appended, never changed; sealed (it is about a child)."""

    __tablename__ = "referral_notes"

    referral_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service_referrals.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    written_at: Mapped[datetime] = mapped_column(default=utcnow)
    body_sealed: Mapped[bytes] = mapped_column("body", Sealed())
    body = EncryptedString()
