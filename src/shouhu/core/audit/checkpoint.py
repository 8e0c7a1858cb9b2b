"""Signed checkpoints of the chain head, kept outside the database to detect truncation."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.orm import Session

from shouhu.core.audit.chain import HEAD_ROW_ID, record
from shouhu.core.audit.models import AuditHead
from shouhu.core.audit.verify import CheckpointClaim
from shouhu.core.crypto import signing
from shouhu.core.crypto.keyring import current_keyring
from shouhu.core.database import utcnow
from shouhu.core.principal import Principal

FORMAT = "shouhu-audit-checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint file is malformed, forged, or signed by another key."""


@dataclass(frozen=True)
class Checkpoint:
    """The chain head at one moment, signed with the deployment's Ed25519 key."""

    seq: int
    entry_hash: str
    taken_at: str
    key_id: str
    public_key: str
    signature: str

    def signed_part(self) -> dict[str, Any]:
        """The fields the signature covers."""
        return {
            "format": FORMAT,
            "seq": self.seq,
            "entry_hash": self.entry_hash,
            "taken_at": self.taken_at,
            "key_id": self.key_id,
        }

    def claim(self) -> CheckpointClaim:
        """What verification checks against the log."""
        return CheckpointClaim(seq=self.seq, entry_hash=self.entry_hash)

    def to_json(self) -> str:
        """The checkpoint as a JSON document (signature and public key included)."""
        return json.dumps({"format": FORMAT, **asdict(self)}, indent=2, ensure_ascii=False) + "\n"


def take_checkpoint(session: Session, *, actor: Principal) -> Checkpoint:
    """Sign the current head and record that a checkpoint was taken."""
    head = session.get(AuditHead, HEAD_ROW_ID)
    if head is None:
        raise CheckpointError("the chain head row is missing")
    keyring = current_keyring()
    unsigned = Checkpoint(
        seq=head.seq,
        entry_hash=head.entry_hash,
        taken_at=utcnow().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        key_id=keyring.signing_key_id,
        public_key=signing.public_key_pem(),
        signature="",
    )
    checkpoint = Checkpoint(
        **{**asdict(unsigned), "signature": signing.sign(unsigned.signed_part())}
    )
    record(
        session,
        actor=actor,
        action="audit:checkpoint",
        object_type="audit_chain",
        object_id=checkpoint.seq,
        details={"entry_hash": checkpoint.entry_hash},
    )
    return checkpoint


def load_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint and check it was signed by this deployment's signing key."""
    try:
        data = json.loads(text)
        if data.pop("format") != FORMAT:
            raise CheckpointError("not a Shouhu audit checkpoint")
        checkpoint = Checkpoint(**data)
    except (ValueError, TypeError, KeyError) as exc:
        raise CheckpointError(f"the checkpoint file is malformed: {exc}") from exc
    # Trust the deployment's own key, not the one the file carries: anyone can sign with
    # a key of their own.
    ours = signing.public_key_pem()
    if checkpoint.public_key.strip() != ours.strip():
        raise CheckpointError("the checkpoint was signed by another key")
    if not signing.verify(checkpoint.signed_part(), checkpoint.signature, ours):
        raise CheckpointError("the checkpoint's signature is not valid: it was altered")
    return checkpoint
