"""The weights file and refitting u to a registry."""

from __future__ import annotations

import hashlib
import math
from datetime import date

import pytest

from shouhu.matching.compare import Field, Level
from shouhu.matching.fit import refit
from shouhu.matching.model import WeightsError, load_model, stated_model
from shouhu.matching.profile import MatchProfile, ProfileDocument, ProfileName


def test_the_stated_weights_rank_the_levels_of_every_field():
    model = stated_model()
    for field_, levels in model.levels.items():
        weights = [levels[level].weight for level in levels]
        assert weights[0] > 0 > weights[-1], field_  # agreement for, disagreement against
    # An identity number agreeing outweighs anything a name can say (a changed name stays a hit).
    assert (
        model.levels[Field.DOCUMENT][Level.EXACT].weight
        > model.levels[Field.NAME][Level.EXACT].weight
        - model.levels[Field.NAME][Level.DIFFERENT].weight
    )


def test_a_written_model_reads_back_the_same(tmp_path):
    model = stated_model()
    path = tmp_path / "weights.toml"
    path.write_text(model.to_toml())
    again = load_model(path)
    assert again.version == model.version
    for field_, levels in model.levels.items():
        for level, probabilities in levels.items():
            assert again.levels[field_][level].weight == pytest.approx(probabilities.weight)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version = 1", "`version` must be a non-empty string"),
        ('version = "x"', "the table [document] is missing"),
        (
            stated_model().to_toml().replace("exact = { m = 0.91, u = 1e-06 }", ""),
            "document.exact is missing",
        ),
        (stated_model().to_toml().replace("m = 0.91", "m = 1.5"), "document.exact.m: must be"),
        (stated_model().to_toml().replace("u = 1e-06", "u = 0"), "document.exact.u: must be"),
        ("version = [", "weights.toml"),
    ],
)
def test_a_bad_weights_file_is_refused_naming_the_entry(tmp_path, text, message):
    path = tmp_path / "weights.toml"
    path.write_text(text)
    with pytest.raises(WeightsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_model(path)


def _person(index: int, surname: str) -> MatchProfile:
    return MatchProfile(
        # Given names that are never one typing error apart: hex digests of the index.
        names=(
            ProfileName(
                "primary",
                f"{surname} {hashlib.sha256(bytes([index % 256, index // 256])).hexdigest()[:8]}",
            ),
        ),
        documents=(ProfileDocument("passport", f"X{index:08d}", "AUS"),),
        date_of_birth=date(1950 + index % 40, 1 + index % 12, 1 + index % 28),
        sex=None,
        nationality="AUS",
    )


def test_refitting_learns_u_from_the_registry_and_keeps_m():
    # Everyone is Australian here: a shared nationality tells nothing, and refitting learns it.
    profiles = [_person(i, ("smith", "jones")[i % 2]) for i in range(400)]
    stated = stated_model()
    fitted = refit(stated, profiles, pairs=4000, seed=1, today=date(2026, 11, 29))
    assert fitted.version == "fitted-2026-11-29-400p-4000pairs"
    nationality = fitted.levels[Field.NATIONALITY][Level.EXACT]
    assert nationality.u == 1.0
    assert nationality.m == stated.levels[Field.NATIONALITY][Level.EXACT].m
    assert nationality.weight < 0 < stated.levels[Field.NATIONALITY][Level.EXACT].weight
    # Never seen among strangers: no more likely than the stated value, nor than 1 in the pairs.
    document = fitted.levels[Field.DOCUMENT][Level.EXACT]
    assert document.u <= min(stated.levels[Field.DOCUMENT][Level.EXACT].u, 0.5 / 4000)
    # Half the pairs share a surname: partial name agreement becomes common, so weaker.
    partial = fitted.levels[Field.NAME][Level.PARTIAL]
    assert partial.u == pytest.approx(0.5, abs=0.05)
    assert math.isclose(partial.m, stated.levels[Field.NAME][Level.PARTIAL].m)
