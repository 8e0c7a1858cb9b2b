"""`shouhu audit verify|checkpoint` run as an operator would, against a database of its own."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from shouhu.cli.main import app
from shouhu.core.audit.chain import record
from shouhu.core.audit.checkpoint import load_checkpoint
from shouhu.core.audit.models import AuditEvent
from shouhu.core.crypto import keyring as keyring_module
from shouhu.core.crypto.keyring import install_keyring
from shouhu.core.database import transaction
from shouhu.core.principal import system_principal
from shouhu.core.runtime import start
from shouhu.core.settings import get_settings
from tests.conftest import drop_postgres_database, fresh_database_url

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from click.testing import Result
    from sqlalchemy import Engine


@pytest.fixture
def engine(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A fresh migrated database holding five audit events, configured through the env."""
    previous = keyring_module._Holder.keyring  # put back what other tests use
    url = fresh_database_url(backend, tmp_path, "audit_cli")
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SHOUHU_DATABASE_URL", url)
    monkeypatch.setenv("SHOUHU_ENV", "test")
    monkeypatch.delenv("SHOUHU_MASTER_KEY", raising=False)
    monkeypatch.delenv("SHOUHU_MASTER_KEY_FILE", raising=False)
    get_settings.cache_clear()
    rt = start(get_settings(), run_migrations=True)
    with transaction(rt.sessions) as session:
        for i in range(5):
            record(session, actor=system_principal("cli"), action="test:event", object_id=i)
    yield rt.engine
    rt.engine.dispose()
    get_settings.cache_clear()
    install_keyring(previous)
    if backend == "postgresql":
        drop_postgres_database(url)


def shouhu(*args: str) -> Result:
    """Run `shouhu ARGS…` in this process, stdout and stderr kept apart."""
    return CliRunner().invoke(app, list(args))


def last_event(engine: Engine) -> Any:
    """The newest audit entry, as stored."""
    with engine.connect() as connection:
        return connection.execute(
            select(AuditEvent.__table__).order_by(AuditEvent.seq.desc()).limit(1)
        ).one()


def test_an_intact_chain_verifies_and_the_verification_is_audited(engine: Engine) -> None:
    result = shouhu("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "audit chain intact" in result.stdout
    assert "entries checked  5" in result.stdout
    assert "last entry       5" in result.stdout
    assert result.stderr == ""
    verified = last_event(engine)
    assert (verified.seq, verified.action, verified.outcome) == (6, "cli:audit:verify", "success")
    assert json.loads(verified.details) == {"checked": 5, "first_bad": None, "problem": None}
    # The record of the verification is itself a valid link of the chain.
    again = shouhu("audit", "verify")
    assert again.exit_code == 0, again.output
    assert "entries checked  6" in again.stdout


def test_a_tampered_chain_exits_2_naming_the_first_bad_entry(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_events SET outcome = 'failure' WHERE seq = 3"))
        connection.execute(text("UPDATE audit_events SET object_id = 'x' WHERE seq = 4"))
    result = shouhu("audit", "verify")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "TAMPERED: entry 3: hash does not match its contents" in result.stderr
    assert "first bad entry: 3" in result.stderr
    assert "2 entries intact before it" in result.stderr
    # Recorded after the walk, as a failure, naming what was found.
    verified = last_event(engine)
    assert (verified.action, verified.outcome) == ("cli:audit:verify", "failure")
    assert json.loads(verified.details) == {
        "checked": 2,
        "first_bad": 3,
        "problem": "hash_mismatch",
    }


def test_a_deleted_row_is_named(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    result = shouhu("audit", "verify")
    assert result.exit_code == 2
    assert "entry 2 is missing" in result.stderr


def test_a_checkpoint_finds_a_cut_tail_that_nothing_else_can(
    engine: Engine, tmp_path: Path
) -> None:
    out = tmp_path / "checkpoint.json"
    taken = shouhu("audit", "checkpoint", "--out", str(out))
    assert taken.exit_code == 0, taken.output
    assert f"checkpoint of entry 5 written to {out}" in " ".join(taken.stderr.split())
    assert json.loads(out.read_text())["seq"] == 5
    recorded = last_event(engine)
    assert (recorded.seq, recorded.action, recorded.object_id) == (6, "cli:audit:checkpoint", "5")
    # Entries 4… are cut and the head rewound to 3: a chain consistent in itself.
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_events WHERE seq >= 4"))
        connection.execute(
            text(
                "UPDATE audit_head SET seq = 3, entry_hash = "
                "(SELECT entry_hash FROM audit_events WHERE seq = 3)"
            )
        )
    found = shouhu("audit", "verify", "--checkpoint", str(out))
    assert found.exit_code == 2
    assert "first bad entry: 4" in found.stderr
    assert "so the log was cut after entry 3" in " ".join(found.stderr.split())
    # Without the checkpoint the cut cannot be seen.
    unseen = shouhu("audit", "verify")
    assert unseen.exit_code == 0, unseen.output


def test_an_intact_chain_matches_its_checkpoint(engine: Engine, tmp_path: Path) -> None:
    out = tmp_path / "checkpoint.json"
    assert shouhu("audit", "checkpoint", "--out", str(out)).exit_code == 0
    result = shouhu("audit", "verify", "--checkpoint", str(out))
    assert result.exit_code == 0, result.output
    assert "checkpoint       entry 5 of" in result.stdout
    assert "matches" in result.stdout


def test_a_forged_checkpoint_is_refused_as_an_error(engine: Engine, tmp_path: Path) -> None:
    out = tmp_path / "checkpoint.json"
    assert shouhu("audit", "checkpoint", "--out", str(out)).exit_code == 0
    document = json.loads(out.read_text())
    document["seq"] = 2
    out.write_text(json.dumps(document))
    before = last_event(engine).seq
    result = shouhu("audit", "verify", "--checkpoint", str(out))
    # 1, an error in the input; 2 is kept for a tampered chain.
    assert result.exit_code == 1
    assert "signature is not valid: it was forged or altered" in " ".join(result.stderr.split())
    assert last_event(engine).seq == before


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "No such file"), ("{}", "not a Shouhu audit checkpoint"), ("\xff", "not UTF-8 text")],
    ids=["missing", "empty-object", "not-json"],
)
def test_an_unreadable_checkpoint_is_an_error(
    engine: Engine, tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "checkpoint.json"
    if content is not None:
        path.write_text(content, encoding="latin-1")
    result = shouhu("audit", "verify", "--checkpoint", str(path))
    assert result.exit_code == 1
    assert message in " ".join(result.stderr.split())
    assert last_event(engine).seq == 5


def test_checkpoint_to_stdout_is_plain_signed_json(engine: Engine) -> None:
    result = shouhu("audit", "checkpoint")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["format"] == "shouhu-audit-checkpoint/1"
    assert document["seq"] == 5
    assert document["public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    checkpoint = load_checkpoint(result.stdout)  # the signature checks out
    assert checkpoint.entry_hash == document["entry_hash"]
    assert last_event(engine).action == "cli:audit:checkpoint"


def test_a_missing_head_row_is_reported_though_it_cannot_be_recorded(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_head"))
    result = shouhu("audit", "verify")
    assert result.exit_code == 2
    stderr = " ".join(result.stderr.split())
    assert "verification not recorded: the audit chain head row is missing" in stderr
    assert "TAMPERED: the chain head row is missing" in stderr
    assert last_event(engine).seq == 5
