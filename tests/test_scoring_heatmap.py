"""heatmap.png: TPS per tile on a grid that adapts to the tissue (never one tile for a small
slide), tissue only, grey tiles without tumour cells, and a legend in percent."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scoring.aggregate import (
    SlideCounts,
    TumorClassIds,
    count_cells,
    find_fragments,
    grid_shape,
    heatmap_grid_mm,
    nice_ceil,
)
from scoring.heatmap import NO_TUMOR_RGB, heat_colors, tps_grid, write_heatmap
from scoring.tissue_mask import TissueMask
from tests.scoring_inputs import (
    CLASSES,
    MPP,
    make_model,
    make_slide,
    make_tissue,
    placed_cells,
    write_cells,
)

TISSUE_RGB = (175, 180, 205)  # make_tissue's thumbnail colour
# Tissue under a tile is grey (luminance 181.355) moved 30 % of the way to white, then 80 %
# of the tile's colour is laid over it.
BASE = 181.355 + 0.3 * (255 - 181.355)


def _tile_pixel(rgb: tuple[float, float, float] | np.ndarray) -> np.ndarray:
    return 0.2 * BASE + 0.8 * np.asarray(rgb, dtype=float)


def _full_tissue(side_px: int, downsample: float) -> TissueMask:
    n = round(side_px / downsample)
    return TissueMask(np.ones((n, n), bool), downsample, np.full((n, n, 3), TISSUE_RGB, np.uint8))


def test_tile_edges_are_round_numbers() -> None:
    assert [nice_ceil(v) for v in (0.0832, 0.15, 0.225, 0.3, 1.0, 1.2, 7.0)] == [
        0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 10.0]


@pytest.mark.parametrize(("side_px", "grid_mm", "tiles"), [
    (2000, 0.1, 10),  # 1 mm of tissue: the 0.1 mm floor, 10 x 10 tiles, not one
    (18000, 0.25, 36),  # 9 mm: 9 / 40 = 0.225, rounded up to 0.25
    (30000, 0.5, 30),  # 15 mm: 0.375 -> 0.5
    (80000, 1.0, 40),  # 40 mm
])
def test_the_grid_adapts_to_the_tissue(side_px: int, grid_mm: float, tiles: int) -> None:
    slide = make_slide(side_px, side_px)
    assert heatmap_grid_mm(_full_tissue(side_px, side_px / 20), slide) == grid_mm
    assert grid_shape(slide, grid_mm)[0] == (tiles, tiles)


def test_the_grid_follows_the_tissue_not_the_glass() -> None:
    # make_tissue's fragments span mask columns 2..27: 26 x 256 px x 0.5 um = 3.3 mm.
    assert heatmap_grid_mm(make_tissue(), make_slide()) == 0.1
    tissue = make_tissue(empty=True)
    tissue.mask[10:12, 10:12] = True  # 2 x 128 um of tissue on a 3.84 mm slide
    assert heatmap_grid_mm(tissue, make_slide()) == 0.1
    assert heatmap_grid_mm(make_tissue(empty=True), make_slide(80000, 80000)) == 1.0


def test_tps_grid_and_heat_colours() -> None:
    pos = np.array([[30, 5, 0, 0], [0, 0, 1, 0]])
    neg = np.array([[70, 0, 0, 0], [2, 0, 60, 0]])
    counts = SlideCounts(np.zeros(4, np.int64), np.zeros((0, 4), np.int64),
                         np.zeros(4, np.int64), pos, neg, 2000.0)
    grid = tps_grid(counts)
    np.testing.assert_allclose(grid[0, :2], [30.0, 100.0])
    np.testing.assert_allclose(grid[1, :3], [0.0, np.nan, 100 / 61])
    assert np.isnan(grid[0, 2])
    colours = heat_colors(np.array([0.0, 25.0, 50.0, 75.0, 100.0, 12.5, np.nan]))
    np.testing.assert_allclose(colours, [[40, 90, 220], [40, 180, 190], [240, 200, 40],
                                         [240, 130, 30], [220, 40, 40], [40, 135, 205],
                                         [150, 150, 150]])


def _heatmap(tmp_path: Path, tissue: TissueMask, cells: np.ndarray, width: int,
             height: int) -> tuple[np.ndarray, SlideCounts]:
    slide = make_slide(width, height)
    grid_mm = heatmap_grid_mm(tissue, slide)
    counts = count_cells(write_cells(tmp_path / "cells.bin", cells), tissue, slide, 4,
                         TumorClassIds.from_model(make_model()), find_fragments(tissue),
                         grid_mm=grid_mm)
    write_heatmap(tmp_path / "heatmap.png", counts, tissue, MPP, (1.0, 50.0))
    with Image.open(tmp_path / "heatmap.png") as image:
        return np.asarray(image.convert("RGB")).astype(float), counts


def test_heatmap_tiles_are_tps_on_tissue_grey_without_tumour(tmp_path: Path) -> None:
    heatmap, counts = _heatmap(tmp_path, make_tissue(), placed_cells(), 7680, 5120)
    assert counts.grid_pos.shape == (26, 39) and counts.grid_px == 200.0
    # An output pixel is 64 level-0 px; 0.1 mm tiles are 200. The 30 positive cells at
    # x 881-910, y 886-891 fill tile (4, 4), drawn at pixels 13-15; the 70 negative ones at
    # x 1137-1166, y 1142-1157 tile (5, 5), pixels 16-18.
    np.testing.assert_allclose(heatmap[14, 14], _tile_pixel(heat_colors(np.array(100.0))),
                               atol=1)
    np.testing.assert_allclose(heatmap[17, 17], _tile_pixel((40, 90, 220)), atol=1)
    # Tile (3, 8) is fragment A's tissue without tumour cells: grey.
    np.testing.assert_allclose(heatmap[10, 26], _tile_pixel(NO_TUMOR_RGB), atol=1)
    assert tuple(heatmap[0, 0]) == (255, 255, 255)  # glass: no tile drawn


def test_heatmap_legend_reads_in_percent_with_the_cutoffs(tmp_path: Path) -> None:
    heatmap, _ = _heatmap(tmp_path, make_tissue(), placed_cells(), 7680, 5120)
    legend = heatmap[80:]  # the 20 x 30 thumbnail enlarged 4 times is 80 rows
    assert legend.shape[0] > 100 and legend.shape[1] >= 560
    for colour in ([40, 90, 220], [40, 180, 190], [240, 130, 30], [220, 40, 40], [150, 150, 150]):
        assert (np.abs(legend - colour).sum(axis=2) <= 3).sum() > 50, colour
    assert (legend.sum(axis=2) < 60).sum() > 300  # labels: 0% ... 100%, the cutoffs


def test_a_small_slide_gets_many_tiles(tmp_path: Path) -> None:
    """A 1 x 1 mm slide, all tissue: 10 x 10 tiles of 0.1 mm, not one square."""
    tissue = _full_tissue(2000, 100.0)  # 20 x 20 mask, enlarged 4 times: 25 level-0 px per px
    cells = np.zeros(40, dtype=placed_cells().dtype)
    cells["x"], cells["y"] = np.tile(np.arange(10) * 10 + 20, 4), np.repeat([30, 40, 1830,
                                                                            1840], 10)
    cells["cls"] = np.repeat([0, 0, 1, 1], 10)  # positive in tile (0, 0), negative in (9, 0)
    heatmap, counts = _heatmap(tmp_path, tissue, cells, 2000, 2000)
    assert counts.grid_pos.shape == (10, 10) and counts.grid_mm == 0.1
    assert counts.grid_pos[0, 0] == 20 and counts.grid_neg[9, 0] == 20
    np.testing.assert_allclose(heatmap[3, 3], _tile_pixel((220, 40, 40)), atol=1)
    np.testing.assert_allclose(heatmap[75, 3], _tile_pixel((40, 90, 220)), atol=1)
    np.testing.assert_allclose(heatmap[40, 40], _tile_pixel(NO_TUMOR_RGB), atol=1)
    assert CLASSES[0] == "tumor_pos"
