"""Users: roles that fit the organisation, usernames, the password policy, and audited changes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shouhu.accounts import users
from shouhu.accounts.models import Organisation, User
from shouhu.accounts.passwords import verify_password
from shouhu.accounts.roles import ROLES_BY_ORG_TYPE, OrgType, Role
from shouhu.accounts.users import PASSWORD_MESSAGES, UserCreate
from shouhu.core.audit.models import AuditEvent
from shouhu.core.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ValidationFailedError,
)
from shouhu.core.principal import Principal, system_principal
from shouhu.core.settings import Settings
from tests.factories.accounts import make_org, make_user

PASSPHRASE = "a long and unusual passphrase"
SETTINGS = Settings(env="test", lockout_failures=5, lockout_window_minutes=15)


@pytest.fixture
def admin_user(session: Session) -> User:
    """An operator's account."""
    return make_user(session, roles=(Role.ADMIN,))


@pytest.fixture
def operator(admin_user: User) -> Principal:
    """The operator, acting through the web."""
    return users.principal_for(admin_user, "web", "10.0.0.7")


@pytest.fixture
def school(session: Session) -> Organisation:
    """An institution."""
    return make_org(session, org_type=OrgType.INSTITUTION)


def _head(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0)


def _events(session: Session, after: int) -> list[AuditEvent]:
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq))
    )


def _new(org: Organisation, **changes: Any) -> UserCreate:
    values: dict[str, Any] = {
        "organisation_id": org.id,
        "username": f"hr.{org.id.hex[:8]}",
        "display_name": "王老师",
        "roles": [Role.INSTITUTION_HR],
        "password": PASSPHRASE,
    }
    values.update(changes)
    return UserCreate.model_validate(values)


def _refusal(session: Session, actor: Principal, data: UserCreate) -> ValidationFailedError:
    start = _head(session)
    with pytest.raises(ValidationFailedError) as caught:
        users.create_user(session, actor=actor, data=data)
    assert _events(session, start) == []
    return caught.value


# --- creating -----------------------------------------------------------------------------------


def test_an_operator_creates_a_user_with_a_temporary_password(
    session: Session, operator: Principal, school: Organisation
) -> None:
    start = _head(session)

    user = users.create_user(session, actor=operator, data=_new(school, username="HR.Wang"))

    assert user.username == "hr.wang"  # stored in lower case; sign-in ignores case
    assert user.display_name == "王老师"
    assert user.role_names == ["institution_hr"]
    assert user.must_change_password  # set by someone else: changed at first sign-in
    assert verify_password(user.password_hash, PASSPHRASE)
    assert PASSPHRASE not in user.password_hash
    events = _events(session, start)
    assert [(e.action, e.outcome) for e in events] == [("web:user:create", "success")]
    assert json.loads(events[0].details) == {
        "organisation_id": str(school.id),
        "roles": ["institution_hr"],
    }
    assert "王老师" not in events[0].details  # no plaintext personal data in the trail


def test_a_user_created_from_the_command_line_keeps_the_password(
    session: Session, school: Organisation
) -> None:
    user = users.create_user(session, actor=system_principal("cli"), data=_new(school))
    # The operator at the shell sets up their own or a first account; no forced change.
    assert not user.must_change_password


@pytest.mark.parametrize(
    ("org_type", "role", "fits"),
    [
        (OrgType.INSTITUTION, Role.INSTITUTION_HR, True),
        (OrgType.INSTITUTION, Role.REGISTRY_CLERK, False),
        (OrgType.INSTITUTION, Role.ADMIN, False),
        (OrgType.EDUCATION_AUTHORITY, Role.EDUCATION_OFFICER, True),
        (OrgType.EDUCATION_AUTHORITY, Role.INSTITUTION_HR, False),
        (OrgType.PUBLIC_SECURITY, Role.REGISTRY_REVIEWER, True),
        (OrgType.PUBLIC_SECURITY, Role.PROSECUTOR, False),
        (OrgType.PROCURATORATE, Role.PROSECUTOR, True),
        (OrgType.OVERSIGHT, Role.ANALYST, True),
        (OrgType.OVERSIGHT, Role.ADMIN, False),
        (OrgType.OPERATOR, Role.ADMIN, True),
        (OrgType.OPERATOR, Role.AUDITOR, False),
        (OrgType.PARTNER, Role.SUPPORT_WORKER, True),
        (OrgType.PARTNER, Role.CASE_OFFICER, False),
    ],
)
def test_roles_must_fit_the_organisation_type(
    session: Session, operator: Principal, org_type: OrgType, role: Role, *, fits: bool
) -> None:
    org = make_org(session, org_type=org_type)
    data = _new(org, roles=[role])
    if fits:
        assert users.create_user(session, actor=operator, data=data).role_names == [role.value]
    else:
        refusal = _refusal(session, operator, data)
        assert refusal.field == "roles"
        assert refusal.params == {"role": role.value, "type": org_type.value}


def test_several_roles_are_kept_once_each_in_order(session: Session, operator: Principal) -> None:
    police = make_org(session, org_type=OrgType.PUBLIC_SECURITY)
    roles = [Role.REGISTRY_REVIEWER, Role.CASE_OFFICER, Role.REGISTRY_REVIEWER]
    user = users.create_user(session, actor=operator, data=_new(police, roles=roles))
    assert user.role_names == ["case_officer", "registry_reviewer"]


@pytest.mark.parametrize(
    "username",
    ["ab", "-leading-dash", ".dot", "has space", "王老师", "semi;colon", "x" * 65, "a/b"],
)
def test_a_username_outside_the_rules_is_refused(
    session: Session, operator: Principal, school: Organisation, username: str
) -> None:
    try:
        data = _new(school, username=username)
    except ValueError:
        # Length is refused by the schema before the service sees it.
        assert not 3 <= len(username) <= 64
        return
    refusal = _refusal(session, operator, data)
    assert refusal.field == "username"
    assert refusal.message == (
        "A username has 3 to 64 characters: letters, digits, dot, dash or underscore."
    )


@pytest.mark.parametrize("username", ["abc", "hr.wang", "li_na-2", "0zhang", "x" * 64])
def test_a_username_inside_the_rules_is_accepted(
    session: Session, operator: Principal, school: Organisation, username: str
) -> None:
    assert users.create_user(session, actor=operator, data=_new(school, username=username))


def test_a_username_is_unique_whatever_its_case(
    session: Session, operator: Principal, school: Organisation
) -> None:
    users.create_user(session, actor=operator, data=_new(school, username="hr.li"))
    with pytest.raises(ConflictError) as caught:
        users.create_user(session, actor=operator, data=_new(school, username=" HR.Li "))
    assert caught.value.field == "username"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "too_short"),
        ("七个汉字的密码", "too_short"),
        ("x" * 129, "too_long"),
        ("password1", "too_common"),
        ("Iloveyou", "too_common"),
    ],
)
def test_the_password_policy_explains_itself(
    session: Session, operator: Principal, school: Organisation, password: str, reason: str
) -> None:
    refusal = _refusal(session, operator, _new(school, password=password))
    assert refusal.field == "password"
    assert refusal.message == PASSWORD_MESSAGES[reason]
    assert password not in str(refusal)


def test_the_password_messages_say_what_to_do() -> None:
    assert PASSWORD_MESSAGES == {
        "too_short": "The password must have at least 8 characters.",
        "too_long": "The password must have at most 128 characters.",
        "too_common": "This password is among the most common ones; choose another.",
    }


def test_a_disabled_or_missing_organisation_is_refused(
    session: Session, operator: Principal, school: Organisation
) -> None:
    school.active = False
    assert _refusal(session, operator, _new(school)).field == "organisation_id"
    missing = _new(school, organisation_id=uuid.uuid4())
    assert _refusal(session, operator, missing).field == "organisation_id"


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
def test_only_an_operator_manages_users(session: Session, school: Organisation, role: Role) -> None:
    actor = users.principal_for(make_user(session, roles=(role,)), "web")
    target = make_user(session, roles=(Role.INSTITUTION_HR,))
    with pytest.raises(ForbiddenError):
        users.create_user(session, actor=actor, data=_new(school))
    with pytest.raises(ForbiddenError):
        users.set_active(session, actor=actor, user_id=target.id, active=False)


# --- changing -----------------------------------------------------------------------------------


def test_a_role_change_is_audited_with_old_and_new_roles(
    session: Session, operator: Principal
) -> None:
    user = make_user(session, roles=(Role.REGISTRY_CLERK,))
    start = _head(session)

    users.set_roles(
        session,
        actor=operator,
        user_id=user.id,
        roles=[Role.REGISTRY_REVIEWER, Role.REGISTRY_CLERK],
    )

    events = _events(session, start)
    assert [(e.action, e.outcome) for e in events] == [("web:user:role_change", "success")]
    assert json.loads(events[0].details) == {
        "old": ["registry_clerk"],
        "new": ["registry_clerk", "registry_reviewer"],
    }
    assert (events[0].actor_id, events[0].object_id) == (str(operator.user_id), str(user.id))
    assert user.role_names == ["registry_clerk", "registry_reviewer"]


def test_setting_the_same_roles_changes_and_records_nothing(
    session: Session, operator: Principal
) -> None:
    user = make_user(session, roles=(Role.REGISTRY_CLERK,))
    start = _head(session)
    users.set_roles(session, actor=operator, user_id=user.id, roles=[Role.REGISTRY_CLERK])
    assert _events(session, start) == []


@pytest.mark.parametrize(
    ("roles", "field"),
    [([], "roles"), ([Role.INSTITUTION_HR], "roles")],
    ids=["none", "wrong-type"],
)
def test_a_role_change_must_leave_fitting_roles(
    session: Session, operator: Principal, roles: list[Role], field: str
) -> None:
    user = make_user(session, roles=(Role.REGISTRY_CLERK,))
    start = _head(session)
    with pytest.raises(ValidationFailedError) as caught:
        users.set_roles(session, actor=operator, user_id=user.id, roles=roles)
    assert caught.value.field == field
    assert user.role_names == ["registry_clerk"]
    assert _events(session, start) == []


def test_an_operator_cannot_remove_their_own_admin_role(
    session: Session, admin_user: User, operator: Principal
) -> None:
    start = _head(session)
    for roles in ([], [Role.AUDITOR]):
        with pytest.raises(ValidationFailedError) as caught:
            users.set_roles(session, actor=operator, user_id=admin_user.id, roles=roles)
        assert caught.value.field == "roles"
    assert admin_user.role_names == ["admin"]
    assert _events(session, start) == []


def test_the_own_admin_role_check_applies_where_admin_is_not_the_only_role(
    session: Session,
) -> None:
    # Give an operator organisation a second role by widening the table for this test, so the
    # self-demotion rule is reached rather than the role-fit rule.
    org = make_org(session, org_type=OrgType.OPERATOR)
    me = make_user(session, roles=(Role.ADMIN,), org=org)
    actor = users.principal_for(me, "web")
    widened = {**ROLES_BY_ORG_TYPE, OrgType.OPERATOR: frozenset({Role.ADMIN, Role.AUDITOR})}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("shouhu.accounts.roles.ROLES_BY_ORG_TYPE", widened)
        with pytest.raises(ValidationFailedError) as caught:
            users.set_roles(session, actor=actor, user_id=me.id, roles=[Role.AUDITOR])
    assert caught.value.message == "You cannot remove your own admin role."
    assert me.role_names == ["admin"]


def test_an_operator_cannot_disable_themselves(
    session: Session, admin_user: User, operator: Principal
) -> None:
    start = _head(session)
    with pytest.raises(ValidationFailedError) as caught:
        users.set_active(session, actor=operator, user_id=admin_user.id, active=False)
    assert (caught.value.field, caught.value.message) == (
        "active",
        "You cannot disable your own account.",
    )
    assert admin_user.active
    assert _events(session, start) == []


def test_disabling_and_enabling_are_audited_once_each(
    session: Session, operator: Principal
) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    start = _head(session)

    users.set_active(session, actor=operator, user_id=user.id, active=False)
    users.set_active(session, actor=operator, user_id=user.id, active=False)
    users.set_active(session, actor=operator, user_id=user.id, active=True)

    assert [(e.action, e.object_id) for e in _events(session, start)] == [
        ("web:user:disable", str(user.id)),
        ("web:user:enable", str(user.id)),
    ]


def test_unlocking_an_unlocked_account_is_a_conflict(session: Session, operator: Principal) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    start = _head(session)
    with pytest.raises(ConflictError):
        users.unlock(session, actor=operator, user_id=user.id)
    assert _events(session, start) == []


def test_changes_to_a_user_that_does_not_exist_are_404(
    session: Session, operator: Principal
) -> None:
    with pytest.raises(NotFoundError):
        users.set_roles(session, actor=operator, user_id=uuid.uuid4(), roles=[Role.ADMIN])
    with pytest.raises(NotFoundError):
        users.reset_password(session, actor=operator, user_id=uuid.uuid4(), new_password=PASSPHRASE)


def test_a_password_reset_is_temporary_and_audited(session: Session, operator: Principal) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    start = _head(session)

    users.reset_password(session, actor=operator, user_id=user.id, new_password=PASSPHRASE)

    assert verify_password(user.password_hash, PASSPHRASE)
    assert user.must_change_password
    assert [(e.action, e.details) for e in _events(session, start)] == [
        ("web:user:password_reset", "{}")
    ]
    with pytest.raises(ValidationFailedError) as caught:
        users.reset_password(session, actor=operator, user_id=user.id, new_password="password")
    assert caught.value.message == PASSWORD_MESSAGES["too_common"]


def test_changing_ones_own_password_needs_the_current_one(session: Session) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    user.must_change_password = True
    actor = users.principal_for(user, "web")
    start = _head(session)

    with pytest.raises(ValidationFailedError) as wrong:
        users.change_own_password(
            session,
            actor=actor,
            current_password="not it at all",
            new_password=PASSPHRASE,
            settings=SETTINGS,
        )
    assert (wrong.value.field, wrong.value.persist) == ("current_password", True)
    with pytest.raises(ValidationFailedError) as weak:
        users.change_own_password(
            session,
            actor=actor,
            current_password="correct horse battery staple",
            new_password="12345678",
            settings=SETTINGS,
        )
    assert (weak.value.field, weak.value.message) == (
        "new_password",
        PASSWORD_MESSAGES["too_common"],
    )
    users.change_own_password(
        session,
        actor=actor,
        current_password="correct horse battery staple",
        new_password=PASSPHRASE,
        settings=SETTINGS,
    )

    assert not user.must_change_password
    assert [(e.action, e.outcome) for e in _events(session, start)] == [
        ("web:user:password_change", "failure"),
        ("web:user:password_change", "success"),
    ]
