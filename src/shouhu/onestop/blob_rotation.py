"""Evidence files in a field-key rotation: re-wrap every data key before the old key goes.

Each evidence file's data key is wrapped by a field key (docs/evidence-storage.md), so when
`shouhu keys rotate` retires a field key, every file still wrapped under it becomes unreadable.
`EvidenceRewrap` is the rotation step (`rotate_field_key(before_retiring=…)`) that prevents it:

- it walks the store in address order and skips each file whose header already names the new
  key, so a run that stopped half-way resumes where it stopped (as the database walk skips
  values already under the new key), reading only the 153-byte header of those;
- it re-wraps every other file with `BlobStore.rewrap`, which verifies the whole file first,
  writes the new header and the unchanged segments to a temp file, verifies that and renames
  it over the old one, so an interruption leaves one intact copy or the other;
- a file that fails verification is not re-wrapped and does not stop the walk; at the end the
  step raises `EvidenceRotationBlockedError` naming every such file, and the rotation keeps the
  old key (retiring, still in the keyring) so those files stay readable for examination.

The step lives here and not in `core` because `core` must not import the domains; the command
that runs the rotation hands it in.
"""

from __future__ import annotations

import contextlib
import stat
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shouhu.core.audit.chain import record
from shouhu.core.crypto.rotation import (
    AUDIT_ACTION,
    RotationError,
    RotationProgress,
    RotationStep,
)
from shouhu.core.database import transaction
from shouhu.onestop.blobs import BlobStore, Damage, TamperedBlobError, default_root

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from sqlalchemy.orm import Session

PROGRESS_LABEL = "evidence files"


@dataclass
class EvidenceRewrapReport:
    """What one run of the step found and did in the evidence store at `root`."""

    root: Path
    present: bool = False
    total: int = 0
    rewrapped: int = 0
    current: int = 0  # already under the new key: stored since, or re-wrapped by an earlier run
    removed: int = 0  # listed, then deleted (no longer needed) before it could be re-wrapped
    damaged: list[TamperedBlobError] = field(default_factory=list)

    @property
    def scanned(self) -> int:
        """How many of the listed files the walk has dealt with."""
        return self.rewrapped + self.current + self.removed + len(self.damaged)

    def audit_details(self, step: RotationStep) -> dict[str, Any]:
        """The audit event's details: counts and damage codes, never a file's hash.

        A blob's address is the SHA-256 of its plaintext: anyone holding a copy of a recording
        could confirm from the audit log that the store holds it, and link it to its case. The
        audit log is read by auditors who may not see evidence, so it gets counts only; the
        hashes go to the operator running the command (and the file system already shows them).
        """
        return {
            "phase": "evidence",
            "active": step.active_key_id,
            "retiring": list(step.retiring_key_ids),
            "resumed": step.resumed,
            "store": "present" if self.present else "absent",
            "blobs": self.total,
            "rewrapped": self.rewrapped,
            "already_current": self.current,
            "removed": self.removed,
            "damaged": len(self.damaged),
            "damage": dict(sorted(Counter(p.damage.value for p in self.damaged).items())),
        }


class EvidenceRotationBlockedError(RotationError):
    """Evidence files failed verification, so the old field key must not be retired yet."""

    def __init__(self, report: EvidenceRewrapReport, retiring: tuple[str, ...]) -> None:
        """Name every damaged file and say what to do."""
        self.damaged = tuple(report.damaged)
        self.root = report.root
        summary = (
            f"{len(self.damaged)} evidence file(s) failed verification and were not "
            f"re-wrapped, so the old field key ({', '.join(retiring)}) is kept, not retired: "
            "under it they can still be examined."
        )
        lines = [summary]
        store = BlobStore(report.root)
        for problem in self.damaged:
            lines.append(f"  {problem} [{problem.damage.value}]")
            lines.append(f"    {store.path_for(problem.expected)}")
        lines.append(
            "Each is evidence of damage or tampering: copy it aside for examination, then "
            "restore an intact copy from a backup to that path, or upload the original again "
            "(the store quarantines the damaged copy and keeps the upload). Then run "
            "`shouhu keys rotate` again to finish. docs/evidence-storage.md, 'Keys and "
            "rotation', covers each case."
        )
        if any(problem.damage is Damage.KEY_UNAVAILABLE for problem in self.damaged):
            lines.append(
                "key_unavailable: the file names a key this installation does not hold (another "
                "installation's file, an altered header, or a key retired earlier)."
            )
        super().__init__("\n".join(lines))


class EvidenceRewrap:
    """The rotation step for the evidence store at `root` (default `<data dir>/evidence`).

    Keeps what the last run did in `report`, for the command's summary.
    """

    def __init__(self, root: Path | None = None) -> None:
        """Work on the store at `root`, or where `BlobStore` puts it by default."""
        self.root = root if root is not None else default_root()
        self.report = EvidenceRewrapReport(self.root)

    def check(self) -> None:
        """Refuse early, before any key changes, if the store exists but cannot be read."""
        if self._present():
            with _readable(self.root):
                next(BlobStore(self.root).stored(), None)

    def _present(self) -> bool:
        # No store yet (no evidence was ever uploaded): nothing to re-wrap. But one that
        # exists and cannot be read (the wrong user) must stop the rotation, not look empty.
        try:
            with _readable(self.root):
                mode = self.root.stat().st_mode
        except FileNotFoundError:
            return False
        if not stat.S_ISDIR(mode):
            raise RotationError(f"the evidence store {self.root} is not a directory")
        return True

    def __call__(self, step: RotationStep) -> None:
        """Re-wrap every file not under the new key; audit; refuse if any failed verification."""
        report = self.report = EvidenceRewrapReport(self.root)
        store = BlobStore(self.root, keyring=step.keyring)
        try:
            report.present = self._present()
            if report.present:
                with _readable(self.root):
                    hashes = list(store.stored())
                report.total = len(hashes)
                _show(step, report)
                for sha256 in hashes:
                    _rewrap_one(store, sha256, step.active_key_id, report)
                    _show(step, report)
        except BaseException as exc:
            # What was re-wrapped before the interruption is on record; the next run resumes.
            with contextlib.suppress(Exception), transaction(step.session_factory) as session:
                details = {**report.audit_details(step), "error": type(exc).__name__}
                _record(session, step, details, outcome="failure")
            raise
        with transaction(step.session_factory) as session:
            outcome = "failure" if report.damaged else "success"
            _record(session, step, report.audit_details(step), outcome=outcome)
        if report.damaged:
            raise EvidenceRotationBlockedError(report, step.retiring_key_ids)


def _rewrap_one(store: BlobStore, sha256: str, active: str, report: EvidenceRewrapReport) -> None:
    try:
        with _readable(store.path_for(sha256)):
            if store.key_id_of(sha256) == active:
                report.current += 1
            elif store.rewrap(sha256):
                report.rewrapped += 1
            else:  # re-wrapped by a concurrent run between the two reads
                report.current += 1
    except FileNotFoundError:
        report.removed += 1
    except TamperedBlobError as problem:
        if problem.damage is Damage.MISSING:
            report.removed += 1
        else:
            # Never re-wrapped (rewrap verifies first) and never skipped in silence.
            report.damaged.append(problem)


@contextlib.contextmanager
def _readable(path: Path) -> Iterator[None]:
    # A permission or disk error is the operator's to fix, not damage to the evidence: stop
    # the rotation with the path (the old key stays), so that a run as the right user resumes.
    try:
        yield
    except (FileNotFoundError, TamperedBlobError):
        raise
    except OSError as exc:
        raise RotationError(f"evidence store, {path}: {exc}") from exc


def _show(step: RotationStep, report: EvidenceRewrapReport) -> None:
    if step.progress is not None:
        step.progress(
            RotationProgress(PROGRESS_LABEL, report.scanned, report.total, report.rewrapped)
        )


def _record(session: Session, step: RotationStep, details: dict[str, Any], *, outcome: str) -> None:
    record(
        session,
        actor=step.actor,
        action=AUDIT_ACTION,
        outcome=outcome,
        object_type="crypto_key",
        object_id=step.active_key_id,
        details=details,
    )
