"""re-check (复查) appeals of record_found answers, and their supporting documents

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shouhu.core.crypto.fields
import shouhu.core.database

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "inquiry_rechecks",
        sa.Column("inquiry_id", sa.Uuid(), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("grounds", shouhu.core.crypto.fields.Sealed(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("entered_by_id", sa.Uuid(), nullable=False),
        sa.Column("entered_at", shouhu.core.database.UTCDateTime(), nullable=False),
        sa.Column("certificate_id", sa.Uuid(), nullable=True),
        sa.Column("decided_by_id", sa.Uuid(), nullable=True),
        sa.Column("decided_at", shouhu.core.database.UTCDateTime(), nullable=True),
        sa.Column("ground", sa.String(length=32), nullable=True),
        sa.Column("note", shouhu.core.crypto.fields.Sealed(), nullable=True),
        sa.Column("new_certificate_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["organisations.id"],
            name=op.f("fk_inquiry_rechecks_authority_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_inquiry_rechecks_certificate_id_certificates"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_inquiry_rechecks_decided_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_id"],
            ["users.id"],
            name=op.f("fk_inquiry_rechecks_entered_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["inquiry_id"],
            ["inquiries.id"],
            name=op.f("fk_inquiry_rechecks_inquiry_id_inquiries"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["new_certificate_id"],
            ["certificates.id"],
            name=op.f("fk_inquiry_rechecks_new_certificate_id_certificates"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiry_rechecks")),
    )
    with op.batch_alter_table("inquiry_rechecks", schema=None) as batch_op:
        # One pending re-check per inquiry (a partial unique index, on both backends).
        batch_op.create_index(
            batch_op.f("ix_inquiry_rechecks_authority_id"), ["authority_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inquiry_rechecks_inquiry_id"), ["inquiry_id"], unique=False
        )
        batch_op.create_index("ix_inquiry_rechecks_status", ["status", "entered_at"], unique=False)
        batch_op.create_index(
            "uq_inquiry_rechecks_pending",
            ["inquiry_id"],
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )

    op.create_table(
        "inquiry_recheck_documents",
        sa.Column("recheck_id", sa.Uuid(), nullable=False),
        sa.Column("filename", shouhu.core.crypto.fields.Sealed(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", shouhu.core.crypto.fields.Sealed(), nullable=False),
        sa.Column("uploaded_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", shouhu.core.database.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recheck_id"],
            ["inquiry_rechecks.id"],
            name=op.f("fk_inquiry_recheck_documents_recheck_id_inquiry_rechecks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
            name=op.f("fk_inquiry_recheck_documents_uploaded_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiry_recheck_documents")),
        sa.UniqueConstraint("recheck_id", name=op.f("uq_inquiry_recheck_documents_recheck_id")),
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table("inquiry_recheck_documents")
    with op.batch_alter_table("inquiry_rechecks", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_inquiry_rechecks_pending",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_index("ix_inquiry_rechecks_status")
        batch_op.drop_index(batch_op.f("ix_inquiry_rechecks_inquiry_id"))
        batch_op.drop_index(batch_op.f("ix_inquiry_rechecks_authority_id"))

    op.drop_table("inquiry_rechecks")
