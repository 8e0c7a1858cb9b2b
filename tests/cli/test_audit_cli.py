"""`shouhu audit verify|checkpoint` against a real database file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from shouhu.cli.main import app
from shouhu.core.audit.chain import record
from shouhu.core.crypto.keyring import current_keyring, install_keyring
from shouhu.core.database import transaction
from shouhu.core.principal import system_principal
from shouhu.core.runtime import Runtime, start
from shouhu.core.settings import get_settings


@pytest.fixture
def cli_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    """A migrated SQLite database with a few audit events, configured through the env."""
    try:
        previous = current_keyring()
    except Exception:  # noqa: BLE001 - no keyring installed yet in this process
        previous = None
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SHOUHU_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SHOUHU_ENV", "test")
    get_settings.cache_clear()
    rt = start(get_settings(), run_migrations=True)
    with transaction(rt.sessions) as session:
        for i in range(5):
            record(session, actor=system_principal("cli"), action="test:event", object_id=i)
    yield rt
    rt.engine.dispose()
    get_settings.cache_clear()
    install_keyring(previous)


def test_verify_an_intact_chain(cli_runtime: Runtime) -> None:
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact: 5 entries" in result.stdout


def test_verify_names_the_first_bad_entry(cli_runtime: Runtime) -> None:
    with cli_runtime.engine.begin() as connection:
        connection.execute(text("UPDATE audit_events SET outcome = 'failure' WHERE seq = 3"))
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 2
    assert "first bad entry: 3" in result.stderr


def test_a_checkpoint_detects_a_cut_tail(cli_runtime: Runtime, tmp_path: Path) -> None:
    out = tmp_path / "checkpoint.json"
    taken = CliRunner().invoke(app, ["audit", "checkpoint", "--out", str(out)])
    assert taken.exit_code == 0, taken.output
    assert json.loads(out.read_text())["seq"] == 5
    # Cut entries 4… and rewind the head: invisible without the checkpoint.
    with cli_runtime.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_events WHERE seq >= 4"))
        connection.execute(
            text(
                "UPDATE audit_head SET seq = 3, entry_hash = "
                "(SELECT entry_hash FROM audit_events WHERE seq = 3)"
            )
        )
    assert CliRunner().invoke(app, ["audit", "verify"]).exit_code == 0
    result = CliRunner().invoke(app, ["audit", "verify", "--checkpoint", str(out)])
    assert result.exit_code == 2
    assert "first bad entry: 5" in result.stderr


def test_a_forged_checkpoint_is_refused(cli_runtime: Runtime, tmp_path: Path) -> None:
    out = tmp_path / "checkpoint.json"
    assert CliRunner().invoke(app, ["audit", "checkpoint", "--out", str(out)]).exit_code == 0
    document = json.loads(out.read_text())
    document["seq"] = 2
    out.write_text(json.dumps(document))
    result = CliRunner().invoke(app, ["audit", "verify", "--checkpoint", str(out)])
    assert result.exit_code == 1
    assert "signature is not valid" in result.stderr


def test_checkpoint_to_stdout_is_plain_json(cli_runtime: Runtime) -> None:
    result = CliRunner().invoke(app, ["audit", "checkpoint"])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["format"] == "shouhu-audit-checkpoint/1"
    assert len(document["signature"]) > 40
