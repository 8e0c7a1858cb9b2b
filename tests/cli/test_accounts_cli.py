"""`shouhu orgs|users|tokens` against a real database configured through the environment."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from shouhu.accounts.models import ApiToken, Organisation, User
from shouhu.accounts.passwords import verify_password
from shouhu.accounts.sessions import token_digest
from shouhu.cli.main import app
from shouhu.core.audit.models import AuditEvent
from shouhu.core.crypto.keyring import current_keyring, install_keyring
from shouhu.core.database import make_engine, make_session_factory, utcnow
from shouhu.core.settings import Settings, get_settings
from shouhu.web.app import create_app
from tests.conftest import drop_postgres_database, fresh_database_url

VALID_CREDIT_CODE = "91350100M000100Y43"
SECOND_CREDIT_CODE = "91110101MA01ABCD5M"  # GB 32100 and GB 11714 check characters both right
PASSWORD = "a long passphrase for the cli"


def shouhu(*args: str, stdin: str | None = None) -> Result:
    """Run the `shouhu` command in-process."""
    return CliRunner().invoke(app, list(args), input=stdin)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A new database, named to the CLI through SHOUHU_* variables, migrated by the CLI."""
    try:
        previous = current_keyring()
    except Exception:  # noqa: BLE001 - no keyring installed yet in this process
        previous = None
    url = fresh_database_url(backend, tmp_path, "cli_accounts")
    monkeypatch.setenv("SHOUHU_DATABASE_URL", url)
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SHOUHU_ENV", "test")
    get_settings.cache_clear()
    upgraded = shouhu("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    yield url
    get_settings.cache_clear()
    install_keyring(previous)
    if backend == "postgresql":
        drop_postgres_database(url)


@pytest.fixture
def stored(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Short sessions on the CLI's database, to check what the commands stored.

    Each is closed before the next command runs: on SQLite an open transaction holds the lock.
    """
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def _created_id(result: Result) -> uuid.UUID:
    assert result.exit_code == 0, result.output
    return uuid.UUID(result.stdout.strip())


def _authority(name: str = "东城区教育委员会") -> uuid.UUID:
    return _created_id(
        shouhu(
            "orgs", "create", "--name", name, "--type", "education_authority", "--region", "110101"
        )
    )


def _institution(parent: str = "东城区教育委员会") -> uuid.UUID:
    return _created_id(
        shouhu(
            "orgs",
            "create",
            "--name",
            "东城区第一实验小学",
            "--type",
            "institution",
            "--kind",
            "primary_school",
            "--region",
            "110101",
            "--parent",
            parent,
            "--credit-code",
            VALID_CREDIT_CODE,
        )
    )


def _hr_user(username: str = "hr.wang") -> uuid.UUID:
    return _created_id(
        shouhu(
            "users",
            "create",
            "--org",
            "东城区第一实验小学",
            "--username",
            username,
            "--role",
            "institution_hr",
            "--display-name",
            "王老师",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
    )


def test_orgs_create_prints_the_new_id(stored: sessionmaker[Session]) -> None:
    org_id = _authority()
    with stored() as db:
        org = db.get_one(Organisation, org_id)
        event = db.scalars(select(AuditEvent).where(AuditEvent.object_id == str(org_id))).one()
    assert (org.name, org.type, org.region_code) == (
        "东城区教育委员会",
        "education_authority",
        "110101",
    )
    assert (event.action, event.actor_id) == ("cli:organisation:create", None)


def test_orgs_create_finds_the_parent_by_name_or_id(stored: sessionmaker[Session]) -> None:
    authority_id = _authority()

    school_id = _institution(parent="东城区教育委员会")
    kindergarten_id = _created_id(
        shouhu(
            "orgs",
            "create",
            "--name",
            "东城区教委直属幼儿园",
            "--type",
            "institution",
            "--kind",
            "kindergarten",
            "--region",
            "110101",
            "--parent",
            str(authority_id),
            "--credit-code",
            SECOND_CREDIT_CODE,
        )
    )

    with stored() as db:
        school = db.get_one(Organisation, school_id)
        kindergarten = db.get_one(Organisation, kindergarten_id)
    assert (school.parent_id, school.credit_code) == (authority_id, VALID_CREDIT_CODE)
    assert kindergarten.parent_id == authority_id


def test_orgs_create_refuses_an_unknown_parent(database_url: str) -> None:
    result = shouhu(
        "orgs",
        "create",
        "--name",
        "孤儿",
        "--type",
        "court",
        "--region",
        "110101",
        "--parent",
        "no such organisation",
    )
    assert result.exit_code == 1
    assert "parent organisation not found: no such organisation" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("region", "message"),
    [
        ("110199", "region_code: Unknown GB/T 2260 region code 110199."),
        ("11010", "region_code: String should match pattern"),
    ],
    ids=["unknown", "malformed"],
)
def test_orgs_create_refuses_a_bad_region_naming_region_code(
    stored: sessionmaker[Session], region: str, message: str
) -> None:
    result = shouhu("orgs", "create", "--name", "某区法院", "--type", "court", "--region", region)

    assert result.exit_code != 0
    assert message in result.stderr
    assert result.stdout == ""
    with stored() as db:
        assert db.scalars(select(Organisation)).all() == []


def test_orgs_create_refuses_a_credit_code_with_a_wrong_check_character(
    stored: sessionmaker[Session],
) -> None:
    _authority()
    result = shouhu(
        "orgs",
        "create",
        "--name",
        "某小学",
        "--type",
        "institution",
        "--kind",
        "primary_school",
        "--region",
        "110101",
        "--parent",
        "东城区教育委员会",
        "--credit-code",
        "91350100M000100Y44",
    )
    assert result.exit_code == 1
    assert "credit_code: The unified social credit code is not valid: bad_check_character." in (
        result.stderr
    )


def test_users_create_reads_the_password_from_stdin(stored: sessionmaker[Session]) -> None:
    _authority()
    _institution()

    user_id = _hr_user("HR.Wang")

    with stored() as db:
        user = db.get_one(User, user_id)
        assert user.display_name == "王老师"
    assert user.username == "hr.wang"
    assert user.role_names == ["institution_hr"]
    assert not user.must_change_password
    assert verify_password(user.password_hash, PASSWORD)


def test_users_create_without_stdin_flag_refuses(database_url: str) -> None:
    result = shouhu(
        "users",
        "create",
        "--org",
        "x",
        "--username",
        "abc",
        "--role",
        "admin",
    )
    assert result.exit_code == 1
    assert "--password-stdin" in result.stderr


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["--role", "registry_clerk"], PASSWORD, "roles: The role registry_clerk does not exist"),
        (["--role", "institution_hr"], "short", "password: The password must have at least 8"),
        (["--role", "no_such_role"], PASSWORD, "roles.0: Input should be"),
    ],
    ids=["role-of-another-type", "weak-password", "unknown-role"],
)
def test_users_create_refuses_naming_the_field(
    stored: sessionmaker[Session], args: list[str], password: str, message: str
) -> None:
    _authority()
    _institution()
    result = shouhu(
        "users",
        "create",
        "--org",
        "东城区第一实验小学",
        "--username",
        "hr.li",
        *args,
        "--password-stdin",
        stdin=password + "\n",
    )
    assert result.exit_code == 1
    assert message in result.stderr
    assert password not in result.output
    with stored() as db:
        assert db.scalars(select(User)).all() == []


def test_users_unlock_lifts_a_lock(stored: sessionmaker[Session]) -> None:
    _authority()
    _institution()
    user_id = _hr_user()
    with stored() as db:
        db.get_one(User, user_id).locked_at = utcnow()
        db.commit()

    result = shouhu("users", "unlock", "hr.wang")

    assert result.exit_code == 0, result.output
    assert "unlocked hr.wang" in result.stdout
    with stored() as db:
        assert db.get_one(User, user_id).locked_at is None
        actions = db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_id == str(user_id))
            .order_by(AuditEvent.seq)
        ).all()
    assert actions == ["cli:user:create", "cli:user:unlock"]

    again = shouhu("users", "unlock", "hr.wang")
    assert again.exit_code == 1
    assert "This account is not locked." in again.stderr
    assert shouhu("users", "unlock", "nobody").stderr.strip().endswith("user not found: nobody")


def test_tokens_create_prints_only_the_token_and_it_works(
    database_url: str, stored: sessionmaker[Session], tmp_path: Path
) -> None:
    _authority()
    _institution()
    user_id = _hr_user()

    result = shouhu("tokens", "create", "--username", "hr.wang", "--days", "7")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1, "scripts read the token from stdout: nothing else goes there"
    secret = lines[0]
    assert secret.startswith("shh_")
    assert secret == secret.strip()
    assert "expires" in result.stderr
    assert secret not in result.stderr
    with stored() as db:
        row = db.scalars(select(ApiToken).where(ApiToken.user_id == user_id)).one()
    assert row.token_hash == token_digest(secret)
    assert 6 <= (row.expires_at - utcnow()).days <= 7

    engine = make_engine(database_url)
    api = create_app(
        settings=Settings(env="test", data_dir=tmp_path),
        sessions=make_session_factory(engine),
        engine=engine,
    )
    with TestClient(api, base_url="https://testserver") as client:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    engine.dispose()
    assert me.status_code == 200, me.text
    assert me.json()["user"]["username"] == "hr.wang"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--username", "nobody"], "user not found: nobody"),
        (["--username", "hr.wang", "--days", "0"], "days: A token lasts from 1 to 366 days."),
        (["--username", "hr.wang", "--days", "400"], "days: A token lasts from 1 to 366 days."),
    ],
    ids=["unknown-user", "zero-days", "too-many-days"],
)
def test_tokens_create_refuses_with_a_message(
    stored: sessionmaker[Session], args: list[str], message: str
) -> None:
    _authority()
    _institution()
    _hr_user()
    result = shouhu("tokens", "create", *args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stdout == ""
    with stored() as db:
        assert db.scalars(select(ApiToken)).all() == []
