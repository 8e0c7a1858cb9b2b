from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shouhu.accounts.roles import Role
from shouhu.core.audit.chain import record
from shouhu.core.audit.models import AuditEvent
from shouhu.core.principal import system_principal
from tests.web.conftest import SignedInClient


def _actions(session: Session) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_reading_the_trail_is_itself_audited(
    session: Session, signed_in: Callable[..., SignedInClient]
) -> None:
    # An auditor reads the whole trail; a prosecutor only their territory's
    # (tests/web/test_compliance_pages.py), which the operator's shell is not part of.
    client, _user, _csrf = signed_in(Role.AUDITOR)
    record(session, actor=system_principal("cli"), action="user:create", object_id="x")
    session.commit()
    page = client.get("/audit/events", params={"action": "user:create"})
    assert page.status_code == 200
    assert "cli:user:create" in page.text
    assert _actions(session)[-1] == "web:audit:read"


def test_verify_page_reports_the_first_bad_entry(
    session: Session, signed_in: Callable[..., SignedInClient]
) -> None:
    client, _user, csrf = signed_in(Role.AUDITOR)
    for i in range(3):
        record(session, actor=system_principal("cli"), action="test:event", object_id=i)
    session.commit()
    intact = client.post("/audit/verify", data={"csrf_token": csrf})
    assert 'data-outcome="intact"' in intact.text
    session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(outcome="failure"))
    session.commit()
    tampered = client.post("/audit/verify", data={"csrf_token": csrf})
    assert 'data-outcome="tampered"' in tampered.text
    assert "entry 2" in tampered.text
    assert _actions(session)[-1] == "web:audit:verify"
