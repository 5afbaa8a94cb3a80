"""The job database's pool (jobs/database.py): a connection for each thread that runs the API's
routes, kept between requests instead of opened for each; and on PostgreSQL a pooled connection
the server dropped is replaced before a request uses it."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
import sqlalchemy as sa
from anyio import to_thread

from jobs.database import MAX_OVERFLOW, ROUTE_THREADS, make_engine


def test_the_pool_holds_a_connection_for_every_route_thread(tmp_path: Path) -> None:
    async def route_threads() -> float:
        # What FastAPI runs a sync route (and a key check) on: anyio's default limiter.
        return to_thread.current_default_thread_limiter().total_tokens

    assert anyio.run(route_threads) == ROUTE_THREADS
    engine = make_engine(f"sqlite:///{tmp_path / 'pool.sqlite3'}")
    assert engine.pool.size() == ROUTE_THREADS  # type: ignore[attr-defined]
    assert 0 < MAX_OVERFLOW <= ROUTE_THREADS // 4  # a margin, not a second pool
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLite file, then a PostgreSQL schema (skipped when PostgreSQL is not running)."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_schema_url")
        return url
    return f"sqlite:///{tmp_path / 'pool.sqlite3'}"


def test_busy_routes_reuse_their_connections(db_url: str) -> None:
    engine = make_engine(db_url)
    opened: list[Any] = []
    sa.event.listen(engine, "connect", lambda dbapi_connection, _record: opened.append(1))

    def burst(size: int) -> None:
        """`size` requests holding a connection at once, then all returning it."""
        held = [engine.connect() for _ in range(size)]
        for conn in held:
            assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
        for conn in held:
            conn.close()

    for _ in range(3):  # every route thread busy, three times over
        burst(ROUTE_THREADS)
    # Opened in the first burst only: with the former pool of 10 (+50 overflow), each burst
    # past the first opened 30 again, 100 in all.
    assert len(opened) == ROUTE_THREADS
    burst(ROUTE_THREADS + MAX_OVERFLOW)  # downloads' audit writes on top: the overflow
    assert len(opened) == ROUTE_THREADS + MAX_OVERFLOW
    assert engine.pool.checkedin() == ROUTE_THREADS  # type: ignore[attr-defined]
    engine.dispose()


def test_a_connection_postgresql_dropped_is_replaced_before_use(postgres_url: str,
                                                                pg_schema_url: str) -> None:
    engine = make_engine(pg_schema_url)
    with engine.connect() as conn:
        backend = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    admin = sa.create_engine(postgres_url)
    with admin.connect() as conn:  # as a server restart or failover would
        dropped = conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        assert dropped.scalar_one() is True
    admin.dispose()
    with engine.connect() as conn:  # the pool's only connection, dead: pinged and replaced
        assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() != backend
    engine.dispose()
