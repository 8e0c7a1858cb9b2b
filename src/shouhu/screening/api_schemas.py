"""API shapes of the staff-access inquiry: what an institution sends, and what it is told.

The institution's view is the answer and nothing more (2020 Opinions: the answer says only
whether a record exists): never the engine's outcome, its explanation, the matched person or
any registry content. Input schemas refuse unknown keys, so a caller cannot set a status, an
answer or a hiring decision by sending it with the inquiry.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from shouhu.core.text import PlainLine
from shouhu.identity.documents import IdType
from shouhu.registry.policy import InquiryPurpose
from shouhu.screening.inquiries import InquiryRequest
from shouhu.screening.models import HiringDecision, Inquiry, InquiryAnswer, InquiryStatus
from shouhu.screening.recheck_models import RecheckStatus

EXAMPLE_ID: Final = "3c9e1a52-7d4b-4f1e-a0c2-5b8d6e7f9a10"
ANSWER: Final = "null until completed, then no_record or record_found"


class SubjectIn(BaseModel):
    """The candidate: name and identity document; birth date, sex and nationality if known."""

    model_config = ConfigDict(extra="forbid")

    name: PlainLine = Field(min_length=1, max_length=100, examples=["王小明"])
    id_type: IdType = Field(description="The kind of identity document")
    id_number: PlainLine = Field(
        min_length=1, max_length=40, description="Its number, in any usual form"
    )
    date_of_birth: date | None = Field(
        default=None, description="Needed where the document number does not carry it"
    )
    sex: PlainLine = Field(default="", max_length=1, description="M or F; blank if not known")
    nationality: PlainLine = Field(
        default="",
        max_length=3,
        description="Issuing country (ISO 3166-1 alpha-3); blank is CHN",
    )

    def values(self) -> dict[str, str]:
        """The subject as the service reads it: text by field."""
        return {
            "name": self.name,
            "id_type": self.id_type.value,
            "id_number": self.id_number,
            "date_of_birth": self.date_of_birth.isoformat() if self.date_of_birth else "",
            "sex": self.sex,
            "nationality": self.nationality,
        }


class ConsentIn(BaseModel):
    """The candidate's signed consent (2020 Opinions art. 9; PIPL art. 29): none, no inquiry."""

    model_config = ConfigDict(extra="forbid")

    reference: PlainLine = Field(
        min_length=1, max_length=64, description="The consent form's reference in the HR system"
    )
    signed_on: date = Field(description="When the candidate signed it: within the last year")


class InquiryIn(BaseModel):
    """A staff-access inquiry about one candidate for one purpose."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "purpose": "school_staff",
                    "subject": {
                        "name": "王小明",
                        "id_type": "prc_id",
                        "id_number": "110101198005171233",
                        "date_of_birth": "1980-05-17",
                        "sex": "M",
                        "nationality": "CHN",
                    },
                    "consent": {"reference": "同意书-2026-001", "signed_on": "2026-03-02"},
                    "position": "语文教师",
                    "reference": "HR-2026-0042",
                }
            ]
        },
    )

    purpose: InquiryPurpose = Field(description="Which records count: the purpose's policy")
    subject: SubjectIn
    consent: ConsentIn
    position: PlainLine = Field(min_length=1, max_length=100, description="Position applied for")
    reference: PlainLine = Field(
        default="", max_length=64, description="The HR system's own reference, echoed back"
    )
    new_lookup: bool = Field(
        default=False,
        description="Look up again even if this candidate was asked about in the last 30 days",
    )

    def request(self) -> InquiryRequest:
        """The service's form of the inquiry."""
        return InquiryRequest(
            purpose=self.purpose.value,
            subject=self.subject.values(),
            consent_reference=self.consent.reference,
            consent_signed_on=self.consent.signed_on,
            position=self.position,
            reference=self.reference,
            new_lookup=self.new_lookup,
        )


class DecisionIn(BaseModel):
    """The institution's hiring decision on an inquiry."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"decision": "hired"}]}
    )

    decision: HiringDecision


class InquiryCreatedOut(BaseModel):
    """A submitted inquiry: where it is, and its answer once there is one."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": EXAMPLE_ID,
                    "status": "pending_approval",
                    "answer": None,
                    "certificate_code": "7K3M-Q9TX-2D4F",
                }
            ]
        }
    )

    id: uuid.UUID
    status: InquiryStatus
    answer: InquiryAnswer | None = Field(description=ANSWER)
    certificate_code: str | None = Field(
        description="The signed certificate's code; always null until certificates are issued"
        " (a later increment)"
    )


class InquiryOut(BaseModel):
    """The institution's view of one inquiry: its answer, never a record or why it matched."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": EXAMPLE_ID,
                    "reference": "HR-2026-0042",
                    "purpose": "school_staff",
                    "position": "语文教师",
                    "status": "completed",
                    "answer": "no_record",
                    "policy_version": 2,
                    "submitted_at": "2026-03-09T08:30:00Z",
                    "completed_at": "2026-03-09T09:10:00Z",
                    "hiring": "hired",
                    "recheck": None,
                    "certificate_code": "K7QM-2XPA-91HD",
                }
            ]
        }
    )

    id: uuid.UUID
    reference: str | None
    purpose: InquiryPurpose
    position: str | None
    status: InquiryStatus = Field(
        description="pending_approval, under_review, completed, or refused by the authority"
    )
    answer: InquiryAnswer | None = Field(description=ANSWER)
    policy_version: int | None = Field(description="The disclosure policy the look-up applied")
    submitted_at: datetime
    completed_at: datetime | None
    hiring: HiringDecision | None = Field(description="hired or not_hired, once recorded")
    recheck: RecheckStatus | None = Field(
        default=None,
        description="The candidate's latest re-check of a record_found answer: pending, upheld"
        " or overturned (the answer is then no_record); null if none was asked for",
    )
    certificate_code: str | None = Field(
        default=None,
        description="The verification code of the certificate of the answer in force (null"
        " until answered): GET /api/v1/certificates/{code} checks it",
    )


def created_out(inquiry: Inquiry, certificate_code: str | None) -> InquiryCreatedOut:
    """The answer to a submission."""
    return InquiryCreatedOut(
        id=inquiry.id,
        status=InquiryStatus(inquiry.status),
        answer=InquiryAnswer(inquiry.answer) if inquiry.answer else None,
        certificate_code=certificate_code,
    )


def inquiry_out(
    inquiry: Inquiry, recheck: str | None = None, certificate_code: str | None = None
) -> InquiryOut:
    """The institution's view of an inquiry (with its latest re-check and certificate)."""
    return InquiryOut(
        id=inquiry.id,
        reference=inquiry.reference,
        purpose=InquiryPurpose(inquiry.purpose),
        position=inquiry.position,
        status=InquiryStatus(inquiry.status),
        answer=InquiryAnswer(inquiry.answer) if inquiry.answer else None,
        policy_version=inquiry.policy_version,
        submitted_at=inquiry.submitted_at,
        completed_at=inquiry.completed_at,
        hiring=HiringDecision(inquiry.hiring) if inquiry.hiring else None,
        recheck=RecheckStatus(recheck) if recheck else None,
        certificate_code=certificate_code,
    )
