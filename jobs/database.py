"""Connections to the job database: one engine per process and URL, SQLite or PostgreSQL."""
from __future__ import annotations

import os
from functools import lru_cache
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


# Each of the 40 threads that run sync routes may hold a connection (routes give it back as
# they return, service/route_class.py); a pool smaller than that would make threads queue.
_POOL = {"pool_size": 10, "max_overflow": 50}


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10},
                               **_POOL)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **_POOL)


def make_session_factory(engine: Engine) -> sessionmaker[Any]:
    return sessionmaker(engine, expire_on_commit=False)


@lru_cache(maxsize=8)
def _engine(url: str, pid: int) -> Engine:
    return make_engine(url)


def engine_for(url: str) -> Engine:
    """The process's shared engine for `url`. Keyed by pid as well: pooled connections must
    never cross a fork (a Celery pool process gets its own)."""
    return _engine(url, os.getpid())


def init_db(engine: Engine) -> None:
    """What the API (service/app.py) and `tps keys create` run on start: migrate to head."""
    from jobs.schema import upgrade  # the migrations import this module's engines

    upgrade(engine)


