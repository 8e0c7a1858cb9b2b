"""One TOTP code signs in once, even when two sign-ins hold it at the same moment."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shouhu.accounts import authentication, mfa
from shouhu.accounts.authentication import CODE_FAILED
from shouhu.accounts.models import SignInFailure, User, WebSession
from shouhu.accounts.roles import Role
from shouhu.core.errors import ValidationFailedError
from shouhu.core.settings import Settings
from tests.factories.accounts import make_user

SETTINGS = Settings(env="test", lockout_failures=5, mfa_waiver_allowed=False)
ADDRESS = "10.9.8.7"


def _partial_sign_in(
    factory: sessionmaker[Session], user_id: object
) -> tuple[Session, User, WebSession]:
    """A sign-in that has passed the password and read the user, as a request would."""
    db = factory()
    user = db.get_one(User, user_id)
    _token, row = authentication.begin_session(
        db, user=user, settings=SETTINGS, source_address=ADDRESS
    )
    db.commit()  # its copy of the user (no step used yet) stays, as a request's would
    return db, user, row


def test_two_sign_ins_racing_with_one_code_pass_once(
    session_factory: sessionmaker[Session], session: Session
) -> None:
    secret = pyotp.random_base32()
    user = make_user(session, roles=(Role.INSTITUTION_HR,), mfa_secret=secret)
    session.commit()
    code = pyotp.TOTP(secret).now()
    # Both read the user before either used the code: both see no step used yet.
    first, first_user, first_row = _partial_sign_in(session_factory, user.id)
    second, second_user, second_row = _partial_sign_in(session_factory, user.id)
    assert second_user.mfa_last_step is None

    authentication.verify_mfa(
        first, user=first_user, row=first_row, code=code, settings=SETTINGS, source_address=ADDRESS
    )
    first.commit()
    with pytest.raises(ValidationFailedError) as refused:
        authentication.verify_mfa(
            second,
            user=second_user,
            row=second_row,
            code=code,
            settings=SETTINGS,
            source_address=ADDRESS,
        )
    second.commit()  # the refusal persists, as the request's would

    assert refused.value.message == CODE_FAILED
    assert not second_row.mfa_passed
    failures = select(func.count()).where(SignInFailure.user_id == user.id)
    assert session.scalar(failures) == 1  # the replay counts toward lock-out
    stored = session.scalar(select(User.mfa_last_step).where(User.id == user.id))
    assert stored == mfa.matching_step(secret, code)
    first.close()
    second.close()
