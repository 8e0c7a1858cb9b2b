"""one-stop changes: sessions rescheduled or cancelled, referrals reassigned or withdrawn

Revision ID: 0013s
Revises: 0013h
Create Date: 2026-11-29 16:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shouhu.core.crypto.fields
import shouhu.core.database

revision: str = "0013s"
down_revision: str | None = "0013h"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("onestop_joint_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("cancelled_at", shouhu.core.database.UTCDateTime(), nullable=True)
        )

    op.create_table(
        "onestop_session_changes",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("previous_time", shouhu.core.database.UTCDateTime(), nullable=False),
        sa.Column("new_time", shouhu.core.database.UTCDateTime(), nullable=True),
        sa.Column("previous_site_id", sa.Uuid(), nullable=False),
        sa.Column("new_site_id", sa.Uuid(), nullable=True),
        sa.Column("reason", shouhu.core.crypto.fields.Sealed(), nullable=False),
        sa.Column("changed_by_id", sa.Uuid(), nullable=False),
        sa.Column("changed_at", shouhu.core.database.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["users.id"],
            name=op.f("fk_onestop_session_changes_changed_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["new_site_id"],
            ["onestop_sites.id"],
            name=op.f("fk_onestop_session_changes_new_site_id_onestop_sites"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["previous_site_id"],
            ["onestop_sites.id"],
            name=op.f("fk_onestop_session_changes_previous_site_id_onestop_sites"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["onestop_joint_sessions.id"],
            name=op.f("fk_onestop_session_changes_session_id_onestop_joint_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onestop_session_changes")),
    )
    with op.batch_alter_table("onestop_session_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_onestop_session_changes_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "referral_changes",
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("previous_organisation_id", sa.Uuid(), nullable=False),
        sa.Column("new_organisation_id", sa.Uuid(), nullable=True),
        sa.Column("previous_assignee_id", sa.Uuid(), nullable=True),
        sa.Column("new_assignee_id", sa.Uuid(), nullable=True),
        sa.Column("reason", shouhu.core.crypto.fields.Sealed(), nullable=False),
        sa.Column("changed_by_id", sa.Uuid(), nullable=False),
        sa.Column("changed_at", shouhu.core.database.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["users.id"],
            name=op.f("fk_referral_changes_changed_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["new_assignee_id"],
            ["users.id"],
            name=op.f("fk_referral_changes_new_assignee_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["new_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_referral_changes_new_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["previous_assignee_id"],
            ["users.id"],
            name=op.f("fk_referral_changes_previous_assignee_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["previous_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_referral_changes_previous_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["service_referrals.id"],
            name=op.f("fk_referral_changes_referral_id_service_referrals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_changes")),
    )
    with op.batch_alter_table("referral_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referral_changes_referral_id"), ["referral_id"], unique=False
        )


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("referral_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_changes_referral_id"))
    op.drop_table("referral_changes")
    with op.batch_alter_table("onestop_session_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_onestop_session_changes_session_id"))
    op.drop_table("onestop_session_changes")
    with op.batch_alter_table("onestop_joint_sessions", schema=None) as batch_op:
        batch_op.drop_column("cancelled_at")
