"""A copy of the database file after an import reveals no name, identity number or birth date."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.core import migrate
from shouhu.core.crypto import keyring as keyring_module
from shouhu.core.crypto.keyring import Keyring, install_keyring, load_keyring
from shouhu.core.database import make_engine, make_session_factory
from shouhu.registry.models import RegistryPerson
from tests.conftest import TEST_MASTER_KEY, fresh_database_url
from tests.factories.registry import import_rows, prc_number, registry_row, to_15

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

ENCODINGS = ["utf-8", "utf-16-le", "utf-16-be"]
BORN = date(1931, 4, 15)
NUMBER = prc_number("440106", BORN, 272)  # a woman's number (even sequence)
NAMES = ["欧阳娜娜", "單田芳", "Xiaoming Quirinus-Wang", "Ольга Иванова", "曾用名探针"]
AUTHORITY = "探针市探针区人民法院"  # plaintext on purpose: the positive control


@contextmanager
def installed(ring: Keyring) -> Iterator[Keyring]:
    """Install a keyring for the block and put the previous one back afterwards."""
    previous = keyring_module._Holder.keyring
    install_keyring(ring)
    try:
        yield ring
    finally:
        install_keyring(previous)


def rows() -> list[dict[str, str]]:
    return [
        registry_row(
            external_id="AT-REST-1",
            name=NAMES[0],
            former_names=NAMES[4],
            sex="F",
            date_of_birth=BORN.isoformat(),
            id_number=to_15(NUMBER),
            decision_authority=AUTHORITY,
            decision_number="(2019)探0101刑初31415号",
        ),
        registry_row(
            external_id="AT-REST-2",
            name=NAMES[1],
            date_of_birth="",
            sex="",
            id_type="passport",
            id_number="E27182818",
            decision_authority=AUTHORITY,
            decision_number="(2020)探0101刑初27182号",
        ),
        registry_row(
            external_id="AT-REST-3",
            name=NAMES[2],
            former_names=NAMES[3],
            nationality="RUS",
            id_type="passport",
            id_number="761414213",
            decision_authority=AUTHORITY,
            decision_number="(2021)探0101刑初14142号",
        ),
    ]


def database_copy(tmp_path: Path) -> dict[str, bytes]:
    """Import into a fresh SQLite file, checkpoint it, and return the bytes of its files."""
    url = fresh_database_url("sqlite", tmp_path, "registry_at_rest")
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine) as session, session.begin():
        ring = load_keyring(session, TEST_MASTER_KEY)
    with installed(ring):
        factory = make_session_factory(engine)
        result = import_rows(factory, tmp_path / "in.csv", rows())
        assert result.complete, result.rejections
        with factory() as session:
            stored = session.scalars(select(RegistryPerson).order_by(RegistryPerson.external_id))
            assert [p.name for p in stored] == NAMES[:3]
        raw = engine.raw_connection()
        try:
            busy, _, _ = raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            assert busy == 0
        finally:
            raw.close()
        database = tmp_path / "registry_at_rest.db"
        copied: dict[str, bytes] = {}
        for suffix in ("", "-wal", "-shm"):
            source = database.with_name(database.name + suffix)
            if source.exists():
                target = tmp_path / f"copy{suffix}"
                shutil.copyfile(source, target)
                copied[suffix or "main"] = target.read_bytes()
    engine.dispose()
    return copied


def test_no_name_number_or_birth_date_is_readable_in_a_copy_of_the_database(tmp_path):
    files = database_copy(tmp_path)
    # The grep works: plaintext columns are there.
    assert AUTHORITY.encode() in files["main"]
    assert b"AT-REST-1" in files["main"]
    numbers = [
        NUMBER,
        to_15(NUMBER),
        NUMBER[:9],  # the halves that blocking keys are made of
        NUMBER[9:],
        "E27182818",
        "761414213",
        "31415",
        "27182",
        "14142",
        BORN.isoformat(),
        BORN.strftime("%Y%m%d"),
    ]
    leaks = [
        (value, encoding)
        for value in [*NAMES, *numbers]
        for encoding in ENCODINGS
        for raw in files.values()
        if value.encode(encoding) in raw
    ]
    assert leaks == []
