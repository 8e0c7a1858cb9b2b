"""`shouhu keys rotate` run as an operator would, with evidence files in the data directory."""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from shouhu.cli.main import app
from shouhu.core.audit.models import AuditEvent
from shouhu.core.crypto.models import CryptoKey, KeyStatus
from shouhu.core.runtime import start
from shouhu.onestop.blobs import BlobStore
from tests.onestop.evidence_helpers import flip_bit

if TYPE_CHECKING:
    from pathlib import Path

    from click.testing import Result
    from sqlalchemy import Engine

CONTENTS = [b"", "询问笔录：王小明".encode(), secrets.token_bytes(3 << 20)]  # 3 MiB: 4 segments
# No server is running, so there is nothing to wait for before retiring the old key.
ROTATE = ["keys", "rotate", "--settle-seconds", "0"]


def shouhu(*args: str) -> Result:
    """Run `shouhu ARGS…` in this process, stdout and stderr kept apart."""
    return CliRunner().invoke(app, list(args))


def store_evidence() -> tuple[str, dict[str, bytes]]:
    """Store the files where the servers would (the data directory); (key id, sha256 → data)."""
    rt = start()
    try:
        store = BlobStore(keyring=rt.keyring)
        return rt.keyring.active_field_key_id, {
            store.put_iter([data], max_bytes=len(data)).sha256: data for data in CONTENTS
        }
    finally:
        rt.engine.dispose()


def key_status(engine: Engine, key_id: str) -> str:
    with engine.connect() as connection:
        return str(connection.scalar(select(CryptoKey.status).where(CryptoKey.id == key_id)) or "")


def evidence_phases(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(AuditEvent.outcome, AuditEvent.details)
            .where(AuditEvent.action == "cli:keys:rotate")
            .order_by(AuditEvent.seq)
        )
        return [(outcome, json.loads(details)["phase"]) for outcome, details in rows]


def read_back_with_the_current_keys(hashes: list[str]) -> tuple[str, dict[str, bytes]]:
    """A fresh start, as a restarted server: (active key id, sha256 → verified plaintext)."""
    rt = start()
    try:
        store = BlobStore(keyring=rt.keyring)
        found = {}
        for sha256 in hashes:
            assert store.key_id_of(sha256) == rt.keyring.active_field_key_id
            with store.open_verified(sha256) as blob:
                found[sha256] = b"".join(blob.chunks())
        return rt.keyring.active_field_key_id, found
    finally:
        rt.engine.dispose()


@pytest.mark.usefixtures("cli_engine")
def test_rotate_rewraps_the_evidence_and_says_so(tmp_path: Path) -> None:
    old, blobs = store_evidence()

    result = shouhu(*ROTATE)

    assert result.exit_code == 0, result.output
    new, found = read_back_with_the_current_keys(list(blobs))
    assert new != old
    assert found == blobs
    assert f"evidence files in {tmp_path / 'evidence'}: 3 re-wrapped, 0 already under {new}" in (
        result.stdout
    )
    # Progress on stderr, as for the tables.
    assert "evidence files" in result.stderr
    assert "3/3" in result.stderr


@pytest.mark.usefixtures("cli_engine")
def test_rotate_with_a_tampered_file_names_it_keeps_the_key_and_resumes_once_restored(
    cli_engine: Engine,
) -> None:
    old, blobs = store_evidence()
    victim = max(blobs)
    path = BlobStore().path_for(victim)
    intact = path.read_bytes()
    flip_bit(path, len(intact) - 1)

    result = shouhu(*ROTATE)

    assert result.exit_code == 1
    assert victim in result.stderr
    assert "[segment]" in result.stderr
    assert str(path) in result.stderr
    assert "restore an intact copy from a backup" in result.stderr
    assert "run `shouhu keys rotate` again" in result.stderr
    assert "retired:" not in result.stdout
    assert key_status(cli_engine, old) == KeyStatus.RETIRING

    path.write_bytes(intact)
    again = shouhu(*ROTATE)

    assert again.exit_code == 0, again.output
    assert "resumed an interrupted rotation" in again.stdout
    assert ": 1 re-wrapped, 2 already under" in again.stdout
    assert key_status(cli_engine, old) == KeyStatus.RETIRED
    assert read_back_with_the_current_keys(list(blobs))[1] == blobs
    assert evidence_phases(cli_engine)[-6:] == [
        ("success", "start"),
        ("failure", "evidence"),
        ("failure", "interrupted"),
        ("success", "start"),
        ("success", "evidence"),
        ("success", "complete"),
    ]
