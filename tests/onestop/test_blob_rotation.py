"""A field-key rotation re-wraps every evidence file before the old key goes (DESIGN §4)."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import shutil
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from shouhu.core.audit.models import AuditEvent
from shouhu.core.crypto import keyring as keyring_module
from shouhu.core.crypto.keyring import install_keyring
from shouhu.core.crypto.models import CryptoKey, KeyStatus
from shouhu.core.crypto.rotation import (
    RotationError,
    RotationProgress,
    RotationReport,
    rotate_field_key,
)
from shouhu.core.principal import system_principal
from shouhu.onestop.blob_rotation import (
    PROGRESS_LABEL,
    EvidenceRewrap,
    EvidenceRotationBlockedError,
)
from shouhu.onestop.blobs import HEADER_BYTES, BlobStore, Damage, TamperedBlobError
from tests.conftest import TEST_MASTER_KEY
from tests.onestop.evidence_helpers import flip_bit, make_ring

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from sqlalchemy.orm import Session, sessionmaker

    from shouhu.core.crypto.keyring import Keyring

ACTOR = system_principal()
SMALL = 64  # many segments in a few hundred bytes
# Empty, one short segment, exactly one segment, several with a short last one; one names a child.
CONTENTS = [
    b"",
    "询问笔录：王小明，2026年".encode(),
    secrets.token_bytes(SMALL),
    secrets.token_bytes(5 * SMALL + 10),
    secrets.token_bytes(3 * SMALL),
]


class RotationStoppedError(Exception):
    """Raised by a progress callback to stop a rotation half-way."""


@pytest.fixture(autouse=True)
def restore_suite_keyring(keyring: Keyring) -> Iterator[None]:
    # A rotation installs its new keyring process-wide; later tests expect the suite's.
    yield
    install_keyring(keyring)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "evidence"


@pytest.fixture
def blobs(root: Path, keyring: Keyring) -> dict[str, bytes]:
    """Evidence files stored under the suite's active field key: sha256 → plaintext."""
    store = BlobStore(root, keyring=keyring, segment_size=SMALL)
    return {store.put_iter([data], max_bytes=len(data)).sha256: data for data in CONTENTS}


def rotate(
    session_factory: sessionmaker[Session],
    root: Path,
    progress: Callable[[RotationProgress], None] | None = None,
) -> tuple[RotationReport, EvidenceRewrap]:
    step = EvidenceRewrap(root)
    report = rotate_field_key(
        session_factory,
        TEST_MASTER_KEY,
        actor=ACTOR,
        progress=progress,
        before_retiring=[step],
    )
    return report, step


def key_ids(root: Path, hashes: Iterator[str] | list[str]) -> dict[str, str]:
    store = BlobStore(root, keyring=make_ring())
    return {sha256: store.key_id_of(sha256) for sha256 in hashes}


def read_back(root: Path, sha256: str) -> bytes:
    """The plaintext, read through the process's keyring (as a server would)."""
    with BlobStore(root).open_verified(sha256) as blob:
        return b"".join(blob.chunks())


def key_status(session_factory: sessionmaker[Session], key_id: str) -> str:
    with session_factory() as session:
        row = session.get(CryptoKey, key_id)
        assert row is not None
        return row.status


def last_seq(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return int(session.scalar(select(func.max(AuditEvent.seq))) or 0)


def events(session_factory: sessionmaker[Session], after: int) -> list[tuple[str, str, Any]]:
    """The audit events since `after`: (outcome, phase, details)."""
    with session_factory() as session:
        found = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq)
        )
        return [(e.outcome, json.loads(e.details)["phase"], json.loads(e.details)) for e in found]


def phases(session_factory: sessionmaker[Session], after: int) -> list[tuple[str, str]]:
    return [(outcome, phase) for outcome, phase, _ in events(session_factory, after)]


def audit_text(session_factory: sessionmaker[Session], after: int) -> str:
    with session_factory() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.seq > after))
        return "\n".join(f"{e.object_id} {e.details}" for e in rows)


def test_rotation_rewraps_every_blob_and_each_reads_back_identical(
    session_factory: sessionmaker[Session], keyring: Keyring, root: Path, blobs: dict[str, bytes]
) -> None:
    old = keyring.active_field_key_id
    segments_before = {
        sha256: BlobStore(root, keyring=keyring).path_for(sha256).read_bytes()[HEADER_BYTES:]
        for sha256 in blobs
    }
    before = last_seq(session_factory)
    seen: list[RotationProgress] = []

    report, step = rotate(session_factory, root, seen.append)

    new = report.new_key_id
    assert report.completed
    assert key_ids(root, list(blobs)) == dict.fromkeys(blobs, new)
    # Read with the new keyring alone: the old key is gone from it and retired.
    assert old not in keyring_module.current_keyring().field_keys
    assert key_status(session_factory, old) == KeyStatus.RETIRED
    for sha256, data in blobs.items():
        assert read_back(root, sha256) == data
        assert hashlib.sha256(read_back(root, sha256)).hexdigest() == sha256
        assert BlobStore(root).verify(sha256)
        # Only the header changed: the GB of segments were copied, not re-encrypted.
        stored = BlobStore(root).path_for(sha256).read_bytes()
        assert stored[HEADER_BYTES:] == segments_before[sha256]
    assert not any((root / "tmp").iterdir())

    assert (step.report.total, step.report.rewrapped, step.report.current) == (5, 5, 0)
    progress = [(p.scanned, p.total, p.re_encrypted) for p in seen if p.table == PROGRESS_LABEL]
    assert progress == [(n, 5, n) for n in range(6)]
    assert phases(session_factory, before) == [
        ("success", "start"),
        ("success", "evidence"),
        ("success", "complete"),
    ]
    evidence_details = events(session_factory, before)[1][2]
    assert evidence_details == {
        "phase": "evidence",
        "active": new,
        "retiring": [old],
        "resumed": False,
        "store": "present",
        "blobs": 5,
        "rewrapped": 5,
        "already_current": 0,
        "removed": 0,
        "damaged": 0,
        "damage": {},
    }
    # Counts only: no file's address (the hash of its content) reaches the audit log.
    recorded = audit_text(session_factory, before)
    assert not any(sha256 in recorded for sha256 in blobs)


def test_the_old_key_alone_can_no_longer_open_a_rewrapped_blob(
    session_factory: sessionmaker[Session], keyring: Keyring, root: Path, blobs: dict[str, bytes]
) -> None:
    rotate(session_factory, root)
    stale = BlobStore(root, keyring=keyring)
    for sha256 in blobs:
        assert isinstance(stale.check(sha256), TamperedBlobError)


def test_a_rotation_stopped_half_way_through_the_blobs_resumes_and_finishes(
    session_factory: sessionmaker[Session], keyring: Keyring, root: Path, blobs: dict[str, bytes]
) -> None:
    old = keyring.active_field_key_id
    before = last_seq(session_factory)

    def stop_after_two(event: RotationProgress) -> None:
        if event.table == PROGRESS_LABEL and event.scanned == 2:
            raise RotationStoppedError

    with pytest.raises(RotationStoppedError):
        rotate(session_factory, root, stop_after_two)

    # Half-way: two files under the new key, three under the old, all readable, old key kept.
    new = keyring_module.current_keyring().active_field_key_id
    halfway = key_ids(root, sorted(blobs))
    assert list(halfway.values()) == [new, new, old, old, old]
    assert key_status(session_factory, old) == KeyStatus.RETIRING
    assert all(read_back(root, sha256) == data for sha256, data in blobs.items())

    report, step = rotate(session_factory, root)

    assert report.resumed
    assert report.completed
    assert report.new_key_id == new
    assert (step.report.rewrapped, step.report.current) == (3, 2)
    assert key_ids(root, list(blobs)) == dict.fromkeys(blobs, new)
    assert key_status(session_factory, old) == KeyStatus.RETIRED
    assert all(read_back(root, sha256) == data for sha256, data in blobs.items())
    recorded = events(session_factory, before)
    assert [(outcome, phase) for outcome, phase, _ in recorded] == [
        ("success", "start"),
        ("failure", "evidence"),
        ("failure", "interrupted"),
        ("success", "start"),
        ("success", "evidence"),
        ("success", "complete"),
    ]
    stopped = recorded[1][2]
    assert (stopped["rewrapped"], stopped["error"]) == (2, "RotationStoppedError")
    resumed = recorded[4][2]
    assert (resumed["resumed"], resumed["rewrapped"], resumed["already_current"]) == (True, 3, 2)


def test_a_disk_failure_during_a_rewrap_stops_the_rotation_and_a_rerun_finishes(
    session_factory: sessionmaker[Session],
    keyring: Keyring,
    root: Path,
    blobs: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old = keyring.active_field_key_id
    real_fsync = os.fsync
    calls = {"n": 0}

    def fsync(fd: int) -> None:
        # The third re-wrap's temp file cannot be written to disk.
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(RotationError, match="No space left on device"):
        rotate(session_factory, root)
    monkeypatch.setattr(os, "fsync", real_fsync)

    assert key_status(session_factory, old) == KeyStatus.RETIRING
    assert not any((root / "tmp").iterdir()), "the half-written temp file is removed"
    assert all(read_back(root, sha256) == data for sha256, data in blobs.items())

    report, step = rotate(session_factory, root)
    assert report.completed
    assert step.report.rewrapped + step.report.current == len(blobs)
    assert key_ids(root, list(blobs)) == dict.fromkeys(blobs, report.new_key_id)
    assert all(read_back(root, sha256) == data for sha256, data in blobs.items())


def _tamper(kind: str, store: BlobStore, victim: str, other: str) -> None:
    path = store.path_for(victim)
    size = path.stat().st_size
    if kind == "segment":
        flip_bit(path, size - 1)
    elif kind == "key_wrap":
        flip_bit(path, HEADER_BYTES - 1)
    elif kind == "truncated":
        with path.open("r+b") as handle:
            handle.truncate(size - 5)
    elif kind == "appended":
        with path.open("ab") as handle:
            handle.write(b"\x00")
    elif kind == "not_a_blob":
        flip_bit(path, 0)
    elif kind == "wrong_address":
        shutil.copyfile(store.path_for(other), path)
    elif kind == "key_unavailable":
        foreign = BlobStore(store.root.parent / "elsewhere", keyring=make_ring("field-elsewhere"))
        copy = foreign.put_iter([b"x"], max_bytes=1)
        raw = bytearray(path.read_bytes())
        # Another installation's key id in the header (the wrap no longer matches it either).
        raw[60:93] = copy.path.read_bytes()[60:93]
        path.write_bytes(bytes(raw))
    else:  # pragma: no cover - the parametrisation names every kind
        raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "segment",
        "key_wrap",
        "truncated",
        "appended",
        "not_a_blob",
        "wrong_address",
        "key_unavailable",
    ],
)
def test_a_tampered_blob_is_not_rewrapped_and_keeps_the_old_key(
    session_factory: sessionmaker[Session],
    keyring: Keyring,
    root: Path,
    blobs: dict[str, bytes],
    kind: str,
) -> None:
    old = keyring.active_field_key_id
    store = BlobStore(root, keyring=keyring)
    victim, other = sorted(blobs)[3], min(blobs)
    intact = store.path_for(victim).read_bytes()
    _tamper(kind, store, victim, other)
    damaged = store.path_for(victim).read_bytes()
    before = last_seq(session_factory)

    with pytest.raises(EvidenceRotationBlockedError) as caught:
        rotate(session_factory, root)

    # The error names the file by its hash, says what is wrong and what to do.
    message = str(caught.value)
    assert victim in message
    assert f"[{kind}]" in message
    assert "restore an intact copy from a backup" in message
    assert "run `shouhu keys rotate` again" in message
    assert [p.expected for p in caught.value.damaged] == [victim]
    assert caught.value.damaged[0].damage is Damage(kind)
    # Not re-wrapped, not moved, not "repaired": left exactly as found, for examination.
    assert store.path_for(victim).read_bytes() == damaged
    # The rest were re-wrapped; the old key is kept, so every intact file stays readable.
    new = keyring_module.current_keyring().active_field_key_id
    assert key_status(session_factory, old) == KeyStatus.RETIRING
    assert old in keyring_module.current_keyring().field_keys
    for sha256, data in blobs.items():
        if sha256 != victim:
            assert BlobStore(root).key_id_of(sha256) == new
            assert read_back(root, sha256) == data
    recorded = events(session_factory, before)
    assert [(outcome, phase) for outcome, phase, _ in recorded] == [
        ("success", "start"),
        ("failure", "evidence"),
        ("failure", "interrupted"),
    ]
    assert recorded[1][2]["damaged"] == 1
    assert recorded[1][2]["damage"] == {kind: 1}
    assert recorded[2][2]["error"] == "EvidenceRotationBlockedError"
    assert victim not in audit_text(session_factory, before)

    # Once an intact copy is back in place (from a backup), a rerun finishes the rotation.
    store.path_for(victim).write_bytes(intact)
    report, step = rotate(session_factory, root)
    assert report.completed
    assert (step.report.rewrapped, step.report.current) == (1, len(blobs) - 1)
    assert key_status(session_factory, old) == KeyStatus.RETIRED
    assert all(read_back(root, sha256) == data for sha256, data in blobs.items())


def test_every_tampered_blob_is_named_not_only_the_first(
    session_factory: sessionmaker[Session], keyring: Keyring, root: Path, blobs: dict[str, bytes]
) -> None:
    store = BlobStore(root, keyring=keyring)
    victims = sorted(blobs)[1::2]
    for sha256 in victims:
        flip_bit(store.path_for(sha256), store.path_for(sha256).stat().st_size - 1)
    with pytest.raises(EvidenceRotationBlockedError) as caught:
        rotate(session_factory, root)
    assert [p.expected for p in caught.value.damaged] == victims
    assert all(sha256 in str(caught.value) for sha256 in victims)


def test_a_blob_deleted_during_the_rotation_is_counted_not_blamed(
    session_factory: sessionmaker[Session], keyring: Keyring, root: Path, blobs: dict[str, bytes]
) -> None:
    last = max(blobs)

    def delete_the_last_one(event: RotationProgress) -> None:
        # The case code removes a file no item refers to any more, while the walk is on.
        if event.table == PROGRESS_LABEL and event.scanned == 1:
            BlobStore(root, keyring=keyring).remove(last)

    report, step = rotate(session_factory, root, delete_the_last_one)
    assert report.completed
    assert (step.report.rewrapped, step.report.removed) == (len(blobs) - 1, 1)
    assert not BlobStore(root).exists(last)


def test_no_evidence_store_means_nothing_to_do(
    session_factory: sessionmaker[Session], root: Path
) -> None:
    before = last_seq(session_factory)
    report, step = rotate(session_factory, root)
    assert report.completed
    assert not step.report.present
    assert not root.exists(), "the rotation does not create the store"
    details = events(session_factory, before)[1][2]
    assert (details["store"], details["blobs"]) == ("absent", 0)


def test_an_unreadable_store_stops_the_rotation_before_the_old_key_is_retired(
    session_factory: sessionmaker[Session],
    keyring: Keyring,
    root: Path,
    blobs: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Run as a user who cannot read the store, it must not look empty (root ignores modes).
    assert blobs
    unreadable = str(root / "sha256")
    real_scandir = os.scandir

    def scandir(path: str | os.PathLike[str]) -> Any:
        if os.fspath(path) == unreadable:
            raise PermissionError(errno.EACCES, "Permission denied", unreadable)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(RotationError, match="Permission denied"):
        EvidenceRewrap(root).check()
    with pytest.raises(RotationError, match="Permission denied"):
        rotate(session_factory, root)
    assert key_status(session_factory, keyring.active_field_key_id) == KeyStatus.RETIRING
