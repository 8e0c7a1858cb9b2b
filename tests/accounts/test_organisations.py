"""Creating organisations: type, kind, region, parent and credit code are checked and audited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from shouhu.accounts import organisations, users
from shouhu.accounts.models import Organisation
from shouhu.accounts.organisations import OrganisationCreate
from shouhu.accounts.roles import OrgType, Role
from shouhu.core.audit.models import AuditEvent
from shouhu.core.errors import ConflictError, ForbiddenError, ValidationFailedError
from shouhu.core.principal import Principal, system_principal
from shouhu.core.settings import Settings
from shouhu.web.app import create_app
from tests.factories.accounts import api_token, make_org, make_user

# GB 32100-2015: a valid unified social credit code (its check characters are right).
VALID_CREDIT_CODE = "91350100M000100Y43"
# The same code with its check character changed.
BAD_CHECK_CREDIT_CODE = "91350100M000100Y44"
# A real GB/T 2260 code (Dongcheng district, Beijing) and one no code list has carried.
KNOWN_REGION = "110101"
UNKNOWN_REGION = "110199"


@pytest.fixture
def operator(session: Session) -> Principal:
    """An operator's principal, acting through the web."""
    return users.principal_for(make_user(session, roles=(Role.ADMIN,)), "web", "10.0.0.9")


@pytest.fixture
def authority(session: Session) -> Organisation:
    """A county education authority that institutions can sit under."""
    return make_org(session, org_type=OrgType.EDUCATION_AUTHORITY)


def _institution(authority: Organisation, **changes: Any) -> OrganisationCreate:
    values: dict[str, Any] = {
        "name": f"第一实验小学-{authority.id.hex[:6]}",
        "type": "institution",
        "kind": "primary_school",
        "region_code": KNOWN_REGION,
        "parent_id": authority.id,
        "credit_code": VALID_CREDIT_CODE,
    }
    values.update(changes)
    return OrganisationCreate.model_validate(values)


def _refusal(session: Session, actor: Principal, data: OrganisationCreate) -> ValidationFailedError:
    before = session.scalar(select(func.count()).select_from(Organisation))
    with pytest.raises(ValidationFailedError) as caught:
        organisations.create_organisation(session, actor=actor, data=data)
    assert session.scalar(select(func.count()).select_from(Organisation)) == before
    return caught.value


def test_an_institution_is_created_under_its_authority_and_audited(
    session: Session, operator: Principal, authority: Organisation
) -> None:
    org = organisations.create_organisation(
        session, actor=operator, data=_institution(authority, credit_code=" 91350100m000100y43 ")
    )

    assert (org.type, org.kind, org.region_code) == ("institution", "primary_school", KNOWN_REGION)
    assert org.parent_id == authority.id
    assert org.credit_code == VALID_CREDIT_CODE  # trimmed and in capitals
    assert org.active
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event is not None
    assert (event.action, event.outcome, event.object_id) == (
        "web:organisation:create",
        "success",
        str(org.id),
    )
    assert event.actor_id == str(operator.user_id)
    assert event.details == (
        '{"kind":"primary_school","region_code":"110101","type":"institution"}'
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": None}, "kind"),
        ({"kind": "hospital"}, "kind"),  # a partner kind, not an institution kind
        ({"kind": "nursery"}, "kind"),
        ({"region_code": UNKNOWN_REGION}, "region_code"),
        ({"region_code": "000000"}, "region_code"),
        ({"parent_id": None}, "parent_id"),
        ({"credit_code": None}, "credit_code"),
        ({"credit_code": BAD_CHECK_CREDIT_CODE}, "credit_code"),
        ({"credit_code": "91350100M000100Y4"}, "credit_code"),  # 17 characters
        ({"credit_code": "91350100M000100O43"}, "credit_code"),  # O is not in the charset
    ],
    ids=[
        "no-kind",
        "partner-kind",
        "unknown-kind",
        "unknown-region",
        "zero-region",
        "no-parent",
        "no-credit-code",
        "bad-check-character",
        "short-credit-code",
        "letter-o",
    ],
)
def test_an_invalid_institution_is_refused_naming_the_field(
    session: Session,
    operator: Principal,
    authority: Organisation,
    changes: dict[str, Any],
    field: str,
) -> None:
    refusal = _refusal(session, operator, _institution(authority, **changes))
    assert refusal.field == field


def test_a_credit_code_refusal_says_why(
    session: Session, operator: Principal, authority: Organisation
) -> None:
    refusal = _refusal(
        session, operator, _institution(authority, credit_code=BAD_CHECK_CREDIT_CODE)
    )
    assert refusal.params == {"reason": "bad_check_character"}
    assert str(refusal) == ("The unified social credit code is not valid: bad_check_character.")


def test_an_unknown_region_is_named_in_the_message(
    session: Session, operator: Principal, authority: Organisation
) -> None:
    refusal = _refusal(session, operator, _institution(authority, region_code=UNKNOWN_REGION))
    assert str(refusal) == f"Unknown GB/T 2260 region code {UNKNOWN_REGION}."


def test_a_retired_region_code_is_still_accepted(
    session: Session, operator: Principal, authority: Organisation
) -> None:
    # 110103 (Chongwen district) was merged into Dongcheng in 2010; older records carry it.
    org = organisations.create_organisation(
        session, actor=operator, data=_institution(authority, region_code="110103")
    )
    assert org.region_code == "110103"


@pytest.mark.parametrize(
    ("org_type", "parent_type", "allowed"),
    [
        (OrgType.INSTITUTION, OrgType.EDUCATION_AUTHORITY, True),
        (OrgType.INSTITUTION, OrgType.INSTITUTION, False),
        (OrgType.INSTITUTION, OrgType.COURT, False),
        (OrgType.EDUCATION_AUTHORITY, OrgType.EDUCATION_AUTHORITY, True),
        (OrgType.EDUCATION_AUTHORITY, OrgType.PUBLIC_SECURITY, False),
        (OrgType.COURT, OrgType.COURT, True),
        (OrgType.COURT, OrgType.PROCURATORATE, False),
        (OrgType.PARTNER, OrgType.PUBLIC_SECURITY, True),
        (OrgType.OPERATOR, OrgType.OVERSIGHT, False),
    ],
)
def test_an_organisation_sits_only_under_a_parent_of_a_fitting_type(
    session: Session,
    operator: Principal,
    org_type: OrgType,
    parent_type: OrgType,
    *,
    allowed: bool,
) -> None:
    parent = make_org(session, org_type=parent_type)
    kind = {OrgType.INSTITUTION: "kindergarten", OrgType.PARTNER: "legal_aid"}.get(org_type)
    data = OrganisationCreate(
        name=f"child-{parent.id.hex[:8]}",
        type=org_type,
        kind=kind,
        region_code=KNOWN_REGION,
        parent_id=parent.id,
        credit_code=VALID_CREDIT_CODE if org_type is OrgType.INSTITUTION else None,
    )
    if allowed:
        org = organisations.create_organisation(session, actor=operator, data=data)
        assert org.parent_id == parent.id
    else:
        assert _refusal(session, operator, data).field == "parent_id"


def test_a_parent_that_does_not_exist_is_refused(
    session: Session, operator: Principal, authority: Organisation
) -> None:
    data = _institution(authority, parent_id="00000000-0000-4000-8000-000000000000")
    assert _refusal(session, operator, data).field == "parent_id"


@pytest.mark.parametrize(
    ("org_type", "kind", "accepted"),
    [
        (OrgType.PARTNER, "womens_federation", True),
        (OrgType.PARTNER, "psychological_service", True),
        (OrgType.PARTNER, None, False),
        (OrgType.PARTNER, "kindergarten", False),
        (OrgType.COURT, None, True),
        (OrgType.COURT, "hospital", False),
        (OrgType.OPERATOR, "primary_school", False),
    ],
)
def test_only_institutions_and_partners_have_a_kind(
    session: Session, operator: Principal, org_type: OrgType, kind: str | None, *, accepted: bool
) -> None:
    data = OrganisationCreate(
        name=f"{org_type.value}-{kind}-body", type=org_type, kind=kind, region_code=KNOWN_REGION
    )
    if accepted:
        assert organisations.create_organisation(session, actor=operator, data=data).kind == kind
    else:
        assert _refusal(session, operator, data).field == "kind"


def test_a_credit_code_is_optional_outside_institutions_but_still_checked(
    session: Session, operator: Principal
) -> None:
    court = OrganisationCreate(name="某区人民法院", type=OrgType.COURT, region_code=KNOWN_REGION)
    assert (
        organisations.create_organisation(session, actor=operator, data=court).credit_code is None
    )
    bad = OrganisationCreate(
        name="某区人民检察院",
        type=OrgType.PROCURATORATE,
        region_code=KNOWN_REGION,
        credit_code=BAD_CHECK_CREDIT_CODE,
    )
    assert _refusal(session, operator, bad).field == "credit_code"


def test_names_and_credit_codes_are_unique(
    session: Session, operator: Principal, authority: Organisation
) -> None:
    first = organisations.create_organisation(session, actor=operator, data=_institution(authority))
    with pytest.raises(ConflictError) as same_name:
        organisations.create_organisation(
            session, actor=operator, data=_institution(authority, credit_code=None)
        )
    assert same_name.value.field == "name"
    with pytest.raises(ConflictError) as same_code:
        organisations.create_organisation(
            session, actor=operator, data=_institution(authority, name=f"{first.name}-分校")
        )
    assert same_code.value.field == "credit_code"


def test_control_characters_in_a_name_are_refused(
    session: Session, operator: Principal, authority: Organisation
) -> None:
    refusal = _refusal(session, operator, _institution(authority, name="第一\x00小学"))
    assert refusal.field == "name"


@pytest.mark.parametrize(
    "role", [Role.INSTITUTION_HR, Role.EDUCATION_OFFICER, Role.AUDITOR, Role.REGISTRY_REVIEWER]
)
def test_only_an_operator_may_create_organisations(
    session: Session, authority: Organisation, role: Role
) -> None:
    actor = users.principal_for(make_user(session, roles=(role,)), "web")
    with pytest.raises(ForbiddenError):
        organisations.create_organisation(session, actor=actor, data=_institution(authority))


def test_disabling_and_enabling_are_audited_once_each(
    session: Session, operator: Principal
) -> None:
    org = make_org(session, org_type=OrgType.COURT)
    start = session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0)))

    organisations.set_organisation_active(session, actor=operator, org_id=org.id, active=False)
    organisations.set_organisation_active(session, actor=operator, org_id=org.id, active=False)
    organisations.set_organisation_active(session, actor=operator, org_id=org.id, active=True)

    trail = session.execute(
        select(AuditEvent.action, AuditEvent.object_id)
        .where(AuditEvent.seq > start)
        .order_by(AuditEvent.seq)
    ).all()
    assert [tuple(row) for row in trail] == [
        ("web:organisation:disable", str(org.id)),
        ("web:organisation:enable", str(org.id)),
    ]


def test_the_supervised_tree_includes_every_level_below(session: Session) -> None:
    province = make_org(session, org_type=OrgType.EDUCATION_AUTHORITY)
    county = make_org(session, org_type=OrgType.EDUCATION_AUTHORITY, parent=province)
    school = make_org(session, org_type=OrgType.INSTITUTION, parent=county)
    elsewhere = make_org(session, org_type=OrgType.INSTITUTION)

    found = organisations.supervised_organisation_ids(session, province.id)

    assert found == {province.id, county.id, school.id}
    assert elsewhere.id not in found


# --- over the API -------------------------------------------------------------------------------


@pytest.fixture
def web(
    session_factory: sessionmaker[Session], migrated_engine: Engine, tmp_path: Path
) -> Iterator[TestClient]:
    """An HTTPS client of an app joined to the test's transaction."""
    settings = Settings(env="test", data_dir=tmp_path, secure_cookies=True)
    app = create_app(settings=settings, sessions=session_factory, engine=migrated_engine)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        yield client


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"region_code": UNKNOWN_REGION}, "region_code"),
        ({"region_code": "11010"}, "region_code"),  # refused by the schema: 6 digits
        ({"credit_code": BAD_CHECK_CREDIT_CODE}, "credit_code"),
        ({"kind": "nursery"}, "kind"),
        ({"type": "school"}, "type"),
        ({"parent_id": None}, "parent_id"),
    ],
)
def test_the_api_answers_422_naming_the_field(
    web: TestClient,
    session: Session,
    authority: Organisation,
    changes: dict[str, Any],
    field: str,
) -> None:
    token = api_token(session, make_user(session, roles=(Role.ADMIN,)))
    session.commit()
    body = {
        "name": "北京市东城区第一实验小学",
        "type": "institution",
        "kind": "primary_school",
        "region_code": KNOWN_REGION,
        "parent_id": str(authority.id),
        "credit_code": VALID_CREDIT_CODE,
        **changes,
    }

    response = web.post(
        "/api/v1/organisations", json=body, headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_the_api_creates_an_institution(
    web: TestClient, session: Session, authority: Organisation
) -> None:
    token = api_token(session, make_user(session, roles=(Role.ADMIN,)))
    session.commit()
    body = {
        "name": "北京市东城区第一实验小学",
        "type": "institution",
        "kind": "primary_school",
        "region_code": KNOWN_REGION,
        "parent_id": str(authority.id),
        "credit_code": VALID_CREDIT_CODE,
    }
    auth = {"Authorization": f"Bearer {token}"}

    response = web.post("/api/v1/organisations", json=body, headers=auth)

    assert response.status_code == 201, response.text
    created = response.json()
    assert {k: created[k] for k in body} == body
    assert web.get(f"/api/v1/organisations/{created['id']}", headers=auth).json() == created
    again = web.post("/api/v1/organisations", json=body, headers=auth)
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "name"


def test_the_command_line_acts_with_the_operators_authority(
    session: Session, authority: Organisation
) -> None:
    org = organisations.create_organisation(
        session, actor=system_principal("cli"), data=_institution(authority)
    )
    event = session.scalars(select(AuditEvent).where(AuditEvent.object_id == str(org.id))).one()
    assert (event.action, event.actor_id) == ("cli:organisation:create", None)
