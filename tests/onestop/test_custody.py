"""The custody log: rules of succession, and mutation vectors against the hash chain.

As for the audit chain (tests/core/test_audit_tamper.py): each field of each entry changed,
entries deleted, inserted, reordered and cut, re-hashed forgeries; each is found at the
position where it was made.
"""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shouhu.onestop.custody import (
    ENTRY_FIELDS,
    GENESIS_HASH,
    Break,
    ChainedEntry,
    CustodyEntry,
    CustodyError,
    CustodyEvent,
    Head,
    Reason,
    append,
    chain_hash,
    replay,
    utc_timestamp,
    verify_chain,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

ITEM = "6f1c2b8e-2d1e-4a51-9a7e-0f3c9d1b2a11"
T0 = datetime(2026, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)
C, T, A, R, D = (
    CustodyEvent.COLLECTED,
    CustodyEvent.TRANSFERRED,
    CustodyEvent.ANALYSED,
    CustodyEvent.RETURNED,
    CustodyEvent.DESTROYED,
)


def entry(
    event: CustodyEvent,
    from_holder: str | None,
    to_holder: str | None,
    *,
    minutes: int = 0,
    item_id: str = ITEM,
    reason: str = "案件需要 / case needs",
) -> CustodyEntry:
    return CustodyEntry(
        item_id=item_id,
        seq=0,  # assigned by append
        event=event,
        occurred_at=T0 + timedelta(minutes=minutes),
        actor_id=f"user-{minutes}",
        organisation_id=f"org-{minutes}",
        place="北京市海淀区一站式取证中心",
        reason=reason,
        from_holder=from_holder,
        to_holder=to_holder,
    )


def build(*entries: CustodyEntry) -> list[ChainedEntry]:
    chain: list[ChainedEntry] = []
    for new in entries:
        chain.append(append(chain, new))
    return chain


# The life of a pair of trousers: collected at the hospital, to the laboratory and back,
# returned to the family, produced again for the trial, then destroyed after judgment.
LIFE = [
    entry(C, "医院", "派出所物证室", minutes=0),
    entry(T, "派出所物证室", "市局物证鉴定所", minutes=30),
    entry(A, "市局物证鉴定所", None, minutes=90),
    entry(T, "市局物证鉴定所", "派出所物证室", minutes=200),
    entry(R, "派出所物证室", "被害人监护人", minutes=300),
    entry(C, "被害人监护人", "法院", minutes=400),
    entry(D, "法院", None, minutes=500),
]
COUNT = len(LIFE)
POSITIONS = {"first": 0, "middle": 3, "last": COUNT - 1}


@pytest.fixture
def chain() -> list[ChainedEntry]:
    return build(*LIFE)


def head_of(chain: Sequence[ChainedEntry]) -> Head:
    return Head(len(chain), chain[-1].entry_hash if chain else GENESIS_HASH)


def first(breaks: list[Break]) -> tuple[int, set[Reason]]:
    assert breaks, "the tampering went unnoticed"
    position = breaks[0].position
    return position, {b.reason for b in breaks if b.position == position}


def rehash(link: ChainedEntry, *, prev_hash: str | None = None) -> ChainedEntry:
    prev = link.prev_hash if prev_hash is None else prev_hash
    return ChainedEntry(link.entry, prev, chain_hash(prev, link.entry))


# The intact log


def test_an_intact_log_verifies(chain: list[ChainedEntry]) -> None:
    assert [link.entry.seq for link in chain] == list(range(1, COUNT + 1))
    assert chain[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.entry_hash for a, b in itertools.pairwise(chain))
    assert verify_chain(chain, item_id=ITEM, head=head_of(chain)) == []
    state = replay(chain)
    assert state.closed
    assert state.holder is None


def test_the_encoding_is_pinned() -> None:
    # A change to the canonical encoding would orphan every stored log: this hash must never
    # change. (Recompute it only together with a migration of the stored hashes.)
    link = append([], LIFE[0])
    assert link.entry.canonical(GENESIS_HASH).startswith(
        '["shouhu-custody-v1","6f1c2b8e-2d1e-4a51-9a7e-0f3c9d1b2a11",1,"collected",'
        '"2026-03-14T09:26:53.589793Z","user-0","org-0","北京市海淀区一站式取证中心",'.encode()
    )
    assert link.entry_hash == chain_hash(GENESIS_HASH, link.entry)
    assert link.entry_hash == "4718e69a28aac8b514379161d55233558738beb57d6f50b00c90fe5be7ec62fa"


def test_the_time_is_hashed_as_utc_to_the_microsecond() -> None:
    aware = T0
    naive = T0.replace(tzinfo=None)
    beijing = T0.astimezone(timezone(timedelta(hours=8)))
    assert utc_timestamp(aware) == utc_timestamp(naive) == utc_timestamp(beijing)
    assert utc_timestamp(aware) == "2026-03-14T09:26:53.589793Z"
    base = LIFE[0]
    hashes = {
        chain_hash(GENESIS_HASH, dataclasses.replace(base, occurred_at=moment))
        for moment in (aware, naive, beijing)
    }
    assert len(hashes) == 1
    one_later = dataclasses.replace(base, occurred_at=T0 + timedelta(microseconds=1))
    assert chain_hash(GENESIS_HASH, one_later) not in hashes


# Mutation vectors: each field of each entry


def _flip(value: str) -> str:
    return value[:-1] + chr(ord(value[-1]) ^ 1)


FIELD_CHANGES: dict[str, Any] = {
    "item_id": lambda e: _flip(e.item_id),
    "seq": lambda e: e.seq + 1,
    "event": lambda e: A if e.event is not A else T,
    "occurred_at": lambda e: e.occurred_at + timedelta(microseconds=1),
    "actor_id": lambda e: _flip(e.actor_id),
    "organisation_id": lambda e: _flip(e.organisation_id),
    "place": lambda e: _flip(e.place),
    "reason": lambda e: _flip(e.reason),
    "from_holder": lambda e: "某人" if e.from_holder is None else _flip(e.from_holder),
    "to_holder": lambda e: "某人" if e.to_holder is None else None,
}


def test_every_field_has_a_mutation() -> None:
    assert set(FIELD_CHANGES) == set(ENTRY_FIELDS)


@pytest.mark.parametrize("position", sorted(POSITIONS))
@pytest.mark.parametrize("field", sorted(FIELD_CHANGES))
def test_each_changed_field_is_found_at_its_entry(
    chain: list[ChainedEntry], field: str, position: str
) -> None:
    index = POSITIONS[position]
    link = chain[index]
    changed = dataclasses.replace(link.entry, **{field: FIELD_CHANGES[field](link.entry)})
    assert getattr(changed, field) != getattr(link.entry, field)
    chain[index] = dataclasses.replace(link, entry=changed)
    found_at, reasons = first(verify_chain(chain, item_id=ITEM))
    assert found_at == index
    assert Reason.HASH_MISMATCH in reasons


@pytest.mark.parametrize("position", sorted(POSITIONS))
@pytest.mark.parametrize("field", sorted(FIELD_CHANGES))
def test_a_changed_and_rehashed_entry_is_found_at_the_next_link_or_the_head(
    chain: list[ChainedEntry], field: str, position: str
) -> None:
    # The forger recomputes the changed entry's own hash; the next entry still holds the old.
    index = POSITIONS[position]
    head = head_of(chain)
    link = chain[index]
    changed = dataclasses.replace(link.entry, **{field: FIELD_CHANGES[field](link.entry)})
    chain[index] = rehash(dataclasses.replace(link, entry=changed))
    breaks = verify_chain(chain, item_id=ITEM, head=head)
    if index < COUNT - 1:
        assert (index + 1, Reason.BROKEN_LINK) in {(b.position, b.reason) for b in breaks}
    else:
        assert (index, Reason.HEAD_MISMATCH) in {(b.position, b.reason) for b in breaks}
    # Whatever else the forged values break (numbering, rules), nothing earlier is blamed.
    assert min(b.position for b in breaks) >= index


@pytest.mark.parametrize("position", sorted(POSITIONS))
@pytest.mark.parametrize("stored", ["prev_hash", "entry_hash"])
def test_a_changed_stored_hash_is_found(
    chain: list[ChainedEntry], position: str, stored: str
) -> None:
    index = POSITIONS[position]
    link = chain[index]
    chain[index] = dataclasses.replace(link, **{stored: _flip(getattr(link, stored))})
    found_at, reasons = first(verify_chain(chain, item_id=ITEM, head=head_of(build(*LIFE))))
    assert found_at == index
    expected = Reason.BROKEN_LINK if stored == "prev_hash" else Reason.HASH_MISMATCH
    assert expected in reasons


# Deleted, inserted, reordered, cut, extended, rewritten


@pytest.mark.parametrize("index", range(COUNT - 1))
def test_a_deleted_entry_is_found_where_it_was(chain: list[ChainedEntry], index: int) -> None:
    del chain[index]
    found_at, reasons = first(verify_chain(chain, item_id=ITEM))
    assert found_at == index
    assert {Reason.SEQUENCE, Reason.BROKEN_LINK} <= reasons


def test_a_cut_end_is_found_only_against_the_head(chain: list[ChainedEntry]) -> None:
    head = head_of(chain)
    del chain[-2:]
    # The chain alone cannot show it: this is why the item row keeps its head.
    assert verify_chain(chain, item_id=ITEM) == []
    assert verify_chain(chain, item_id=ITEM, head=head) == [
        Break(
            COUNT - 2,
            COUNT - 1,
            Reason.TRUNCATED,
            f"entry {COUNT - 1} is missing: the head names entry {COUNT}",
        )
    ]


def test_an_emptied_log_is_found_against_the_head(chain: list[ChainedEntry]) -> None:
    head = head_of(chain)
    assert first(verify_chain([], item_id=ITEM, head=head)) == (0, {Reason.TRUNCATED})


@pytest.mark.parametrize("index", range(1, COUNT))
def test_an_inserted_entry_is_found(chain: list[ChainedEntry], index: int) -> None:
    # A forged entry that links properly to the one before it and is numbered in its place.
    prev = chain[index - 1]
    forged_entry = dataclasses.replace(chain[index].entry, reason="伪造 / forged", seq=index + 1)
    forged = ChainedEntry(forged_entry, prev.entry_hash, chain_hash(prev.entry_hash, forged_entry))
    chain.insert(index, forged)
    found_at, reasons = first(verify_chain(chain, item_id=ITEM))
    assert found_at == index + 1
    assert {Reason.SEQUENCE, Reason.BROKEN_LINK} <= reasons


def test_an_entry_appended_behind_the_writers_back_is_found_against_the_head() -> None:
    chain = build(*LIFE[:3])
    head = head_of(chain)
    chain.append(append(chain, LIFE[3]))
    assert verify_chain(chain, item_id=ITEM) == []
    assert first(verify_chain(chain, item_id=ITEM, head=head)) == (3, {Reason.BEYOND_HEAD})


@pytest.mark.parametrize("index", range(COUNT - 1))
def test_swapped_neighbours_are_found(chain: list[ChainedEntry], index: int) -> None:
    chain[index], chain[index + 1] = chain[index + 1], chain[index]
    found_at, reasons = first(verify_chain(chain, item_id=ITEM))
    assert found_at == index
    assert {Reason.SEQUENCE, Reason.BROKEN_LINK} <= reasons


def test_a_rewritten_history_is_found_only_against_the_head(chain: list[ChainedEntry]) -> None:
    # The forger changes entry 2 and re-hashes every entry after it: all links hold.
    head = head_of(chain)
    forged = dataclasses.replace(chain[1].entry, reason="例行转移 / routine transfer")
    rewritten = chain[:1]
    for link in [dataclasses.replace(chain[1], entry=forged), *chain[2:]]:
        rewritten.append(rehash(link, prev_hash=rewritten[-1].entry_hash))
    assert verify_chain(rewritten, item_id=ITEM) == []
    assert first(verify_chain(rewritten, item_id=ITEM, head=head)) == (
        COUNT - 1,
        {Reason.HEAD_MISMATCH},
    )


def test_an_entry_from_another_items_log_is_found(chain: list[ChainedEntry]) -> None:
    other = build(*(dataclasses.replace(e, item_id="another-item") for e in LIFE))
    chain[2] = other[2]
    found_at, reasons = first(verify_chain(chain, item_id=ITEM))
    assert found_at == 2
    assert Reason.WRONG_ITEM in reasons
    # Even a whole log presented as this item's is refused.
    assert first(verify_chain(other, item_id=ITEM)) == (0, {Reason.WRONG_ITEM})


def test_a_break_names_each_bad_position(chain: list[ChainedEntry]) -> None:
    for index in (1, 4):
        link = chain[index]
        chain[index] = dataclasses.replace(
            link, entry=dataclasses.replace(link.entry, reason="改过 / altered")
        )
    assert [(b.position, b.seq, b.reason) for b in verify_chain(chain, item_id=ITEM)] == [
        (1, 2, Reason.HASH_MISMATCH),
        (4, 5, Reason.HASH_MISMATCH),
    ]


# Rules of succession


def test_custody_starts_with_collection() -> None:
    with pytest.raises(CustodyError, match="only `collected`"):
        build(entry(T, "A", "B"))


def test_nothing_follows_destruction() -> None:
    for event in CustodyEvent:
        with pytest.raises(CustodyError, match="destroyed"):
            build(*LIFE, entry(event, None, "X", minutes=600))


def test_after_a_return_only_a_new_collection_may_follow() -> None:
    returned = LIFE[:5]
    with pytest.raises(CustodyError, match="not in custody"):
        build(*returned, entry(T, "被害人监护人", "法院", minutes=400))
    with pytest.raises(CustodyError, match="not in custody"):
        build(*returned, entry(A, "被害人监护人", None, minutes=400))
    assert replay(build(*returned, LIFE[5])).holder == "法院"


def test_a_transfer_comes_from_the_current_holder_and_goes_to_another() -> None:
    start = LIFE[:1]
    with pytest.raises(CustodyError, match="current holder"):
        build(*start, entry(T, "别人", "市局物证鉴定所", minutes=1))
    with pytest.raises(CustodyError, match="another holder"):
        build(*start, entry(T, "派出所物证室", "派出所物证室", minutes=1))
    with pytest.raises(CustodyError, match="another holder"):
        build(*start, entry(T, "派出所物证室", None, minutes=1))


def test_analysis_leaves_the_item_with_its_holder() -> None:
    with pytest.raises(CustodyError, match="transfer it first"):
        build(LIFE[0], entry(A, "派出所物证室", "市局物证鉴定所", minutes=1))
    assert replay(build(LIFE[0], entry(A, "派出所物证室", "派出所物证室", minutes=1))).holder == (
        "派出所物证室"
    )


def test_an_item_in_custody_is_not_collected_again() -> None:
    with pytest.raises(CustodyError, match="already in custody"):
        build(LIFE[0], entry(C, "派出所物证室", "法院", minutes=1))


def test_destruction_has_no_recipient() -> None:
    with pytest.raises(CustodyError, match="no holder"):
        build(LIFE[0], entry(D, "派出所物证室", "法院", minutes=1))


@pytest.mark.parametrize("reason", ["", "   ", "\n"])
def test_a_reason_is_mandatory(reason: str) -> None:
    with pytest.raises(CustodyError, match="reason is required"):
        build(entry(C, None, "派出所物证室", reason=reason))


def test_events_are_in_time_order() -> None:
    with pytest.raises(CustodyError, match="earlier"):
        build(LIFE[0], entry(T, "派出所物证室", "法院", minutes=-1))
    # The same instant is allowed: a hand-over and a receipt may be stamped alike.
    build(LIFE[0], entry(T, "派出所物证室", "法院", minutes=0))


def test_append_numbers_and_links_and_refuses_another_items_entry(
    chain: list[ChainedEntry],
) -> None:
    short = chain[:2]
    nxt = append(short, dataclasses.replace(LIFE[2], seq=99))
    assert nxt.entry.seq == 3
    assert nxt.prev_hash == short[-1].entry_hash
    with pytest.raises(CustodyError, match="another item"):
        append(short, dataclasses.replace(LIFE[2], item_id="another-item"))


def test_a_log_that_breaks_the_rules_is_reported(chain: list[ChainedEntry]) -> None:
    # Written by code that skipped `append`: hashes and links hold, the rules do not.
    bad = dataclasses.replace(LIFE[3], from_holder="别人", seq=4)
    chain[3] = ChainedEntry(bad, chain[2].entry_hash, chain_hash(chain[2].entry_hash, bad))
    for i in range(4, COUNT):
        chain[i] = rehash(chain[i], prev_hash=chain[i - 1].entry_hash)
    assert [(b.position, b.reason) for b in verify_chain(chain, item_id=ITEM)] == [
        (3, Reason.INVALID_TRANSITION)
    ]


# Properties


@st.composite
def lives(draw: st.DrawFn) -> list[CustodyEntry]:
    """A random valid custody history, built by following the rules."""
    holders = ["A", "B", "C", "家属", "实验室"]
    entries: list[CustodyEntry] = []
    holder: str | None = None
    minutes = 0
    for _ in range(draw(st.integers(min_value=1, max_value=12))):
        minutes += draw(st.integers(min_value=0, max_value=600))
        if holder is None:
            event, src, dst = (
                C,
                draw(st.sampled_from([None, *holders])),
                draw(st.sampled_from(holders)),
            )
        else:
            event = draw(st.sampled_from([T, A, R, D]))
            others = [h for h in holders if h != holder]
            dst = {
                T: draw(st.sampled_from(others)),
                A: None,
                R: draw(st.sampled_from(others)),
                D: None,
            }[event]
            src = holder
        entries.append(
            entry(
                event, src, dst, minutes=minutes, reason=draw(st.text(min_size=1).filter(str.strip))
            )
        )
        if event is D:
            break
        holder = dst if event in {C, T} else (holder if event is A else None)
    return entries


@settings(max_examples=80, deadline=None)
@given(life=lives())
def test_any_valid_history_verifies(life: list[CustodyEntry]) -> None:
    chain = build(*life)
    assert verify_chain(chain, item_id=ITEM, head=head_of(chain)) == []


@settings(max_examples=150, deadline=None)
@given(
    life=lives(),
    data=st.data(),
)
def test_any_changed_text_field_is_found_at_its_entry(
    life: list[CustodyEntry], data: st.DataObject
) -> None:
    chain = build(*life)
    index = data.draw(st.integers(min_value=0, max_value=len(chain) - 1))
    field = data.draw(st.sampled_from(["actor_id", "organisation_id", "place", "reason"]))
    old = getattr(chain[index].entry, field)
    new = data.draw(st.text(min_size=1).filter(lambda value: value != old and value.strip()))
    chain[index] = dataclasses.replace(
        chain[index], entry=dataclasses.replace(chain[index].entry, **{field: new})
    )
    assert first(verify_chain(chain, item_id=ITEM)) == (index, {Reason.HASH_MISMATCH})
