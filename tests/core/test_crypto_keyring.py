"""The master key, production requirements, and data keys wrapped under the master key."""

from __future__ import annotations

import base64
import os
import stat
from typing import TYPE_CHECKING

import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import select

from shouhu.core.crypto.keyring import (
    KeyError_,
    create_key,
    decode_master_key,
    load_keyring,
    load_master_key,
    new_master_key_text,
    unwrap_key,
)
from shouhu.core.crypto.models import CryptoKey, KeyPurpose, KeyStatus
from shouhu.core.settings import ProductionSettingsError, Settings
from tests.conftest import TEST_MASTER_KEY

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from sqlalchemy.orm import Session

    from shouhu.core.crypto.keyring import Keyring

PG = "postgresql://shouhu@db.internal:5432/shouhu"
GOOD_KEY = base64.b64encode(bytes(range(100, 132))).decode()


@pytest.fixture(autouse=True)
def no_key_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings read the environment too; a key set by the caller's shell must not leak in.
    for name in ("SHOUHU_MASTER_KEY", "SHOUHU_MASTER_KEY_FILE", "SHOUHU_ENV"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    # With umask 0 a file created with default permissions would be world-readable,
    # so a 0600 result proves the code asked for 0600 itself.
    previous = os.umask(0)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("permissive_umask")
def test_embedded_mode_generates_a_private_key_file_and_reuses_it(tmp_path: Path) -> None:
    settings = Settings(env="development", data_dir=tmp_path / "data")
    first = load_master_key(settings)
    assert first.generated
    assert first.path == tmp_path / "data" / "master.key"
    assert len(first.key) == 32
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o600

    second = load_master_key(settings)
    assert not second.generated
    assert second.key == first.key
    assert second.path == first.path


def test_an_explicit_master_key_wins_and_writes_no_file(tmp_path: Path) -> None:
    settings = Settings(env="test", data_dir=tmp_path, master_key=SecretStr(GOOD_KEY))
    source = load_master_key(settings)
    assert source.key == bytes(range(100, 132))
    assert not source.generated
    assert not (tmp_path / "master.key").exists()


def test_a_configured_key_file_is_read(tmp_path: Path) -> None:
    key_file = tmp_path / "elsewhere.key"
    key_file.write_text(new_master_key_text() + "\n")
    settings = Settings(env="test", data_dir=tmp_path / "data", master_key_file=key_file)
    source = load_master_key(settings)
    assert source.key == decode_master_key(key_file.read_text())
    assert not source.generated
    assert not (tmp_path / "data" / "master.key").exists()


@pytest.mark.parametrize(
    "text", ["not base64 at all!", base64.b64encode(b"short").decode(), "", "A" * 80]
)
def test_malformed_master_keys_are_refused(text: str) -> None:
    with pytest.raises(KeyError_):
        decode_master_key(text)


def test_standard_and_url_safe_base64_both_decode() -> None:
    raw = bytes([0xFB, 0xFF] * 16)
    assert decode_master_key(base64.b64encode(raw).decode()) == raw
    assert decode_master_key(base64.urlsafe_b64encode(raw).decode().rstrip("=")) == raw


def production_error(**overrides: object) -> str:
    """The production requirements the settings refuse, as the error message says them."""
    values: dict[str, object] = {
        "env": "production",
        "database_url": PG,
        "master_key": SecretStr(GOOD_KEY),
        **overrides,
    }
    with pytest.raises(ValidationError) as caught:
        Settings(**values)  # type: ignore[arg-type]
    # pydantic wraps the validator's error; the original is kept in the error context.
    error = caught.value.errors()[0]["ctx"]["error"]
    assert isinstance(error, ProductionSettingsError)
    return str(error)


def test_a_complete_production_configuration_is_accepted(tmp_path: Path) -> None:
    settings = Settings(
        env="production", database_url=PG, master_key=SecretStr(GOOD_KEY), data_dir=tmp_path
    )
    assert settings.is_production


def test_production_without_a_master_key_is_refused() -> None:
    assert "SHOUHU_MASTER_KEY must be set" in production_error(master_key=None)


@pytest.mark.parametrize("url", [None, "sqlite:///var/shouhu.db", "sqlite+pysqlite:///x.db"])
def test_production_on_sqlite_is_refused(url: str | None) -> None:
    assert "must name a PostgreSQL database" in production_error(database_url=url)


def test_production_with_insecure_cookies_is_refused() -> None:
    assert "SHOUHU_SECURE_COOKIES must not be false" in production_error(secure_cookies=False)


def test_production_with_an_mfa_waiver_is_refused() -> None:
    assert "SHOUHU_MFA_WAIVER_ALLOWED" in production_error(mfa_waiver_allowed=True)


def test_production_reports_every_missing_requirement_at_once() -> None:
    message = production_error(master_key=None, database_url=None, secure_cookies=False)
    assert "SHOUHU_MASTER_KEY" in message
    assert "PostgreSQL" in message
    assert "SHOUHU_SECURE_COOKIES" in message


def test_production_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOUHU_ENV", "production")
    monkeypatch.setenv("SHOUHU_DATABASE_URL", PG)
    with pytest.raises(ValidationError, match="SHOUHU_MASTER_KEY must be set"):
        Settings()


def test_production_never_generates_a_master_key(tmp_path: Path) -> None:
    # Defence in depth behind the settings check: even unvalidated settings get no new key.
    settings = Settings.model_construct(
        env="production", data_dir=tmp_path, master_key=None, master_key_file=None
    )
    with pytest.raises(KeyError_, match="required in production"):
        load_master_key(settings)
    assert list(tmp_path.iterdir()) == []


def test_a_wrong_master_key_cannot_unwrap_the_data_keys(session: Session) -> None:
    wrong = bytes(reversed(TEST_MASTER_KEY))
    with pytest.raises(KeyError_, match="wrong master key"):
        load_keyring(session, wrong)
    row = create_key(session, TEST_MASTER_KEY, KeyPurpose.FIELD)
    assert len(unwrap_key(TEST_MASTER_KEY, row)) == 32
    with pytest.raises(KeyError_, match=row.id):
        unwrap_key(wrong, row)


def test_a_wrapped_key_is_bound_to_its_id_and_purpose(session: Session) -> None:
    row = create_key(session, TEST_MASTER_KEY, KeyPurpose.BLIND_INDEX)
    material = unwrap_key(TEST_MASTER_KEY, row)
    assert material not in row.wrapped
    row.purpose = KeyPurpose.FIELD.value
    with pytest.raises(KeyError_):
        unwrap_key(TEST_MASTER_KEY, row)


def test_loading_the_keyring_again_finds_the_same_keys(session: Session, keyring: Keyring) -> None:
    again = load_keyring(session, TEST_MASTER_KEY)
    assert again.active_field_key_id == keyring.active_field_key_id
    assert again.field_keys == keyring.field_keys
    assert again.blind_index_key == keyring.blind_index_key
    assert again.signing_key_id == keyring.signing_key_id
    active = session.scalars(select(CryptoKey).where(CryptoKey.status == KeyStatus.ACTIVE)).all()
    assert sorted(k.purpose for k in active) == ["blind_index", "field", "signing"]


def test_a_first_start_creates_one_active_key_per_purpose(session: Session) -> None:
    for row in session.scalars(select(CryptoKey)):
        session.delete(row)
    session.flush()
    ring = load_keyring(session, TEST_MASTER_KEY)
    rows = session.scalars(select(CryptoKey)).all()
    assert sorted(r.purpose for r in rows) == ["blind_index", "field", "signing"]
    assert all(r.status == KeyStatus.ACTIVE for r in rows)
    assert ring.active_field_key_id in ring.field_keys
    assert len({ring.blind_index_key, ring.field_keys[ring.active_field_key_id]}) == 2
