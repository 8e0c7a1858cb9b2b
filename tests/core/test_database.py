from sqlalchemy import Engine, inspect

from shouhu.core import migrate
from shouhu.core.database import make_engine
from shouhu.core.models_registry import metadata


def test_migrations_build_every_model_table(migrated_engine: Engine) -> None:
    tables = set(inspect(migrated_engine).get_table_names())
    assert set(metadata.tables) <= tables
    assert migrate.is_current(migrated_engine)


def test_sqlite_pragmas_are_on(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
