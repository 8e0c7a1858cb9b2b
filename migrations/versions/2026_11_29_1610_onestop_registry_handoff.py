"""one-stop hand-off of a convicted suspect to the registry (draft records from a case)

`registry_records.source` is a String(16) with no check constraint: the new source
`onestop_case` needs no change to it.

Revision ID: 0013h
Revises: 0013p
Create Date: 2026-11-29 16:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shouhu.core.database

revision: str = "0013h"
down_revision: str | None = "0013p"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "case_registry_handoffs",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("suspect_id", sa.Uuid(), nullable=False),
        sa.Column("registry_record_id", sa.Uuid(), nullable=True),
        sa.Column("sent_by_id", sa.Uuid(), nullable=False),
        sa.Column("sent_at", shouhu.core.database.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["onestop_cases.id"],
            name=op.f("fk_case_registry_handoffs_case_id_onestop_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["registry_record_id"],
            ["registry_records.id"],
            name=op.f("fk_case_registry_handoffs_registry_record_id_registry_records"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sent_by_id"],
            ["users.id"],
            name=op.f("fk_case_registry_handoffs_sent_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["suspect_id"],
            ["case_suspects.id"],
            name=op.f("fk_case_registry_handoffs_suspect_id_case_suspects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_registry_handoffs")),
        sa.UniqueConstraint("suspect_id", name=op.f("uq_case_registry_handoffs_suspect_id")),
    )
    with op.batch_alter_table("case_registry_handoffs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_registry_handoffs_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_registry_handoffs_registry_record_id"),
            ["registry_record_id"],
            unique=False,
        )


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("case_registry_handoffs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_registry_handoffs_registry_record_id"))
        batch_op.drop_index(batch_op.f("ix_case_registry_handoffs_case_id"))
    op.drop_table("case_registry_handoffs")
