"""registry

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shouhu.core.crypto.fields
import shouhu.core.database

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "registry_persons",
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("name", shouhu.core.crypto.fields.Sealed(), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("date_of_birth", shouhu.core.crypto.fields.Sealed(), nullable=True),
        sa.Column("nationality", sa.String(length=3), nullable=True),
        sa.Column("import_digest", sa.String(length=64), nullable=True),
        sa.Column("created_at", shouhu.core.database.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shouhu.core.database.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_persons")),
        sa.UniqueConstraint("external_id", name=op.f("uq_registry_persons_external_id")),
    )
    op.create_table(
        "registry_blocking_keys",
        sa.Column("key", sa.LargeBinary(length=16), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["registry_persons.id"],
            name=op.f("fk_registry_blocking_keys_person_id_registry_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", "person_id", name=op.f("pk_registry_blocking_keys")),
    )
    with op.batch_alter_table("registry_blocking_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_blocking_keys_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "registry_documents",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("id_type", sa.String(length=16), nullable=False),
        sa.Column("number", shouhu.core.crypto.fields.Sealed(), nullable=False),
        sa.Column("number_index", sa.String(length=64), nullable=False),
        sa.Column("nationality", sa.String(length=3), nullable=True),
        sa.Column("created_at", shouhu.core.database.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["registry_persons.id"],
            name=op.f("fk_registry_documents_person_id_registry_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_documents")),
        sa.UniqueConstraint(
            "person_id",
            "id_type",
            "number_index",
            name=op.f("uq_registry_documents_person_id_id_type_number_index"),
        ),
    )
    with op.batch_alter_table("registry_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_documents_number_index"), ["number_index"], unique=False
        )

    op.create_table(
        "registry_names",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", shouhu.core.crypto.fields.Sealed(), nullable=False),
        sa.Column("created_at", shouhu.core.database.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["registry_persons.id"],
            name=op.f("fk_registry_names_person_id_registry_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_names")),
    )
    with op.batch_alter_table("registry_names", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_names_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "registry_records",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("offence", sa.String(length=32), nullable=False),
        sa.Column("decision_authority", sa.String(length=200), nullable=False),
        sa.Column("decision_number", shouhu.core.crypto.fields.Sealed(), nullable=False),
        sa.Column("decision_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", shouhu.core.database.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shouhu.core.database.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["registry_persons.id"],
            name=op.f("fk_registry_records_person_id_registry_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_records")),
        sa.UniqueConstraint(
            "person_id", "fingerprint", name=op.f("uq_registry_records_person_id_fingerprint")
        ),
    )
    with op.batch_alter_table("registry_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registry_records_offence"), ["offence"], unique=False)


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("registry_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_records_offence"))

    op.drop_table("registry_records")
    with op.batch_alter_table("registry_names", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_names_person_id"))

    op.drop_table("registry_names")
    with op.batch_alter_table("registry_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_documents_number_index"))

    op.drop_table("registry_documents")
    with op.batch_alter_table("registry_blocking_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_blocking_keys_person_id"))

    op.drop_table("registry_blocking_keys")
    op.drop_table("registry_persons")
