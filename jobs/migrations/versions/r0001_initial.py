"""The initial schema: the tables that jobs/records.py described when migrations began, as
create_all made them (a database made that way is stamped at this revision, not rebuilt).

Written out, not create_all: later revisions build on it, whatever records.py says by then.
Constraint names are left to the database, as create_all left them.

Revision ID: 0001
Revises:
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _id(name: str = "id") -> sa.Column[str]:
    return sa.Column(name, sa.String(32), nullable=False)


def _created_at() -> sa.Column[datetime]:
    return sa.Column("created_at", sa.DateTime(timezone=False), nullable=False)  # naive UTC


def upgrade() -> None:
    op.create_table(
        "labs",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "api_keys",
        _id(),
        _id("lab_id"),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(["lab_id"], ["labs.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("prefix"),
    )
    op.create_index("ix_api_keys_lab_id", "api_keys", ["lab_id"])
    op.create_table(
        "slides",
        _id(),
        _id("lab_id"),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_name", sa.String(100), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("mpp", sa.Float(), nullable=True),
        sa.Column("vendor", sa.String(50), nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(["lab_id"], ["labs.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("lab_id", "sha256"),
    )
    op.create_index("ix_slides_lab_id", "slides", ["lab_id"])
    op.create_table(
        "jobs",
        _id(),
        _id("lab_id"),
        _id("slide_id"),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(200), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=False), nullable=True),
        _created_at(),
        sa.Column("queued_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("result_dir", sa.String(500), nullable=True),
        sa.ForeignKeyConstraint(["lab_id"], ["labs.id"]),
        sa.ForeignKeyConstraint(["slide_id"], ["slides.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("lab_id", "idempotency_key"),
    )
    op.create_index("ix_jobs_lab_id", "jobs", ["lab_id"])
    op.create_index("ix_jobs_slide_id", "jobs", ["slide_id"])
    op.create_index("ix_jobs_state", "jobs", ["state"])
    op.create_table(
        "batches",
        _id(),
        _id("lab_id"),
        _created_at(),
        sa.ForeignKeyConstraint(["lab_id"], ["labs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_batches_lab_id", "batches", ["lab_id"])
    op.create_table(
        "batch_jobs",
        _id("batch_id"),
        _id("job_id"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"]),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"]),
        sa.PrimaryKeyConstraint("batch_id", "job_id"),
    )


def downgrade() -> None:
    # Dropping a table drops its indexes.
    for table in ("batch_jobs", "batches", "jobs", "slides", "api_keys", "labs"):
        op.drop_table(table)
