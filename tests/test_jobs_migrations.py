"""Schema migrations of the job database (jobs/migrations), on SQLite and PostgreSQL: the upgrade
path.

A database made by the releases before migrations (create_all; tests/previous_release.py)
keeps its rows through upgrade(); a fresh one upgraded to head has exactly the schema
jobs/records.py describes (the guard that a change to records.py comes with a revision:
`tps db revision -m ...`); processes that start together migrate once; the `tps db` commands.
"""
from __future__ import annotations

import multiprocessing
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from jobs.database import init_db, make_engine
from jobs.records import ApiKey, Base, Batch, BatchJob, Job, Lab, Slide
from jobs.schema import INITIAL_REVISION, current_revision, head_revision, upgrade
from tests.previous_release import RESULT, engine, previous_release, tables, url, versions
from tps.cli import main as tps_main

__all__ = ["engine", "url"]  # fixtures


def test_previous_release_database_keeps_its_rows(engine: Engine) -> None:
    ids = previous_release(engine)
    assert "alembic_version" not in sa.inspect(engine).get_table_names()

    assert upgrade(engine) == INITIAL_REVISION  # stamped: its tables are revision 0001's
    assert versions(engine) == [head_revision()]
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
    assert versions(engine) == [head_revision()]


def test_fresh_database_at_head_matches_the_models(engine: Engine) -> None:
    assert current_revision(engine) is None
    assert upgrade(engine) is None
    assert current_revision(engine) == head_revision()

    inspector = sa.inspect(engine)
    assert tables(engine) == set(Base.metadata.tables)
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
    assert versions(engine) == [head_revision()]
    init_db(engine)
    assert versions(engine) == [head_revision()]


def test_tables_it_did_not_make_are_left_alone(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE labs (id VARCHAR(32) PRIMARY KEY)"))
    with pytest.raises(RuntimeError, match="not a schema this service made"):
        upgrade(engine)
    assert tables(engine) == {"labs"}


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
        assert versions(engine) == [head_revision()]
        assert tables(engine) == set(Base.metadata.tables)
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
