"""The job database's schema, which Alembic migrates (jobs/migrations/versions, one revision
per change of jobs/records.py): to head under a lock, from any earlier release."""
from __future__ import annotations

import fcntl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from jobs.database import make_engine

# Package data beside this module, so a wheel install finds it too; no alembic.ini anywhere.
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# The revision that creates the schema the releases before migrations made with create_all.
INITIAL_REVISION = "0001"
_PRE_MIGRATION_TABLES = frozenset({"labs", "api_keys", "slides", "jobs", "batches", "batch_jobs"})
# pg_advisory_xact_lock key shared by every process that migrates: b"tps-migr" as an int64.
_PG_LOCK_KEY = 0x7470732D6D696772
# Alembic's `context` and `op` are module globals: one migration per process at a time.
_PROCESS_LOCK = threading.Lock()


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, in code. jobs/migrations/env.py migrates `connection`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Revision files are modules of the jobs.migrations.versions package: names must be
    # identifiers ("%%" is ConfigParser's escape for "%").
    config.set_main_option("file_template", "r%%(rev)s_%%(slug)s")
    config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = _scripts().get_current_head()
    if head is None:
        raise RuntimeError(f"no migration scripts in {MIGRATIONS_DIR / 'versions'}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty one, or one made before migrations."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def _file_lock(database: str | None) -> Iterator[None]:
    """An exclusive flock on a file beside the SQLite file; none for an in-memory database,
    which no other process can open."""
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    path = Path(database)
    with open(path.with_name(path.name + ".migrate-lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


@contextmanager
def _migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that no other process's migration runs beside; committed
    when the block ends without an exception."""
    if engine.dialect.name == "postgresql":
        # Transactional DDL: the lock, the migration and the version row commit together.
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            yield conn
        return
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    # SQLite: the file lock makes a second process wait for as long as the first takes (a
    # write lock alone would give up after busy_timeout). The SQLite way to change a schema
    # (sqlite.org/lang_altertable.html): foreign keys off, which only works outside a
    # transaction, then one explicit transaction, so that batch mode's copy-and-rename of a
    # table either happens whole or not at all, then a foreign key check before the commit.
    with _file_lock(engine.url.database), engine.connect() as conn:
        try:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
            conn.commit()
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()
        except BaseException:
            conn.invalidate()  # rolls back; the pool never hands out its foreign_keys=OFF
            raise


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Bring the database to `revision`, under a lock, so that processes starting together
    (the API, workers) migrate it once. A database that create_all made before migrations
    existed (its tables, no alembic_version) is stamped at INITIAL_REVISION first: its rows
    stay. Returns the revision the database was at (None: it was empty)."""
    with _PROCESS_LOCK, _migration_connection(engine) as conn:
        config = alembic_config(conn)
        current = MigrationContext.configure(conn).get_current_revision()
        if current is None:
            present = _PRE_MIGRATION_TABLES & set(inspect(conn).get_table_names())
            if present == _PRE_MIGRATION_TABLES:
                command.stamp(config, INITIAL_REVISION)
                current = INITIAL_REVISION
            elif present:
                raise RuntimeError(
                    f"the job database has tables {sorted(present)} but lacks "
                    f"{sorted(_PRE_MIGRATION_TABLES - present)} and has no alembic_version: "
                    "not a schema this service made; not migrating it")
        elif current not in {script.revision for script in _scripts().walk_revisions()}:
            raise RuntimeError(f"the job database is at revision {current}, which this release "
                               "does not know: a newer release migrated it")
        if revision != "head" or current != head_revision():
            command.upgrade(config, revision)
        return current


def new_revision(message: str) -> Path:
    """For a change to jobs/records.py, from a source checkout: write the next revision file,
    autogenerated from what Base.metadata has and a database at head lacks (compared on a
    scratch SQLite database). Read it before committing it: autogenerate does not see renames,
    and data migrations are written by hand."""
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'head.sqlite3'}")
        try:
            upgrade(engine)
            head = head_revision()
            rev_id = f"{int(head) + 1:04d}" if head.isdigit() else None
            with _PROCESS_LOCK, engine.connect() as conn:
                made = command.revision(alembic_config(conn), message, autogenerate=True,
                                        rev_id=rev_id)
        finally:
            engine.dispose()
            _scripts.cache_clear()
    if made is None or isinstance(made, list):
        raise RuntimeError("alembic wrote no single revision")
    return Path(made.path)
