"""A job database as the releases before migrations left it, for the migration tests.

Those releases' create_all made revision 0001's tables with no alembic_version. records.py has
changed since (0002 added key columns), so create_all would make today's schema;
previous_release builds the tables from revision 0001 (upgrade(engine, INITIAL_REVISION), then
drops alembic_version) and writes its rows with Core, naming only the columns those releases
had.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from jobs.database import make_engine
from jobs.records import new_id
from jobs.schema import INITIAL_REVISION, upgrade

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


def tables(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def versions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


def previous_release(engine: Engine) -> dict[str, Any]:
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
