"""Alembic environment: the engine comes from the caller (shouhu.core.migrate)."""

from alembic import context

from shouhu.core.models_registry import metadata

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # Batch mode rebuilds tables on SQLite, which cannot ALTER most things in place.
        render_as_batch=True,
        compare_type=True,
    )
    context.run_migrations()
