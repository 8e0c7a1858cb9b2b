"""match profiles

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 02:00:00

Registry persons get a sealed match profile (what the matching engine compares, in one
envelope) and the version of the blocking-key derivation their keys were built with. Both are
filled by `shouhu registry rebuild-keys`, which needs the keys a migration does not have.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shouhu.core.crypto.fields

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("registry_persons", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("match_profile", shouhu.core.crypto.fields.Sealed(), nullable=True)
        )
        batch_op.add_column(sa.Column("keys_version", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_registry_persons_keys_version"), ["keys_version"], unique=False
        )


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("registry_persons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_persons_keys_version"))
        batch_op.drop_column("keys_version")
        batch_op.drop_column("match_profile")
