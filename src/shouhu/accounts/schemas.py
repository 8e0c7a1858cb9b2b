"""API shapes for accounts; input schemas are separate from output schemas."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shouhu.accounts.models import User
from shouhu.accounts.roles import OrgType, Role
from shouhu.core.text import PlainLine


class OrganisationOut(BaseModel):
    """An organisation as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    type: str
    kind: str | None
    region_code: str
    parent_id: uuid.UUID | None
    credit_code: str | None
    active: bool


class UserOut(BaseModel):
    """A user as the API shows it (no secrets, no password hash)."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    username: str
    display_name: str | None
    roles: list[str]
    active: bool
    locked: bool
    mfa_enabled: bool


class MeOut(BaseModel):
    """The token holder: who they are and where."""

    user: UserOut
    organisation: OrganisationOut


class UserCreateIn(BaseModel):
    """An operator's request to create a user."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "organisation_id": "7d3b7c2e-3a4f-4c52-9a51-0f1d2b8e4c11",
                    "username": "hr.wang",
                    "display_name": "王老师",
                    "roles": ["institution_hr"],
                    "password": "a long passphrase of your own",
                }
            ]
        },
    )

    organisation_id: uuid.UUID
    username: PlainLine = Field(min_length=3, max_length=64)
    display_name: PlainLine | None = Field(default=None, max_length=100)
    roles: list[Role] = Field(min_length=1, max_length=12)
    password: str = Field(min_length=1, max_length=1024)


class RolesIn(BaseModel):
    """The complete new set of a user's roles."""

    model_config = ConfigDict(extra="forbid")

    roles: list[Role] = Field(min_length=1, max_length=12)


class TokenCreateIn(BaseModel):
    """A request for a new API token for oneself."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "HR system", "days": 90}]}
    )

    name: PlainLine = Field(min_length=1, max_length=100)
    days: int = Field(default=90, ge=1, le=366)


class TokenOut(BaseModel):
    """A token's metadata; the secret is never shown again."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreatedOut(TokenOut):
    """A new token, with its secret shown this once."""

    token: str


class OrganisationCreateIn(BaseModel):
    """An operator's request to create an organisation."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "北京市东城区第一实验小学",
                    "type": "institution",
                    "kind": "primary_school",
                    "region_code": "110101",
                    "parent_id": "0b6f0f59-6a53-4f54-8f8d-3d7f6a2a9a10",
                    "credit_code": "91350100M000100Y43",
                }
            ]
        },
    )

    name: PlainLine = Field(min_length=2, max_length=200)
    type: OrgType
    kind: PlainLine | None = None
    region_code: str = Field(pattern=r"^\d{6}$")
    parent_id: uuid.UUID | None = None
    credit_code: PlainLine | None = Field(default=None, max_length=30)


def user_out(user: User) -> UserOut:
    """Build the API view of a user model."""
    return UserOut(
        id=user.id,
        organisation_id=user.organisation_id,
        username=user.username,
        display_name=user.display_name,
        roles=user.role_names,
        active=user.active,
        locked=user.locked_at is not None,
        mfa_enabled=user.mfa_enabled_at is not None,
    )
