"""Merging registry persons who are one human, dismissing a pair, and undoing a wrong merge."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from shouhu.core.database import utcnow
from shouhu.core.errors import ConflictError, ForbiddenError, ValidationFailedError
from shouhu.core.principal import system_principal
from shouhu.core.settings import Settings
from shouhu.identity.prc_id import latest_possible_date
from shouhu.matching.engine import Outcome
from shouhu.registry import merging
from shouhu.registry.duplicates import find_duplicates
from shouhu.registry.lifecycle import (
    RecordCorrection,
    approve_record,
    submit_correction,
    submit_record,
)
from shouhu.registry.models import (
    DuplicateStatus,
    RegistryBlockingKey,
    RegistryDuplicatePair,
    RegistryPerson,
    RegistryRecord,
)
from shouhu.registry.policy import InquiryPurpose
from shouhu.screening.queries import parse_query
from shouhu.screening.service import Matcher, screen
from tests.factories.lifecycle import (
    Cast,
    audit_details_since,
    audit_head,
    audit_since,
    make_cast,
    submission,
)
from tests.factories.registry import prc_number

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session

BORN = date(1980, 5, 17)
FIRST_NUMBER = prc_number("110101", BORN, 123)
# The same man under a number of another county (an old registration never cancelled).
SECOND_NUMBER = prc_number("310101", BORN, 457)


@pytest.fixture
def cast(session: Session) -> Cast:
    return make_cast(session)


def _person(session: Session, cast: Cast, number: str, decision: str) -> RegistryPerson:
    record = submit_record(
        session,
        actor=cast.court_clerk,
        data=submission(id_number=number, decision_number=decision),
    )
    approve_record(session, actor=cast.reviewer, record_id=record.id)
    assert record.person_id is not None
    return session.get_one(RegistryPerson, record.person_id)


@pytest.fixture
def twins(session: Session, cast: Cast) -> tuple[RegistryPerson, RegistryPerson]:
    """王小明 twice: same name, birth date and sex under two numbers, a decision each."""
    first = _person(session, cast, FIRST_NUMBER, "(2019)京0101刑初1号")
    second = _person(session, cast, SECOND_NUMBER, "(2021)沪0101刑初2号")
    return first, second


def _outcome(session: Session, number: str, tmp_path: Path) -> tuple[str, str | None]:
    query = parse_query(
        1,
        {"reference": "q", "name": "王小明", "id_type": "prc_id", "id_number": number},
        today=latest_possible_date(),
    )
    [result] = screen(
        session,
        actor=system_principal("cli"),
        queries=[query],
        matcher=_matcher(tmp_path),
        via="file",
    )
    explanation = result.decision.explanation if result.decision else None
    return result.outcome, explanation.external_id if explanation else None


def _matcher(tmp_path: Path) -> Matcher:
    return Matcher.from_settings(Settings(data_dir=tmp_path), purpose=InquiryPurpose.CLOSE_CONTACT)


def test_the_sweep_keeps_its_pairs_and_a_decided_pair_stays_decided(
    session_factory, session, cast, tmp_path
):
    first = _person(session, cast, FIRST_NUMBER, "(2019)京0101刑初1号")
    second = _person(session, cast, SECOND_NUMBER, "(2021)沪0101刑初2号")
    session.commit()
    try:
        sweep = list(
            find_duplicates(
                session.get_bind(),
                session_factory,
                actor=system_principal("cli"),
                model=_matcher(tmp_path).model,
                thresholds=_matcher(tmp_path).thresholds,
            )
        )
        pairs = [pair for batch in sweep for pair in batch]
        assert [(p.first_person_id, p.second_person_id) for p in pairs] == [
            tuple(sorted((first.id, second.id)))
        ]
        assert pairs[0].outcome is Outcome.POSSIBLE_MATCH
        stored = session.scalars(select(RegistryDuplicatePair)).all()
        assert [(s.status, s.outcome) for s in stored] == [("open", "possible_match")]
        merging.dismiss_pair(
            session, actor=cast.reviewer, pair_id=stored[0].id, reason="两个人：父子同名"
        )
        session.commit()
        list(
            find_duplicates(
                session.get_bind(),
                session_factory,
                actor=system_principal("cli"),
                model=_matcher(tmp_path).model,
                thresholds=_matcher(tmp_path).thresholds,
            )
        )
        session.expire_all()
        again = session.scalars(select(RegistryDuplicatePair)).all()
        assert [(s.status, s.reason) for s in again] == [("dismissed", "两个人：父子同名")]
    finally:
        session.rollback()


def test_a_merge_moves_everything_and_screening_finds_the_kept_person_by_either_number(
    session, cast, twins, tmp_path
):
    first, second = twins
    start = audit_head(session)
    merge = merging.merge_persons(
        session, actor=cast.reviewer, kept_id=first.id, merged_id=second.id, reason="同一人"
    )
    assert audit_since(session, start) == [("web:registry:person_merge", str(merge.id))]
    session.expire_all()
    kept = session.get_one(RegistryPerson, first.id)
    merged = session.get_one(RegistryPerson, second.id)
    assert merged.merged_into_id == kept.id
    assert (merged.names, merged.documents, merged.records) == ([], [], [])
    assert sorted(d.number for d in kept.documents) == sorted([FIRST_NUMBER, SECOND_NUMBER])
    assert len(kept.records) == 2
    # The merged person can no longer be found: no keys, no profile.
    keys = session.scalars(
        select(RegistryBlockingKey).where(RegistryBlockingKey.person_id == merged.id)
    ).all()
    assert keys == []
    assert merged.match_profile is None
    for number in (FIRST_NUMBER, SECOND_NUMBER):
        assert _outcome(session, number, tmp_path) == ("hit", kept.external_id)
    details = " ".join(audit_details_since(session, start))
    for secret in ("王小明", FIRST_NUMBER, SECOND_NUMBER, "同一人"):
        assert secret not in details


def test_a_wrong_merge_is_undone_exactly_with_a_correction_made_since(
    session, cast, twins, tmp_path
):
    first, second = twins
    kinds_before = sorted((n.id, n.kind) for n in second.names)
    merge = merging.merge_persons(
        session, actor=cast.reviewer, kept_id=first.id, merged_id=second.id, reason="同一人"
    )
    # After the merge, the second man's record is corrected (on the kept person).
    moved = session.scalars(
        select(RegistryRecord).where(RegistryRecord.decision_number_sealed.is_not(None))
    ).all()
    shanghai = next(r for r in moved if r.decision_number == "(2021)沪0101刑初2号")
    correction = submit_correction(
        session,
        actor=cast.court_clerk,
        record_id=shanghai.id,
        data=RecordCorrection(
            record_kind="conviction",
            offence="child_molestation",
            decision_authority="上海市黄浦区人民法院",
            decision_number="(2021)沪0101刑初2号",
            decision_date="2021-04-02",
        ),
    )
    approve_record(session, actor=cast.second_reviewer, record_id=correction.id)
    start = audit_head(session)
    merging.undo_merge(session, actor=cast.reviewer, merge_id=merge.id, reason="两兄弟")
    assert audit_since(session, start) == [("web:registry:person_merge_undo", str(merge.id))]
    session.expire_all()
    kept = session.get_one(RegistryPerson, first.id)
    merged = session.get_one(RegistryPerson, second.id)
    assert merged.merged_into_id is None
    assert sorted((n.id, n.kind) for n in merged.names) == kinds_before
    assert [d.number for d in merged.documents] == [SECOND_NUMBER]
    assert sorted(r.version for r in merged.records) == [1, 2]  # the correction went with it
    assert [d.number for d in kept.documents] == [FIRST_NUMBER]
    assert _outcome(session, SECOND_NUMBER, tmp_path) == ("hit", merged.external_id)
    assert _outcome(session, FIRST_NUMBER, tmp_path) == ("hit", kept.external_id)
    stored = session.get_one(type(merge), merge.id)
    assert stored.undo_reason == "两兄弟"
    assert stored.undone_by_id == cast.reviewer.user_id


def test_merging_a_pair_decides_it_and_undoing_dismisses_it(session, cast, twins):
    first, second = twins
    low, high = sorted((first.id, second.id))
    pair = RegistryDuplicatePair(
        first_person_id=low,
        second_person_id=high,
        outcome="possible_match",
        score=10.0,
        reasons="rule=review",
        found_at=utcnow(),
    )
    session.add(pair)
    session.flush()
    merge = merging.merge_for_pair(
        session, actor=cast.reviewer, pair_id=pair.id, keep="second", reason="同一人"
    )
    assert (merge.kept_person_id, merge.merged_person_id) == (high, low)
    assert pair.status == DuplicateStatus.MERGED.value
    assert json.loads(merge.moved)["records"]
    with pytest.raises(ConflictError):
        merging.merge_for_pair(
            session, actor=cast.reviewer, pair_id=pair.id, keep="first", reason="again"
        )
    merging.undo_merge(session, actor=cast.reviewer, merge_id=merge.id, reason="两兄弟")
    assert pair.status == DuplicateStatus.DISMISSED.value
    with pytest.raises(ConflictError, match="already been undone"):
        merging.undo_merge(session, actor=cast.reviewer, merge_id=merge.id, reason="again")


def test_refusals(session, cast, twins):
    first, second = twins
    with pytest.raises(ValidationFailedError):
        merging.merge_persons(
            session, actor=cast.reviewer, kept_id=first.id, merged_id=second.id, reason=" "
        )
    with pytest.raises(ValidationFailedError):
        merging.merge_persons(
            session, actor=cast.reviewer, kept_id=first.id, merged_id=first.id, reason="x"
        )
    # Only reviewers decide duplicates.
    with pytest.raises(ForbiddenError):
        merging.merge_persons(
            session, actor=cast.registry_clerk, kept_id=first.id, merged_id=second.id, reason="x"
        )
    merging.merge_persons(
        session, actor=cast.reviewer, kept_id=first.id, merged_id=second.id, reason="同一人"
    )
    third = _person(session, cast, prc_number("440106", BORN, 789), "(2022)粤0106刑初3号")
    with pytest.raises(ConflictError, match="already been merged"):
        merging.merge_persons(
            session, actor=cast.reviewer, kept_id=third.id, merged_id=second.id, reason="x"
        )


def test_two_persons_holding_the_same_decision_are_not_merged(session, cast):
    first = _person(session, cast, FIRST_NUMBER, "(2019)京0101刑初1号")
    second = _person(session, cast, SECOND_NUMBER, "(2019)京0101刑初1号")
    with pytest.raises(ConflictError, match="same decision"):
        merging.merge_persons(
            session, actor=cast.reviewer, kept_id=first.id, merged_id=second.id, reason="同一人"
        )
    session.expire_all()
    assert session.get_one(RegistryPerson, second.id).merged_into_id is None


def test_a_decision_approved_while_merged_goes_back_with_its_document(
    session, cast, twins, tmp_path
):
    first, second = twins
    merge = merging.merge_persons(
        session, actor=cast.reviewer, kept_id=first.id, merged_id=second.id, reason="同一人"
    )
    # While merged, a new conviction of the second number's holder (under another name) is
    # approved onto the kept person, who holds that document now.
    record = submit_record(
        session,
        actor=cast.court_clerk,
        data=submission(
            name="王晓明", id_number=SECOND_NUMBER, decision_number="(2025)沪0101刑初9号"
        ),
    )
    approve_record(session, actor=cast.reviewer, record_id=record.id)
    assert record.person_id == first.id
    merging.undo_merge(session, actor=cast.reviewer, merge_id=merge.id, reason="两兄弟")
    session.expire_all()
    assert session.get_one(RegistryRecord, record.id).person_id == second.id
    merged = session.get_one(RegistryPerson, second.id)
    kept = session.get_one(RegistryPerson, first.id)
    assert "王晓明" in {n.name for n in merged.names}
    assert "王晓明" not in {n.name for n in kept.names}
    assert _outcome(session, SECOND_NUMBER, tmp_path) == ("hit", merged.external_id)
