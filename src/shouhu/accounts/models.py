"""Organisations, users, their roles, sessions, API tokens and sign-in failures."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shouhu.core.crypto.fields import EncryptedString, Sealed
from shouhu.core.database import Base, UUIDPrimaryKey, utcnow


class Organisation(UUIDPrimaryKey, Base):
    """A body that uses Shouhu: registry owner, court, authority, institution or partner."""

    __tablename__ = "organisations"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str | None] = mapped_column(String(32))
    # GB/T 2260 administrative division code, 6 digits.
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    # GB 32100 unified social credit code, 18 characters, institutions only.
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # An education authority's setting: its schools' and kindergartens' staff-access inquiries
    # wait for one of its officers to approve them (MoE notice 2023: the authority reviews and
    # runs the query). On unless the authority turns it off.
    inquiry_approval_required: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=text("true")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[Organisation | None] = relationship(remote_side="Organisation.id")


class User(UUIDPrimaryKey, Base):
    """A person who signs in; belongs to one organisation."""

    __tablename__ = "users"

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    # Usernames are stored lower-cased so look-ups ignore case.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name_sealed: Mapped[bytes | None] = mapped_column("display_name", Sealed())
    display_name = EncryptedString()
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    mfa_secret_sealed: Mapped[bytes | None] = mapped_column("mfa_secret", Sealed())
    mfa_secret = EncryptedString()
    mfa_enabled_at: Mapped[datetime | None]
    # The last TOTP time step accepted, so a code cannot be replayed (ASVS 2.8.4).
    mfa_last_step: Mapped[int | None]
    # Only demo accounts carry a waiver, and only when settings allow it.
    mfa_waived: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locked_at: Mapped[datetime | None]
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    roles: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserRole.role"
    )

    @property
    def role_names(self) -> list[str]:
        """The user's roles, sorted."""
        return sorted(r.role for r in self.roles)


class UserRole(Base):
    """One role held by one user."""

    __tablename__ = "user_roles"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class SignInFailure(Base):
    """A failed sign-in for an existing account; counted for lock-out."""

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class WebSession(Base):
    """A server-side browser session; the cookie carries a token whose hash is the id."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie token
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    # A session is "partial" until the second factor and the notice are done.
    mfa_passed: Mapped[bool] = mapped_column(Boolean, default=False)
    notice_acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    source_address: Mapped[str | None] = mapped_column(String(64))


class ApiToken(UUIDPrimaryKey, Base):
    """A bearer token for system integration; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64))
    # The first characters, shown in lists so a holder can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    note: Mapped[str | None] = mapped_column(Text)
