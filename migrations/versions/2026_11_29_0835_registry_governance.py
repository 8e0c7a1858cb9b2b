"""registry governance: the record lifecycle, duplicate pairs and person merges

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 08:34:00

Records so far came only from operator imports and are `active`; they keep that state, with
`source = 'import'` and version 1. The one-decision-one-record rule now covers only the current
version of a decision (active, revoked or sealed), so a correction can keep its fingerprint.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shouhu.core.crypto.fields
import shouhu.core.database

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


NOT_OTHER = sa.text("id_type <> 'other'")


def _refuse_shared_documents() -> None:
    # The import has refused a document of another person since the registry began; a database
    # that holds one anyway needs a person to merge the two (`shouhu registry duplicates`).
    shared = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT COUNT(*) FROM (SELECT id_type, number_index FROM registry_documents"
                " WHERE id_type <> 'other' GROUP BY id_type, number_index HAVING COUNT(*) > 1) s"
            )
        )
        .scalar_one()
    )
    if shared:
        raise RuntimeError(
            f"{shared} identity documents are held by more than one registry person; merge"
            " those persons before upgrading"
        )


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "registry_duplicate_pairs",
        sa.Column("first_person_id", sa.Uuid(), nullable=False),
        sa.Column("second_person_id", sa.Uuid(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("found_at", shouhu.core.database.UTCDateTime(), nullable=False),
        sa.Column("decided_by_id", sa.Uuid(), nullable=True),
        sa.Column("decided_at", shouhu.core.database.UTCDateTime(), nullable=True),
        sa.Column("reason", shouhu.core.crypto.fields.Sealed(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_registry_duplicate_pairs_decided_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["first_person_id"],
            ["registry_persons.id"],
            name=op.f("fk_registry_duplicate_pairs_first_person_id_registry_persons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["second_person_id"],
            ["registry_persons.id"],
            name=op.f("fk_registry_duplicate_pairs_second_person_id_registry_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_duplicate_pairs")),
        sa.UniqueConstraint(
            "first_person_id",
            "second_person_id",
            name=op.f("uq_registry_duplicate_pairs_first_person_id_second_person_id"),
        ),
    )
    with op.batch_alter_table("registry_duplicate_pairs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_duplicate_pairs_second_person_id"),
            ["second_person_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_registry_duplicate_pairs_status"), ["status"], unique=False
        )

    op.create_table(
        "registry_person_merges",
        sa.Column("kept_person_id", sa.Uuid(), nullable=False),
        sa.Column("merged_person_id", sa.Uuid(), nullable=False),
        sa.Column("pair_id", sa.Uuid(), nullable=True),
        sa.Column("moved", sa.Text(), nullable=False),
        sa.Column("reason", shouhu.core.crypto.fields.Sealed(), nullable=True),
        sa.Column("merged_by_id", sa.Uuid(), nullable=True),
        sa.Column("merged_at", shouhu.core.database.UTCDateTime(), nullable=False),
        sa.Column("undone_by_id", sa.Uuid(), nullable=True),
        sa.Column("undone_at", shouhu.core.database.UTCDateTime(), nullable=True),
        sa.Column("undo_reason", shouhu.core.crypto.fields.Sealed(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["kept_person_id"],
            ["registry_persons.id"],
            name=op.f("fk_registry_person_merges_kept_person_id_registry_persons"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["merged_by_id"],
            ["users.id"],
            name=op.f("fk_registry_person_merges_merged_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["merged_person_id"],
            ["registry_persons.id"],
            name=op.f("fk_registry_person_merges_merged_person_id_registry_persons"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["pair_id"],
            ["registry_duplicate_pairs.id"],
            name=op.f("fk_registry_person_merges_pair_id_registry_duplicate_pairs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["undone_by_id"],
            ["users.id"],
            name=op.f("fk_registry_person_merges_undone_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_person_merges")),
    )
    with op.batch_alter_table("registry_person_merges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_person_merges_kept_person_id"), ["kept_person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_person_merges_merged_person_id"),
            ["merged_person_id"],
            unique=False,
        )

    op.create_table(
        "registry_record_files",
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("filename", shouhu.core.crypto.fields.Sealed(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", shouhu.core.crypto.fields.Sealed(), nullable=False),
        sa.Column("uploaded_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", shouhu.core.database.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["registry_records.id"],
            name=op.f("fk_registry_record_files_record_id_registry_records"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
            name=op.f("fk_registry_record_files_uploaded_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_record_files")),
    )
    with op.batch_alter_table("registry_record_files", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_record_files_record_id"), ["record_id"], unique=False
        )

    op.create_table(
        "registry_record_transitions",
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("occurred_at", shouhu.core.database.UTCDateTime(), nullable=False),
        sa.Column("reason", shouhu.core.crypto.fields.Sealed(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_registry_record_transitions_actor_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_registry_record_transitions_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["registry_records.id"],
            name=op.f("fk_registry_record_transitions_record_id_registry_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_record_transitions")),
        sa.UniqueConstraint(
            "record_id", "seq", name=op.f("uq_registry_record_transitions_record_id_seq")
        ),
    )
    with op.batch_alter_table("registry_persons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_registry_persons_merged_into_id"), ["merged_into_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_registry_persons_merged_into_id_registry_persons"),
            "registry_persons",
            ["merged_into_id"],
            ["id"],
            ondelete="RESTRICT",
        )

    with op.batch_alter_table("registry_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offence_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("sentence_months", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("source", sa.String(length=16), nullable=False, server_default="import")
        )
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("supersedes_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("subject", shouhu.core.crypto.fields.Sealed(), nullable=True))
        batch_op.add_column(sa.Column("submitted_by_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("submitting_organisation_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("review_organisation_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("submitted_at", shouhu.core.database.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("approved_by_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("approved_at", shouhu.core.database.UTCDateTime(), nullable=True)
        )
        batch_op.alter_column("person_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.drop_constraint(
            batch_op.f("uq_registry_records_person_id_fingerprint"), type_="unique"
        )
        batch_op.create_index(
            batch_op.f("ix_registry_records_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            "ix_registry_records_review_queue",
            ["review_organisation_id", "status", "submitted_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_registry_records_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_registry_records_submitting_organisation_id"),
            ["submitting_organisation_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_registry_records_supersedes_id"), ["supersedes_id"], unique=False
        )
        batch_op.create_index(
            "uq_registry_records_live_fingerprint",
            ["person_id", "fingerprint"],
            unique=True,
            sqlite_where=sa.text("status IN ('active', 'revoked', 'sealed')"),
            postgresql_where=sa.text("status IN ('active', 'revoked', 'sealed')"),
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_registry_records_approved_by_id_users"),
            "users",
            ["approved_by_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_registry_records_submitted_by_id_users"),
            "users",
            ["submitted_by_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_registry_records_submitting_organisation_id_organisations"),
            "organisations",
            ["submitting_organisation_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_registry_records_supersedes_id_registry_records"),
            "registry_records",
            ["supersedes_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_registry_records_review_organisation_id_organisations"),
            "organisations",
            ["review_organisation_id"],
            ["id"],
            ondelete="RESTRICT",
        )
    _refuse_shared_documents()
    op.create_index(
        "uq_registry_documents_holder",
        "registry_documents",
        ["id_type", "number_index"],
        unique=True,
        sqlite_where=NOT_OTHER,
        postgresql_where=NOT_OTHER,
    )


def _refuse_lossy_downgrade() -> None:
    # Version 0004 knows one record per decision and no record without a person: submissions,
    # corrections and merges cannot be expressed there. Which to drop is not the migration's call.
    bind = op.get_bind()
    undecided = bind.execute(
        sa.text("SELECT COUNT(*) FROM registry_records WHERE person_id IS NULL")
    ).scalar_one()
    versions = bind.execute(
        sa.text("SELECT COUNT(*) FROM registry_records WHERE version > 1 OR source <> 'import'")
    ).scalar_one()
    merged = bind.execute(
        sa.text("SELECT COUNT(*) FROM registry_persons WHERE merged_into_id IS NOT NULL")
    ).scalar_one()
    if undecided or versions or merged:
        raise RuntimeError(
            f"cannot go back to 0004: {undecided} submissions without a person, {versions}"
            f" submitted or corrected records and {merged} merged persons exist only in 0005;"
            " export and remove them first"
        )


def downgrade() -> None:
    """Revert this migration."""
    _refuse_lossy_downgrade()
    op.drop_index(
        "uq_registry_documents_holder",
        table_name="registry_documents",
        sqlite_where=NOT_OTHER,
        postgresql_where=NOT_OTHER,
    )
    with op.batch_alter_table("registry_records", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_registry_records_review_organisation_id_organisations"),
            type_="foreignkey",
        )
        batch_op.drop_constraint(
            batch_op.f("fk_registry_records_supersedes_id_registry_records"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_registry_records_submitting_organisation_id_organisations"),
            type_="foreignkey",
        )
        batch_op.drop_constraint(
            batch_op.f("fk_registry_records_submitted_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_registry_records_approved_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_index(
            "uq_registry_records_live_fingerprint",
            sqlite_where=sa.text("status IN ('active', 'revoked', 'sealed')"),
            postgresql_where=sa.text("status IN ('active', 'revoked', 'sealed')"),
        )
        batch_op.drop_index(batch_op.f("ix_registry_records_supersedes_id"))
        batch_op.drop_index(batch_op.f("ix_registry_records_submitting_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_registry_records_status"))
        batch_op.drop_index("ix_registry_records_review_queue")
        batch_op.drop_index(batch_op.f("ix_registry_records_person_id"))
        batch_op.create_unique_constraint(
            batch_op.f("uq_registry_records_person_id_fingerprint"), ["person_id", "fingerprint"]
        )
        batch_op.alter_column("person_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column("approved_at")
        batch_op.drop_column("approved_by_id")
        batch_op.drop_column("submitted_at")
        batch_op.drop_column("review_organisation_id")
        batch_op.drop_column("submitting_organisation_id")
        batch_op.drop_column("submitted_by_id")
        batch_op.drop_column("subject")
        batch_op.drop_column("supersedes_id")
        batch_op.drop_column("version")
        batch_op.drop_column("source")
        batch_op.drop_column("sentence_months")
        batch_op.drop_column("offence_date")

    with op.batch_alter_table("registry_persons", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_registry_persons_merged_into_id_registry_persons"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_registry_persons_merged_into_id"))
        batch_op.drop_column("merged_into_id")

    op.drop_table("registry_record_transitions")
    with op.batch_alter_table("registry_record_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_record_files_record_id"))

    op.drop_table("registry_record_files")
    with op.batch_alter_table("registry_person_merges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_person_merges_merged_person_id"))
        batch_op.drop_index(batch_op.f("ix_registry_person_merges_kept_person_id"))

    op.drop_table("registry_person_merges")
    with op.batch_alter_table("registry_duplicate_pairs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_duplicate_pairs_status"))
        batch_op.drop_index(batch_op.f("ix_registry_duplicate_pairs_second_person_id"))

    op.drop_table("registry_duplicate_pairs")
