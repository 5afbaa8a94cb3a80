"""The viewer's routes: Deep Zoom over the slide's pixels, cells by region, heatmap, tissue
outline and crops."""
from __future__ import annotations

import gzip
import io
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import openslide
import pytest
import tifffile
from PIL import Image

from jobs import lease
from scoring.cell_exports import write_cells_csv
from scoring.cells import CELL_DTYPE, CellSink
from service.cell_index import INDEX_NAME
from service.deepzoom import JPEG_QUALITY
from tests.api_client import Api

CLASSES = ["tumor_pos", "tumor_neg", "nontumor_pos", "nontumor_neg"]


def _picture(width: int, height: int) -> np.ndarray:
    """Smooth gradients under 32-px squares of two colours: JPEG keeps it within a few levels,
    and a tile read a few pixels off does not match it."""
    yy, xx = np.mgrid[0:height, 0:width]
    squares = ((xx // 32 + yy // 32) % 2).astype(bool)
    image = np.stack([xx * 200 // width, yy * 200 // height, np.full_like(xx, 60)], axis=-1)
    image[squares] += np.array([40, 20, 160])
    return image.astype(np.uint8)


def _upload(api: Api, tmp_path: Path, width: int = 600, height: int = 400,
            key: str | None = None) -> tuple[str, Path]:
    path = tmp_path / f"pic-{width}x{height}.tiff"
    tifffile.imwrite(path, _picture(width, height), tile=(256, 256), photometric="rgb",
                     resolution=(20000.0, 20000.0), resolutionunit="CENTIMETER")
    r: Any = api.upload(path.read_bytes(), name="pic.tiff", key=key)
    assert r.status_code == 201, r.text
    return str(r.json()["id"]), path


def test_dzi_and_viewer_json_give_the_slides_size_and_scale(api: Api, tmp_path: Path) -> None:
    slide_id, _ = _upload(api, tmp_path)
    r = api.client.get(f"/v1/slides/{slide_id}/viewer.dzi", headers=api.a())
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(r.text)
    assert root.tag.endswith("Image")
    assert (root.get("TileSize"), root.get("Overlap"), root.get("Format")) == ("254", "1", "jpeg")
    size = root[0]
    assert (size.get("Width"), size.get("Height")) == ("600", "400")
    info = api.client.get(f"/v1/slides/{slide_id}/viewer.json", headers=api.a()).json()
    assert info == {"width": 600, "height": 400, "offset": [0, 0], "mpp": 0.5, "tile_size": 254,
                    "overlap": 1, "format": "jpeg", "level_count": 11}  # 2**9 < 600 <= 2**10


def _tile(api: Api, slide_id: str, level: int, col: int, row: int) -> np.ndarray:
    r = api.client.get(f"/v1/slides/{slide_id}/viewer_files/{level}/{col}_{row}.jpeg",
                       headers=api.a())
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"] == "private, max-age=3600"
    image = Image.open(io.BytesIO(r.content))
    assert image.format == "JPEG" and image.mode == "RGB"
    return np.asarray(image).astype(int)


def test_tiles_are_the_slides_pixels(api: Api, tmp_path: Path) -> None:
    slide_id, path = _upload(api, tmp_path)
    with openslide.OpenSlide(path) as slide:
        def as_jpeg(x: int, y: int, w: int, h: int) -> np.ndarray:
            """The level-0 box, JPEG-coded as the service codes it (the loss is the codec's)."""
            out = io.BytesIO()
            slide.read_region((x, y), 0, (w, h)).convert("RGB").save(out, "JPEG",
                                                                      quality=JPEG_QUALITY)
            return np.asarray(Image.open(out)).astype(int)

        # Level 10 is level 0: tiles 254 px apart, one pixel of overlap on each inner side, so
        # tile (col, row) starts at 254 col - 1 (0 for col 0) and ends at 254 (col + 1) + 1 or
        # the slide's edge (600 x 400).
        for (col, row), (x, y, w, h) in {(0, 0): (0, 0, 255, 255),
                                         (1, 0): (253, 0, 256, 255),
                                         (2, 1): (507, 253, 93, 147)}.items():
            tile = _tile(api, slide_id, 10, col, row)
            assert tile.shape == (h, w, 3)
            assert np.abs(tile - as_jpeg(x, y, w, h)).max() <= 1
            assert np.abs(tile - as_jpeg(x - 1, y, w, h)).mean() > 2  # one pixel off differs
            assert np.abs(tile - as_jpeg(x, y + 1, w, h)).mean() > 2
    # Level 9 halves it: 300 x 200, two columns of one row; level 0 is one pixel.
    assert _tile(api, slide_id, 9, 0, 0).shape == (200, 255, 3)
    assert _tile(api, slide_id, 9, 1, 0).shape == (200, 47, 3)
    assert _tile(api, slide_id, 0, 0, 0).shape == (1, 1, 3)


def test_tiles_outside_the_pyramid_are_404(api: Api, tmp_path: Path) -> None:
    slide_id, _ = _upload(api, tmp_path)
    base = f"/v1/slides/{slide_id}/viewer_files"
    for tail in ("11/0_0.jpeg", "10/3_0.jpeg", "10/0_2.jpeg", "9/2_0.jpeg", "10/-1_0.jpeg",
                 "10/a_0.jpeg", "10/0_0.png"):
        r = api.client.get(f"{base}/{tail}", headers=api.a())
        assert r.status_code == 404, tail


def test_another_labs_slide_is_not_found(api: Api, tmp_path: Path) -> None:
    slide_id, _ = _upload(api, tmp_path)
    for tail in ("viewer.dzi", "viewer.json", "viewer_files/10/0_0.jpeg"):
        assert api.client.get(f"/v1/slides/{slide_id}/{tail}", headers=api.b()).status_code == 404
        assert api.client.get(f"/v1/slides/nope/{tail}", headers=api.a()).status_code == 404
        assert api.client.get(f"/v1/slides/{slide_id}/{tail}").status_code == 401


# --- a job with a hand-made result folder ------------------------------------------------------

def _write_cells(folder: Path, rows: list[tuple[float, float, str, float, float]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / "cells.csv.gz", "wt", newline="") as out:
        out.write("x_px,y_px,x_um,y_um,class,p_obj,p_class\n")
        for x, y, name, p_obj, p_class in rows:
            out.write(f"{x:.2f},{y:.2f},{x / 2:.3f},{y / 2:.3f},{name},{p_obj:.4f},"
                      f"{p_class:.4f}\n")


def _job(api: Api, tmp_path: Path) -> str:
    slide_id, _ = _upload(api, tmp_path)
    r = api.client.post("/v1/jobs", json={"slide_id": slide_id}, headers=api.a())
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def _succeed(api: Api, job_id: str, folder: Path, result: dict[str, Any]) -> None:
    engine = api.client.app.state.tps.engine  # type: ignore[attr-defined]
    assert lease.claim(engine, job_id, "w", 60)
    assert lease.succeed(engine, job_id, "w", result, str(folder))


def _result(crops: list[str] | None = None) -> dict[str, Any]:
    return {"counts": {name: 0 for name in CLASSES}, "files": {"heatmap": "heatmap.png"},
            "review_crops": [{"file": f, "x": 0, "y": 0, "size_px": 256, "reason": "densest tumour"}
                             for f in crops or []]}


def _cells(api: Api, job_id: str, region: tuple[float, float, float, float],
           limit: int | None = None, headers: dict[str, str] | None = None) -> Any:
    x, y, w, h = region
    query = f"x={x}&y={y}&width={w}&height={h}" + ("" if limit is None else f"&limit={limit}")
    return api.client.get(f"/v1/jobs/{job_id}/cells?{query}", headers=headers or api.a())


def test_cells_of_a_region_are_exactly_those_inside_it(api: Api, tmp_path: Path) -> None:
    folder = tmp_path / "result"
    _write_cells(folder, [
        (100.00, 50.00, "tumor_neg", 0.91234, 0.5557),   # on the left and top edges: in
        (149.96, 80.04, "tumor_pos", 0.5, 0.9994),        # inside, rounds to 150.0, 80.0
        (150.00, 60.00, "tumor_pos", 0.9, 0.9),           # on the right edge: out
        (120.00, 90.00, "nontumor_neg", 0.9, 0.9),        # on the bottom edge: out
        (99.99, 70.00, "tumor_pos", 0.9, 0.9),            # just left: out
        (120.00, 49.99, "tumor_pos", 0.9, 0.9),           # just above: out
        (130.00, 89.99, "other", 0.75, 0.6),              # inside; a class the model lacks
        (125.00, 55.54, "nontumor_pos", 0.8004, 0.2996),  # inside
        (5000.0, 60.00, "tumor_pos", 0.9, 0.9),           # the same band, far right: out
    ])
    job_id = _job(api, tmp_path)
    region = (100, 50, 50, 40)
    assert _cells(api, job_id, region).status_code == 409  # queued
    _succeed(api, job_id, folder, _result())
    assert _cells(api, job_id, region, headers=api.b()).status_code == 404
    assert api.client.get("/v1/jobs/nope/cells?x=0&y=0&width=1&height=1",
                          headers=api.a()).status_code == 404

    r = _cells(api, job_id, region)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == {
        "classes": [*CLASSES, "other"],
        "cells": [[100.0, 50.0, 1, 0.912, 0.556],   # y order
                  [125.0, 55.5, 2, 0.8, 0.3],
                  [150.0, 80.0, 0, 0.5, 0.999],
                  [130.0, 90.0, 4, 0.75, 0.6]],
        "truncated": False, "total_in_region": 4}
    assert _cells(api, job_id, (0, 0, 10, 10)).json()["cells"] == []
    # The slide is 600 x 400 but cells are wherever the CSV puts them: the whole plane.
    assert _cells(api, job_id, (-1e6, -1e6, 2e6, 2e6)).json()["total_in_region"] == 9


def test_bad_region_queries_are_400(api: Api, tmp_path: Path) -> None:
    folder = tmp_path / "result"
    _write_cells(folder, [(1, 1, "tumor_pos", 0.9, 0.9)])
    job_id = _job(api, tmp_path)
    _succeed(api, job_id, folder, _result())
    for query in ("x=0&y=0&width=0&height=5", "x=0&y=0&width=5&height=5&limit=0",
                  "x=0&y=0&width=5&height=5&limit=50001", "y=0&width=5&height=5",
                  "x=a&y=0&width=5&height=5"):
        r = api.client.get(f"/v1/jobs/{job_id}/cells?{query}", headers=api.a())
        assert r.status_code == 400, query


def test_a_crowded_region_is_an_even_subsample(api: Api, tmp_path: Path) -> None:
    folder = tmp_path / "result"
    grid = [(float(x), float(y)) for y in range(0, 400, 10) for x in range(0, 400, 10)]  # 1600
    _write_cells(folder, [(x, y, CLASSES[int(x) // 10 % 4], 0.9, 0.9) for x, y in grid])
    job_id = _job(api, tmp_path)
    _succeed(api, job_id, folder, _result())
    region = (100, 100, 200, 200)  # x and y in 100, 110, ... 290: 20 x 20 cells
    inside = [[x, y] for x, y in grid if 100 <= x < 300 and 100 <= y < 300]

    full = _cells(api, job_id, region, limit=400).json()
    assert not full["truncated"] and full["total_in_region"] == 400
    assert sorted(c[:2] for c in full["cells"]) == sorted(inside)

    some = _cells(api, job_id, region, limit=100).json()
    assert some["truncated"] and some["total_in_region"] == 400 and len(some["cells"]) == 100
    # Every 4th in y order: every row of the region is represented, 5 cells each.
    assert [c[:2] for c in some["cells"]] == [c[:2] for c in full["cells"]][::4]
    rows = [c[1] for c in some["cells"]]
    assert sorted(set(rows)) == [float(y) for y in range(100, 300, 10)]
    assert all(rows.count(y) == 5 for y in set(rows))

    odd = _cells(api, job_id, region, limit=7).json()  # 400 / 7 is no whole step
    assert len(odd["cells"]) == 7 and odd["truncated"]
    assert len({tuple(c[:2]) for c in odd["cells"]}) == 7
    assert _cells(api, job_id, region).json()["total_in_region"] == 400  # limit 5000


def test_the_index_is_built_once(api: Api, tmp_path: Path) -> None:
    folder = tmp_path / "result"
    rng = np.random.default_rng(1)
    rows = [(float(x), float(y), CLASSES[c], 0.9, 0.9) for x, y, c in
            zip(rng.uniform(0, 1000, 500), rng.uniform(0, 1000, 500), rng.integers(0, 4, 500))]
    _write_cells(folder, rows)
    job_id = _job(api, tmp_path)
    _succeed(api, job_id, folder, _result())
    assert not (folder / INDEX_NAME).exists()
    first = _cells(api, job_id, (0, 0, 500, 500)).json()
    built = (folder / INDEX_NAME).stat().st_mtime_ns
    index = np.load(folder / INDEX_NAME)
    assert len(index) == 500 and np.all(np.diff(index["y"]) >= 0)
    again = _cells(api, job_id, (0, 0, 500, 500)).json()
    assert (folder / INDEX_NAME).stat().st_mtime_ns == built
    assert again == first
    expected = sum(1 for x, y, *_ in rows if round(x, 2) < 500 and round(y, 2) < 500)
    assert first["total_in_region"] == expected
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_the_engines_own_export_reads_back(api: Api, tmp_path: Path) -> None:
    """cells.csv.gz as scoring.cell_exports writes it, queried, gives the engine's cells."""
    rng = np.random.default_rng(2)
    cells = np.zeros(3000, CELL_DTYPE)
    cells["x"], cells["y"] = rng.uniform(0, 2000, 3000), rng.uniform(0, 1500, 3000)
    cells["cls"] = rng.integers(0, 4, 3000)
    cells["p_obj"], cells["p_class"] = rng.uniform(0.5, 1, 3000), rng.uniform(0.25, 1, 3000)
    folder = tmp_path / "result"
    folder.mkdir()
    with CellSink(tmp_path / "cells.bin") as sink:
        sink.append(cells)
    assert write_cells_csv(folder / "cells.csv.gz", tmp_path / "cells.bin", tuple(CLASSES),
                           0.5) == 3000
    job_id = _job(api, tmp_path)
    _succeed(api, job_id, folder, _result())
    got = _cells(api, job_id, (500, 400, 700, 600)).json()
    x, y = cells["x"].round(2), cells["y"].round(2)  # the CSV keeps 2 decimals
    inside = cells[(x >= 500) & (x < 1200) & (y >= 400) & (y < 1000)]
    inside = inside[np.argsort(inside["y"], kind="stable")]
    assert got["total_in_region"] == len(inside) > 300
    rows = np.array(got["cells"])
    # Rounded twice (2 decimals in the CSV, 1 here; 4 then 3 for probabilities).
    assert np.abs(rows[:, 0] - inside["x"]).max() < 0.056
    assert np.abs(rows[:, 1] - inside["y"]).max() < 0.056
    assert rows[:, 2].tolist() == inside["cls"].tolist()
    assert np.abs(rows[:, 3] - inside["p_obj"]).max() < 0.00056
    assert np.abs(rows[:, 4] - inside["p_class"]).max() < 0.00056


def test_a_result_without_cells_is_404_and_no_cells_is_empty(api: Api, tmp_path: Path) -> None:
    folder = tmp_path / "result"
    folder.mkdir()
    job_id = _job(api, tmp_path)
    _succeed(api, job_id, folder, _result())
    assert _cells(api, job_id, (0, 0, 5, 5)).status_code == 404
    _write_cells(folder, [])  # a slide without tissue: the header alone
    assert _cells(api, job_id, (0, 0, 5, 5)).json() == {
        "classes": CLASSES, "cells": [], "truncated": False, "total_in_region": 0}


# --- heatmap, tissue outline and review crops -----------------------------------------------

def _png(folder: Path, name: str, colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(out, "PNG")
    (folder / name).write_bytes(out.getvalue())
    return out.getvalue()


@pytest.fixture
def pictured(api: Api, tmp_path: Path) -> tuple[str, dict[str, bytes]]:
    folder = tmp_path / "result"
    folder.mkdir()
    files = {name: _png(folder, name, (i * 40, 0, 0)) for i, name in enumerate(
        ("heatmap.png", "tissue.png", "crop-1.png", "crop-2.png", "crop-9.png"))}
    _png(tmp_path, "secret.png", (1, 2, 3))  # beside the result folder, not in it
    job_id = _job(api, tmp_path)
    assert api.client.get(f"/v1/jobs/{job_id}/heatmap.png", headers=api.a()).status_code == 409
    assert api.client.get(f"/v1/jobs/{job_id}/tissue.png", headers=api.a()).status_code == 409
    assert api.client.get(f"/v1/jobs/{job_id}/crops/1.png", headers=api.a()).status_code == 409
    _succeed(api, job_id, folder,
             _result(["crop-1.png", "crop-2.png", "crop-3.png", "../secret.png", "heatmap.png/"]))
    return job_id, files


def test_heatmap_outline_and_listed_crops_are_served(
        api: Api, pictured: tuple[str, dict[str, bytes]]) -> None:
    job_id, files = pictured
    for url, name in (("heatmap.png", "heatmap.png"), ("tissue.png", "tissue.png"),
                      ("crops/1.png", "crop-1.png"), ("crops/2.png", "crop-2.png")):
        r = api.client.get(f"/v1/jobs/{job_id}/{url}", headers=api.a())
        assert r.status_code == 200, url
        assert r.headers["content-type"] == "image/png" and r.content == files[name]
        assert api.client.get(f"/v1/jobs/{job_id}/{url}", headers=api.b()).status_code == 404


def test_crops_not_listed_or_absent_are_404(api: Api,
                                            pictured: tuple[str, dict[str, bytes]]) -> None:
    job_id, _ = pictured
    # 3: listed, no file; 4: outside the folder; 5: not a file name; 9: a file not listed.
    for n in ("0", "3", "4", "5", "6", "9", "-1", "x", "%2e%2e%2fsecret"):
        r = api.client.get(f"/v1/jobs/{job_id}/crops/{n}.png", headers=api.a())
        assert r.status_code == 404, n


def test_a_result_without_heatmap_or_outline_is_404(api: Api, tmp_path: Path) -> None:
    """A result folder without them (tissue.png came later: older results lack it)."""
    folder = tmp_path / "result"
    folder.mkdir()
    job_id = _job(api, tmp_path)
    _succeed(api, job_id, folder, _result())
    assert api.client.get(f"/v1/jobs/{job_id}/heatmap.png", headers=api.a()).status_code == 404
    assert api.client.get(f"/v1/jobs/{job_id}/tissue.png", headers=api.a()).status_code == 404
    assert api.client.get(f"/v1/jobs/{job_id}/crops/1.png", headers=api.a()).status_code == 404
