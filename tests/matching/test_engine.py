"""The decision for each way DESIGN §5 says a person may be written, and its explanation."""

from __future__ import annotations

from datetime import date

import pytest

from shouhu.matching.compare import Field, Level
from shouhu.matching.engine import Outcome, Rule
from tests.factories.matching import THRESHOLDS, MemorySource, profile
from tests.factories.registry import prc_number, to_15

pytestmark = pytest.mark.usefixtures("keyring")  # blocking keys are blind indexes

BORN = date(1980, 5, 17)
NUMBER = prc_number("110105", BORN, 123)  # a man
SHAN = prc_number("440103", date(1934, 7, 17), 15)  # 单田芳, born 1934: has a 15-digit form
PASSPORT = "723456789"


@pytest.fixture
def registry() -> MemorySource:
    source = MemorySource()
    source.add("P-WANG", profile("王小明", number=NUMBER, former=("王明",)))
    source.add("P-SHAN", profile("单田芳", number=SHAN))
    source.add(
        "P-PETROV",
        profile(
            "Petrov Ivan",
            id_type="passport",
            number=PASSPORT,
            nationality="RUS",
            born=date(1975, 3, 2),
            sex="M",
        ),
    )
    source.add(
        "P-MULLER",
        profile(
            "Müller Hans",
            id_type="passport",
            number="C01X00T47",
            nationality="DEU",
            born=date(1969, 8, 30),
            sex="M",
        ),
    )
    return source


@pytest.mark.parametrize(
    ("name", "number", "target"),
    [
        ("王小明", NUMBER, "P-WANG"),  # as registered
        ("王小明", to_15(NUMBER), "P-WANG"),  # the first-generation 15-digit number
        ("單田芳", SHAN, "P-SHAN"),  # traditional characters
        ("Shan Tianfang", SHAN, "P-SHAN"),  # pinyin with the surname reading 单 = Shan
        ("TIANFANG SHAN", to_15(SHAN), "P-SHAN"),  # given name first, capitals, 15 digits
        ("Wang Xiaoming", NUMBER, "P-WANG"),
        ("王晓明", NUMBER, "P-WANG"),  # a homophone typing error, same number
        ("王明", NUMBER, "P-WANG"),  # the former name
        ("李建国", NUMBER, "P-WANG"),  # a changed name on an unchanged number
    ],
)
def test_one_prc_identity_written_many_ways_is_a_hit(registry, name, number, target):
    decision = registry.decide(profile(name, number=number))
    assert decision.outcome is Outcome.HIT
    assert decision.explanation is not None
    assert decision.explanation.external_id == target
    assert decision.explanation.rule is Rule.SCORE_OVER_HIT


@pytest.mark.parametrize("name", ["Петров Иван", "PETROV, Ivan", "ivan petrov", "Petrov  Ivan"])
def test_a_foreign_name_in_cyrillic_or_any_order_and_case_is_a_hit(registry, name):
    query = profile(
        name, id_type="passport", number=PASSPORT, nationality="RUS", born=date(1975, 3, 2)
    )
    decision = registry.decide(query)
    assert (decision.outcome, decision.explanation.external_id) == (Outcome.HIT, "P-PETROV")


def test_diacritics_and_their_ascii_spelling_are_the_same_name(registry):
    for name in ("MUELLER Hans", "Hans Müller", "muller hans"):
        query = profile(
            name, id_type="passport", number="C01X00T47", nationality="DEU", born=date(1969, 8, 30)
        )
        assert registry.decide(query).outcome is Outcome.HIT, name


def test_a_new_number_for_the_same_name_birth_date_and_sex_goes_to_review(registry):
    other_number = prc_number("320102", BORN, 457)  # another region and sequence, also a man
    decision = registry.decide(profile("王小明", number=other_number))
    assert decision.outcome is Outcome.POSSIBLE_MATCH
    assert decision.explanation.external_id == "P-WANG"
    assert decision.explanation.rule is Rule.DOCUMENT_NOT_EXACT
    levels = {s.comparison.field: s.comparison.level for s in decision.explanation.fields}
    assert levels[Field.DOCUMENT] is Level.DIFFERENT
    assert levels[Field.NAME] is Level.EXACT
    assert levels[Field.DATE_OF_BIRTH] is Level.EXACT


def test_a_renewed_passport_goes_to_review(registry):
    query = profile(
        "Petrov Ivan",
        id_type="passport",
        number="758812340",
        nationality="RUS",
        born=date(1975, 3, 2),
        sex="M",
    )
    decision = registry.decide(query)
    assert (decision.outcome, decision.explanation.external_id) == (
        Outcome.POSSIBLE_MATCH,
        "P-PETROV",
    )


def test_one_mistyped_passport_character_goes_to_review_not_a_hit(registry):
    query = profile(
        "Petrov Ivan",
        id_type="passport",
        number="723456780",
        nationality="RUS",
        born=date(1975, 3, 2),
        sex="M",
    )
    decision = registry.decide(query)
    assert decision.outcome is Outcome.POSSIBLE_MATCH
    assert "document=close" in decision.explanation.reasons()


def test_a_namesake_born_on_another_day_is_no_record(registry):
    namesake = prc_number("110105", date(1983, 2, 9), 311)
    decision = registry.decide(profile("王小明", number=namesake))
    assert decision.outcome is Outcome.NO_RECORD


def test_a_stranger_is_no_record_with_no_candidate(registry):
    decision = registry.decide(profile("赵云", number=prc_number("510104", date(1990, 1, 1), 1)))
    assert (decision.outcome, decision.score, decision.explanation) == (
        Outcome.NO_RECORD,
        None,
        None,
    )


def test_a_person_with_no_record_in_scope_answers_no_record_and_says_why():
    source = MemorySource()
    source.add("P-SEALED", profile("王小明", number=NUMBER), in_scope=False)
    decision = source.decide(profile("王小明", number=NUMBER))
    assert decision.outcome is Outcome.NO_RECORD
    assert decision.explanation.rule is Rule.NO_RECORD_IN_SCOPE
    assert decision.explanation.external_id == "P-SEALED"


def test_between_namesakes_the_one_whose_number_agrees_is_the_hit():
    source = MemorySource()
    twin_number = prc_number("110105", BORN, 125)  # same name, birth date and sex
    source.add("P-A", profile("王小明", number=NUMBER))
    source.add("P-B", profile("王小明", number=twin_number))
    decision = source.decide(profile("王小明", number=twin_number))
    assert (decision.outcome, decision.explanation.external_id) == (Outcome.HIT, "P-B")
    assert decision.candidates == 2


def test_the_explanation_lists_each_field_with_its_weight(registry):
    decision = registry.decide(profile("王晓明", number=NUMBER))
    explanation = decision.explanation
    weights = {s.comparison.field: s.weight for s in explanation.fields}
    assert set(weights) == set(Field)
    assert weights[Field.DOCUMENT] > weights[Field.NAME] > 0  # a homophone: some evidence
    assert decision.score == pytest.approx(sum(weights.values()), abs=0.01)
    reasons = explanation.reasons()
    assert reasons.startswith("document=exact +")
    assert "name=phonetic (pinyin_equal, primary name)" in reasons
    assert reasons.endswith("rule=score_over_hit_threshold_and_document_exact")
    assert explanation.model_version.startswith("stated-")


def test_a_shared_birth_date_sex_and_nationality_alone_is_never_a_match():
    source = MemorySource()
    # A Chinese passport holder (his number cannot be compared with the query's PRC number),
    # born the same day, sharing only the surname (found by birth date and "wan").
    source.add(
        "P-PASS", profile("王建国", id_type="passport", number="E12345678", born=BORN, sex="M")
    )
    decision = source.decide(profile("王小明", number=NUMBER))
    assert decision.outcome is Outcome.NO_RECORD
    assert decision.explanation.rule is Rule.NOTHING_IDENTIFYING
    assert decision.score > THRESHOLDS.review  # the score alone would have sent it to review
