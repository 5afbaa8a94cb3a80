"""Key revocation, expiry and last use: three nullable timestamps on api_keys (naive UTC).

Existing keys get NULL in all three: never revoked, never expiring, not yet seen. Adding
nullable columns needs no table copy; batch mode (SQLite) makes it a plain ALTER TABLE ADD
COLUMN there as on PostgreSQL. Dropping them (downgrade) copies the table on SQLite.

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_COLUMNS = ("revoked_at", "last_used_at", "expires_at")


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        for name in _COLUMNS:
            batch.add_column(sa.Column(name, sa.DateTime(timezone=False), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
