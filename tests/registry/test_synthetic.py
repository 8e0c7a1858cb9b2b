"""Synthetic identities: valid documents, realistic names, every query category, importable rows."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date

import pytest
from rapidfuzz.distance import Levenshtein

from shouhu.core.principal import system_principal
from shouhu.identity.documents import IdType, normalise_document
from shouhu.identity.names import name_keys, normalise_name
from shouhu.identity.prc_id import CENTENARIAN_SEQUENCES, check_against, to_18
from shouhu.identity.regions import is_current_region, is_known_region
from shouhu.identity.surnames import COMPOUND_SURNAMES
from shouhu.registry import synthetic
from shouhu.registry.importer import COLUMNS, import_file, validate_row
from shouhu.registry.policy import catalogue
from shouhu.registry.synthetic import (
    AS_OF,
    EXPECTED,
    OUTSIDER_CATEGORIES,
    SCREENING_COLUMNS,
    Category,
    SyntheticPerson,
    generate_persons,
    generate_queries,
    registry_rows,
    write_queries_csv,
    write_registry_csv,
)

PERSONS = 3000
PER_CATEGORY = 40
HIT_SAME_DOCUMENT = {
    Category.EXACT,
    Category.TRADITIONAL,
    Category.PINYIN,
    Category.PINYIN_SWAPPED,
    Category.CAPITALS_DIACRITICS,
    Category.CYRILLIC,
    Category.HANGUL,
    Category.FORMER_NAME,
    Category.ALIAS,
    Category.NAME_CHANGED_SAME_ID,
    Category.HOMOPHONE_TYPO_SAME_ID,
    Category.NAME_TYPO_SAME_ID,
    Category.REGISTRY_TYPO_SAME_ID,
}
# Spellings of the registered name: the matching engine finds them through a blocking key.
SAME_NAME_SPELLINGS = {
    Category.EXACT,
    Category.ID_15_DIGIT,
    Category.TRADITIONAL,
    Category.PINYIN,
    Category.PINYIN_SWAPPED,
    Category.CAPITALS_DIACRITICS,
    Category.CYRILLIC,
    Category.HANGUL,
    Category.HOMOPHONE_TYPO_SAME_ID,
    Category.PERMIT_RENEWED,
    Category.NEW_ID_SAME_NAME_DOB_SEX,
    Category.RENEWED_PASSPORT,
}


@pytest.fixture(scope="module")
def registry() -> tuple[SyntheticPerson, ...]:
    return tuple(generate_persons(PERSONS, seed=11))


@pytest.fixture(scope="module")
def by_id(registry):
    return {person.external_id: person for person in registry}


@pytest.fixture(scope="module")
def queries(registry):
    return tuple(generate_queries(registry, PER_CATEGORY * len(Category), seed=12))


def of(queries, category):
    return [query for query in queries if query.category is category]


def lifelong(id_type, number, nationality=None):
    return normalise_document(id_type, number, nationality=nationality).lifelong_number


def registry_numbers(registry):
    return {lifelong(p.id_type, p.id_number, p.nationality) for p in registry}


# --- persons ------------------------------------------------------------------------------------


def test_every_document_is_valid_and_agrees_with_the_person(registry):
    for person in registry:
        for number in {person.id_number, person.registered_id_number}:
            document = normalise_document(person.id_type, number, nationality=person.nationality)
            assert document.number == person.id_number
            assert document.nationality == person.nationality
            assert document.birth_date in {None, person.date_of_birth}
            assert document.sex in {None, person.sex}
    kinds = Counter(person.id_type for person in registry)
    assert set(kinds) == {kind.value for kind in IdType} - {"other"}


def test_no_two_persons_share_a_document(registry):
    numbers = [lifelong(p.id_type, p.id_number, p.nationality) for p in registry]
    assert len(set(numbers)) == len(numbers)


def test_prc_numbers_use_real_regions_some_retired_and_no_centenarian_codes(registry):
    prc = [p for p in registry if p.id_type == IdType.PRC_ID]
    assert all(is_known_region(p.region) and p.id_number.startswith(p.region) for p in prc)
    retired = sum(not is_current_region(p.region) for p in prc) / len(prc)
    assert 0.02 < retired < 0.09
    assert not any(p.id_number[14:17] in CENTENARIAN_SEQUENCES for p in prc)


def test_some_older_persons_are_registered_under_the_fifteen_digit_form(registry):
    prc = [p for p in registry if p.id_type == IdType.PRC_ID]
    old_form = [p for p in prc if len(p.registered_id_number) == 15]
    assert old_form
    assert all(p.date_of_birth.year < 1985 for p in old_form)
    assert all(to_18(p.registered_id_number) == p.id_number for p in old_form)


def test_the_mix_of_persons_is_realistic(registry):
    foreign = [p for p in registry if p.nationality != "CHN"]
    chinese = [p for p in registry if p.nationality == "CHN"]
    assert 0.05 < len(foreign) / len(registry) < 0.11
    permits = sum(p.id_type in {IdType.HKMO_PERMIT, IdType.TW_PERMIT} for p in chinese)
    assert 0.015 < permits / len(chinese) < 0.05
    with_former = [p for p in chinese if p.former_names]
    assert 0.1 < len(with_former) / len(chinese) < 0.2
    assert any(len(p.former_names) == 2 for p in chinese)
    assert {"RUS", "KOR", "JPN", "USA", "DEU"} <= {p.nationality for p in foreign}
    assert all(p.native_name for p in foreign if p.nationality in {"RUS", "KOR"})
    assert all(1950 <= p.date_of_birth.year <= 2006 for p in registry)
    surnames = Counter(p.surname for p in chinese)
    assert {surname for surname, _ in surnames.most_common(3)} == {"王", "李", "张"}
    assert all(0.05 < surnames[s] / len(chinese) < 0.1 for s in "王李张")


def test_the_surname_table_holds_special_readings_and_compound_surnames():
    surnames = set(synthetic._surnames().items)
    assert set("单曾区仇解朴查盖乐覃") <= surnames
    assert {"欧阳", "司马", "诸葛", "上官", "尉迟", "万俟"} <= surnames
    assert {s for s in surnames if len(s) > 1} <= COMPOUND_SURNAMES


def test_names_split_as_matching_splits_them(registry):
    for person in registry:
        if person.is_han:
            parsed = normalise_name(person.true_name)
            assert (parsed.han_surname, parsed.han_given) == (person.surname, person.given_name)


def test_namesakes_are_as_common_as_in_life(registry):
    names = Counter(p.name for p in registry if p.is_han)
    pairs = sum(count * (count - 1) // 2 for count in names.values())
    # About 160 pairs among 3,000: at 100,000 persons that is some 180,000 pairs of namesakes,
    # a dozen of them born on the same day; one name is never a large share of everybody.
    assert 80 < pairs < 400
    assert names.most_common(1)[0][1] < 0.005 * len(registry)


def test_the_same_seed_gives_the_same_persons_and_another_seed_others():
    assert list(generate_persons(300, seed=5)) == list(generate_persons(300, seed=5))
    assert list(generate_persons(300, seed=5)) != list(generate_persons(300, seed=6))
    persons = list(generate_persons(100, seed=5))
    assert list(registry_rows(persons, seed=1)) == list(registry_rows(persons, seed=1))
    assert list(registry_rows(persons, seed=1)) != list(registry_rows(persons, seed=2))


def test_all_foreign_or_all_chinese_on_request():
    assert all(p.nationality != "CHN" for p in generate_persons(200, seed=1, foreign_share=1.0))
    assert all(p.nationality == "CHN" for p in generate_persons(200, seed=1, foreign_share=0.0))


# --- registry rows ------------------------------------------------------------------------------


def test_registry_rows_pass_the_importers_validation(registry, keyring):
    persons = registry[:600]
    rows = list(registry_rows(persons, seed=3))
    per_person = Counter(row["external_id"] for row in rows)
    assert set(per_person.values()) == {1, 2}
    assert len(per_person) == len(persons)
    for number, row in enumerate(rows, start=2):
        assert set(row) == set(COLUMNS)
        assert not isinstance(validate_row(number, row, today=AS_OF), list), row


def test_records_are_plausible(registry, by_id):
    rows = list(registry_rows(registry[:600], seed=3))
    assert {row["record_kind"] for row in rows} == {
        "conviction",
        "non_prosecution",
        "administrative_penalty",
    }
    for row in rows:
        person = by_id[row["external_id"]]
        decided = date.fromisoformat(row["decision_date"])
        born = person.date_of_birth
        assert date(born.year + 14, born.month, min(born.day, 28)) <= decided <= AS_OF
        offence = catalogue().get(row["offence"])
        assert offence is not None
        assert row["record_kind"] in offence.record_kinds
        assert str(decided.year) in row["decision_number"]
        if row["record_kind"] == "conviction":
            assert row["decision_authority"].endswith("人民法院")
        elif row["record_kind"] == "non_prosecution":
            assert row["decision_authority"].endswith("人民检察院")
        else:
            assert "公安局" in row["decision_authority"]


def test_a_registry_file_imports_without_rejections(registry, session_factory, tmp_path):
    # Fifty persons holding every kind of document, and some with former names and aliases.
    persons = []
    for kind in ("passport", "hkmo_permit", "tw_permit", "foreign_pr_id"):
        persons += [p for p in registry if p.id_type == kind][:6]
    persons += [p for p in registry if p.id_type == "prc_id"][: 50 - len(persons)]
    assert any(p.former_names for p in persons)
    assert any(p.registered_id_number != p.id_number for p in persons)
    path = tmp_path / "registry.csv"
    rows = write_registry_csv(path, persons, seed=4)
    result = import_file(session_factory, actor=system_principal("cli"), path=path)
    assert result.rows_rejected == 0, result.rejections
    assert (result.rows_total, result.counts.persons_created) == (rows, len(persons))


# --- queries ------------------------------------------------------------------------------------


def test_every_category_appears_with_its_expected_outcomes(queries):
    counts = Counter(query.category for query in queries)
    assert counts == dict.fromkeys(Category, PER_CATEGORY)
    for query in queries:
        assert query.expected == EXPECTED[query.category]
    hit = frozenset({"hit"})
    assert EXPECTED[Category.PERMIT_RENEWED] == hit
    assert EXPECTED[Category.NAME_CHANGED_SAME_ID] == hit
    assert EXPECTED[Category.NEW_ID_SAME_NAME_DOB_SEX] == {"possible_match"}
    assert EXPECTED[Category.RENEWED_PASSPORT] == {"possible_match"}
    assert EXPECTED[Category.HOMONYM_SAME_BIRTH_DATE_NOT_IN_REGISTRY] == {
        "possible_match",
        "no_record",
    }
    assert EXPECTED[Category.HOMONYM_NOT_IN_REGISTRY] == {"no_record"}
    assert EXPECTED[Category.STRANGER] == {"no_record"}


def test_an_uneven_count_is_spread_evenly():
    registry = list(generate_persons(3000, seed=2))
    counts = Counter(q.category for q in generate_queries(registry, 45, seed=1))
    assert sum(counts.values()) == 45
    assert set(counts.values()) == {2, 3}


def test_the_same_seed_gives_the_same_queries(registry):
    first = list(generate_queries(registry, 100, seed=3))
    assert first == list(generate_queries(registry, 100, seed=3))
    assert first != list(generate_queries(registry, 100, seed=4))


def test_queries_about_registry_persons_name_them_and_outsiders_do_not(queries, by_id):
    for query in queries:
        if query.category in OUTSIDER_CATEGORIES:
            assert query.target_external_id is None
        else:
            assert query.target_external_id in by_id


def test_every_query_document_is_valid_and_agrees_with_the_given_birth_data(queries):
    for query in queries:
        document = normalise_document(
            query.id_type, query.id_number, nationality=query.nationality or None
        )
        born = date.fromisoformat(query.date_of_birth) if query.date_of_birth else None
        check_against(document, born, query.sex or None)


def test_birth_date_and_sex_are_left_out_half_the_time_where_the_document_carries_them(queries):
    prc = [q for q in queries if q.id_type == IdType.PRC_ID]
    blank = sum(not q.date_of_birth for q in prc) / len(prc)
    assert 0.35 < blank < 0.65
    assert all((q.date_of_birth == "") == (q.sex == "") for q in prc)
    carried_nowhere = [q for q in queries if q.id_type in {"passport", "hkmo_permit"}]
    assert all(q.date_of_birth and q.sex for q in carried_nowhere if len(q.id_number) != 18)
    assert all(q.nationality for q in queries if q.id_type == "passport")


def test_queries_on_the_registered_document_use_it_as_registered(queries, by_id):
    for query in queries:
        if query.category in HIT_SAME_DOCUMENT:
            person = by_id[query.target_external_id]
            assert (query.id_type, query.id_number) == (person.id_type, person.registered_id_number)


def test_spellings_of_the_name_share_a_blocking_key_with_it(queries, by_id):
    for query in queries:
        if query.category in SAME_NAME_SPELLINGS:
            registered = by_id[query.target_external_id].name
            assert name_keys(query.name) & name_keys(registered), (query.category, query.name)


def test_traditional_variants_differ_and_simplify_back(queries, by_id):
    for query in of(queries, Category.TRADITIONAL):
        registered = by_id[query.target_external_id].name
        assert query.name != registered
        assert normalise_name(query.name).han == normalise_name(registered).han == registered


def test_pinyin_variants_read_the_surname_as_a_surname(queries, by_id):
    for category in (Category.PINYIN, Category.PINYIN_SWAPPED):
        for query in of(queries, category):
            person = by_id[query.target_external_id]
            reading = normalise_name(person.name).romanisations[0].parts
            words = query.name.lower().split()
            swapped = category is Category.PINYIN_SWAPPED
            assert words == ([*reading[1:], reading[0]] if swapped else list(reading))


def test_special_surnames_are_read_as_surnames_in_pinyin():
    person = next(p for p in generate_persons(20000, seed=1, foreign_share=0) if p.surname == "单")
    queries = generate_queries([person], 1, seed=1, categories=[Category.PINYIN])
    assert next(queries).name.lower().startswith("shan ")


def test_fifteen_digit_forms_convert_back_to_the_persons_number(queries, by_id):
    found = of(queries, Category.ID_15_DIGIT)
    for query in found:
        person = by_id[query.target_external_id]
        assert 1900 <= person.date_of_birth.year <= 1999
        assert query.id_number != person.registered_id_number
        if len(query.id_number) == 15:
            assert to_18(query.id_number) == person.id_number
        else:
            assert query.id_number == person.id_number
            assert len(person.registered_id_number) == 15


def test_cyrillic_and_hangul_are_written_in_their_scripts(queries, by_id):
    cyrillic = of(queries, Category.CYRILLIC)
    assert all(normalise_name(q.name).script == "cyrillic" for q in cyrillic)
    nationalities = {by_id[q.target_external_id].nationality for q in cyrillic}
    assert nationalities == {"RUS", "CHN"}  # Russians, and Chinese names in Palladius
    assert all(normalise_name(q.name).script == "hangul" for q in of(queries, Category.HANGUL))


def test_capitals_and_diacritics_vary_a_latin_name(queries, by_id):
    for query in of(queries, Category.CAPITALS_DIACRITICS):
        registered = by_id[query.target_external_id].name
        assert query.name != registered
        assert normalise_name(query.name).script == "latin"


def test_former_names_and_aliases_are_the_persons(queries, by_id):
    for query in of(queries, Category.FORMER_NAME):
        assert query.name in by_id[query.target_external_id].former_names
    for query in of(queries, Category.ALIAS):
        assert query.name in by_id[query.target_external_id].aliases


def test_changed_names_share_nothing_with_the_old_one(queries, by_id):
    for query in of(queries, Category.NAME_CHANGED_SAME_ID):
        person = by_id[query.target_external_id]
        if person.is_han:
            changed = normalise_name(query.name)
            assert changed.han_surname != person.surname
            assert changed.han_given != person.given_name
        else:
            words = set(query.name.casefold().replace(",", " ").split())
            assert not set(person.surname.casefold().split()) <= words
            assert not set(person.given_name.casefold().split()) <= words


def test_homophone_typos_sound_the_same_with_another_character(queries, by_id):
    for query in of(queries, Category.HOMOPHONE_TYPO_SAME_ID):
        registered = normalise_name(by_id[query.target_external_id].name)
        typed = normalise_name(query.name)
        assert typed.han != registered.han
        assert typed.han_surname == registered.han_surname
        assert Levenshtein.distance(typed.han, registered.han) == 1
        assert typed.romanisations[0].joined == registered.romanisations[0].joined


def test_name_typos_are_one_slip(queries, by_id):
    for query in of(queries, Category.NAME_TYPO_SAME_ID):
        registered = by_id[query.target_external_id].name
        assert 1 <= Levenshtein.distance(query.name, registered) <= 2  # a swap is two edits
        assert len(query.name) == len(registered) or not _is_han(registered)


def test_registry_typos_are_corrected_in_the_query(queries, by_id):
    for query in of(queries, Category.REGISTRY_TYPO_SAME_ID):
        person = by_id[query.target_external_id]
        assert query.name == person.true_name != person.name
        assert 1 <= Levenshtein.distance(person.true_name, person.name) <= 2


def test_renewed_permits_keep_the_lifelong_number(queries, by_id):
    for query in of(queries, Category.PERMIT_RENEWED):
        person = by_id[query.target_external_id]
        assert query.id_type == person.id_type
        assert query.id_number != person.id_number
        assert lifelong(query.id_type, query.id_number) == lifelong(
            person.id_type, person.id_number
        )


def test_new_documents_are_new_and_keep_birth_date_sex_and_nationality(queries, by_id, registry):
    numbers = registry_numbers(registry)
    for category in (Category.NEW_ID_SAME_NAME_DOB_SEX, Category.RENEWED_PASSPORT):
        for query in of(queries, category):
            person = by_id[query.target_external_id]
            document = normalise_document(
                query.id_type, query.id_number, nationality=query.nationality or None
            )
            assert document.lifelong_number not in numbers
            assert query.name == person.name
            assert document.birth_date in {None, person.date_of_birth}
            assert document.sex in {None, person.sex}
            assert query.nationality in {"", person.nationality}
    renewed = of(queries, Category.RENEWED_PASSPORT)
    assert all(q.id_type == "passport" and q.nationality for q in renewed)


def test_outsiders_hold_no_registry_document(queries, registry):
    numbers = registry_numbers(registry)
    for category in OUTSIDER_CATEGORIES:
        for query in of(queries, category):
            nationality = query.nationality or None
            assert lifelong(query.id_type, query.id_number, nationality) not in numbers


def test_homonyms_share_a_name_and_not_a_birth_date(queries, registry):
    by_name = {}
    for person in registry:
        by_name.setdefault(person.name, []).append(person)
    for query in of(queries, Category.HOMONYM_SAME_BIRTH_DATE_NOT_IN_REGISTRY):
        born, sex = _birth_data(query)
        assert any((p.date_of_birth, p.sex) == (born, sex) for p in by_name[query.name])
    for query in of(queries, Category.HOMONYM_NOT_IN_REGISTRY):
        born, _ = _birth_data(query)
        assert by_name[query.name]
        assert all(not synthetic._near(p.date_of_birth, born) for p in by_name[query.name])


def test_strangers_meet_no_namesake_born_near_them(queries, registry):
    born_by_sound = {}
    for person in registry:
        born_by_sound.setdefault(synthetic._sound(person.name), []).append(person.date_of_birth)
    for query in of(queries, Category.STRANGER):
        born, _ = _birth_data(query)
        namesakes = born_by_sound.get(synthetic._sound(query.name), [])
        assert not any(synthetic._near(known, born) for known in namesakes)


def test_a_category_without_anyone_to_base_it_on_is_refused():
    chinese = list(generate_persons(200, seed=1, foreign_share=0.0))
    assert len(list(generate_queries(chinese, 10, categories=[Category.EXACT]))) == 10
    with pytest.raises(ValueError, match="hangul"):
        list(generate_queries(chinese, 10, categories=[Category.HANGUL]))


def test_the_query_file_has_the_screening_columns(queries, tmp_path):
    path = tmp_path / "queries.csv"
    assert write_queries_csv(path, queries[:30]) == 30
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == SCREENING_COLUMNS
    assert [row["name"] for row in rows] == [q.name for q in queries[:30]]


def _is_han(text):
    return bool(normalise_name(text).han)


def _birth_data(query):
    """The query's birth date and sex, given or read from its document."""
    document = normalise_document(query.id_type, query.id_number, nationality=query.nationality)
    born = date.fromisoformat(query.date_of_birth) if query.date_of_birth else document.birth_date
    return born, query.sex or document.sex
