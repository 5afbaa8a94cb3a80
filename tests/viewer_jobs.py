"""Slides and jobs for the viewer's route tests: a picture slide uploaded through the API, and
a job whose result folder a test writes by hand."""
from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from jobs import lease
from tests.api_client import Api

CLASSES = ["tumor_pos", "tumor_neg", "nontumor_pos", "nontumor_neg"]


def picture(width: int, height: int) -> np.ndarray:
    """Smooth gradients under 32-px squares of two colours: JPEG keeps it within a few levels,
    and a tile read a few pixels off does not match it."""
    yy, xx = np.mgrid[0:height, 0:width]
    squares = ((xx // 32 + yy // 32) % 2).astype(bool)
    image = np.stack([xx * 200 // width, yy * 200 // height, np.full_like(xx, 60)], axis=-1)
    image[squares] += np.array([40, 20, 160])
    return image.astype(np.uint8)


def upload_picture(api: Api, tmp_path: Path, width: int = 600, height: int = 400,
            key: str | None = None) -> tuple[str, Path]:
    path = tmp_path / f"pic-{width}x{height}.tiff"
    tifffile.imwrite(path, picture(width, height), tile=(256, 256), photometric="rgb",
                     resolution=(20000.0, 20000.0), resolutionunit="CENTIMETER")
    r: Any = api.upload(path.read_bytes(), name="pic.tiff", key=key)
    assert r.status_code == 201, r.text
    return str(r.json()["id"]), path


def write_cells_rows(folder: Path, rows: list[tuple[float, float, str, float, float]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / "cells.csv.gz", "wt", newline="") as out:
        out.write("x_px,y_px,x_um,y_um,class,p_obj,p_class\n")
        for x, y, name, p_obj, p_class in rows:
            out.write(f"{x:.2f},{y:.2f},{x / 2:.3f},{y / 2:.3f},{name},{p_obj:.4f},"
                      f"{p_class:.4f}\n")


def picture_job(api: Api, tmp_path: Path) -> str:
    slide_id, _ = upload_picture(api, tmp_path)
    r = api.client.post("/v1/jobs", json={"slide_id": slide_id}, headers=api.a())
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def succeed(api: Api, job_id: str, folder: Path, result: dict[str, Any]) -> None:
    engine = api.client.app.state.tps.engine  # type: ignore[attr-defined]
    assert lease.claim(engine, job_id, "w", 60)
    assert lease.succeed(engine, job_id, "w", result, str(folder))


def result_of(crops: list[str] | None = None) -> dict[str, Any]:
    return {"counts": {name: 0 for name in CLASSES}, "files": {"heatmap": "heatmap.png"},
            "review_crops": [{"file": f, "x": 0, "y": 0, "size_px": 256, "reason": "densest tumour"}
                             for f in crops or []]}
