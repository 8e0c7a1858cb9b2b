import pytest

from shouhu.registry.models import RecordKind
from shouhu.registry.offences import CatalogueError, OffenceCategory, parse_catalogue
from shouhu.registry.policy import catalogue

# The offences the 2020 Opinions and the Minors Law art. 62 name, with their legal basis.
REQUIRED = {
    "rape": ("Criminal Law art. 236", OffenceCategory.SEXUAL),
    "forcible_indecency": ("Criminal Law art. 237 ¶1-2", OffenceCategory.SEXUAL),
    "child_molestation": ("Criminal Law art. 237 ¶3", OffenceCategory.SEXUAL),
    "sex_with_minor_in_care": ("Criminal Law art. 236-1", OffenceCategory.SEXUAL),
    "minor_prostitution": ("Criminal Law art. 358", OffenceCategory.SEXUAL),
    "trafficking": ("Criminal Law art. 240", OffenceCategory.TRAFFICKING),
    "abuse": ("Criminal Law art. 260", OffenceCategory.ABUSE),
    "abuse_under_care": ("Criminal Law art. 260-1", OffenceCategory.ABUSE),
    "intentional_injury": ("Criminal Law art. 234", OffenceCategory.VIOLENCE),
    "indecency_administrative": (
        "Public Security Administration Punishments Law art. 44",
        OffenceCategory.SEXUAL,
    ),
}


@pytest.mark.parametrize(("code", "expected"), sorted(REQUIRED.items()))
def test_the_catalogue_holds_each_offence_in_scope_with_its_legal_basis(code, expected):
    offence = catalogue().get(code)
    assert offence is not None
    basis, category = expected
    assert offence.legal_basis.startswith(basis)
    assert offence.category is category
    assert offence.name_zh
    assert offence.name_en


def test_crimes_are_convicted_or_not_prosecuted_and_the_administrative_offence_is_penalised():
    entries = catalogue().offences
    assert entries["child_molestation"].record_kinds == {
        RecordKind.CONVICTION,
        RecordKind.NON_PROSECUTION,
    }
    assert entries["indecency_administrative"].record_kinds == {RecordKind.ADMINISTRATIVE_PENALTY}


def test_the_catalogue_is_versioned_and_read_once():
    assert catalogue().version >= 1
    assert catalogue() is catalogue()
    assert catalogue().codes() == sorted(catalogue().offences)


def test_a_repeated_code_or_a_missing_version_is_a_defect_of_the_catalogue():
    entry = """
[[offence]]
code = "x"
name_zh = "x"
name_en = "x"
legal_basis = "x"
category = "sexual"
record_kinds = ["conviction"]
"""
    assert parse_catalogue("version = 2\n" + entry).version == 2
    with pytest.raises(CatalogueError, match="appears twice"):
        parse_catalogue("version = 1\n" + entry + entry)
    with pytest.raises(CatalogueError, match="version"):
        parse_catalogue(entry)
    with pytest.raises(CatalogueError, match="bad offence entry"):
        parse_catalogue("version = 1\n" + entry.replace("sexual", "theft"))
