"""The API under test: an app with two labs' keys in a TestClient, and a tiny readable slide."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.app import create_app
from service.dispatch import NullDispatcher
from service.keys import create_key
from service.settings import ApiSettings


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
    settings: ApiSettings
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


def make_api(settings: ApiSettings) -> Iterator[Api]:
    dispatcher = NullDispatcher()
    app = create_app(settings, dispatcher)
    with Session(app.state.tps.engine) as session:
        key_a, key_b = create_key(session, "lab-a"), create_key(session, "lab-b")
    with TestClient(app) as client:
        yield Api(client, settings, dispatcher, key_a, key_b)
    app.state.tps.engine.dispose()
