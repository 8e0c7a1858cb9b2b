"""Server-side browser sessions: created at sign-in, expired when idle or old, ended on demand."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shouhu.accounts.models import User, WebSession
from shouhu.core.database import utcnow
from shouhu.core.settings import Settings

# Writing last_seen_at on every request would make each page a write; a minute is plenty
# of precision for a 30-minute idle limit.
TOUCH_INTERVAL = timedelta(seconds=60)


def token_digest(token: str) -> str:
    """The stored id of a session or API token: SHA-256 of the secret the client holds."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ActiveSession:
    """A live session and its user."""

    record: WebSession
    user: User

    @property
    def complete(self) -> bool:
        """Both factors passed and the system-use notice acknowledged."""
        return self.record.mfa_passed and self.record.notice_acknowledged


def create_session(
    session: Session, *, user: User, source_address: str | None, mfa_passed: bool = False
) -> tuple[str, WebSession]:
    """Start a session with a new random id; returns the cookie token and the row."""
    token = secrets.token_urlsafe(32)
    row = WebSession(
        id=token_digest(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        mfa_passed=mfa_passed,
        notice_acknowledged=False,
        source_address=source_address,
    )
    session.add(row)
    session.flush()
    return token, row


def rotate_session(
    session: Session, *, current: WebSession, source_address: str | None
) -> tuple[str, WebSession]:
    """Replace a session by one with a new id (after a privilege change such as MFA)."""
    token = secrets.token_urlsafe(32)
    row = WebSession(
        id=token_digest(token),
        user_id=current.user_id,
        csrf_token=secrets.token_urlsafe(32),
        mfa_passed=current.mfa_passed,
        notice_acknowledged=current.notice_acknowledged,
        created_at=current.created_at,  # the absolute limit runs from the first sign-in
        source_address=source_address,
    )
    current.ended_at = utcnow()
    session.add(row)
    session.flush()
    return token, row


def _expired(row: WebSession, settings: Settings, now: datetime) -> bool:
    idle = now - row.last_seen_at > timedelta(minutes=settings.session_idle_minutes)
    too_old = now - row.created_at > timedelta(hours=settings.session_absolute_hours)
    return idle or too_old


def load_session(
    session: Session, *, token: str, settings: Settings, now: datetime | None = None
) -> ActiveSession | None:
    """The live session for a cookie token, or None if unknown, ended, expired or disabled."""
    moment = now or utcnow()
    row = session.get(WebSession, token_digest(token))
    if row is None or row.ended_at is not None:
        return None
    if _expired(row, settings, moment):
        row.ended_at = moment
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active or user.locked_at is not None:
        row.ended_at = moment
        return None
    if not user.organisation.active:
        return None
    if moment - row.last_seen_at >= TOUCH_INTERVAL:
        row.last_seen_at = moment
    return ActiveSession(record=row, user=user)


def end_session(session: Session, row: WebSession) -> None:  # noqa: ARG001 - same shape as the others
    """End one session (sign-out)."""
    if row.ended_at is None:
        row.ended_at = utcnow()


def end_user_sessions(
    session: Session, user_id: uuid.UUID, *, except_id: str | None = None
) -> None:
    """End every live session of a user, optionally keeping the current one."""
    statement = (
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    if except_id is not None:
        statement = statement.where(WebSession.id != except_id)
    session.execute(statement)


def live_session_count(session: Session, user_id: uuid.UUID) -> int:
    """How many sessions of a user are not ended (expiry is checked lazily on use)."""
    return len(
        list(
            session.scalars(
                select(WebSession.id).where(
                    WebSession.user_id == user_id, WebSession.ended_at.is_(None)
                )
            )
        )
    )
