"""A case's evidence exported as one signed, streamed ZIP for the procuratorate and the court.

Issue 6: every file is re-verified on export, and a mismatch blocks it and raises an alert.
The archive holds each item's file (`files/E-<n>-<sha256 prefix>.<ext>`), a `manifest.json`
(the case, each item's number, kind, hash, size, collection time and its whole custody log
with the hashes and the head) and `manifest.json.sig`, a detached Ed25519 signature over the
manifest's exact bytes under the installation's signing key (the one that signs inquiry
certificates, published at /api/v1/certificates/public-key), so anyone can check it offline.

Three steps, so no transaction is open while GBs are read (evidence_web.export_case):
`plan_export` checks access and the custody logs and reads what the archive needs (short
transaction); `verify_files` verifies every file in full (no transaction); `record_export`
or `block_export` writes the audit event, or the alert (second short transaction). The ZIP
then streams in constant memory (`zip_chunks`) from the files verified, each segment
authenticated again as it is read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import uuid
import zipfile
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shouhu.accounts.policies import require
from shouhu.accounts.roles import Permission
from shouhu.core.audit.chain import record as audit_record
from shouhu.core.crypto.keyring import current_keyring
from shouhu.core.crypto.signing import canonical_json, public_key_pem
from shouhu.core.database import utcnow
from shouhu.core.errors import ConflictError, ForbiddenError
from shouhu.core.i18n import N_
from shouhu.core.principal import Principal
from shouhu.onestop import custody, custody_log
from shouhu.onestop.blobs import TamperedBlobError, VerifiedBlob
from shouhu.onestop.evidence import ACTION_ALERT, get_item, items_of, raise_alert
from shouhu.onestop.evidence_models import AlertKind, EvidenceAlert, EvidenceItem
from shouhu.onestop.models import CaseRole
from shouhu.onestop.repository import get_case, membership

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shouhu.onestop.blobs import BlobStore

ACTION_EXPORT: Final = "onestop:evidence_export"
FORMAT: Final = "shouhu-evidence-export-v1"
MANIFEST_NAME: Final = "manifest.json"
SIGNATURE_NAME: Final = "manifest.json.sig"
PUBLIC_KEY_NAME: Final = "signing-key.pem"
README_NAME: Final = "README.txt"
# Who hands the case file on: the lead officer (to the procuratorate) and the prosecutor (to
# the court). Investigators and forensic examiners handle evidence but do not release it.
EXPORTERS: Final = frozenset({CaseRole.LEAD_OFFICER, CaseRole.PROSECUTOR})
_SUFFIX: Final = re.compile(r"\.([A-Za-z0-9]{1,10})$")
# zipfile's dates start in 1980; a file's entry carries its upload time, in UTC.
_ZIP_EPOCH: Final = (1980, 1, 1, 0, 0, 0)

FILE_BLOCKED_MESSAGE: Final = N_(
    "The export was stopped: the file of item E-{number} failed its integrity check, so it is "
    "not the file that was stored. Nothing was exported and an alert was raised on the case. "
    "Call the case's lead officer and the site's evidence custodian, who hold the original."
)
CUSTODY_BLOCKED_MESSAGE: Final = N_(
    "The export was stopped: the custody log of item E-{number} has been altered. Nothing was "
    "exported and an alert was raised on the case. Compare the log with the audit trail "
    "before anything is handed on."
)

_README: Final = """\
Evidence export of a Shouhu one-stop case ({format}).

files/              each evidence item's file, named E-<number>-<first 12 hex digits of its
                    SHA-256>.<extension>; the manifest says which item each one is
manifest.json       the case, every item (number, kind, SHA-256, size, collection time) and its
                    custody log with every entry's hash and the head
manifest.json.sig   a detached Ed25519 signature over the exact bytes of manifest.json
signing-key.pem     the public key it was made with, for convenience only: compare it with the
                    key published by the installation (GET /api/v1/certificates/public-key,
                    key id {key_id}) before trusting it

To check offline (OpenSSL 3):
  openssl pkeyutl -verify -pubin -inkey signing-key.pem -rawin \\
      -in manifest.json -sigfile manifest.json.sig
  sha256sum files/*     (each must equal the manifest's "sha256" of its item)
"""


class EvidenceExportBlockedError(ConflictError):
    """An export refused: a file or a custody log failed its check (the alert is kept)."""

    code = "evidence_integrity_failure"


@dataclass(frozen=True)
class ExportFile:
    """One item's file as the archive holds it."""

    item_id: uuid.UUID
    number: int
    sha256: str
    size: int
    path: str  # its name inside the archive
    uploaded_at: datetime


@dataclass(frozen=True)
class ExportPlan:
    """What an export holds, read in one short transaction: the manifest and the files."""

    case_id: uuid.UUID
    manifest: dict[str, Any]
    files: tuple[ExportFile, ...]

    @property
    def manifest_bytes(self) -> bytes:
        """The manifest as stored in the archive: the canonical JSON the signature covers."""
        return canonical_json(self.manifest)


def archive_path(number: int, sha256: str, original_name: str | None) -> str:
    """`files/E-3-<12 hex>.mp4`: the item and its hash, never the sealed original name.

    The suffix comes from the original name when it is a plain one (letters and digits), so
    the court's viewer opens the file; otherwise `.bin`.
    """
    match = _SUFFIX.search(original_name or "")
    suffix = match.group(1).lower() if match else "bin"
    return f"files/E-{number}-{sha256[:12]}.{suffix}"


def _entry_out(link: custody.ChainedEntry) -> dict[str, Any]:
    entry = link.entry
    return {
        "seq": entry.seq,
        "event": str(entry.event),
        # The canonical time the hash covers (custody.utc_timestamp), so a reader can
        # recompute every hash from the manifest alone (docs/evidence-storage.md).
        "occurred_at": custody.utc_timestamp(entry.occurred_at),
        "actor_id": entry.actor_id,
        "organisation_id": entry.organisation_id,
        "place": entry.place,
        "reason": entry.reason,
        "from_holder": entry.from_holder,
        "to_holder": entry.to_holder,
        "prev_hash": link.prev_hash,
        "entry_hash": link.entry_hash,
    }


def _require_exporter(session: Session, actor: Principal, case_id: uuid.UUID) -> None:
    member = membership(session, case_id, actor.user_id)
    if member is None or CaseRole(member.role) not in EXPORTERS:
        raise ForbiddenError(
            "Only the case's lead officer and its prosecutor export the case's evidence."
        )


def _item_out(
    session: Session, item: EvidenceItem, file: ExportFile | None
) -> tuple[dict[str, Any], list[custody.Break]]:
    links = [custody_log.chained(row) for row in custody_log.records(session, item)]
    breaks = custody.verify_chain(
        links, item_id=str(item.id), head=custody.Head(item.custody_seq, item.custody_head)
    )
    out: dict[str, Any] = {
        "id": str(item.id),
        "number": item.number,
        "label": f"E-{item.number}",
        "kind": item.kind,
        # A medical report says whether the child was examined at the site; None otherwise.
        "examined_on_site": item.examined_on_site,
        "collected_at": custody.utc_timestamp(item.collected_at),
        "file": None,
        "custody": {
            "head": {"seq": item.custody_seq, "hash": item.custody_head},
            "entries": [_entry_out(link) for link in links],
        },
    }
    if file is not None:
        out["file"] = {
            "path": file.path,
            "sha256": file.sha256,
            "size": file.size,
            "content_type": item.file_content_type,
            # The name the officer uploaded it under: the case file and its transcripts refer
            # to it, and the court receiving the export is entitled to it. It stays out of the
            # archive's entry names, which every courier and mail gateway can list.
            "original_name": item.file_name,
            "uploaded_at": custody.utc_timestamp(file.uploaded_at),
        }
    return out, breaks


def plan_export(session: Session, *, actor: Principal, case_id: uuid.UUID) -> ExportPlan:
    """Check access, verify every custody log, and read what the archive will hold.

    A broken custody log blocks the export here: the alert and the blocked export are
    recorded and EvidenceExportBlockedError asks the unit of work to commit them.
    """
    require(actor, Permission.ONESTOP_EVIDENCE_EXPORT)
    case = get_case(session, actor, case_id)
    _require_exporter(session, actor, case.id)
    items_out: list[dict[str, Any]] = []
    files: list[ExportFile] = []
    for item in items_of(session, case.id):
        file = None
        if item.file_sha256 is not None and item.file_uploaded_at is not None:
            file = ExportFile(
                item_id=item.id,
                number=item.number,
                sha256=item.file_sha256,
                size=item.file_size or 0,
                path=archive_path(item.number, item.file_sha256, item.file_name),
                uploaded_at=item.file_uploaded_at,
            )
            files.append(file)
        out, breaks = _item_out(session, item, file)
        if breaks:
            raise _block_custody(session, actor, item, breaks)
        items_out.append(out)
    keyring = current_keyring()
    manifest = {
        "format": FORMAT,
        "case": {
            "id": str(case.id),
            "jurisdiction": case.jurisdiction,
            "offence": case.offence,
            "received_at": custody.utc_timestamp(case.received_at),
        },
        "exported_at": custody.utc_timestamp(utcnow()),
        "exported_by": {
            "user_id": str(actor.user_id),
            "organisation_id": str(actor.organisation_id),
        },
        "signature": {"algorithm": "Ed25519", "key_id": keyring.signing_key_id},
        "items": items_out,
    }
    return ExportPlan(case_id=case.id, manifest=manifest, files=tuple(files))


def _block_custody(
    session: Session, actor: Principal, item: EvidenceItem, breaks: Sequence[custody.Break]
) -> EvidenceExportBlockedError:
    details = {
        "breaks": [b.reason.value for b in breaks],
        "seq": breaks[0].seq,
        "head_seq": item.custody_seq,
    }
    alert = EvidenceAlert(
        case_id=item.case_id,
        item_id=item.id,
        kind=AlertKind.CUSTODY_INTEGRITY.value,
        details=details,
        raised_at=utcnow(),
        raised_by_id=actor.user_id,
    )
    alert.ensure_id()
    session.add(alert)
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_ALERT,
        outcome="failure",
        object_type="evidence_item",
        object_id=item.id,
        details={"alert_id": str(alert.id), "kind": alert.kind, **details},
    )
    _record_blocked(session, actor, item, alert)
    return EvidenceExportBlockedError(
        CUSTODY_BLOCKED_MESSAGE, field="custody", persist=True, number=item.number
    )


def _record_blocked(
    session: Session, actor: Principal, item: EvidenceItem, alert: EvidenceAlert
) -> None:
    audit_record(
        session,
        actor=actor,
        action=ACTION_EXPORT,
        outcome="blocked",
        object_type="onestop_case",
        object_id=item.case_id,
        details={"number": item.number, "alert_id": str(alert.id)},
    )


@dataclass(frozen=True)
class FileFailure:
    """The first file of an export that failed verification."""

    file: ExportFile
    error: TamperedBlobError


def verify_files(
    plan: ExportPlan, store: BlobStore
) -> tuple[list[VerifiedBlob], FileFailure | None]:
    """Open and fully verify every file of the plan, in item order; stop at the first failure.

    Each file stays open, so the archive streams from the very file that was verified (a file
    renamed over it meanwhile changes nothing). On a failure every file opened is closed.
    """
    opened: list[VerifiedBlob] = []
    for file in plan.files:
        try:
            opened.append(store.open_verified(file.sha256))
        except TamperedBlobError as error:
            close_all(opened)
            return [], FileFailure(file, error)
        except BaseException:
            close_all(opened)
            raise
    return opened, None


def close_all(blobs: Iterable[VerifiedBlob]) -> None:
    """Close every opened file (idempotent)."""
    for blob in blobs:
        blob.close()


def block_export(
    session: Session, *, actor: Principal, case_id: uuid.UUID, failure: FileFailure
) -> EvidenceExportBlockedError:
    """Raise the alert for the damaged file and record the blocked export; return the error."""
    item = get_item(session, actor, case_id, failure.file.item_id)
    alert = raise_alert(session, actor=actor, item=item, error=failure.error)
    _record_blocked(session, actor, item, alert)
    return EvidenceExportBlockedError(
        FILE_BLOCKED_MESSAGE, field="file", persist=True, number=item.number
    )


def record_export(
    session: Session, *, actor: Principal, plan: ExportPlan, signature: bytes
) -> None:
    """Audit the export: every item's number and hashes, and the signed manifest's SHA-256.

    Access is checked again: a member removed while the files were verified gets nothing.
    """
    require(actor, Permission.ONESTOP_EVIDENCE_EXPORT)
    case = get_case(session, actor, plan.case_id)
    _require_exporter(session, actor, case.id)
    items = [
        {
            "number": item["number"],
            "sha256": item["file"]["sha256"] if item["file"] else None,
            "custody_head": item["custody"]["head"]["hash"],
        }
        for item in plan.manifest["items"]
    ]
    audit_record(
        session,
        actor=actor,
        action=ACTION_EXPORT,
        object_type="onestop_case",
        object_id=case.id,
        details={
            "items": items,
            "manifest_sha256": hashlib.sha256(plan.manifest_bytes).hexdigest(),
            "signature_key_id": plan.manifest["signature"]["key_id"],
            "signature_sha256": hashlib.sha256(signature).hexdigest(),
        },
    )


def sign_manifest(plan: ExportPlan) -> bytes:
    """The raw 64-byte Ed25519 signature over the manifest's bytes (OpenSSL reads it as is)."""
    return current_keyring().signing_key.sign(plan.manifest_bytes)


class _Sink:
    """A write-only file for zipfile; what it is given is taken out piece by piece."""

    def __init__(self) -> None:
        self.pieces: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.pieces.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered here."""

    def close(self) -> None:
        """Nothing to release."""

    def take(self) -> Iterator[bytes]:
        pieces, self.pieces = self.pieces, []
        yield from (piece for piece in pieces if piece)


def _date_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    stamp = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    return max(stamp, _ZIP_EPOCH)


def zip_chunks(
    plan: ExportPlan, blobs: Sequence[VerifiedBlob], signature: bytes
) -> Generator[bytes, None, None]:
    """The archive, piece by piece, in constant memory: about one 1 MiB segment at a time.

    zipfile writes to an unseekable sink, so each entry is followed by a data descriptor
    (sizes and CRC after the data) and takes ZIP64 fields when it may pass 4 GiB. Files are
    stored, not compressed: recordings and photos are compressed already, and deflating GBs
    would cost more than it saves. Each file's segments are authenticated again as they are
    read (VerifiedBlob.chunks): a file changed in place after its verification stops the
    stream there, and the archive is left without its central directory (unreadable).
    The blobs are closed however the stream ends.
    """
    sink = _Sink()
    try:
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
            for file, blob in zip(plan.files, blobs, strict=True):
                info = zipfile.ZipInfo(file.path, _date_time(file.uploaded_at))
                info.compress_type = zipfile.ZIP_STORED
                info.file_size = file.size
                with archive.open(info, "w") as out:
                    for chunk in blob.chunks():
                        out.write(chunk)
                        yield from sink.take()
                yield from sink.take()
            stamp = _date_time(utcnow())
            for name, data in (
                (MANIFEST_NAME, plan.manifest_bytes),
                (SIGNATURE_NAME, signature),
                (PUBLIC_KEY_NAME, public_key_pem().encode()),
                (
                    README_NAME,
                    _README.format(
                        format=FORMAT, key_id=plan.manifest["signature"]["key_id"]
                    ).encode(),
                ),
            ):
                archive.writestr(zipfile.ZipInfo(name, stamp), data)
                yield from sink.take()
        yield from sink.take()
    finally:
        with contextlib.suppress(Exception):
            close_all(blobs)


# --- checking an archive offline ----------------------------------------------------------------


def _custody_problems(item: dict[str, Any]) -> list[str]:
    """Recompute the item's custody chain from the manifest alone; what does not match."""
    label = item.get("label", "?")
    links: list[custody.ChainedEntry] = []
    try:
        for raw in item["custody"]["entries"]:
            entry = custody.CustodyEntry(
                item_id=item["id"],
                seq=raw["seq"],
                event=custody.CustodyEvent(raw["event"]),
                occurred_at=datetime.fromisoformat(raw["occurred_at"]),
                actor_id=raw["actor_id"],
                organisation_id=raw["organisation_id"],
                place=raw["place"],
                reason=raw["reason"],
                from_holder=raw["from_holder"],
                to_holder=raw["to_holder"],
            )
            links.append(custody.ChainedEntry(entry, raw["prev_hash"], raw["entry_hash"]))
        head = custody.Head(item["custody"]["head"]["seq"], item["custody"]["head"]["hash"])
    except (KeyError, TypeError, ValueError) as exc:
        return [f"{label}: the custody log is malformed ({type(exc).__name__})"]
    breaks = custody.verify_chain(links, item_id=item["id"], head=head)
    return [f"{label}: custody entry {b.seq}: {b.reason.value}" for b in breaks]


def _file_problem(archive: zipfile.ZipFile, item: dict[str, Any]) -> str | None:
    """Hash the item's file in the archive (streamed) against the manifest."""
    file, label = item["file"], item.get("label", "?")
    try:
        hasher, size = hashlib.sha256(), 0
        with archive.open(file["path"]) as member:
            while chunk := member.read(1 << 20):
                hasher.update(chunk)
                size += len(chunk)
    except KeyError:
        return f"{label}: {file['path']} is missing from the archive"
    except zipfile.BadZipFile:
        return f"{label}: {file['path']} is damaged in the archive"
    if hasher.hexdigest() != file["sha256"] or size != file["size"]:
        return f"{label}: {file['path']} does not match its SHA-256 in the manifest"
    return None


def check_archive(archive: zipfile.ZipFile, public_key_pem: str) -> list[str]:
    """Everything wrong with an export, checked offline: signature, file hashes, custody logs.

    The key must come from the installation (GET /api/v1/certificates/public-key), not from
    the archive: a forger who rewrote the manifest would sign it with a key of their own.
    """
    public = serialization.load_pem_public_key(public_key_pem.encode())
    if not isinstance(public, Ed25519PublicKey):
        return ["the public key is not an Ed25519 key"]
    try:
        manifest_bytes = archive.read(MANIFEST_NAME)
        signature = archive.read(SIGNATURE_NAME)
    except KeyError:
        return ["the archive has no manifest or no signature"]
    try:
        public.verify(signature, manifest_bytes)
    except InvalidSignature:
        return ["the manifest's signature does not verify under this key"]
    manifest = json.loads(manifest_bytes)
    problems: list[str] = []
    listed = {item["file"]["path"] for item in manifest["items"] if item["file"]}
    for item in manifest["items"]:
        if item["file"] is not None and (problem := _file_problem(archive, item)):
            problems.append(problem)
        problems.extend(_custody_problems(item))
    extra = [
        name for name in archive.namelist() if name.startswith("files/") and name not in listed
    ]
    problems.extend(f"{name} is not in the manifest" for name in extra)
    return problems
