"""Shared fixtures: real data and real services (each skipped with a reason when absent), and
the API with its settings in tmp_path."""
from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.settings import ApiSettings
from tests.api_client import Api, make_api

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not present at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def redis_url() -> str:
    if not _port_open("127.0.0.1", 6379):
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return "redis://127.0.0.1:6379/15"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    if not _port_open("127.0.0.1", 5432):
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    return "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def pg_schema_url(postgres_url: str) -> Iterator[str]:
    """A fresh schema per test, dropped afterwards, so tests never see each other's rows."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    yield f"{postgres_url}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> ApiSettings:
    return ApiSettings(data_dir=tmp_path / "data", max_upload_bytes=2_000_000, probe_timeout_s=20)


@pytest.fixture
def api(settings: ApiSettings) -> Iterator[Api]:
    yield from make_api(settings)


@pytest.fixture(params=["sqlite", "postgres"])
def db_api(request: pytest.FixtureRequest, settings: ApiSettings) -> Iterator[Api]:
    """The API on SQLite, then on PostgreSQL (skipped when it is not running)."""
    if request.param == "postgres":
        settings = settings.model_copy(
            update={"database_url": request.getfixturevalue("pg_schema_url")})
    yield from make_api(settings)


@pytest.fixture(scope="session", autouse=True)
def _close_shared_engines() -> Iterator[None]:
    """The processes' shared engines (jobs.database.engine_for) hold pooled connections until
    exit; closed here, before pytest's last look for unclosed resources."""
    yield
    from jobs.database import dispose_engines

    dispose_engines()
