"""A CSRF token with characters outside ASCII is a refused form (403), never a server error."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shouhu.accounts.models import ApiToken, WebSession
from shouhu.accounts.roles import Role
from tests.web.conftest import SignedInClient

# What a hostile page might send: Han characters, a Latin-1 letter, and a valid token with one
# character swapped for a look-alike outside ASCII.
NON_ASCII = ["令牌", "é", "\u0430bc"]


def _no_tokens(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(ApiToken)) or 0)


@pytest.mark.parametrize("value", NON_ASCII)
def test_a_non_ascii_form_token_is_refused(
    value: str, session: Session, signed_in: Callable[..., SignedInClient]
) -> None:
    client, _user, _csrf = signed_in(Role.INSTITUTION_HR)
    before = _no_tokens(session)

    response = client.post(
        "/account/tokens", data={"name": "hr", "days": "30", "csrf_token": value}
    )

    assert response.status_code == 403
    assert _no_tokens(session) == before


@pytest.mark.parametrize("value", NON_ASCII)
def test_a_non_ascii_header_token_is_refused(
    value: str, session: Session, signed_in: Callable[..., SignedInClient]
) -> None:
    client, _user, _csrf = signed_in(Role.INSTITUTION_HR)
    before = _no_tokens(session)

    # Header bytes reach the app as Latin-1 text, so UTF-8 bytes arrive as non-ASCII characters.
    response = client.post(
        "/account/tokens",
        data={"name": "hr", "days": "30"},
        headers={"X-CSRF-Token": value.encode()},
    )

    assert response.status_code == 403
    assert _no_tokens(session) == before


def test_a_non_ascii_token_on_a_sign_in_step_is_refused(
    session: Session, signed_in: Callable[..., SignedInClient]
) -> None:
    client, user, csrf = signed_in(Role.INSTITUTION_HR)

    refused = client.post("/sign-out", data={"csrf_token": csrf[:-1] + "é"})
    header = client.post("/sign-out", headers={"X-CSRF-Token": "令牌".encode()})

    assert (refused.status_code, header.status_code) == (403, 403)
    session.expire_all()
    live = select(func.count()).where(WebSession.user_id == user.id, WebSession.ended_at.is_(None))
    assert session.scalar(live) == 1  # still signed in: the forged sign-out did nothing
    assert client.post("/sign-out", data={"csrf_token": csrf}).status_code == 303
