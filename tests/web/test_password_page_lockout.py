"""The change-password page: wrong current passwords lock the account and sign the user out."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy.orm import Session

from shouhu.accounts.models import User
from shouhu.accounts.roles import Role
from shouhu.core.settings import Settings
from tests.web.conftest import SignedInClient

ERROR = re.compile(r'data-testid="(password|sign-in)-error">([^<]*)</p>')


def _submit(client: SignedInClient, current: str) -> tuple[int, str | None]:
    web, _user, csrf = client
    response = web.post(
        "/account/password",
        data={
            "current_password": current,
            "new_password": "a brand new passphrase",
            "confirm_password": "a brand new passphrase",
            "csrf_token": csrf,
        },
        headers={"accept-language": "en"},
    )
    found = ERROR.search(response.text)
    return response.status_code, f"{found.group(1)}: {found.group(2)}" if found else None


def test_guessing_the_current_password_ends_in_a_lock_and_the_sign_in_page(
    session: Session, settings: Settings, signed_in: Callable[..., SignedInClient]
) -> None:
    client = signed_in(Role.INSTITUTION_HR)
    wrong = "password: The current password is not correct."

    answers = [_submit(client, "a wrong guess") for _ in range(settings.lockout_failures)]

    assert answers[:-1] == [(422, wrong)] * (settings.lockout_failures - 1)
    status, message = answers[-1]
    assert status == 401
    assert message is not None
    assert message.startswith("sign-in: Sign-in failed.")
    session.expire_all()
    assert session.get_one(User, client[1].id).locked_at is not None
    # The session ended with the lock: the page now asks to sign in.
    assert client[0].get("/account/password").status_code == 401
