"""Revisions after the first: a later revision applies whole or not at all (SQLite's batch
mode on a table others point at), and revision 0003's append-only audit log, on SQLite and
PostgreSQL, over a database the releases before migrations left (tests/previous_release.py).
"""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from jobs import schema
from jobs.records import BatchJob, Job
from jobs.schema import head_revision, upgrade
from tests.previous_release import RESULT, engine, previous_release, tables, url, versions

__all__ = ["engine", "url"]  # fixtures


LATER_REVISION = '''
import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = "{head}"


def upgrade() -> None:
    # A column change SQLite can only make by copying the table (batch mode), on a table that
    # other tables' foreign keys point at, then (when asked) a failure.
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("result_dir", type_=sa.String(1000), existing_nullable=True)
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
    op.execute("UPDATE jobs SET note = 'migrated'")
    {fail}
'''


@pytest.fixture
def later_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of jobs/migrations to add a revision to, in place of the package's."""
    copy = tmp_path / "migrations"
    shutil.copytree(schema.MIGRATIONS_DIR, copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(schema, "MIGRATIONS_DIR", copy)
    schema._scripts.cache_clear()
    yield copy / "versions" / "r9001_later.py"
    schema._scripts.cache_clear()


@pytest.mark.parametrize("fails", [False, True])
def test_a_later_revision_applies_whole_or_not_at_all(
        engine: Engine, later_revision: Path, fails: bool) -> None:
    ids = previous_release(engine)
    head = head_revision()
    upgrade(engine)
    later_revision.write_text(LATER_REVISION.format(
        head=head, fail='raise RuntimeError("half way")' if fails else ""))
    schema._scripts.cache_clear()

    if fails:
        with pytest.raises(RuntimeError, match="half way"):
            upgrade(engine)
        assert versions(engine) == [head]
        assert "note" not in {c["name"] for c in sa.inspect(engine).get_columns("jobs")}
    else:
        assert upgrade(engine) == head
        assert versions(engine) == ["9001"]
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT note FROM jobs")).scalar_one() == "migrated"
    with Session(engine) as s:  # the rows, and the rows that point at the copied table
        job = s.get(Job, ids["job"])
        assert job is not None and job.result == RESULT
        assert s.get(BatchJob, (ids["batch"], ids["job"])) is not None
    if engine.dialect.name == "sqlite":  # the pool hands out no connection with them off
        for _ in range(3):
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1


def _audit_row(engine: Engine, lab_id: str) -> int:
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO audit_events (created_at, lab_id, key_prefix, action, object_type, "
            "object_id, client) VALUES (:at, :lab, 'abcd', 'upload', 'slide', 's1', '10.0.0.1')"),
            {"at": datetime(2024, 5, 2), "lab": lab_id})
        made: int = conn.execute(sa.text("SELECT max(id) FROM audit_events")).scalar_one()
    return made


def test_revision_0003_adds_an_append_only_audit_log(engine: Engine) -> None:
    ids = previous_release(engine)
    upgrade(engine, "0002")
    assert "audit_events" not in tables(engine)
    upgrade(engine, "0003")
    first, second = _audit_row(engine, ids["lab"]), _audit_row(engine, ids["lab"])
    assert second == first + 1  # the database numbers the rows: the log's order and cursor
    for statement in ("UPDATE audit_events SET action = 'delete'", "DELETE FROM audit_events"):
        with (pytest.raises(sa.exc.DBAPIError, match="audit_events is append-only"),
              engine.begin() as conn):
            conn.execute(sa.text(statement))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit_events WHERE action = 'upload'")
                            ).scalar_one() == 2
    with Session(engine) as s:  # the rows before it are untouched
        job = s.get(Job, ids["job"])
        assert job is not None and job.result == RESULT

    # Down and up again: the table goes with its triggers (and PostgreSQL's function).
    with schema._PROCESS_LOCK, schema._migration_connection(engine) as conn:
        from alembic import command
        command.downgrade(schema.alembic_config(conn), "0002")
    assert "audit_events" not in tables(engine) and versions(engine) == ["0002"]
    upgrade(engine)
    assert _audit_row(engine, ids["lab"]) >= 1
