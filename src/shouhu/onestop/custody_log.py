"""The database side of an item's custody log: stored rows to `custody.ChainedEntry` and back.

`custody.py` holds the rules and the hashing; here entries are read in order, appended under
the item's row lock with the head moved in the same flush, and a stored log is verified
against the head kept on the item (so entries cut from the end are found as well).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.onestop import custody
from shouhu.onestop.evidence_models import CustodyRecord, EvidenceItem


def records(session: Session, item: EvidenceItem) -> list[CustodyRecord]:
    """The item's stored custody entries, in sequence order."""
    return list(
        session.scalars(
            select(CustodyRecord)
            .where(CustodyRecord.item_id == item.id)
            .order_by(CustodyRecord.seq, CustodyRecord.id)
        )
    )


def chained(row: CustodyRecord) -> custody.ChainedEntry:
    """A stored row as the chain sees it (no check: `verify` judges it)."""
    entry = custody.CustodyEntry(
        item_id=str(row.item_id),
        seq=row.seq,
        event=row.event,  # type: ignore[arg-type]  # an unknown code is reported by verify_chain
        occurred_at=row.occurred_at,
        actor_id=row.actor_id,
        organisation_id=row.organisation_id,
        place=row.place,
        reason=row.reason,
        from_holder=row.from_holder,
        to_holder=row.to_holder,
    )
    return custody.ChainedEntry(entry, row.prev_hash, row.entry_hash)


def append(session: Session, item: EvidenceItem, entry: custody.CustodyEntry) -> CustodyRecord:
    """Check `entry` against the stored log, store it, and move the item's head to it.

    The caller holds the item's row lock (or created it in this transaction), so two
    appends cannot both link to the same entry. Raises custody.CustodyError.
    """
    chain = [chained(row) for row in records(session, item)]
    link = custody.append(chain, entry)
    row = CustodyRecord(
        item_id=item.id,
        seq=link.entry.seq,
        event=str(link.entry.event),
        occurred_at=link.entry.occurred_at,
        actor_id=link.entry.actor_id,
        organisation_id=link.entry.organisation_id,
        place=link.entry.place,
        reason=link.entry.reason,
        from_holder=link.entry.from_holder,
        to_holder=link.entry.to_holder,
        prev_hash=link.prev_hash,
        entry_hash=link.entry_hash,
    )
    row.ensure_id()
    session.add(row)
    item.custody_seq = link.entry.seq
    item.custody_head = link.entry_hash
    session.flush()
    return row


def state(session: Session, item: EvidenceItem) -> custody.CustodyState:
    """Where the item's custody stands, by its stored log."""
    return custody.replay([chained(row) for row in records(session, item)])


def verify(session: Session, item: EvidenceItem) -> list[custody.Break]:
    """Every problem of the item's stored log, checked against the head the item keeps."""
    chain = [chained(row) for row in records(session, item)]
    head = custody.Head(item.custody_seq, item.custody_head)
    return custody.verify_chain(chain, item_id=str(item.id), head=head)
