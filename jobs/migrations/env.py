"""Alembic's environment for the job record, driven by `jobs.schema.upgrade(engine)`.

There is no alembic.ini: `jobs.schema.alembic_config(connection)` builds the configuration in
code and hands over an open connection, already inside the transaction (and, on PostgreSQL,
holding the advisory lock) that the whole upgrade runs in.
"""
from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from jobs.records import Base

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("the job database migrates through jobs.schema.upgrade(engine) or "
                       "`tps db upgrade`, which pass it a connection")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,  # what autogenerate compares against
    # SQLite alters tables by copying them; batch mode does that for op.alter_column and the like.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
