"""Schema migrations of the job database (jobs/migrations), on SQLite and PostgreSQL.

A database made by the releases before migrations (create_all) keeps its rows through
upgrade(); a fresh one upgraded to head has exactly the schema jobs/records.py describes (the
guard that a change to records.py comes with a revision: `tps db revision -m ...`); processes
that start together migrate once.

The "previous release" database is what those releases' create_all made: revision 0001's
tables with no alembic_version. records.py has changed since (0002 added key columns), so
create_all would make today's schema; _previous_release builds the tables from revision 0001
(upgrade(engine, INITIAL_REVISION), then drops alembic_version) and writes its rows with Core,
naming only the columns those releases had.
"""
from __future__ import annotations

import multiprocessing
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from jobs import schema
from jobs.database import init_db, make_engine
from jobs.records import ApiKey, Base, Batch, BatchJob, Job, Lab, Slide, new_id
from jobs.schema import INITIAL_REVISION, current_revision, head_revision, upgrade
from tps.cli import main as tps_main

RESULT = {"tps": 0.42, "cells": {"tumor_pos": 42, "tumor_neg": 58}, "flags": ["a", "b"]}


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tps.sqlite3'}"
    made: str = request.getfixturevalue("pg_schema_url")
    return made


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    made = make_engine(url)
    yield made
    made.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def _versions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


def _previous_release(engine: Engine) -> dict[str, Any]:
    """The tables as the releases before migrations made them (revision 0001's, unstamped),
    with one row of each; returns the ids."""
    upgrade(engine, INITIAL_REVISION)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE alembic_version"))
    old = sa.MetaData()
    old.reflect(engine)  # the columns 0001 made, not today's models
    now = datetime(2024, 5, 1, 12, 0, 0)
    ids = {name: new_id() for name in ("lab", "key", "slide", "job", "batch")}
    rows: list[tuple[str, dict[str, Any]]] = [
        ("labs", {"id": ids["lab"], "name": "lab one", "created_at": now}),
        ("api_keys", {"id": ids["key"], "lab_id": ids["lab"], "prefix": "tps_abcd",
                      "key_hash": "f" * 64, "created_at": now}),
        ("slides", {"id": ids["slide"], "lab_id": ids["lab"], "sha256": "1" * 64,
                    "storage_name": "a.svs", "label": "case 1.svs", "size_bytes": 5_000_000_000,
                    "width": 90_000, "height": 70_000, "mpp": 0.2527, "vendor": "aperio",
                    "created_at": now}),
        ("jobs", {"id": ids["job"], "lab_id": ids["lab"], "slide_id": ids["slide"],
                  "state": "succeeded", "params": {"assay": "SP263"}, "idempotency_key": "k-1",
                  "progress_done": 7, "progress_total": 7, "attempts": 1, "max_attempts": 3,
                  "created_at": now, "queued_at": now,
                  "finished_at": datetime(2024, 5, 1, 12, 30, 15), "result": RESULT,
                  "result_dir": "results/x"}),
        ("batches", {"id": ids["batch"], "lab_id": ids["lab"], "created_at": now}),
        ("batch_jobs", {"batch_id": ids["batch"], "job_id": ids["job"], "position": 0}),
    ]
    with engine.begin() as conn:
        for table, values in rows:
            conn.execute(old.tables[table].insert().values(**values))
    return ids


def test_previous_release_database_keeps_its_rows(engine: Engine) -> None:
    ids = _previous_release(engine)
    assert "alembic_version" not in sa.inspect(engine).get_table_names()

    assert upgrade(engine) == INITIAL_REVISION  # stamped: its tables are revision 0001's
    assert _versions(engine) == [head_revision()]
    with Session(engine) as s:
        lab = s.get(Lab, ids["lab"])
        assert lab is not None and lab.name == "lab one"
        key = s.get(ApiKey, ids["key"])
        assert key is not None and key.prefix == "tps_abcd" and key.lab_id == lab.id
        # 0002's columns, empty on the keys that were there: not revoked, never expiring.
        assert (key.revoked_at, key.last_used_at, key.expires_at) == (None, None, None)
        slide = s.get(Slide, ids["slide"])
        assert slide is not None
        assert (slide.size_bytes, slide.mpp, slide.label) == (5_000_000_000, 0.2527, "case 1.svs")
        job = s.get(Job, ids["job"])
        assert job is not None
        assert job.result == RESULT and job.params == {"assay": "SP263"}
        assert (job.state, job.idempotency_key, job.progress_done) == ("succeeded", "k-1", 7)
        assert job.finished_at == datetime(2024, 5, 1, 12, 30, 15)
        member = s.get(BatchJob, (ids["batch"], ids["job"]))
        assert member is not None and member.position == 0
        for model in (Lab, ApiKey, Slide, Job, Batch, BatchJob):
            assert s.query(model).count() == 1

    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda _c, _cur, statement, *_a: statements.append(statement))
    assert upgrade(engine) == head_revision()  # again: nothing to do
    writes = [q for q in statements
              if q.split(None, 1)[0].upper() in {"CREATE", "ALTER", "DROP", "INSERT", "UPDATE",
                                                  "DELETE"}]
    assert writes == []
    assert _versions(engine) == [head_revision()]


def test_fresh_database_at_head_matches_the_models(engine: Engine) -> None:
    assert current_revision(engine) is None
    assert upgrade(engine) is None
    assert current_revision(engine) == head_revision()

    inspector = sa.inspect(engine)
    assert _tables(engine) == set(Base.metadata.tables)
    for name, table in Base.metadata.tables.items():
        made = {c["name"]: c["nullable"] for c in inspector.get_columns(name)}
        assert made == {c.name: c.nullable for c in table.columns}, name
        indexes = {tuple(i["column_names"]) for i in inspector.get_indexes(name)
                   if not i.get("unique")}
        assert indexes == {tuple(i.columns.keys()) for i in table.indexes}, name
        uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints(name)}
        declared = {tuple(c.columns.keys()) for c in table.constraints
                    if isinstance(c, sa.UniqueConstraint)}
        declared |= {(c.name,) for c in table.columns if c.unique}
        assert uniques == declared, name

    # The guard for the next change of jobs/records.py: it fails until a revision makes it.
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_init_db_migrates(engine: Engine) -> None:
    init_db(engine)
    assert _versions(engine) == [head_revision()]
    init_db(engine)
    assert _versions(engine) == [head_revision()]


def test_tables_it_did_not_make_are_left_alone(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE labs (id VARCHAR(32) PRIMARY KEY)"))
    with pytest.raises(RuntimeError, match="not a schema this service made"):
        upgrade(engine)
    assert _tables(engine) == {"labs"}


def test_a_newer_releases_database_is_refused(engine: Engine) -> None:
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'f00d'"))
    with pytest.raises(RuntimeError, match="revision f00d, which this release does not know"):
        upgrade(engine)


def _upgrade_in_child(url: str, barrier: Any) -> None:
    engine = make_engine(url)
    barrier.wait(timeout=60)
    upgrade(engine)
    engine.dispose()


def test_processes_starting_together_migrate_once(url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(3)
    children = [ctx.Process(target=_upgrade_in_child, args=(url, barrier)) for _ in range(3)]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=120)
    assert [child.exitcode for child in children] == [0, 0, 0]

    engine = make_engine(url)
    try:
        assert _versions(engine) == [head_revision()]
        assert _tables(engine) == set(Base.metadata.tables)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        engine.dispose()


def test_tps_db_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TPS_DATABASE_URL", raising=False)
    head = head_revision()

    assert tps_main(["db", "current"]) == 0
    assert capsys.readouterr().out.startswith("none (")
    assert not (tmp_path / "data").exists()  # asking made nothing

    assert tps_main(["db", "upgrade"]) == 0
    assert f"database at {head} (head), upgraded from empty" in capsys.readouterr().out
    assert tps_main(["db", "init"]) == 0  # the old name, kept
    assert "already at head" in capsys.readouterr().out
    assert tps_main(["db", "current"]) == 0
    assert capsys.readouterr().out == f"{head} (head)\n"


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
    ids = _previous_release(engine)
    head = head_revision()
    upgrade(engine)
    later_revision.write_text(LATER_REVISION.format(
        head=head, fail='raise RuntimeError("half way")' if fails else ""))
    schema._scripts.cache_clear()

    if fails:
        with pytest.raises(RuntimeError, match="half way"):
            upgrade(engine)
        assert _versions(engine) == [head]
        assert "note" not in {c["name"] for c in sa.inspect(engine).get_columns("jobs")}
    else:
        assert upgrade(engine) == head
        assert _versions(engine) == ["9001"]
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
    ids = _previous_release(engine)
    upgrade(engine, "0002")
    assert "audit_events" not in _tables(engine)
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
    assert "audit_events" not in _tables(engine) and _versions(engine) == ["0002"]
    upgrade(engine)
    assert _audit_row(engine, ids["lab"]) >= 1
