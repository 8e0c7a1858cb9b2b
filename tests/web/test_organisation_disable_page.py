"""The organisation page refuses to disable the administrator's own organisation, saying why."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from shouhu.accounts.models import Organisation
from shouhu.accounts.roles import Role
from tests.web.conftest import SignedInClient


def test_the_page_says_why_it_refuses(
    session: Session, signed_in: Callable[..., SignedInClient]
) -> None:
    client, admin, csrf = signed_in(Role.ADMIN)

    response = client.post(
        f"/admin/organisations/{admin.organisation_id}/active",
        data={"active": "false", "csrf_token": csrf},
        headers={"accept-language": "en"},
    )

    assert response.status_code == 409
    assert "You cannot disable your own organisation." in response.text
    session.expire_all()
    assert session.get_one(Organisation, admin.organisation_id).active
