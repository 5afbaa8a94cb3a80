"""Connections to the job database: one engine per process and URL, SQLite or PostgreSQL."""
from __future__ import annotations

import atexit
import os
import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import sessionmaker


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while the worker writes; busy_timeout waits out short write locks.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# The API's sync routes and key checks run on anyio's default thread limiter: 40 threads (the
# app keeps the default; tests/test_jobs_database.py checks they agree). Each holds one
# connection at a time, a download one more for its audit event (service/audit.py). So the pool
# keeps 40 open: a connection past pool_size is opened for one request and closed after it,
# 6-11 ms each on local PostgreSQL (measured) against well under 1 ms for a pooled checkout.
# The small overflow absorbs the audit writes and the metrics' reads, and caps the API at 50 of
# PostgreSQL's default 100 connections. A pool opens connections only as they are needed, so a
# worker process holds the one or two it uses.
ROUTE_THREADS = 40
MAX_OVERFLOW = 10


def make_engine(url: str) -> Engine:
    pool: dict[str, Any] = {"pool_size": ROUTE_THREADS, "max_overflow": MAX_OVERFLOW}
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10},
                               **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # pool_pre_ping, not pool_recycle: a pooled connection dies when PostgreSQL restarts or
    # fails over, at any age, and only a ping at checkout (one round trip, ~0.05 ms locally)
    # replaces it before a request uses it; recycling by age would still hand it out, and the
    # request would answer 500. Age-based recycling only helps against something between that
    # drops idle connections silently (a firewall's idle timeout); docker-compose.yml has none.
    return create_engine(url, pool_pre_ping=True, **pool)


def make_session_factory(engine: Engine) -> sessionmaker[Any]:
    return sessionmaker(engine, expire_on_commit=False)


# The shared engines, by URL and pid: pooled connections must never cross a fork (a Celery pool
# process gets its own). A process uses one or two URLs; the bound is for test runs, and an
# engine that falls out is disposed, so its pooled connections are closed, not left to the GC.
_ENGINES: OrderedDict[tuple[str, int], Engine] = OrderedDict()
_ENGINES_KEPT = 8
_ENGINES_LOCK = threading.Lock()


def engine_for(url: str) -> Engine:
    """The process's shared engine for `url`."""
    key = (url, os.getpid())
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = make_engine(url)
            while len(_ENGINES) > _ENGINES_KEPT:
                _ENGINES.popitem(last=False)[1].dispose()
        _ENGINES.move_to_end(key)
        return engine


def dispose_engines() -> None:
    """Close the pooled connections of this process's shared engines: at exit, and at the end
    of a test session."""
    with _ENGINES_LOCK:
        for (_url, pid), engine in _ENGINES.items():
            if pid == os.getpid():
                engine.dispose()
        _ENGINES.clear()


atexit.register(dispose_engines)


def init_db(engine: Engine) -> None:
    """What the API (service/app.py) and `tps keys create` run on start: migrate to head."""
    from jobs.schema import upgrade  # the migrations import this module's engines

    upgrade(engine)


