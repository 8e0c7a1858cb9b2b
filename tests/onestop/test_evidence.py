"""Evidence items, their custody log and files: the service's rules, audit events and refusals.

The must-shows of issue 6, item 5: a tampered file is refused on download and an alert raised
(kept although the download failed); a custody log with one entry altered in the database is
detected, and so is one cut short; an outsider gets the 404 of a case that does not exist.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select, update

from shouhu.core.database import transaction, utcnow
from shouhu.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from shouhu.onestop import custody, evidence, repository
from shouhu.onestop.blobs import BlobStore
from shouhu.onestop.evidence_models import CustodyRecord, EvidenceAlert, EvidenceItem
from tests.factories.evidence import HOLDER, LAB, record_item
from tests.factories.lifecycle import principal_of
from tests.factories.onestop import Cast, join, open_case
from tests.onestop.conftest import events_since, head
from tests.onestop.evidence_helpers import flip_bit, make_ring

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session, sessionmaker

    from shouhu.onestop.models import OneStopCase


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    """A store of its own with a keyring made in memory."""
    return BlobStore(tmp_path / "evidence", keyring=make_ring())


@pytest.fixture
def case(session: Session, cast: Cast) -> OneStopCase:
    """A case of the officer, with the forensic examiner and a support worker on its team."""
    received = open_case(session, cast.officer, cast.site)
    join(session, received, cast.forensic, "forensic")
    join(session, received, cast.support, "support")
    return received


def _change(
    event: str, reason: str = "送检。", to_holder: str | None = LAB
) -> evidence.CustodyInput:
    return evidence.CustodyInput(event=event, reason=reason, place="物证室", to_holder=to_holder)


# --- items and the first custody entry ----------------------------------------------------------


def test_recording_an_item_seals_it_and_writes_collected_in_the_same_transaction(
    session: Session, cast: Cast, case: OneStopCase
) -> None:
    start = head(session)
    item = record_item(session, cast.forensic, case)
    assert events_since(session, start) == [("web:onestop:evidence_add", "evidence_item")]
    assert item.number == 1
    assert item.description == "儿童 A 的询问同步录音录像。"
    raw = session.execute(
        select(EvidenceItem.description_sealed, EvidenceItem.place_sealed).where(
            EvidenceItem.id == item.id
        )
    ).one()
    assert "询问".encode() not in raw[0] + raw[1]
    (entry,) = evidence.custody_entries(session, item)
    assert entry.entry.event == custody.CustodyEvent.COLLECTED
    assert entry.entry.to_holder == HOLDER
    assert entry.entry.reason == "询问结束后固定证据。"
    assert (item.custody_seq, item.custody_head) == (1, entry.entry_hash)
    assert record_item(session, cast.officer, case, kind="clothing").number == 2


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("reason", {"reason": "   "}),
        ("holder", {"holder": ""}),
        ("description", {"description": ""}),
        ("place", {"place": ""}),
        ("kind", {"kind": "rumour"}),
        ("collected_at", {"collected_at": utcnow() + timedelta(hours=2)}),
    ],
)
def test_an_item_without_what_it_needs_is_refused_naming_the_field(
    session: Session, cast: Cast, case: OneStopCase, field: str, overrides: dict[str, object]
) -> None:
    with pytest.raises(ValidationFailedError) as caught:
        record_item(session, cast.forensic, case, **overrides)
    assert caught.value.field == field


def test_a_child_of_another_case_is_refused(
    session: Session, cast: Cast, case: OneStopCase
) -> None:
    other = open_case(session, cast.officer, cast.site)
    (child,) = repository.children_of(session, other.id)
    with pytest.raises(ValidationFailedError) as caught:
        record_item(session, cast.forensic, case, child_id=child.id)
    assert caught.value.field == "child_id"


def test_an_outsider_gets_404_and_a_support_worker_on_the_team_may_read_not_record(
    session: Session, cast: Cast, case: OneStopCase
) -> None:
    item = record_item(session, cast.forensic, case)
    for outsider in (cast.second_officer, cast.other_officer, cast.prosecutor):
        with pytest.raises(NotFoundError):
            evidence.read_item(
                session, actor=principal_of(outsider), case_id=case.id, item_id=item.id
            )
    with pytest.raises(NotFoundError):
        record_item(session, cast.second_officer, case)
    support = principal_of(cast.support)
    assert evidence.read_item(session, actor=support, case_id=case.id, item_id=item.id) == item
    with pytest.raises(ForbiddenError):
        record_item(session, cast.support, case)


def test_an_item_of_another_case_is_not_found_through_this_case(
    session: Session, cast: Cast, case: OneStopCase
) -> None:
    other = open_case(session, cast.officer, cast.site)
    item = record_item(session, cast.officer, other)
    with pytest.raises(NotFoundError):
        evidence.read_item(
            session, actor=principal_of(cast.officer), case_id=case.id, item_id=item.id
        )


# --- the custody log ----------------------------------------------------------------------------


def test_custody_events_chain_from_the_current_holder_and_are_audited(
    session: Session, cast: Cast, case: OneStopCase
) -> None:
    item = record_item(session, cast.forensic, case)
    actor = principal_of(cast.forensic)
    start = head(session)
    evidence.append_custody(
        session, actor=actor, case_id=case.id, item_id=item.id, change=_change("transferred")
    )
    evidence.append_custody(
        session,
        actor=actor,
        case_id=case.id,
        item_id=item.id,
        change=_change("analysed", "DNA 检验。", None),
    )
    assert events_since(session, start) == [
        ("web:onestop:custody_append", "evidence_item"),
        ("web:onestop:custody_append", "evidence_item"),
    ]
    entries = evidence.custody_entries(session, item)
    assert [(e.entry.event, e.entry.from_holder, e.entry.to_holder) for e in entries] == [
        ("collected", None, HOLDER),
        ("transferred", HOLDER, LAB),
        ("analysed", LAB, None),
    ]
    assert [e.prev_hash for e in entries[1:]] == [e.entry_hash for e in entries[:-1]]
    assert evidence.verify_custody(session, actor=actor, case_id=case.id, item_id=item.id) == []


def test_a_custody_event_without_a_reason_is_refused_naming_the_field(
    session: Session, cast: Cast, case: OneStopCase
) -> None:
    item = record_item(session, cast.forensic, case)
    with pytest.raises(ValidationFailedError) as caught:
        evidence.append_custody(
            session,
            actor=principal_of(cast.forensic),
            case_id=case.id,
            item_id=item.id,
            change=_change("transferred", reason=" \n "),
        )
    assert caught.value.field == "reason"
    assert item.custody_seq == 1


def test_nothing_follows_destruction(session: Session, cast: Cast, case: OneStopCase) -> None:
    item = record_item(session, cast.forensic, case, kind="biological_sample")
    actor = principal_of(cast.forensic)
    evidence.append_custody(
        session,
        actor=actor,
        case_id=case.id,
        item_id=item.id,
        change=_change("destroyed", "判决生效后依法销毁。", None),
    )
    with pytest.raises(ConflictError) as caught:
        evidence.append_custody(
            session, actor=actor, case_id=case.id, item_id=item.id, change=_change("transferred")
        )
    assert "destroyed" in str(caught.value)


def test_an_entry_altered_in_the_database_is_detected(
    session: Session, cast: Cast, case: OneStopCase
) -> None:
    item = record_item(session, cast.forensic, case)
    actor = principal_of(cast.forensic)
    evidence.append_custody(
        session, actor=actor, case_id=case.id, item_id=item.id, change=_change("transferred")
    )
    # Someone with database access rewrites where the item went.
    session.execute(
        update(CustodyRecord)
        .where(CustodyRecord.item_id == item.id, CustodyRecord.seq == 2)
        .values(to_holder="某私人")
    )
    session.expire_all()
    start = head(session)
    breaks = evidence.verify_custody(session, actor=actor, case_id=case.id, item_id=item.id)
    assert [(b.seq, b.reason) for b in breaks] == [(2, custody.Reason.HASH_MISMATCH)]
    assert events_since(session, start) == [("web:onestop:custody_verify", "evidence_item")]


def test_an_entry_cut_from_the_end_is_detected_against_the_items_head(
    session: Session, cast: Cast, case: OneStopCase
) -> None:
    item = record_item(session, cast.forensic, case)
    actor = principal_of(cast.forensic)
    evidence.append_custody(
        session, actor=actor, case_id=case.id, item_id=item.id, change=_change("transferred")
    )
    session.execute(
        CustodyRecord.__table__.delete().where(
            CustodyRecord.item_id == item.id, CustodyRecord.seq == 2
        )
    )
    session.expire_all()
    breaks = evidence.verify_custody(session, actor=actor, case_id=case.id, item_id=item.id)
    assert [b.reason for b in breaks] == [custody.Reason.TRUNCATED]


# --- files --------------------------------------------------------------------------------------


def _attach(session: Session, cast: Cast, case: OneStopCase, store: BlobStore) -> EvidenceItem:
    item = record_item(session, cast.forensic, case)
    blob = store.put_iter([b"recording " * 1000], max_bytes=1 << 20)
    return evidence.attach_file(
        session,
        actor=principal_of(cast.forensic),
        case_id=case.id,
        item_id=item.id,
        blob=blob,
        filename="询问录像.mp4",
        content_type="video/mp4",
    )


def test_a_verified_download_is_audited(
    session: Session, cast: Cast, case: OneStopCase, store: BlobStore
) -> None:
    item = _attach(session, cast, case, store)
    assert item.file_size == 10_000
    assert item.file_name == "询问录像.mp4"
    start = head(session)
    _, blob = evidence.open_download(
        session, actor=principal_of(cast.support), case_id=case.id, item_id=item.id, store=store
    )
    with blob:
        assert b"".join(blob.chunks()) == b"recording " * 1000
    assert events_since(session, start) == [("web:onestop:evidence_download", "evidence_item")]


def test_a_second_file_and_a_file_for_clothing_are_refused(
    session: Session, cast: Cast, case: OneStopCase, store: BlobStore
) -> None:
    item = _attach(session, cast, case, store)
    actor = principal_of(cast.forensic)
    with pytest.raises(ConflictError):
        evidence.check_upload(session, actor=actor, case_id=case.id, item_id=item.id)
    clothing = record_item(session, cast.forensic, case, kind="clothing")
    with pytest.raises(ConflictError):
        evidence.check_upload(session, actor=actor, case_id=case.id, item_id=clothing.id)


def test_a_tampered_file_is_blocked_and_the_alert_is_committed_with_the_refusal(
    session_factory: sessionmaker[Session],
    session: Session,
    cast: Cast,
    case: OneStopCase,
    store: BlobStore,
) -> None:
    item = _attach(session, cast, case, store)
    assert item.file_sha256 is not None
    flip_bit(store.path_for(item.file_sha256), 200)
    session.commit()
    start = head(session)
    with (
        pytest.raises(evidence.EvidenceBlockedError) as caught,
        transaction(session_factory) as work,
    ):
        evidence.open_download(
            work, actor=principal_of(cast.support), case_id=case.id, item_id=item.id, store=store
        )
    assert caught.value.persist
    assert "alert" in str(caught.value)
    assert events_since(session, start) == [
        ("web:onestop:evidence_alert", "evidence_item"),
        ("web:onestop:evidence_download", "evidence_item"),
    ]
    (alert,) = session.scalars(select(EvidenceAlert).where(EvidenceAlert.case_id == case.id))
    assert alert.item_id == item.id
    assert alert.details["expected_sha256"] == item.file_sha256
    assert alert.details["damage"] == "segment"
    assert alert.acknowledged_at is None


def test_only_the_lead_acknowledges_an_alert(
    session: Session, cast: Cast, case: OneStopCase, store: BlobStore
) -> None:
    item = _attach(session, cast, case, store)
    assert item.file_sha256 is not None
    problem = store.check(item.file_sha256)
    assert problem is None
    flip_bit(store.path_for(item.file_sha256), 300)
    damage = store.check(item.file_sha256)
    assert damage is not None
    alert = evidence.raise_alert(
        session, actor=principal_of(cast.forensic), item=item, error=damage
    )
    join(session, case, cast.second_officer, "investigator")
    with pytest.raises(ForbiddenError):
        evidence.acknowledge_alert(
            session, actor=principal_of(cast.second_officer), case_id=case.id, alert_id=alert.id
        )
    start = head(session)
    evidence.acknowledge_alert(
        session, actor=principal_of(cast.officer), case_id=case.id, alert_id=alert.id
    )
    assert events_since(session, start) == [("web:onestop:alert_acknowledge", "onestop_alert")]
    assert alert.acknowledged_by_id == cast.officer.id
    with pytest.raises(ConflictError):
        evidence.acknowledge_alert(
            session, actor=principal_of(cast.officer), case_id=case.id, alert_id=alert.id
        )
