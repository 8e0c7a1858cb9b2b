"""Signed checkpoints of the chain head, kept outside the database to detect truncation."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.core.audit.chain import HEAD_ROW_ID, record
from shouhu.core.audit.models import AuditHead
from shouhu.core.crypto import signing
from shouhu.core.crypto.keyring import current_keyring
from shouhu.core.database import utcnow
from shouhu.core.principal import Principal

FORMAT = "shouhu-audit-checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint file is malformed, forged, or signed by another key."""


@dataclass(frozen=True)
class Checkpoint:
    """The chain head at one moment, signed with the deployment's Ed25519 key.

    It is a `verify.HeadClaim`: pass it to `verify_chain(checkpoint=…)` once loaded.
    """

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

    def to_json(self) -> str:
        """The checkpoint as a JSON document (signature and public key included)."""
        return json.dumps({"format": FORMAT, **asdict(self)}, indent=2, ensure_ascii=False) + "\n"


def take_checkpoint(session: Session, *, actor: Principal) -> Checkpoint:
    """Sign the current head and record that a checkpoint was taken."""
    # Columns, not the ORM object: a head loaded earlier in this session could be stale.
    head = session.execute(
        select(AuditHead.seq, AuditHead.entry_hash).where(AuditHead.id == HEAD_ROW_ID)
    ).one_or_none()
    if head is None:
        raise CheckpointError("the chain head row is missing")
    keyring = current_keyring()
    unsigned = Checkpoint(
        seq=int(head.seq),
        entry_hash=str(head.entry_hash),
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


def _parse(data: dict[str, Any]) -> Checkpoint:
    expected = {f.name for f in fields(Checkpoint)}
    if set(data) != expected:
        raise CheckpointError(
            f"the checkpoint file is malformed: expected the fields {sorted(expected)}"
        )
    # bool is an int to Python, not a sequence number.
    if not isinstance(data["seq"], int) or isinstance(data["seq"], bool):
        raise CheckpointError("the checkpoint file is malformed: seq is not a number")
    for name in sorted(expected - {"seq"}):
        if not isinstance(data[name], str):
            raise CheckpointError(f"the checkpoint file is malformed: {name} is not text")
    return Checkpoint(**data)


def load_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint and check it was signed by this deployment's signing key."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CheckpointError(f"the checkpoint file is not JSON: {exc}") from exc
    if not isinstance(data, dict) or data.pop("format", None) != FORMAT:
        raise CheckpointError("not a Shouhu audit checkpoint")
    checkpoint = _parse(data)
    # Trust the deployment's own key, not the one the file carries: anyone can sign with
    # a key of their own.
    ours = signing.public_key_pem()
    if checkpoint.public_key.strip() != ours.strip():
        raise CheckpointError("the checkpoint was signed by another key")
    if not signing.verify(checkpoint.signed_part(), checkpoint.signature, ours):
        raise CheckpointError("the checkpoint's signature is not valid: it was forged or altered")
    return checkpoint
