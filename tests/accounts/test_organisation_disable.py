"""Disabling organisations: never one's own, never the last operator."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shouhu.accounts import organisations, users
from shouhu.accounts.models import Organisation
from shouhu.accounts.roles import OrgType, Role
from shouhu.core.audit.models import AuditEvent
from shouhu.core.errors import ConflictError
from shouhu.core.principal import system_principal
from tests.factories.accounts import make_org, make_user


def _head(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0)


def _actions(session: Session, after: int) -> list[str]:
    statement = select(AuditEvent.action).where(AuditEvent.seq > after).order_by(AuditEvent.seq)
    return list(session.scalars(statement))


def _only_active_operator(session: Session, keep: Organisation) -> None:
    """Leave `keep` the one active operator organisation (inside the test's transaction)."""
    session.execute(
        update(Organisation)
        .where(Organisation.type == OrgType.OPERATOR.value, Organisation.id != keep.id)
        .values(active=False)
    )
    session.expire_all()


def test_an_administrator_cannot_disable_their_own_organisation(session: Session) -> None:
    admin = make_user(session, roles=(Role.ADMIN,))
    make_org(session, org_type=OrgType.OPERATOR)  # another operator: not the last one
    start = _head(session)

    with pytest.raises(ConflictError) as refused:
        organisations.set_organisation_active(
            session,
            actor=users.principal_for(admin, "web"),
            org_id=admin.organisation_id,
            active=False,
        )

    assert refused.value.message == "You cannot disable your own organisation."
    assert session.get_one(Organisation, admin.organisation_id).active
    assert _actions(session, start) == []


def test_the_last_active_operator_organisation_stays_active(session: Session) -> None:
    last = make_org(session, org_type=OrgType.OPERATOR)
    _only_active_operator(session, last)
    start = _head(session)

    # Not even the shell may do it: nobody could then manage accounts from the web.
    with pytest.raises(ConflictError) as refused:
        organisations.set_organisation_active(
            session, actor=system_principal("cli"), org_id=last.id, active=False
        )

    assert refused.value.message == "The last active operator organisation cannot be disabled."
    assert session.get_one(Organisation, last.id).active
    assert _actions(session, start) == []


def test_an_operator_may_disable_another_operator_while_one_remains(session: Session) -> None:
    admin = make_user(session, roles=(Role.ADMIN,))
    other = make_org(session, org_type=OrgType.OPERATOR)
    _only_active_operator(session, other)
    session.get_one(Organisation, admin.organisation_id).active = True
    start = _head(session)

    organisations.set_organisation_active(
        session, actor=users.principal_for(admin, "web"), org_id=other.id, active=False
    )

    assert not other.active
    assert _actions(session, start) == ["web:organisation:disable"]
    # Enabling is never refused, not even for one's own organisation.
    organisations.set_organisation_active(
        session, actor=users.principal_for(admin, "web"), org_id=other.id, active=True
    )
    assert other.active
