"""staff-access inquiries and their certificates, and the authorities' approval setting

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 09:47:30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shouhu.core.crypto.fields
import shouhu.core.database

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "inquiries",
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=True),
        sa.Column("submitted_by_id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("position", sa.String(length=100), nullable=True),
        sa.Column("subject", shouhu.core.crypto.fields.Sealed(), nullable=False),
        sa.Column("subject_index", sa.String(length=64), nullable=False),
        sa.Column("consent_reference", sa.String(length=64), nullable=False),
        sa.Column("consent_signed_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("answer", sa.String(length=16), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.Column("engine_outcome", sa.String(length=16), nullable=True),
        sa.Column("explanation", shouhu.core.crypto.fields.Sealed(), nullable=True),
        sa.Column("matched_person_id", sa.Uuid(), nullable=True),
        sa.Column("decided_by_id", sa.Uuid(), nullable=True),
        sa.Column("decided_at", shouhu.core.database.UTCDateTime(), nullable=True),
        sa.Column("reason", shouhu.core.crypto.fields.Sealed(), nullable=True),
        sa.Column("reviewed_by_id", sa.Uuid(), nullable=True),
        sa.Column("reviewed_at", shouhu.core.database.UTCDateTime(), nullable=True),
        sa.Column("submitted_at", shouhu.core.database.UTCDateTime(), nullable=False),
        sa.Column("completed_at", shouhu.core.database.UTCDateTime(), nullable=True),
        sa.Column("hiring", sa.String(length=16), nullable=True),
        sa.Column("hiring_by_id", sa.Uuid(), nullable=True),
        sa.Column("hiring_at", shouhu.core.database.UTCDateTime(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["organisations.id"],
            name=op.f("fk_inquiries_authority_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_inquiries_decided_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["hiring_by_id"],
            ["users.id"],
            name=op.f("fk_inquiries_hiring_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["organisations.id"],
            name=op.f("fk_inquiries_institution_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["matched_person_id"],
            ["registry_persons.id"],
            name=op.f("fk_inquiries_matched_person_id_registry_persons"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["users.id"],
            name=op.f("fk_inquiries_reviewed_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"],
            ["users.id"],
            name=op.f("fk_inquiries_submitted_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiries")),
    )
    with op.batch_alter_table("inquiries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inquiries_authority_id"), ["authority_id"], unique=False
        )
        batch_op.create_index(
            "ix_inquiries_repeat",
            ["institution_id", "subject_index", "purpose", "submitted_at"],
            unique=False,
        )
        batch_op.create_index("ix_inquiries_status", ["status", "submitted_at"], unique=False)

    op.create_table(
        "certificates",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("inquiry_id", sa.Uuid(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("issued_at", shouhu.core.database.UTCDateTime(), nullable=False),
        sa.Column("superseded_at", shouhu.core.database.UTCDateTime(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inquiry_id"],
            ["inquiries.id"],
            name=op.f("fk_certificates_inquiry_id_inquiries"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint("code", name=op.f("uq_certificates_code")),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certificates_inquiry_id"), ["inquiry_id"], unique=False
        )

    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "inquiry_approval_required",
                sa.Boolean(),
                server_default=sa.text("(true)"),
                nullable=False,
            )
        )


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("inquiry_approval_required")

    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificates_inquiry_id"))

    op.drop_table("certificates")
    with op.batch_alter_table("inquiries", schema=None) as batch_op:
        batch_op.drop_index("ix_inquiries_status")
        batch_op.drop_index("ix_inquiries_repeat")
        batch_op.drop_index(batch_op.f("ix_inquiries_authority_id"))

    op.drop_table("inquiries")
