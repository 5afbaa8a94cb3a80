"""The viewer's Deep Zoom routes: the slide's own pixels, its size and scale, lab-isolated."""
from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import openslide
from PIL import Image

from service.deepzoom import JPEG_QUALITY
from tests.api_client import Api
from tests.viewer_jobs import upload_picture


def test_dzi_and_viewer_json_give_the_slides_size_and_scale(api: Api, tmp_path: Path) -> None:
    slide_id, _ = upload_picture(api, tmp_path)
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
    slide_id, path = upload_picture(api, tmp_path)
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
    slide_id, _ = upload_picture(api, tmp_path)
    base = f"/v1/slides/{slide_id}/viewer_files"
    for tail in ("11/0_0.jpeg", "10/3_0.jpeg", "10/0_2.jpeg", "9/2_0.jpeg", "10/-1_0.jpeg",
                 "10/a_0.jpeg", "10/0_0.png"):
        r = api.client.get(f"{base}/{tail}", headers=api.a())
        assert r.status_code == 404, tail


def test_another_labs_slide_is_not_found(api: Api, tmp_path: Path) -> None:
    slide_id, _ = upload_picture(api, tmp_path)
    for tail in ("viewer.dzi", "viewer.json", "viewer_files/10/0_0.jpeg"):
        assert api.client.get(f"/v1/slides/{slide_id}/{tail}", headers=api.b()).status_code == 404
        assert api.client.get(f"/v1/slides/nope/{tail}", headers=api.a()).status_code == 404
        assert api.client.get(f"/v1/slides/{slide_id}/{tail}").status_code == 401
