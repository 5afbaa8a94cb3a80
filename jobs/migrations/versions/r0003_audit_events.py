"""The audit log: table audit_events (jobs/records.py AuditEvent), append-only in the database.

A new table, so no existing row changes. Its id is BIGINT on PostgreSQL and INTEGER on SQLite,
where only a column spelt INTEGER PRIMARY KEY numbers rows itself. Triggers refuse UPDATE and
DELETE of its rows on both, so neither a code path nor a hand-typed statement through the
service's connection rewrites history; dropping the table (downgrade) drops them with it.

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

APPEND_ONLY = "audit_events is append-only"
_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
    for verb in ("UPDATE", "DELETE")
]
_PG_FUNCTION = f"""
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{APPEND_ONLY}';
END $$
"""
_PG_TRIGGER = ("CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
               "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()")


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False,
                  autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),  # naive UTC
        sa.Column("lab_id", sa.String(32), nullable=False),
        sa.Column("key_prefix", sa.String(16), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("object_type", sa.String(16), nullable=False),
        sa.Column("object_id", sa.String(32), nullable=False),
        sa.Column("client", sa.String(100), nullable=True),
        sa.ForeignKeyConstraint(["lab_id"], ["labs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_events_lab_id_id", "audit_events", ["lab_id", "id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("audit_events")  # its index and triggers go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_events_append_only()")
