"""API shapes of one-stop sites and cases.

Input schemas refuse unknown keys, so a caller cannot set a status, a lead or a pseudonym by
sending it. A case as listed or read carries each child's pseudonym and nothing of who the
child is; the real identity has a route of its own, audited on every read.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

from shouhu.core.text import PlainLine
from shouhu.identity.documents import IdType
from shouhu.onestop.models import CaseRole, CaseStatus, ChildSex, ReportingChannel

EXAMPLE_SITE: Final = "5b2f8c1e-3a4d-4e6f-9a0b-1c2d3e4f5a6b"
EXAMPLE_UNIT: Final = "0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
EXAMPLE_CASE: Final = "7c3e9a1b-2d4f-4a6c-8e0a-1b3d5f7a9c2e"
EXAMPLE_CHILD: Final = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
EXAMPLE_USER: Final = "2a4c6e8a-0b1d-4f3a-8c5e-7a9b1c3d5e7f"
EXAMPLE_MEMBER: Final = "4d6f8a0c-2e4a-4c6e-9a1c-3e5a7c9e1a3c"

# --- sites --------------------------------------------------------------------------------------

SITE_EXAMPLE: Final[dict[str, JsonValue]] = {
    "name": "东城区未成年人一站式取证中心",
    "region_code": "110101",
    "host_unit_id": EXAMPLE_UNIT,
    "interview_room": True,
    "medical_room": True,
    "waiting_room": True,
    "phone": "010-6512 3456",
    "address": "北京市东城区东四北大街 100 号",
}


class SiteIn(BaseModel):
    """A new one-stop site, as the operator enters it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SITE_EXAMPLE]})

    name: PlainLine = Field(min_length=2, max_length=200)
    region_code: str = Field(pattern=r"^\d{6}$", description="GB/T 2260 division code")
    host_unit_id: uuid.UUID = Field(description="The public security organisation that runs it")
    interview_room: bool = Field(default=False, description="A recorded interview room")
    medical_room: bool = Field(default=False, description="A medical examination room")
    waiting_room: bool = Field(default=False, description="A child-friendly waiting room")
    phone: PlainLine | None = Field(default=None, max_length=40, description="The office's")
    address: PlainLine | None = Field(default=None, max_length=300, description="The office's")
    active: bool = True


class SitePatch(BaseModel):
    """The fields of a site to change; those left out stay as they are."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"medical_room": True, "phone": "010-6512 3400"}]},
    )

    name: PlainLine | None = Field(default=None, min_length=2, max_length=200)
    region_code: str | None = Field(default=None, pattern=r"^\d{6}$")
    host_unit_id: uuid.UUID | None = None
    interview_room: bool | None = None
    medical_room: bool | None = None
    waiting_room: bool | None = None
    phone: PlainLine | None = Field(default=None, max_length=40, description="null clears it")
    address: PlainLine | None = Field(default=None, max_length=300, description="null clears it")
    active: bool | None = None


class PartnerOut(BaseModel):
    """A partner organisation attached to a site."""

    id: uuid.UUID
    name: str
    type: str
    kind: str | None


class SiteOut(BaseModel):
    """A one-stop site of the directory, with its partners."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": EXAMPLE_SITE,
                    "name": "东城区未成年人一站式取证中心",
                    "region_code": "110101",
                    "region_name": "东城区",
                    "host_unit_id": EXAMPLE_UNIT,
                    "host_unit_name": "北京市公安局东城分局",
                    "interview_room": True,
                    "medical_room": True,
                    "waiting_room": True,
                    "phone": "010-6512 3456",
                    "address": "北京市东城区东四北大街 100 号",
                    "active": True,
                    "partners": [],
                    "created_at": "2026-11-29T06:00:00Z",
                    "updated_at": "2026-11-29T06:00:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    name: str
    region_code: str
    region_name: str | None
    host_unit_id: uuid.UUID
    host_unit_name: str
    interview_room: bool
    medical_room: bool
    waiting_room: bool
    phone: str | None
    address: str | None
    active: bool
    partners: list[PartnerOut]
    created_at: datetime
    updated_at: datetime


# --- cases --------------------------------------------------------------------------------------


class ChildIn(BaseModel):
    """A child victim: the real identity is stored encrypted, the team sees a pseudonym."""

    model_config = ConfigDict(extra="forbid")

    name: PlainLine = Field(min_length=1, max_length=100)
    sex: ChildSex = Field(description="F or M")
    age_at_intake: int | None = Field(
        default=None, ge=0, le=17, description="Needed when the date of birth is not known"
    )
    date_of_birth: date | None = None
    id_type: IdType | None = Field(default=None, description="prc_id when a number is given alone")
    id_number: PlainLine | None = Field(default=None, max_length=40)
    guardian_name: PlainLine | None = Field(default=None, max_length=100)
    guardian_relationship: PlainLine | None = Field(default=None, max_length=50)
    special_needs: str | None = Field(default=None, max_length=2000)


class SuspectIn(BaseModel):
    """A suspect; a document, if known, lets the registry person be found later."""

    model_config = ConfigDict(extra="forbid")

    name: PlainLine = Field(min_length=1, max_length=100)
    id_type: IdType | None = None
    id_number: PlainLine | None = Field(default=None, max_length=40)


CASE_EXAMPLE: Final[dict[str, JsonValue]] = {
    "received_at": "2026-11-29T01:30:00+08:00",
    "channel": "mandatory_report_school",
    "offence": "child_molestation",
    "place": "某小学教师办公室",
    "jurisdiction": "110101",
    "site_id": EXAMPLE_SITE,
    "children": [
        {
            "name": "李小红",
            "sex": "F",
            "date_of_birth": "2016-04-02",
            "guardian_name": "李强",
            "guardian_relationship": "父亲",
        }
    ],
    "suspects": [{"name": "王某", "id_type": "prc_id", "id_number": "11010119800517123X"}],
}


class CaseIn(BaseModel):
    """A case as the intake officer receives it; the officer becomes its lead."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CASE_EXAMPLE]})

    received_at: AwareDatetime = Field(description="When the report was received, with its zone")
    channel: ReportingChannel
    offence: str = Field(
        min_length=1, max_length=40, description="A code of the registry's offence catalogue"
    )
    place: PlainLine = Field(min_length=1, max_length=300, description="Stored encrypted")
    jurisdiction: str = Field(pattern=r"^\d{6}$", description="GB/T 2260 division code")
    site_id: uuid.UUID = Field(description="An active one-stop site")
    children: list[ChildIn] = Field(min_length=1, max_length=26)
    suspects: list[SuspectIn] = Field(default_factory=list, max_length=20)


class ChildOut(BaseModel):
    """A child as the team sees it everywhere: a pseudonym, an age, a sex."""

    id: uuid.UUID
    letter: str
    pseudonym: str = Field(description="'Child A' in English, '儿童 A' in Chinese")
    age_at_intake: int
    sex: ChildSex


class ChildIdentityOut(ChildOut):
    """A child's real identity (an audited read, for the case team only)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": EXAMPLE_CHILD,
                    "letter": "A",
                    "pseudonym": "Child A",
                    "age_at_intake": 10,
                    "sex": "F",
                    "name": "李小红",
                    "id_type": None,
                    "id_number": None,
                    "date_of_birth": "2016-04-02",
                    "guardian_name": "李强",
                    "guardian_relationship": "父亲",
                    "special_needs": None,
                }
            ]
        }
    )

    name: str
    id_type: str | None
    id_number: str | None
    date_of_birth: date | None
    guardian_name: str | None
    guardian_relationship: str | None
    special_needs: str | None


class SuspectOut(BaseModel):
    """A suspect: the name, and whether a document is on file (never its number here)."""

    id: uuid.UUID
    name: str
    id_type: str | None
    has_document: bool
    registry_person_id: uuid.UUID | None


class MemberOut(BaseModel):
    """A member of a case's team."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": EXAMPLE_MEMBER,
                    "user_id": EXAMPLE_USER,
                    "username": "prosecutor.dc",
                    "organisation_id": EXAMPLE_UNIT,
                    "organisation_name": "北京市东城区人民检察院",
                    "role": "prosecutor",
                    "added_at": "2026-11-29T02:00:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    user_id: uuid.UUID
    username: str
    organisation_id: uuid.UUID
    organisation_name: str
    role: CaseRole
    added_at: datetime


class CaseSummaryOut(BaseModel):
    """A case as the Cases list shows it."""

    id: uuid.UUID
    status: CaseStatus
    received_at: datetime
    channel: ReportingChannel
    offence: str
    site_id: uuid.UUID
    site_name: str
    children: list[str] = Field(description="The children's pseudonyms")


class CaseOut(CaseSummaryOut):
    """A case with its children (pseudonyms), suspects and team; no child's identity."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": EXAMPLE_CASE,
                    "status": "received",
                    "received_at": "2026-11-28T17:30:00Z",
                    "channel": "mandatory_report_school",
                    "offence": "child_molestation",
                    "site_id": EXAMPLE_SITE,
                    "site_name": "东城区未成年人一站式取证中心",
                    "children": ["Child A"],
                    "place": "某小学教师办公室",
                    "jurisdiction": "110101",
                    "child_victims": [
                        {
                            "id": EXAMPLE_CHILD,
                            "letter": "A",
                            "pseudonym": "Child A",
                            "age_at_intake": 10,
                            "sex": "F",
                        }
                    ],
                    "suspects": [],
                    "team": [],
                    "next_statuses": ["joint_session_scheduled"],
                }
            ]
        }
    )

    place: str
    jurisdiction: str
    child_victims: list[ChildOut]
    suspects: list[SuspectOut]
    team: list[MemberOut]
    next_statuses: list[CaseStatus] = Field(description="Where the case may move next")


class StatusIn(BaseModel):
    """A move of the case along its status path."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"status": "not_prosecuted", "reason": "证据不足，检察院决定不起诉。"}]
        },
    )

    status: CaseStatus
    reason: str | None = Field(
        default=None,
        max_length=2000,
        description="Required for not_prosecuted and closed; stored encrypted",
    )


class MemberIn(BaseModel):
    """A user to put on the team, and their role in the case."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"user_id": EXAMPLE_USER, "role": "prosecutor"}]},
    )

    user_id: uuid.UUID
    role: CaseRole
