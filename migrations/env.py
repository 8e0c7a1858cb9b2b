"""Alembic environment: the engine comes from the caller (shouhu.core.migrate)."""

from alembic import context

from shouhu.core.models_registry import metadata

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode rebuilds a table by copying it and dropping the old one; with foreign keys
        # on, that drop would cascade to every row that refers to the table (names, documents,
        # records of the registry's persons). The pragma only takes effect outside a
        # transaction, so it is set on the driver's connection before the migration's begins.
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
    try:
        with connection.begin():
            context.configure(
                connection=connection,
                target_metadata=metadata,
                # Batch mode rebuilds tables on SQLite, which cannot ALTER most things in place.
                render_as_batch=True,
                compare_type=True,
            )
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    # Raised inside the transaction: the migration is rolled back whole.
                    raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
    finally:
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
