"""one active key per purpose

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 02:10:00

Two processes starting together on an empty database could each create a full set of data
keys. A partial unique index makes a second active key of a purpose impossible; the keyring
also locks the table before creating keys, so the loser of such a race reads the winner's.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_crypto_keys_active_purpose"
ACTIVE = sa.text("status = 'active'")


def _refuse_duplicates() -> None:
    # The index cannot be built over duplicates, and which key to keep is not the migration's
    # call: data may be sealed or indexed under either. Name them so an operator can decide.
    duplicated = op.get_bind().execute(
        sa.text(
            "SELECT purpose, COUNT(*) FROM crypto_keys WHERE status = 'active' "
            "GROUP BY purpose HAVING COUNT(*) > 1 ORDER BY purpose"
        )
    )
    found = [f"{purpose} ({count} active)" for purpose, count in duplicated]
    if found:
        raise RuntimeError(
            "crypto_keys holds more than one active key for: "
            + ", ".join(found)
            + "; keep one active key per purpose before upgrading"
        )


def upgrade() -> None:
    """Apply this migration."""
    _refuse_duplicates()
    op.create_index(
        INDEX,
        "crypto_keys",
        ["purpose"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index(INDEX, table_name="crypto_keys")
