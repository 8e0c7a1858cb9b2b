"""API shapes of joint sessions, arrivals, forensic interviews and second-interview approvals.

Input schemas refuse unknown keys. Counts of a child's interviews in other cases are numbers
only: nothing of another case leaves the service.
"""

from __future__ import annotations

import uuid
from typing import Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

from shouhu.core.text import PlainLine
from shouhu.onestop.schemas import EXAMPLE_CASE, EXAMPLE_CHILD, EXAMPLE_MEMBER, EXAMPLE_SITE
from shouhu.onestop.session_models import Agency

EXAMPLE_SESSION: Final = "3c5e7a9c-1e3a-4c5e-8a0c-2e4a6c8e0a2c"
EXAMPLE_ARRIVAL: Final = "6e8a0c2e-4a6c-4e8a-9c1e-5a7c9e1a3c5e"
EXAMPLE_INTERVIEW: Final = "8a0c2e4a-6c8e-4a0c-8e2a-7c9e1a3c5e7a"
EXAMPLE_APPROVAL: Final = "1b3d5f7b-9d1f-4b3d-8f5b-9d1f3b5d7f9b"

SESSION_EXAMPLE: Final[dict[str, JsonValue]] = {
    "site_id": EXAMPLE_SITE,
    "scheduled_for": "2026-11-30T09:00:00+08:00",
    "required": ["medical", "psychologist", "guardian", "womens_federation"],
}
ARRIVAL_EXAMPLE: Final[dict[str, JsonValue]] = {
    "agency": "forensics",
    "member_id": EXAMPLE_MEMBER,
    "arrived_at": "2026-11-30T08:55:00+08:00",
}
GUARDIAN_EXAMPLE: Final[dict[str, JsonValue]] = {
    "agency": "guardian",
    "person_name": "李强",
    "arrived_at": "2026-11-30T08:50:00+08:00",
}
INTERVIEW_EXAMPLE: Final[dict[str, JsonValue]] = {
    "child_id": EXAMPLE_CHILD,
    "interviewer_id": EXAMPLE_MEMBER,
    "session_id": EXAMPLE_SESSION,
    "started_at": "2026-11-30T09:30:00+08:00",
    "ended_at": "2026-11-30T10:10:00+08:00",
    "recorded": True,
}
APPROVAL_EXAMPLE: Final[dict[str, JsonValue]] = {
    "child_id": EXAMPLE_CHILD,
    "reason": "首次询问录像因设备故障未能保存，经审查同意补充询问一次。",
}


class SessionIn(BaseModel):
    """A joint session to arrange for the case."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SESSION_EXAMPLE]})

    site_id: uuid.UUID | None = Field(default=None, description="Default: the case's site")
    scheduled_for: AwareDatetime
    required: list[Agency] | None = Field(
        default=None,
        max_length=len(Agency),
        description="Agencies required besides the three always required (criminal"
        " investigation, forensics, procuratorate). Left out: the case's defaults (guardian,"
        " psychologist; medical for offences needing an examination; the Women's Federation"
        " for a girl).",
    )


RESCHEDULE_EXAMPLE: Final[dict[str, JsonValue]] = {
    "scheduled_for": "2026-12-01T14:00:00+08:00",
    "reason": "监护人因病无法于原定时间到场。",
}
CANCEL_EXAMPLE: Final[dict[str, JsonValue]] = {"reason": "被害人已转至外地医院治疗，另行安排。"}


class RescheduleIn(BaseModel):
    """A session nobody has arrived at yet, moved to another time (or site), with a reason."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [RESCHEDULE_EXAMPLE]})

    scheduled_for: AwareDatetime
    site_id: uuid.UUID | None = Field(default=None, description="Default: the session's site")
    reason: str = Field(max_length=2000, description="Why it is moved (sealed)")


class CancelIn(BaseModel):
    """A session nobody has arrived at yet, called off, with a reason."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CANCEL_EXAMPLE]})

    reason: str = Field(max_length=2000, description="Why it is cancelled (sealed)")


class ArrivalIn(BaseModel):
    """Someone arriving at the session: a team member for an agency, or the guardian by name."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [ARRIVAL_EXAMPLE, GUARDIAN_EXAMPLE]}
    )

    agency: Agency
    member_id: uuid.UUID | None = Field(default=None, description="A member of the team")
    person_name: PlainLine | None = Field(
        default=None, max_length=100, description="The guardian's name (sealed)"
    )
    arrived_at: AwareDatetime
    departed_at: AwareDatetime | None = None


class DepartureIn(BaseModel):
    """When someone who arrived left the session."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"departed_at": "2026-11-30T11:00:00+08:00"}]},
    )

    departed_at: AwareDatetime


class ArrivalOut(BaseModel):
    """An arrival as the session's record shows it."""

    id: uuid.UUID
    agency: Agency
    member_id: uuid.UUID | None
    username: str | None = Field(description="The member's username; None for the guardian")
    person_name: str | None = Field(description="The guardian's name (only in a session's read)")
    arrived_at: AwareDatetime
    departed_at: AwareDatetime | None


class TogetherOut(BaseModel):
    """The largest set of agencies present at one moment, and the first stretch it held."""

    agencies: list[Agency]
    start: AwareDatetime
    end: AwareDatetime | None = Field(description="None: nobody had left yet")


class SessionOut(BaseModel):
    """A joint session with its attendance, computed from the arrivals."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": EXAMPLE_SESSION,
                    "case_id": EXAMPLE_CASE,
                    "site_id": EXAMPLE_SITE,
                    "scheduled_for": "2026-11-30T01:00:00Z",
                    "cancelled_at": None,
                    "required": ["criminal_investigation", "forensics", "procuratorate"],
                    "missing": ["procuratorate"],
                    "all_together": False,
                    "flagged": True,
                    "together": {
                        "agencies": ["criminal_investigation", "forensics"],
                        "start": "2026-11-30T00:55:00Z",
                        "end": None,
                    },
                    "arrivals": [],
                }
            ]
        }
    )

    id: uuid.UUID
    case_id: uuid.UUID
    site_id: uuid.UUID
    scheduled_for: AwareDatetime
    cancelled_at: AwareDatetime | None = Field(
        description="When it was called off; a cancelled session is never held nor flagged"
    )
    required: list[Agency]
    missing: list[Agency] = Field(description="Required agencies nobody arrived for")
    all_together: bool = Field(description="Every required agency present at one moment")
    flagged: bool = Field(
        description="The session's time has come and a required agency lacked, or was never"
        " there with the others"
    )
    together: TogetherOut | None
    arrivals: list[ArrivalOut]


class InterviewIn(BaseModel):
    """A forensic interview of a child of the case."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [INTERVIEW_EXAMPLE]})

    child_id: uuid.UUID
    interviewer_id: uuid.UUID = Field(description="The interviewing member of the team")
    session_id: uuid.UUID | None = Field(default=None, description="The joint session, if any")
    started_at: AwareDatetime
    ended_at: AwareDatetime
    recorded: bool = Field(description="Whether audio and video were recorded")


class InterviewOut(BaseModel):
    """A forensic interview; `number` counts the child's interviews in this case."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": EXAMPLE_INTERVIEW,
                    "case_id": EXAMPLE_CASE,
                    "child_id": EXAMPLE_CHILD,
                    "letter": "A",
                    "number": 1,
                    "session_id": EXAMPLE_SESSION,
                    "interviewer_id": EXAMPLE_MEMBER,
                    "started_at": "2026-11-30T01:30:00Z",
                    "ended_at": "2026-11-30T02:10:00Z",
                    "recorded": True,
                    "approval_id": None,
                }
            ]
        }
    )

    id: uuid.UUID
    case_id: uuid.UUID
    child_id: uuid.UUID
    letter: str = Field(description="The child's pseudonym letter")
    number: int
    session_id: uuid.UUID | None
    interviewer_id: uuid.UUID
    started_at: AwareDatetime
    ended_at: AwareDatetime
    recorded: bool
    approval_id: uuid.UUID | None = Field(description="The approval a further interview used")


class ChildInterviewsOut(BaseModel):
    """A child's interview counts: in this case, approved further ones, and in all cases."""

    child_id: uuid.UUID
    letter: str
    in_case: int
    approved_further: int = Field(description="Further interviews a prosecutor approved")
    pending_approval: bool = Field(description="An approval waits for its interview")
    in_all_cases: int = Field(
        description="The child's interviews in every case (recognised by the identity document)"
    )
    recognised: bool = Field(description="False: no identity document, counted in this case only")


class InterviewsOut(BaseModel):
    """The case's interviews and each child's counts."""

    children: list[ChildInterviewsOut]
    interviews: list[InterviewOut]


class ApprovalIn(BaseModel):
    """A prosecutor's approval of one further interview of a child, with a written reason."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [APPROVAL_EXAMPLE]})

    child_id: uuid.UUID
    reason: str = Field(max_length=2000, description="Why the child is interviewed again")


class ApprovalOut(BaseModel):
    """An approval of a further interview."""

    id: uuid.UUID
    case_id: uuid.UUID
    child_id: uuid.UUID
    reason: str
    approved_by_id: uuid.UUID
    approved_at: AwareDatetime
