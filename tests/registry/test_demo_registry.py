"""The demo's synthetic registry: imported, screenable at once, with fitted weights."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shouhu.core.database import make_session_factory
from shouhu.core.principal import system_principal
from shouhu.core.settings import Settings
from shouhu.demo_registry import registry_is_empty, seed_registry
from shouhu.identity.prc_id import latest_possible_date
from shouhu.registry.models import RegistryPerson
from shouhu.registry.policy import InquiryPurpose
from shouhu.screening.files import screen_file
from shouhu.screening.service import Matcher

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy import Engine


def test_the_demo_registry_is_seeded_and_its_sample_queries_are_answered(
    cli_engine: Engine, tmp_path: Path
) -> None:
    factory = make_session_factory(cli_engine)
    with factory() as session:
        assert registry_is_empty(session)
    progress: list[tuple[int, int]] = []
    seeded = seed_registry(
        factory, tmp_path, persons=300, progress=lambda done, total: progress.append((done, total))
    )
    assert seeded.persons == 300
    assert progress[-1][0] == progress[-1][1] == seeded.rows
    with Session(cli_engine) as session:
        assert session.scalar(select(func.count()).select_from(RegistryPerson)) == 300
        assert not registry_is_empty(session)
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_match_weights == seeded.weights_file
    matcher = Matcher.from_settings(settings, purpose=InquiryPurpose.CLOSE_CONTACT)
    assert matcher.model.version.startswith("fitted-")
    out = tmp_path / "answers.csv"
    summary = screen_file(
        cli_engine,
        factory,
        actor=system_principal("cli"),
        path=seeded.queries_file,
        out=out,
        matcher=matcher,
        today=latest_possible_date(),
    )
    assert summary.rows == 300
    with out.open(encoding="utf-8") as handle:
        outcomes = {row["outcome"] for row in csv.DictReader(handle)}
    assert outcomes == {"hit", "possible_match", "no_record"}
