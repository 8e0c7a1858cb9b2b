"""evidence: whether a medical report's examination was done at the one-stop site

Revision ID: 0013p
Revises: 0012
Create Date: 2026-11-29 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013p"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    # Nullable: set for medical reports only (the service requires it then); existing reports
    # stay unknown and are left out of the site figures.
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("examined_on_site", sa.Boolean(), nullable=True))


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.drop_column("examined_on_site")
