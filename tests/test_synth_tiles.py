"""Point-annotated tiles: the points.csv format, points inside images, determinism."""
from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synth.classes import CLASS_NAMES
from synth.population import SynthError
from synth.tiles import make_tile, write_tiles


@pytest.fixture(scope="module")
def tile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiles")
    write_tiles(out, count=3, size=256, seed=7)
    return out


def _rows(out: Path) -> list[dict[str, str]]:
    with open(out / "points.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_points_csv_format_and_points_inside_images(tile_dir: Path) -> None:
    rows = _rows(tile_dir)
    assert list(rows[0]) == ["image", "x", "y", "label"]
    assert {r["image"] for r in rows} == {f"images/{i:04d}.png" for i in range(3)}
    assert {r["label"] for r in rows} <= set(CLASS_NAMES)
    sizes = {}
    for name in {r["image"] for r in rows}:
        with Image.open(tile_dir / name) as image:
            sizes[name] = image.size
    for row in rows:
        width, height = sizes[row["image"]]
        assert 0 <= float(row["x"]) <= width - 1 and 0 <= float(row["y"]) <= height - 1


def test_tiles_hold_tumour_cells_of_both_kinds(tile_dir: Path) -> None:
    labels = [r["label"] for r in _rows(tile_dir)]
    assert labels.count("tumor_pos") + labels.count("tumor_neg") > 20
    assert len(labels) / 3 > 40  # a 256 px tile at 0.5 um/px holds dozens of cells


def test_same_seed_same_files(tile_dir: Path, tmp_path: Path) -> None:
    write_tiles(tmp_path, count=3, size=256, seed=7)
    for name in ["points.csv", *(f"images/{i:04d}.png" for i in range(3))]:
        a, b = (tile_dir / name).read_bytes(), (tmp_path / name).read_bytes()
        assert hashlib.sha256(a).digest() == hashlib.sha256(b).digest(), name


def test_positive_tumour_cells_are_browner_than_negative() -> None:
    # DAB absorbs blue most: around positive cells the blue channel drops below red.
    tile = make_tile(256, 0.5, seed=3, index=0)
    rgb = tile.rgb.astype(np.float32)
    labels = tile.cells.labels
    ring = []
    for class_id in (0, 1):
        pick = labels == class_id
        if not pick.any():
            pytest.skip("tile lacks one tumour class")
        xs, ys = tile.cells.x[pick], tile.cells.y[pick]
        patches = [
            rgb[max(y - 8, 0) : y + 9, max(x - 8, 0) : x + 9].reshape(-1, 3)
            for x, y in zip(xs, ys, strict=True)
        ]
        stacked = np.concatenate(patches)
        ring.append(float((stacked[:, 2] - stacked[:, 0]).mean()))
    assert ring[0] < ring[1]


def _centre_means(tile: object, class_id: int) -> np.ndarray:
    """Mean RGB over 5x5 px at the centres of one class's cells."""
    rgb = tile.rgb.astype(np.float32)  # type: ignore[attr-defined]
    cells = tile.cells  # type: ignore[attr-defined]
    pick = cells.labels == class_id
    return np.stack([rgb[y - 2 : y + 3, x - 2 : x + 3].reshape(-1, 3).mean(0)
                     for x, y in zip(cells.x[pick], cells.y[pick], strict=True)
                     if 2 <= x < rgb.shape[1] - 2 and 2 <= y < rgb.shape[0] - 2])


def test_he_tiles_hold_the_same_cells_all_negative_with_darker_nuclei_on_pink() -> None:
    ihc = make_tile(256, 0.5, seed=3, index=0)
    he = make_tile(256, 0.5, seed=3, index=0, stain="he")
    assert np.array_equal(ihc.cells.x, he.cells.x) and np.array_equal(ihc.cells.y, he.cells.y)
    assert set(np.unique(he.cells.labels)) <= {1, 3}  # tumor_neg, nontumor_neg: no DAB
    assert ihc.cells.positive.any() and not he.cells.positive.any()
    # H&E nuclei are far darker than the pale IHC counterstain of the same negative cells
    assert _centre_means(he, 1).sum(1).mean() < 0.8 * _centre_means(ihc, 1).sum(1).mean()
    # eosin absorbs green: the tissue between nuclei is pink (green below red and blue)
    tissue = he.rgb.reshape(-1, 3).astype(np.float32)
    tissue = tissue[tissue.sum(1) < 3 * 235]
    assert tissue[:, 1].mean() < tissue[:, 0].mean() - 20 and tissue[:, 1].mean() < tissue[:, 2].mean() - 20


def test_unknown_stain_is_refused() -> None:
    with pytest.raises(SynthError, match="stain"):
        make_tile(64, 0.5, seed=0, index=0, stain="pas")
