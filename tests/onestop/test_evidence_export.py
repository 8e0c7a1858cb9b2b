"""A case's evidence exported as one signed ZIP: what it holds, that the signature and every hash
check out offline, that a damaged file or custody log stops it (409, alert, audit) before any
byte of it is sent, who may export, and that a download's verification holds no transaction.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import tracemalloc
import uuid
import zipfile
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select, update
from typer.testing import CliRunner

from shouhu.accounts.roles import Role
from shouhu.cli.main import app as shouhu_app
from shouhu.core.audit.models import AuditEvent
from shouhu.onestop import custody, evidence_export
from shouhu.onestop.blobs import BlobStore, VerifiedBlob
from shouhu.onestop.evidence_models import CustodyRecord, EvidenceAlert
from tests.factories.accounts import api_token, make_user
from tests.factories.evidence import record_item
from tests.factories.onestop import Cast, join, open_case
from tests.onestop.conftest import events_since, head
from tests.onestop.evidence_helpers import flip_bit, make_ring

if TYPE_CHECKING:
    from pathlib import Path

    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import User
    from shouhu.onestop.models import OneStopCase

CASES = "/api/v1/onestop/cases"
RECORDING = bytes(range(256)) * 9_000  # about 2.2 MiB: several segments, a short last one
REPORT = "医院的检查报告，第一页。".encode() * 500


def _auth(session: Session, user: User) -> dict[str, str]:
    token = api_token(session, user)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def _case(session: Session, cast: Cast) -> OneStopCase:
    case = open_case(session, cast.officer, cast.site)  # the officer leads it
    join(session, case, cast.forensic, "forensic")
    join(session, case, cast.prosecutor, "prosecutor")
    join(session, case, cast.support, "support")
    return case


def _store(app: FastAPI) -> BlobStore:
    return BlobStore(app.state.settings.data_dir / "evidence")


def _upload(
    client: TestClient, headers: dict[str, str], case: OneStopCase, item_id: uuid.UUID, **kw: Any
) -> dict[str, Any]:
    answer = client.put(
        f"{CASES}/{case.id}/evidence/{item_id}/file",
        params={"filename": kw["filename"]},
        content=kw["data"],
        headers={**headers, "Content-Type": kw["content_type"]},
    )
    assert answer.status_code == 200, answer.text
    file: dict[str, Any] = answer.json()["file"]
    return file


def _evidence(
    session: Session, cast: Cast, client: TestClient, case: OneStopCase
) -> dict[str, dict[str, Any]]:
    """Three items: a recording and a report with files, and clothing moved to the laboratory."""
    recording = record_item(session, cast.forensic, case)
    report = record_item(session, cast.forensic, case, kind="medical_report", examined_on_site=True)
    clothing = record_item(session, cast.forensic, case, kind="clothing")
    session.commit()
    forensic = _auth(session, cast.forensic)
    moved = client.post(
        f"{CASES}/{case.id}/evidence/{clothing.id}/custody",
        json={
            "event": "transferred",
            "reason": "送检。",
            "place": "物证室",
            "to_holder": "鉴定中心",
        },
        headers=forensic,
    )
    assert moved.status_code == 201
    return {
        "recording": _upload(
            client,
            forensic,
            case,
            recording.id,
            filename="儿童A询问录像.MP4",
            data=RECORDING,
            content_type="video/mp4",
        ),
        "report": _upload(
            client,
            forensic,
            case,
            report.id,
            filename="检查报告",  # no suffix: stored as .bin
            data=REPORT,
            content_type="application/pdf",
        ),
    }


def _public_key(client: TestClient) -> Ed25519PublicKey:
    pem = client.get("/api/v1/certificates/public-key").json()["public_key_pem"]
    key = serialization.load_pem_public_key(pem.encode())
    assert isinstance(key, Ed25519PublicKey)
    return key


def _recomputed_custody_hashes(item: dict[str, Any]) -> list[str]:
    """Every entry's hash, recomputed from the manifest alone, as an offline checker would."""
    hashes, prev = [], custody.GENESIS_HASH
    for e in item["custody"]["entries"]:
        entry = custody.CustodyEntry(
            item_id=item["id"],
            seq=e["seq"],
            event=custody.CustodyEvent(e["event"]),
            occurred_at=datetime.strptime(e["occurred_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=UTC
            ),
            actor_id=e["actor_id"],
            organisation_id=e["organisation_id"],
            place=e["place"],
            reason=e["reason"],
            from_holder=e["from_holder"],
            to_holder=e["to_holder"],
        )
        assert e["prev_hash"] == prev
        prev = custody.chain_hash(prev, entry)
        hashes.append(prev)
    return hashes


def _audit_details(session: Session, start: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(AuditEvent.details).where(AuditEvent.seq > start).order_by(AuditEvent.seq)
    )
    return [json.loads(row) for row in rows]


# --- what an export holds -----------------------------------------------------------------------


def test_the_export_holds_every_file_and_a_manifest_whose_signature_and_hashes_check_out(
    session: Session, cast: Cast, client: TestClient
) -> None:
    case = _case(session, cast)
    files = _evidence(session, cast, client, case)
    prosecutor = _auth(session, cast.prosecutor)
    start = head(session)
    with client.stream("GET", f"{CASES}/{case.id}/evidence/export", headers=prosecutor) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/zip"
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["content-disposition"].startswith("attachment;")
        body = b"".join(answer.iter_bytes())
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None  # every entry's CRC holds
    recording_name = f"files/E-1-{files['recording']['sha256'][:12]}.mp4"
    report_name = f"files/E-2-{files['report']['sha256'][:12]}.bin"
    assert archive.namelist() == [
        recording_name,
        report_name,
        "manifest.json",
        "manifest.json.sig",
        "signing-key.pem",
        "README.txt",
    ]
    assert archive.read(recording_name) == RECORDING
    assert archive.read(report_name) == REPORT
    # The signature covers the manifest's exact bytes, under the published key.
    manifest_bytes = archive.read("manifest.json")
    _public_key(client).verify(archive.read("manifest.json.sig"), manifest_bytes)
    assert (
        archive.read("signing-key.pem").decode()
        == client.get("/api/v1/certificates/public-key").json()["public_key_pem"]
    )
    manifest = json.loads(manifest_bytes)
    assert manifest["case"]["id"] == str(case.id)
    assert manifest["exported_by"]["user_id"] == str(cast.prosecutor.id)
    recording, report, clothing = manifest["items"]
    assert [i["label"] for i in manifest["items"]] == ["E-1", "E-2", "E-3"]
    assert [i["kind"] for i in manifest["items"]] == [
        "interview_recording",
        "medical_report",
        "clothing",
    ]
    assert [i["examined_on_site"] for i in manifest["items"]] == [None, True, None]
    for item, name, data in ((recording, recording_name, RECORDING), (report, report_name, REPORT)):
        assert item["file"]["path"] == name
        assert item["file"]["sha256"] == hashlib.sha256(archive.read(name)).hexdigest()
        assert item["file"]["sha256"] == hashlib.sha256(data).hexdigest()
        assert item["file"]["size"] == len(data)
    assert recording["file"]["original_name"] == "儿童A询问录像.MP4"
    assert clothing["file"] is None
    # Each custody log recomputes from the manifest alone and ends at the head.
    for item in manifest["items"]:
        hashes = _recomputed_custody_hashes(item)
        assert [e["entry_hash"] for e in item["custody"]["entries"]] == hashes
        assert item["custody"]["head"] == {"seq": len(hashes), "hash": hashes[-1]}
    assert [e["event"] for e in clothing["custody"]["entries"]] == ["collected", "transferred"]
    # One audit event: the items' numbers and hashes and the manifest's, no plaintext.
    assert events_since(session, start) == [("api:onestop:evidence_export", "onestop_case")]
    (details,) = _audit_details(session, start)
    assert details["items"] == [
        {
            "number": i["number"],
            "sha256": i["file"]["sha256"] if i["file"] else None,
            "custody_head": i["custody"]["head"]["hash"],
        }
        for i in manifest["items"]
    ]
    assert details["manifest_sha256"] == hashlib.sha256(manifest_bytes).hexdigest()
    assert "询问" not in json.dumps(details, ensure_ascii=False)


def test_an_altered_manifest_fails_its_signature(
    session: Session, cast: Cast, client: TestClient
) -> None:
    case = _case(session, cast)
    _evidence(session, cast, client, case)
    answer = client.get(f"{CASES}/{case.id}/evidence/export", headers=_auth(session, cast.officer))
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    manifest = json.loads(archive.read("manifest.json"))
    manifest["items"][0]["file"]["sha256"] = "0" * 64
    forged = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    key = _public_key(client)
    signature = archive.read("manifest.json.sig")
    key.verify(signature, archive.read("manifest.json"))
    with pytest.raises(InvalidSignature):
        key.verify(signature, forged.encode())


# --- a damaged file or log stops the export -----------------------------------------------------


def test_a_tampered_file_stops_the_export_with_409_naming_the_item_and_an_alert(
    session: Session, cast: Cast, client: TestClient, app: FastAPI
) -> None:
    case = _case(session, cast)
    files = _evidence(session, cast, client, case)
    flip_bit(_store(app).path_for(files["report"]["sha256"]), 300)
    officer = _auth(session, cast.officer)
    start = head(session)
    answer = client.get(f"{CASES}/{case.id}/evidence/export", headers=officer)
    assert answer.status_code == 409
    problem = answer.json()
    assert problem["type"].endswith("/evidence_integrity_failure")
    assert "E-2" in problem["detail"]
    assert "警报" in problem["detail"]  # the alert, in the default language
    assert b"PK" not in answer.content[:2]  # not an archive, not a byte of a file
    session.expire_all()
    assert events_since(session, start) == [
        ("api:onestop:evidence_alert", "evidence_item"),
        ("api:onestop:evidence_export", "onestop_case"),
    ]
    alert_details, export_details = _audit_details(session, start)
    assert alert_details["damage"] == "segment"
    assert export_details["number"] == 2
    (outcome,) = session.scalars(
        select(AuditEvent.outcome).where(
            AuditEvent.seq > start, AuditEvent.action == "api:onestop:evidence_export"
        )
    )
    assert outcome == "blocked"
    (alert,) = session.scalars(select(EvidenceAlert).where(EvidenceAlert.case_id == case.id))
    assert (alert.kind, alert.details["expected_sha256"]) == (
        "file_integrity",
        files["report"]["sha256"],
    )


def test_a_missing_file_stops_the_export_too(
    session: Session, cast: Cast, client: TestClient, app: FastAPI
) -> None:
    case = _case(session, cast)
    files = _evidence(session, cast, client, case)
    _store(app).path_for(files["recording"]["sha256"]).unlink()
    answer = client.get(f"{CASES}/{case.id}/evidence/export", headers=_auth(session, cast.officer))
    assert answer.status_code == 409
    assert "E-1" in answer.json()["detail"]
    session.expire_all()
    (alert,) = session.scalars(select(EvidenceAlert).where(EvidenceAlert.case_id == case.id))
    assert alert.details["damage"] == "missing"


def test_a_broken_custody_log_stops_the_export_with_an_alert(
    session: Session, cast: Cast, client: TestClient
) -> None:
    case = _case(session, cast)
    _evidence(session, cast, client, case)
    clothing = session.scalar(
        select(CustodyRecord.item_id).where(CustodyRecord.event == "transferred")
    )
    session.execute(
        update(CustodyRecord)
        .where(CustodyRecord.item_id == clothing, CustodyRecord.seq == 2)
        .values(to_holder="某人家中")
    )
    session.commit()
    prosecutor = _auth(session, cast.prosecutor)
    start = head(session)
    answer = client.get(f"{CASES}/{case.id}/evidence/export", headers=prosecutor)
    assert answer.status_code == 409
    assert "E-3" in answer.json()["detail"]
    assert answer.json()["errors"][0]["field"] == "custody"
    session.expire_all()
    assert events_since(session, start) == [
        ("api:onestop:evidence_alert", "evidence_item"),
        ("api:onestop:evidence_export", "onestop_case"),
    ]
    (alert,) = session.scalars(select(EvidenceAlert).where(EvidenceAlert.case_id == case.id))
    assert (alert.kind, alert.item_id, alert.details["breaks"]) == (
        "custody_integrity",
        clothing,
        ["hash_mismatch"],
    )


# --- who may export -----------------------------------------------------------------------------


def test_only_the_lead_and_the_prosecutor_of_the_team_export(
    session: Session, cast: Cast, client: TestClient
) -> None:
    case = _case(session, cast)
    investigator = make_user(session, roles=(Role.CASE_OFFICER,), org=cast.bureau)
    join(session, case, investigator, "investigator")
    record_item(session, cast.forensic, case)
    session.commit()
    url = f"{CASES}/{case.id}/evidence/export"
    # Outsiders: the 404 of a case that does not exist.
    for outsider in (cast.second_officer, cast.other_officer):
        assert client.get(url, headers=_auth(session, outsider)).status_code == 404
    # On the team, but not the role that hands evidence on.
    for member in (investigator, cast.forensic, cast.support):
        assert client.get(url, headers=_auth(session, member)).status_code == 403
    for exporter in (cast.officer, cast.prosecutor):
        assert client.get(url, headers=_auth(session, exporter)).status_code == 200
    missing = f"{CASES}/{uuid.uuid4()}/evidence/export"
    assert client.get(missing, headers=_auth(session, cast.officer)).status_code == 404


# --- memory -------------------------------------------------------------------------------------


def test_the_archive_streams_in_constant_memory(tmp_path: Path) -> None:
    size = 40 << 20  # 40 MiB: buffering the file, or the archive, would show at once
    store = BlobStore(tmp_path / "evidence", keyring=make_ring())
    piece = bytes(range(256)) * 4096  # 1 MiB
    stored = store.put_iter((piece for _ in range(size // len(piece))), max_bytes=size)
    file = evidence_export.ExportFile(
        item_id=uuid.uuid4(),
        number=1,
        sha256=stored.sha256,
        size=stored.size,
        path=evidence_export.archive_path(1, stored.sha256, "录像.mp4"),
        uploaded_at=datetime.now(UTC),
    )
    plan = evidence_export.ExportPlan(
        case_id=uuid.uuid4(),
        manifest={"signature": {"key_id": "test"}, "items": []},
        files=(file,),
    )
    blobs: list[VerifiedBlob] = [store.open_verified(stored.sha256)]
    archive_hash, total = hashlib.sha256(), 0
    tracemalloc.start()
    try:
        for chunk in evidence_export.zip_chunks(plan, blobs, b"s" * 64):
            archive_hash.update(chunk)
            total += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total > size
    # Two 1 MiB segments and zipfile's own copies; generous, and far below the file's size.
    assert peak < 8 << 20, f"peak {peak} bytes while streaming {size}"


# --- a download verifies with no transaction open -----------------------------------------------


@pytest.mark.parametrize("route", ["download", "export"])
def test_a_write_request_completes_while_a_file_is_being_verified(
    session: Session,
    cast: Cast,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    route: str,
) -> None:
    case = _case(session, cast)
    files = _evidence(session, cast, client, case)
    item_id = session.scalar(
        select(CustodyRecord.item_id).where(CustodyRecord.event == "transferred")
    )
    forensic = _auth(session, cast.forensic)
    reader = _auth(session, cast.prosecutor)
    recording = session.scalar(
        select(AuditEvent.object_id)
        .where(AuditEvent.action == "api:onestop:evidence_upload")
        .order_by(AuditEvent.seq)
    )
    url = {
        "download": f"{CASES}/{case.id}/evidence/{recording}/file",
        "export": f"{CASES}/{case.id}/evidence/export",
    }[route]
    verifying, release = threading.Event(), threading.Event()
    original = BlobStore.open_verified

    def held(store: BlobStore, sha256: str) -> VerifiedBlob:
        verifying.set()
        # A guard against a hang, not a timing assertion: the write below releases it.
        assert release.wait(timeout=60), "the write request never completed"
        return original(store, sha256)

    monkeypatch.setattr(BlobStore, "open_verified", held)
    result: dict[str, Any] = {}

    def fetch() -> None:
        with client.stream("GET", url, headers=reader) as answer:
            result["status"] = answer.status_code
            result["body"] = b"".join(answer.iter_bytes())

    reading = threading.Thread(target=fetch)
    reading.start()
    try:
        assert verifying.wait(timeout=60)
        # A file is being verified: a write goes through meanwhile (SQLite has one slot).
        moved = client.post(
            f"{CASES}/{case.id}/evidence/{item_id}/custody",
            json={"event": "analysed", "reason": "检验。", "place": "鉴定中心"},
            headers=forensic,
        )
        assert moved.status_code == 201
    finally:
        release.set()
        reading.join()
    assert result["status"] == 200
    if route == "export":
        archive = zipfile.ZipFile(io.BytesIO(result["body"]))
        name = f"files/E-1-{files['recording']['sha256'][:12]}.mp4"
        assert archive.read(name) == RECORDING
    else:
        assert result["body"] == RECORDING


# --- checking an export offline -----------------------------------------------------------------


def _rewritten(body: bytes, changes: dict[str, bytes]) -> bytes:
    """The archive with some entries' bytes replaced, as someone with the ZIP could do."""
    source, target = zipfile.ZipFile(io.BytesIO(body)), io.BytesIO()
    with zipfile.ZipFile(target, "w") as out:
        for name in source.namelist():
            out.writestr(name, changes.get(name, source.read(name)))
    return target.getvalue()


def test_shouhu_evidence_verify_export_checks_signature_files_and_custody_offline(
    session: Session, cast: Cast, client: TestClient, tmp_path: Path
) -> None:
    case = _case(session, cast)
    files = _evidence(session, cast, client, case)
    body = client.get(
        f"{CASES}/{case.id}/evidence/export", headers=_auth(session, cast.officer)
    ).content
    key = tmp_path / "signing-key.pem"
    key.write_text(client.get("/api/v1/certificates/public-key").json()["public_key_pem"])
    genuine = tmp_path / "export.zip"
    genuine.write_bytes(body)
    checked = CliRunner().invoke(
        shouhu_app, ["evidence", "verify-export", str(genuine), "--public-key", str(key)]
    )
    assert checked.exit_code == 0, checked.output
    assert "check out" in checked.stdout
    # The endpoint's answer saved as it is will do too; a file that is no key is named as such.
    answer = tmp_path / "public-key.json"
    answer.write_text(client.get("/api/v1/certificates/public-key").text)
    as_saved = CliRunner().invoke(
        shouhu_app, ["evidence", "verify-export", str(genuine), "--public-key", str(answer)]
    )
    assert as_saved.exit_code == 0, as_saved.output
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key")
    refused = CliRunner().invoke(
        shouhu_app, ["evidence", "verify-export", str(genuine), "--public-key", str(junk)]
    )
    assert refused.exit_code == 1
    assert "not a public key" in refused.output

    # A file swapped inside the archive, the manifest untouched: its hash gives it away.
    recording = f"files/E-1-{files['recording']['sha256'][:12]}.mp4"
    swapped = tmp_path / "swapped.zip"
    swapped.write_bytes(_rewritten(body, {recording: b"another recording"}))
    # The manifest edited to match a swapped file: the signature gives it away.
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(body)).read("manifest.json"))
    manifest["items"][0]["custody"]["entries"][0]["reason"] = "改写的理由"
    edited = tmp_path / "edited.zip"
    edited.write_bytes(
        _rewritten(body, {"manifest.json": json.dumps(manifest, ensure_ascii=False).encode()})
    )
    for archive, problem in (
        (swapped, "E-1: " + recording + " does not match"),
        (edited, "signature does not verify"),
    ):
        refused = CliRunner().invoke(
            shouhu_app, ["evidence", "verify-export", str(archive), "--public-key", str(key)]
        )
        assert refused.exit_code == 1
        assert problem in refused.output
