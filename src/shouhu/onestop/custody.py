"""The hash-chained custody log of one evidence item: pure functions, no database (issue 6).

Every custody event (collected, transferred, analysed, returned, destroyed) is appended with a
mandatory reason; each entry carries the hash of the one before over a canonical encoding of
its fields, in the manner of the audit chain (core/audit/chain.py), so any change, deletion,
insertion or reordering is found, and truncation too against the item's stored head.

The rules of succession, and why:

- The first entry is `collected`: custody starts when the item is taken in.
- `transferred` moves the item from its current holder to another; `analysed` records work
  done on it by its current holder (an item sent to a laboratory is first transferred there).
- `returned` hands the item back out of custody (clothing to the family, a phone to its owner).
  After it only a new `collected` may follow, never a `transferred`: the item was outside the
  chain meanwhile, and a transfer "from the owner" would pretend the custody never broke. A
  re-collection says so, with its own reason (a court orders the item produced again).
- `destroyed` ends the log: nothing may follow it.
- Events are in time order: an entry earlier than the one before it is a back-dated entry.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

GENESIS_HASH: Final = "0" * 64
ENCODING_TAG: Final = "shouhu-custody-v1"  # a custody hash never collides with an audit hash


class CustodyEvent(StrEnum):
    """What happened to the item."""

    COLLECTED = "collected"
    TRANSFERRED = "transferred"
    ANALYSED = "analysed"
    RETURNED = "returned"
    DESTROYED = "destroyed"


class CustodyError(ValueError):
    """An entry that may not be appended: a rule of succession or a required field."""


def utc_timestamp(moment: datetime) -> str:
    """The canonical time: UTC to the microsecond; a naive value is taken to be UTC.

    Databases hand back naive UTC values (SQLite) or aware ones (PostgreSQL); both encode
    alike, so a log reads back with the hashes it was written with.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _instant(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class CustodyEntry:
    """The facts of one custody event, as the hash covers them, in canonical order."""

    item_id: str  # binds the entry to its item: it cannot be moved to another item's log
    seq: int  # 1, 2, 3… within the item
    event: CustodyEvent
    occurred_at: datetime
    actor_id: str
    organisation_id: str
    place: str
    reason: str
    from_holder: str | None
    to_holder: str | None

    def canonical(self, prev_hash: str) -> bytes:
        """The bytes that are hashed: a compact JSON array, like the audit chain's entries."""
        return json.dumps(
            [
                ENCODING_TAG,
                self.item_id,
                self.seq,
                str(self.event),
                utc_timestamp(self.occurred_at),
                self.actor_id,
                self.organisation_id,
                self.place,
                self.reason,
                self.from_holder,
                self.to_holder,
                prev_hash,
            ],
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()


ENTRY_FIELDS: Final = tuple(f.name for f in fields(CustodyEntry))


def chain_hash(prev_hash: str, entry: CustodyEntry) -> str:
    """SHA-256 (hex) of the entry's canonical encoding, which includes the previous hash."""
    return hashlib.sha256(entry.canonical(prev_hash)).hexdigest()


@dataclass(frozen=True)
class ChainedEntry:
    """An entry as stored: its facts, the hash of the entry before, and its own hash."""

    entry: CustodyEntry
    prev_hash: str
    entry_hash: str


@dataclass(frozen=True)
class CustodyState:
    """Where an item's custody stands after its log so far."""

    seq: int = 0
    head_hash: str = GENESIS_HASH
    holder: str | None = None
    last_event: CustodyEvent | None = None
    last_at: datetime | None = None

    @property
    def in_custody(self) -> bool:
        """True while some holder keeps the item (after collection, before return or end)."""
        return self.last_event not in {None, CustodyEvent.RETURNED, CustodyEvent.DESTROYED}

    @property
    def closed(self) -> bool:
        """True once the item is destroyed: the log takes no more entries."""
        return self.last_event is CustodyEvent.DESTROYED


def _required(entry: CustodyEntry) -> list[str]:
    missing = [
        name
        for name in ("item_id", "actor_id", "organisation_id", "place", "reason")
        if not str(getattr(entry, name) or "").strip()
    ]
    # Issue 6: every custody event carries a reason; whitespace is not one.
    return [f"{name} is required" for name in missing]


def transition_problems(state: CustodyState, entry: CustodyEntry) -> list[str]:
    """Why `entry` may not follow `state` (empty when it may)."""
    problems = _required(entry)
    event = CustodyEvent(entry.event)
    if state.closed:
        return [*problems, "the item was destroyed: nothing may follow"]
    if state.last_at is not None and _instant(entry.occurred_at) < _instant(state.last_at):
        problems.append("the event is earlier than the entry before it")
    if not state.in_custody:
        if event is not CustodyEvent.COLLECTED:
            problems.append(
                "the item is not in custody: only `collected` may come first or after a return"
            )
        if not entry.to_holder:
            problems.append("`collected` names the holder it goes to")
        return problems
    holder_problem = _holder_problem(state.holder, event, entry)
    if holder_problem:
        problems.append(holder_problem)
    return problems


def _holder_problem(holder: str | None, event: CustodyEvent, entry: CustodyEntry) -> str | None:
    if event is CustodyEvent.COLLECTED:
        return "the item is already in custody: transfer it instead of collecting it again"
    if entry.from_holder != holder:
        return f"`{event}` must come from the current holder"
    if event in {CustodyEvent.TRANSFERRED, CustodyEvent.RETURNED} and (
        not entry.to_holder or entry.to_holder == holder
    ):
        return f"`{event}` names another holder it goes to"
    if event is CustodyEvent.ANALYSED and entry.to_holder not in {None, holder}:
        return "`analysed` leaves the item with its holder (transfer it first)"
    if event is CustodyEvent.DESTROYED and entry.to_holder is not None:
        return "`destroyed` has no holder to go to"
    return None


def advance(state: CustodyState, entry: CustodyEntry, entry_hash: str) -> CustodyState:
    """The state after `entry` (no checks: see `transition_problems`)."""
    event = CustodyEvent(entry.event)
    holder = state.holder
    if event in {CustodyEvent.COLLECTED, CustodyEvent.TRANSFERRED}:
        holder = entry.to_holder
    elif event in {CustodyEvent.RETURNED, CustodyEvent.DESTROYED}:
        holder = None
    return CustodyState(entry.seq, entry_hash, holder, event, entry.occurred_at)


def replay(chain: Sequence[ChainedEntry]) -> CustodyState:
    """The state a log leaves the item in, trusting it (verify it first with `verify_chain`)."""
    state = CustodyState()
    for link in chain:
        state = advance(state, link.entry, link.entry_hash)
    return state


def append(chain: Sequence[ChainedEntry], entry: CustodyEntry) -> ChainedEntry:
    """Check `entry` against the log and link it to its last entry; the caller stores it.

    The sequence number is assigned here; the rules are those of the module docstring.
    """
    state = replay(chain)
    if chain and entry.item_id != chain[0].entry.item_id:
        raise CustodyError("the entry belongs to another item")
    entry = replace(entry, seq=state.seq + 1, event=CustodyEvent(entry.event))
    problems = transition_problems(state, entry)
    if problems:
        raise CustodyError("; ".join(problems))
    return ChainedEntry(entry, state.head_hash, chain_hash(state.head_hash, entry))


class Reason(StrEnum):
    """What is wrong at a position of a stored log."""

    WRONG_ITEM = "wrong_item"  # an entry of another item's log
    SEQUENCE = "sequence"  # numbering out of step: an entry deleted, inserted or moved
    HASH_MISMATCH = "hash_mismatch"  # a field changed since the entry was written
    BROKEN_LINK = "broken_link"  # the entry does not carry the hash of the one before
    INVALID_TRANSITION = "invalid_transition"  # an event the rules do not allow there
    TRUNCATED = "truncated"  # the head names entries that are not there
    BEYOND_HEAD = "beyond_head"  # entries past the head: appended behind the writer's back
    HEAD_MISMATCH = "head_mismatch"  # the head's hash is not that of the entry it names


@dataclass(frozen=True)
class Break:
    """One problem: the position in the given list (0-based), the entry's seq, why."""

    position: int
    seq: int | None
    reason: Reason
    message: str


@dataclass(frozen=True)
class Head:
    """What the item row remembers of its log: the last entry's seq and hash.

    Kept outside the entries (and in exported checkpoints), it is what shows that entries
    were cut from the end, which no chain can show by itself.
    """

    seq: int
    entry_hash: str


def verify_chain(
    chain: Sequence[ChainedEntry], *, item_id: str | None = None, head: Head | None = None
) -> list[Break]:
    """Every problem in a stored log, in order; empty when the log is intact.

    Each entry's hash is recomputed and compared with the stored one, and each link with the
    stored hash of the entry before, so a changed entry is named at its own position and a
    re-hashed one at the next. Deleted, inserted and reordered entries break the numbering and
    the links; entries cut from the end are found against `head`.
    """
    breaks: list[Break] = []
    expected_item = item_id if item_id is not None else (chain[0].entry.item_id if chain else None)
    state = CustodyState()
    prev_hash = GENESIS_HASH

    def note(position: int, reason: Reason, message: str) -> None:
        breaks.append(Break(position, chain[position].entry.seq, reason, message))

    for position, link in enumerate(chain):
        entry = link.entry
        if entry.item_id != expected_item:
            note(position, Reason.WRONG_ITEM, f"entry {position + 1} belongs to another item")
        if entry.seq != position + 1:
            note(
                position,
                Reason.SEQUENCE,
                f"entry {position + 1} is numbered {entry.seq}: entries deleted, added or moved",
            )
        if _digest_or_none(link) != link.entry_hash:
            note(position, Reason.HASH_MISMATCH, f"entry {entry.seq}: hash does not match")
        if link.prev_hash != prev_hash:
            note(
                position,
                Reason.BROKEN_LINK,
                f"entry {entry.seq}: does not link to the entry before it",
            )
        problems = _transition_or_none(state, entry)
        if problems:
            note(position, Reason.INVALID_TRANSITION, f"entry {entry.seq}: {problems}")
        prev_hash = link.entry_hash
        # Judge each entry against the log as written before it, so that one bad entry is
        # not blamed on every entry after it as well.
        with contextlib.suppress(ValueError):
            state = advance(state, entry, link.entry_hash)
    if head is not None:
        breaks.extend(_check_head(chain, head))
    return breaks


def _digest_or_none(link: ChainedEntry) -> str | None:
    try:
        return chain_hash(link.prev_hash, link.entry)
    except (TypeError, ValueError, AttributeError):
        return None  # a field of the wrong type: cannot be what was hashed


def _transition_or_none(state: CustodyState, entry: CustodyEntry) -> str:
    try:
        return "; ".join(transition_problems(state, entry))
    except (TypeError, ValueError, AttributeError):
        return f"unknown event {entry.event!r}"


def _check_head(chain: Sequence[ChainedEntry], head: Head) -> list[Break]:
    last = len(chain)
    if head.seq > last:
        return [
            Break(
                last,
                last + 1,
                Reason.TRUNCATED,
                f"entry {last + 1} is missing: the head names entry {head.seq}",
            )
        ]
    if head.seq < last:
        return [
            Break(
                head.seq,
                head.seq + 1,
                Reason.BEYOND_HEAD,
                f"entry {head.seq + 1}: lies beyond the head ({head.seq})",
            )
        ]
    at_head = chain[-1].entry_hash if chain else GENESIS_HASH
    if at_head != head.entry_hash:
        return [
            Break(
                max(last - 1, 0),
                head.seq,
                Reason.HEAD_MISMATCH,
                f"entry {head.seq}: hash differs from the one the head holds",
            )
        ]
    return []
