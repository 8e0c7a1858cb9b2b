"""The disclosure policy: released versions are never edited, and each purpose's scope."""

from __future__ import annotations

import hashlib

import pytest

from shouhu.registry import policy as policy_module
from shouhu.registry.models import RecordKind, RecordStatus
from shouhu.registry.offences import OffenceCategory
from shouhu.registry.policy import (
    CURRENT_VERSION,
    RELEASED,
    InquiryPurpose,
    PolicyError,
    parse_policy,
    policy,
    policy_text,
)

SEXUAL = sorted(
    code
    for code, offence in policy().catalogue.offences.items()
    if offence.category is OffenceCategory.SEXUAL
)
EVERY_OFFENCE = sorted(policy().catalogue.offences)


@pytest.fixture
def fresh_cache():
    """`policy()` reads each version once per process; these tests read again."""
    policy_module._load.cache_clear()
    yield
    policy_module._load.cache_clear()


@pytest.mark.parametrize("version", sorted(RELEASED))
def test_every_released_version_is_shipped_unedited_and_says_its_own_version(version):
    raw = policy_text(version)
    assert hashlib.sha256(raw).hexdigest() == RELEASED[version]
    assert policy(version).version == version
    assert set(policy(version).purposes) == set(InquiryPurpose)


def test_the_current_version_is_the_newest_release():
    assert max(RELEASED) == CURRENT_VERSION
    assert policy() is policy(CURRENT_VERSION)


def test_an_edited_release_is_refused(fresh_cache, monkeypatch):
    edited = policy_text(1).replace(b'categories = ["sexual"]', b'categories = ["violence"]', 1)
    monkeypatch.setattr(policy_module, "policy_text", lambda _version: edited)
    with pytest.raises(PolicyError, match="never edited; write the change as the next version"):
        policy(1)


def test_a_version_never_released_is_refused():
    with pytest.raises(PolicyError, match="version 99 was never released"):
        policy(99)


@pytest.mark.parametrize(
    ("purpose", "offences"),
    [
        # 2020 Opinions: sexual offences, convicted, not prosecuted or penalised.
        (InquiryPurpose.SCHOOL_STAFF, SEXUAL),
        (InquiryPurpose.TEACHER_QUALIFICATION, SEXUAL),
        # Minors Law art. 62: sexual assault, abuse, trafficking and violent injury.
        (InquiryPurpose.CLOSE_CONTACT, EVERY_OFFENCE),
        (InquiryPurpose.ANNUAL_RECHECK, EVERY_OFFENCE),
    ],
)
def test_each_purpose_discloses_the_offences_its_rule_names(purpose, offences):
    scope = policy().scope(purpose)
    assert scope.policy_version == CURRENT_VERSION
    assert list(scope.offences) == offences
    assert set(scope.record_kinds) == {kind.value for kind in RecordKind}
    assert scope.statuses == (RecordStatus.ACTIVE.value,)


def test_an_abuse_conviction_counts_for_close_contact_but_not_for_school_staff():
    record = {"status": "active", "kind": "conviction", "offence": "abuse"}
    assert policy().scope(InquiryPurpose.CLOSE_CONTACT).counts(**record)
    assert not policy().scope(InquiryPurpose.SCHOOL_STAFF).counts(**record)
    penalty = {"status": "active", "kind": "administrative_penalty"}
    assert (
        policy()
        .scope(InquiryPurpose.SCHOOL_STAFF)
        .counts(**penalty, offence="indecency_administrative")
    )


def test_only_active_records_count():
    scope = policy().scope(InquiryPurpose.CLOSE_CONTACT)
    for status in RecordStatus:
        counted = scope.counts(status=status.value, kind="conviction", offence="rape")
        assert counted is (status is RecordStatus.ACTIVE)
    for later in ("pending_review", "corrected", "revoked", "sealed"):  # the lifecycle's states
        assert not scope.counts(status=later, kind="conviction", offence="rape")


def _text(**changes: str) -> str:
    text = policy_text(1).decode("utf-8")
    for old, new in changes.items():
        assert old in text
        text = text.replace(old, new, 1)
    return text


def test_a_malformed_policy_names_what_is_wrong():
    with pytest.raises(PolicyError, match="effective"):
        parse_policy(_text(**{"effective = 2026-11-29": ""}))
    with pytest.raises(PolicyError, match="bad purpose 'school_staff'"):
        parse_policy(_text(**{'categories = ["sexual"]': 'categories = ["theft"]'}))
    with pytest.raises(PolicyError, match="does not cover the purposes annual_recheck"):
        parse_policy(_text(**{"[purpose.annual_recheck]": "[unused.annual_recheck]"}))
    with pytest.raises(PolicyError, match="bad purpose 'lottery'"):
        parse_policy(_text(**{"[purpose.annual_recheck]": "[purpose.lottery]"}))


def test_version_2_adds_the_record_rules_and_version_1_has_none():
    first, second = policy(1), policy(2)
    assert first.sealing is None
    assert first.sealed_visible_to == frozenset()
    assert first.unfinished_submission_days is None
    # Criminal Procedure Law art. 286: under 18 at the offence, sentenced to five years or less.
    assert second.sealing is not None
    assert (second.sealing.under_age, second.sealing.max_sentence_months) == (18, 60)
    assert second.sealed_visible_to == frozenset({"registry_reviewer"})
    assert second.unfinished_submission_days == 90
    # Version 2 changes no purpose and no offence.
    assert first.purposes == second.purposes
    assert first.catalogue.offences == second.catalogue.offences


def test_a_purpose_that_is_not_an_employers_would_count_sealed_records():
    # The first purpose in the file is school_staff.
    text = policy_text(2).decode().replace("\nemployer = true", "\nemployer = false", 1)
    parsed = parse_policy(text)
    assert parsed.scope(InquiryPurpose.SCHOOL_STAFF).statuses == (
        RecordStatus.ACTIVE.value,
        RecordStatus.SEALED.value,
    )
    assert parsed.scope(InquiryPurpose.CLOSE_CONTACT).statuses == (RecordStatus.ACTIVE.value,)
