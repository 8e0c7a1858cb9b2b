"""The site directory: the operator creates and changes sites and attaches partners, audited."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from shouhu.accounts.roles import OrgType
from shouhu.core.audit.models import AuditEvent
from shouhu.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from shouhu.onestop import repository, sites
from tests.factories.accounts import make_org
from tests.factories.lifecycle import principal_of
from tests.factories.onestop import Cast
from tests.onestop.conftest import events_since, head

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def _data(cast: Cast, **overrides: object) -> sites.SiteInput:
    values: dict[str, object] = {
        "name": "朝阳区一站式取证中心",
        "region_code": "110105",
        "host_unit_id": cast.bureau.id,
        "interview_room": True,
        "waiting_room": True,
        "phone": "010-8765 4321",
        "address": "朝阳区某路 1 号",
    }
    values.update(overrides)
    return sites.SiteInput(**values)  # type: ignore[arg-type]


def test_the_operator_creates_a_site_and_the_event_records_its_fields(
    session: Session, cast: Cast
) -> None:
    start = head(session)
    site = sites.create_site(session, actor=principal_of(cast.admin), data=_data(cast))
    assert events_since(session, start) == [("web:onestop:site_create", "onestop_site")]
    assert (site.name, site.interview_room, site.medical_room, site.active) == (
        "朝阳区一站式取证中心",
        True,
        False,
        True,
    )
    details = json.loads(
        session.scalars(select(AuditEvent.details).where(AuditEvent.seq > start)).one()
    )
    assert details["host_unit_id"] == str(cast.bureau.id)
    assert details["region_code"] == "110105"


@pytest.mark.parametrize(
    ("overrides", "field", "error"),
    [
        ({"name": " "}, "name", ValidationFailedError),
        ({"region_code": "000000"}, "region_code", ValidationFailedError),
        ({"host_unit_id": None}, "host_unit_id", ValidationFailedError),
        ({"phone": "call me"}, "phone", ValidationFailedError),
        ({"address": "a\nb"}, "address", ValidationFailedError),
    ],
)
def test_site_errors_name_the_field(
    session: Session, cast: Cast, overrides: dict[str, object], field: str, error: type
) -> None:
    with pytest.raises(error) as caught:
        sites.create_site(session, actor=principal_of(cast.admin), data=_data(cast, **overrides))
    assert caught.value.field == field


def test_the_host_unit_is_public_security_and_names_are_unique(
    session: Session, cast: Cast
) -> None:
    with pytest.raises(ValidationFailedError) as caught:
        sites.create_site(
            session,
            actor=principal_of(cast.admin),
            data=_data(cast, host_unit_id=cast.procuratorate.id),
        )
    assert caught.value.field == "host_unit_id"
    with pytest.raises(ConflictError) as conflict:
        sites.create_site(
            session, actor=principal_of(cast.admin), data=_data(cast, name=cast.site.name)
        )
    assert conflict.value.field == "name"


def test_only_the_operator_manages_sites(session: Session, cast: Cast) -> None:
    for user in (cast.officer, cast.prosecutor, cast.auditor):
        with pytest.raises(ForbiddenError):
            sites.create_site(session, actor=principal_of(user), data=_data(cast))
        with pytest.raises(ForbiddenError):
            sites.update_site(
                session, actor=principal_of(user), site_id=cast.site.id, changes={"active": False}
            )
    # Those who work cases read the directory; oversight does not.
    assert repository.get_site(session, principal_of(cast.officer), cast.site.id) is cast.site
    with pytest.raises(NotFoundError):
        repository.get_site(session, principal_of(cast.auditor), cast.site.id)


def test_a_change_records_each_old_and_new_value_and_no_change_records_nothing(
    session: Session, cast: Cast
) -> None:
    admin = principal_of(cast.admin)
    start = head(session)
    sites.update_site(
        session,
        actor=admin,
        site_id=cast.site.id,
        changes={"medical_room": False, "phone": None, "name": cast.site.name},
    )
    assert events_since(session, start) == [("web:onestop:site_update", "onestop_site")]
    details = json.loads(
        session.scalars(select(AuditEvent.details).where(AuditEvent.seq > start)).one()
    )
    assert details == {"changed": {"medical_room": [True, False], "phone": ["010-6512 3456", None]}}
    assert cast.site.phone is None
    start = head(session)
    sites.update_site(session, actor=admin, site_id=cast.site.id, changes={"medical_room": False})
    assert events_since(session, start) == []
    for changes, field in (
        ({"colour": "red"}, "colour"),
        ({"active": None}, "active"),
        ({"name": None}, "name"),
    ):
        with pytest.raises(ValidationFailedError) as caught:
            sites.update_site(session, actor=admin, site_id=cast.site.id, changes=changes)
        assert caught.value.field == field


def test_partners_are_attached_and_detached_with_their_events(session: Session, cast: Cast) -> None:
    admin = principal_of(cast.admin)
    medical = make_org(session, org_type=OrgType.INSTITUTION, kind="medical")
    start = head(session)
    for org in (cast.hospital, cast.procuratorate, medical):
        sites.attach_partner(session, actor=admin, site_id=cast.site.id, organisation_id=org.id)
    sites.detach_partner(
        session, actor=admin, site_id=cast.site.id, organisation_id=cast.womens_federation.id
    )
    assert events_since(session, start) == [
        ("web:onestop:site_partner_attach", "onestop_site"),
        ("web:onestop:site_partner_attach", "onestop_site"),
        ("web:onestop:site_partner_attach", "onestop_site"),
        ("web:onestop:site_partner_detach", "onestop_site"),
    ]
    assert {o.id for o in repository.site_partners(session, cast.site.id)} == {
        cast.hospital.id,
        cast.procuratorate.id,
        medical.id,
    }
    with pytest.raises(ConflictError):
        sites.attach_partner(
            session, actor=admin, site_id=cast.site.id, organisation_id=cast.hospital.id
        )
    school = make_org(session, org_type=OrgType.INSTITUTION)
    for org_id in (school.id, cast.bureau.id):
        with pytest.raises(ValidationFailedError) as caught:
            sites.attach_partner(session, actor=admin, site_id=cast.site.id, organisation_id=org_id)
        assert caught.value.field == "organisation_id"
    with pytest.raises(NotFoundError):
        sites.detach_partner(
            session, actor=admin, site_id=cast.site.id, organisation_id=cast.womens_federation.id
        )
