"""Fixtures shared by the service tests: settings in tmp_path, a tiny readable slide, two labs."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
import tifffile
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.app import create_app
from service.dispatch import NullDispatcher
from service.keys import create_key
from service.settings import Settings


def tiny_slide_bytes(tmp_path: Path, seed: int = 0, size: int = 512) -> bytes:
    """A tiled RGB TIFF openslide opens as generic-tiff, 0.5 um/px, distinct per seed."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
    path = tmp_path / f"tiny-{seed}.tiff"
    tifffile.imwrite(path, image, tile=(256, 256), photometric="rgb",
                     resolution=(20000.0, 20000.0), resolutionunit="CENTIMETER")
    return path.read_bytes()


@dataclass
class Api:
    client: TestClient
    settings: Settings
    dispatcher: NullDispatcher
    key_a: str
    key_b: str

    def a(self) -> dict[str, str]:
        return {"X-API-Key": self.key_a}

    def b(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key_b}"}

    def upload(self, data: bytes, name: str = "case.tiff", key: str | None = None) -> object:
        headers = {"X-API-Key": key or self.key_a, "X-Filename": name,
                   "Content-Type": "application/octet-stream"}
        return self.client.put("/v1/slides", content=data, headers=headers)


def make_api(settings: Settings) -> Iterator[Api]:
    dispatcher = NullDispatcher()
    app = create_app(settings, dispatcher)
    with Session(app.state.tps.engine) as session:
        key_a, key_b = create_key(session, "lab-a"), create_key(session, "lab-b")
    with TestClient(app) as client:
        yield Api(client, settings, dispatcher, key_a, key_b)
    app.state.tps.engine.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", max_upload_bytes=2_000_000, probe_timeout_s=20)


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    yield from make_api(settings)


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
