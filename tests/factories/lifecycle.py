"""The record lifecycle's cast and submissions: a court, a procuratorate, public security."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from shouhu.accounts.roles import OrgType, Role
from shouhu.accounts.users import principal_for
from shouhu.core.audit.models import AuditEvent
from shouhu.core.principal import Principal
from shouhu.registry.schemas import RecordSubmission
from tests.factories.accounts import make_org, make_user
from tests.factories.registry import prc_number, registry_row

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import Organisation, User

# A girl born 2005-03-01 who offended at 16 and was sentenced to three years: Criminal
# Procedure Law art. 286 seals her record.
JUVENILE_BORN = date(2005, 3, 1)
JUVENILE_NUMBER = prc_number("110101", JUVENILE_BORN, 246)


def principal_of(user: User) -> Principal:
    """The user acting through the web pages."""
    return principal_for(user, "web")


@dataclass(frozen=True)
class Cast:
    """Everyone a record meets: its sources, its reviewers and another bureau's reviewer."""

    court: Organisation
    procuratorate: Organisation
    bureau: Organisation  # the public security bureau nearest the court: it reviews
    other_bureau: Organisation  # another city's bureau
    court_clerk: Principal
    other_court_clerk: Principal  # a clerk of another court
    prosecutor: Principal
    registry_clerk: Principal
    reviewer: Principal
    second_reviewer: Principal
    clerk_and_reviewer: Principal  # one user holding both roles: four eyes still apply
    other_reviewer: Principal  # a reviewer of the other bureau


def make_cast(session: Session) -> Cast:
    """The organisations and users of a Beijing district, and a Shanghai bureau."""
    court = make_org(session, org_type=OrgType.COURT, region_code="110101")
    other_court = make_org(session, org_type=OrgType.COURT, region_code="110105")
    procuratorate = make_org(session, org_type=OrgType.PROCURATORATE, region_code="110101")
    bureau = make_org(session, org_type=OrgType.PUBLIC_SECURITY, region_code="110101")
    other_bureau = make_org(session, org_type=OrgType.PUBLIC_SECURITY, region_code="310101")

    def user(org: Organisation, *roles: Role) -> Principal:
        return principal_of(make_user(session, roles=roles, org=org))

    return Cast(
        court=court,
        procuratorate=procuratorate,
        bureau=bureau,
        other_bureau=other_bureau,
        court_clerk=user(court, Role.COURT_CLERK),
        other_court_clerk=user(other_court, Role.COURT_CLERK),
        prosecutor=user(procuratorate, Role.PROSECUTOR),
        registry_clerk=user(bureau, Role.REGISTRY_CLERK),
        reviewer=user(bureau, Role.REGISTRY_REVIEWER),
        second_reviewer=user(bureau, Role.REGISTRY_REVIEWER),
        clerk_and_reviewer=user(bureau, Role.REGISTRY_CLERK, Role.REGISTRY_REVIEWER),
        other_reviewer=user(other_bureau, Role.REGISTRY_REVIEWER),
    )


def submission(**overrides: Any) -> RecordSubmission:
    """`registry_row`'s conviction of 王小明 (born 1980) as a court enters it; override any."""
    row: dict[str, Any] = registry_row()
    del row["external_id"]
    row.update(overrides)
    return RecordSubmission(**row)


def penalty_submission(**overrides: Any) -> RecordSubmission:
    """An administrative penalty for indecency, as public security enters its own decision."""
    values: dict[str, Any] = {
        "record_kind": "administrative_penalty",
        "offence": "indecency_administrative",
        "decision_authority": "北京市公安局东城分局",
        "decision_number": "京公东行罚决字〔2023〕101号",
        "decision_date": "2023-03-01",
    }
    values.update(overrides)
    return submission(**values)


def juvenile_submission(**overrides: Any) -> RecordSubmission:
    """A conviction for an offence committed at 16 with a 36-month sentence: to be sealed."""
    values: dict[str, Any] = {
        "name": "李小红",
        "sex": "F",
        "date_of_birth": JUVENILE_BORN.isoformat(),
        "id_number": JUVENILE_NUMBER,
        "decision_number": "(2022)京0101刑初45号",
        "decision_date": "2022-01-10",
        "offence_date": date(2021, 6, 1),
        "sentence_months": 36,
    }
    values.update(overrides)
    return submission(**values)


def audit_head(session: Session) -> int:
    """The last audit sequence number written so far (0 for an empty chain)."""
    return int(session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0)


def audit_since(session: Session, start: int) -> list[tuple[str, str | None]]:
    """(action, object id) of each audit event after `start`, in chain order."""
    rows = session.execute(
        select(AuditEvent.action, AuditEvent.object_id)
        .where(AuditEvent.seq > start)
        .order_by(AuditEvent.seq)
    )
    return [(action, object_id) for action, object_id in rows]


def audit_details_since(session: Session, start: int) -> list[str]:
    """The details (canonical JSON) of each audit event after `start`, in chain order."""
    return list(
        session.scalars(
            select(AuditEvent.details).where(AuditEvent.seq > start).order_by(AuditEvent.seq)
        )
    )
