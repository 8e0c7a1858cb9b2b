"""Seeding the demo: an organisation tree and one account per role, on first run only."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.accounts import organisations, users
from shouhu.accounts.models import Organisation, User
from shouhu.accounts.organisations import OrganisationCreate
from shouhu.accounts.roles import OrgType, Role
from shouhu.accounts.users import UserCreate
from shouhu.core.principal import system_principal
from shouhu.identity.credit_code import (
    credit_code_check_character,
    organisation_code_check_character,
)

OPERATOR_NAME = "守护平台运营中心"


@dataclass(frozen=True)
class DemoAccount:
    """A seeded account and the organisation it belongs to."""

    username: str
    password: str
    roles: list[str]
    organisation: str


def demo_credit_code(serial: int) -> str:
    """A valid-looking credit code for an invented institution (check characters computed)."""
    org_body = f"M{serial:07d}"
    org_code = org_body + organisation_code_check_character(org_body)
    first17 = "52110101" + org_code  # 5 = civil affairs, 2 = private non-enterprise unit
    return first17 + credit_code_check_character(first17)


# (name, type, kind, region, parent name, credit code serial)
ORGANISATIONS: list[tuple[str, OrgType, str | None, str, str | None, int | None]] = [
    (OPERATOR_NAME, OrgType.OPERATOR, None, "110000", None, None),
    ("北京市公安局", OrgType.PUBLIC_SECURITY, None, "110000", None, None),
    ("北京市人民检察院", OrgType.PROCURATORATE, None, "110000", None, None),
    ("北京市高级人民法院", OrgType.COURT, None, "110000", None, None),
    ("北京市教育委员会", OrgType.EDUCATION_AUTHORITY, None, "110000", None, None),
    (
        "北京市东城区教育委员会",
        OrgType.EDUCATION_AUTHORITY,
        None,
        "110101",
        "北京市教育委员会",
        None,
    ),
    (
        "北京市东城区示范小学",
        OrgType.INSTITUTION,
        "primary_school",
        "110101",
        "北京市东城区教育委员会",
        1,
    ),
    (
        "北京市东城区阳光幼儿园",
        OrgType.INSTITUTION,
        "kindergarten",
        "110101",
        "北京市东城区教育委员会",
        2,
    ),
    ("北京市妇女联合会", OrgType.PARTNER, "womens_federation", "110000", None, None),
    ("国家未成年人保护监督办公室", OrgType.OVERSIGHT, None, "110000", None, None),
]

# (username, organisation, roles, display name)
ACCOUNTS: list[tuple[str, str, list[Role], str]] = [
    ("admin", OPERATOR_NAME, [Role.ADMIN], "平台管理员"),
    ("registry.clerk", "北京市公安局", [Role.REGISTRY_CLERK], "李登记"),
    ("registry.reviewer", "北京市公安局", [Role.REGISTRY_REVIEWER], "张审核"),
    ("case.officer", "北京市公安局", [Role.CASE_OFFICER, Role.FORENSIC_EXAMINER], "赵办案"),
    ("forensic.examiner", "北京市公安局", [Role.FORENSIC_EXAMINER], "陈法医"),
    ("court.clerk", "北京市高级人民法院", [Role.COURT_CLERK], "钱书记"),
    ("prosecutor", "北京市人民检察院", [Role.PROSECUTOR], "孙检察"),
    ("education.officer", "北京市东城区教育委员会", [Role.EDUCATION_OFFICER], "周教委"),
    ("school.hr", "北京市东城区示范小学", [Role.INSTITUTION_HR], "吴人事"),
    ("support.worker", "北京市妇女联合会", [Role.SUPPORT_WORKER], "郑社工"),
    ("auditor", "国家未成年人保护监督办公室", [Role.AUDITOR], "王审计"),
    ("analyst", "国家未成年人保护监督办公室", [Role.ANALYST], "冯分析"),
]


def _demo_password() -> str:
    # Random per installation, never a shipped constant: four groups of lower-case letters.
    alphabet = "abcdefghijkmnpqrstuvwxyz"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def is_seeded(session: Session) -> bool:
    """Whether the demo data are already there."""
    return (
        session.scalar(select(Organisation.id).where(Organisation.name == OPERATOR_NAME))
        is not None
    )


def seed(session: Session) -> list[DemoAccount]:
    """Create the demo organisations and accounts; returns the accounts with passwords."""
    actor = system_principal("cli")
    by_name: dict[str, Organisation] = {}
    for name, org_type, kind, region, parent, serial in ORGANISATIONS:
        by_name[name] = organisations.create_organisation(
            session,
            actor=actor,
            data=OrganisationCreate(
                name=name,
                type=org_type,
                kind=kind,
                region_code=region,
                parent_id=by_name[parent].id if parent else None,
                credit_code=demo_credit_code(serial) if serial else None,
            ),
        )
    accounts: list[DemoAccount] = []
    for username, org_name, roles, display in ACCOUNTS:
        password = _demo_password()
        user = users.create_user(
            session,
            actor=actor,
            data=UserCreate(
                organisation_id=by_name[org_name].id,
                username=username,
                display_name=display,
                roles=roles,
                password=password,
            ),
        )
        # Demo only: the second factor is waived, and the sign-in page says so.
        user.mfa_waived = True
        accounts.append(DemoAccount(username, password, [r.value for r in roles], org_name))
    return accounts


def save_accounts(path: Path, accounts: list[DemoAccount]) -> None:
    """Keep the demo passwords beside the data (0600) so later runs can print them again."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump([a.__dict__ for a in accounts], handle, ensure_ascii=False, indent=1)


def load_accounts(path: Path) -> list[DemoAccount]:
    """The demo accounts saved at seeding time."""
    if not path.exists():
        return []
    return [DemoAccount(**item) for item in json.loads(path.read_text())]


def demo_users_exist(session: Session) -> bool:
    """Whether the admin demo account exists."""
    return session.scalar(select(User.id).where(User.username == "admin")) is not None
