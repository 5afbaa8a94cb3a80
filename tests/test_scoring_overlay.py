"""overlay.png: each call a mark of its class colour, at least 5 px of colour across; the density
of tumour cells where the overview is coarser than 2 um per pixel; the tissue outline; a legend."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scoring.aggregate import TumorClassIds
from scoring.cell_marks import MIN_DOT_PX, cell_marks, draw_marks
from scoring.class_colors import CLASS_RGB
from scoring.overlay import DENSITY_ABOVE_UM_PER_PX, overlay_mode, write_overlay
from scoring.pipeline import ScoreParams, score_slide
from scoring.slide_images import OUTLINE_RGB
from scoring.tissue_mask import TissueMask
from tests.marker_model import CLASSES, build_marker_model
from tests.scoring_inputs import MPP, make_model, make_tissue, placed_cells, write_cells
from tests.worker_slide_fixture import markers_image, write_pyramid_tiff

RED = CLASS_RGB["tumor_pos"]
WHITE = (255, 255, 255)


@pytest.fixture(scope="module")
def marker_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_marker_model(tmp_path_factory.mktemp("model") / "markers.onnx")


def _row_through_one_mark(um_per_px: float) -> str:
    """The row through a lone red call on grey: c = class colour, w = white halo, . = grey."""
    image = np.full((61, 61, 3), 128, np.uint8)
    draw_marks(image, np.array([30]), np.array([30]), np.array([RED], np.uint8),
               cell_marks(um_per_px))
    symbols = {RED: "c", WHITE: "w"}
    return "".join(symbols.get(tuple(int(v) for v in p), ".") for p in image[30]).strip(".")


def test_a_call_is_at_least_five_pixels_of_colour_across() -> None:
    assert MIN_DOT_PX == 5
    # At the coarsest scale that still draws cells, 2 um per pixel: a 5 px dot, 1 px halo.
    assert _row_through_one_mark(2.0) == "wcccccw"
    assert _row_through_one_mark(1.0) == "w" + "c" * 9 + "w"  # 11 um: 11 px, halo included
    # At the model's 0.5 um per pixel: a ring of 21 px (2 px thick) round the cell, so its
    # stain shows through, and a 3 px dot on the call's point, each in a white halo.
    assert _row_through_one_mark(0.5) == "wccw.....wcccw.....wccw"
    for um_per_px in (0.25, 0.5, 0.73, 1.0, 1.5, 2.0):
        marks = cell_marks(um_per_px)
        assert marks.colour_px >= MIN_DOT_PX
        row = _row_through_one_mark(um_per_px)
        assert row.rindex("c") - row.index("c") + 1 == marks.colour_px


def test_density_is_drawn_where_the_overview_is_coarser_than_two_um_per_pixel(
        tmp_path: Path) -> None:
    assert DENSITY_ABOVE_UM_PER_PX == 2.0
    assert overlay_mode(2.0) == "cells" and overlay_mode(2.01) == "density"
    cells = write_cells(tmp_path / "cells.bin", placed_cells())
    tumor = TumorClassIds.from_model(make_model())
    mask = np.ones((600, 600), bool)  # long side 600: enlarged 3 times
    thumbnail = np.full((600, 600, 3), 200, np.uint8)
    for downsample, mode in ((12.0, "cells"), (15.0, "density")):  # 2.0 and 2.5 um per px
        tissue = TissueMask(mask, downsample, thumbnail)
        assert write_overlay(tmp_path / f"{mode}.png", cells, tissue, MPP, CLASSES,
                             tumor) == mode


def test_coarse_overlay_shows_tumour_density_outline_and_legend(tmp_path: Path) -> None:
    cells = write_cells(tmp_path / "cells.bin", placed_cells())
    # The hand-made thumbnail is 20 x 30 px of 128 um, enlarged 4 times: 32 um per px.
    mode = write_overlay(tmp_path / "overlay.png", cells, make_tissue(), MPP, CLASSES,
                         TumorClassIds.from_model(make_model()))
    assert mode == "density"
    with Image.open(tmp_path / "overlay.png") as image:
        overlay = np.asarray(image.convert("RGB")).astype(int)
    assert overlay.shape[1] >= 120 and overlay.shape[0] > 80 + 40  # picture, then the legend
    # 30 positive tumour cells at level-0 ~(896, 888): output pixel (13, 14); 70 negative ones
    # at ~(1152, 1147): pixel (17, 18).
    r, g, b = overlay[13, 14]
    assert r > b + 60 and r > g + 60
    r, g, b = overlay[17, 18]
    assert b > r + 60
    assert tuple(overlay[0, 0]) == WHITE  # glass stays glass
    # Fragment A is mask rows 2..7: output rows 8..31. The outline lies just outside, 2 px.
    assert tuple(overlay[7, 20]) == tuple(overlay[6, 20]) == OUTLINE_RGB
    assert tuple(overlay[5, 20]) == WHITE
    legend = overlay[80:]
    assert (legend.sum(axis=2) < 60).sum() > 200  # text
    assert (np.abs(legend - RED).sum(axis=2) == 0).any()  # the positive swatch


def test_every_call_of_a_markers_slide_is_in_its_class_colour(marker_model: Path,
                                                               tmp_path: Path) -> None:
    image, truth = markers_image(900, 700, seed=7, tissue_box=(64, 48, 840, 660))
    slide = write_pyramid_tiff(tmp_path / "s.tiff", image, mpp=0.5)
    score_slide(slide, tmp_path / "out", ScoreParams(marker_model, tile_size=256, halo=32))
    with Image.open(tmp_path / "out" / "overlay.png") as picture:
        overlay = np.asarray(picture.convert("RGB"))
    # The 900 x 700 thumbnail is enlarged twice: level-0 pixel x is output pixel 2x + 1.
    assert overlay.shape[0] > 1400 and overlay.shape[1] == 1800
    assert len(truth) > 300
    for x, y, c in truth:
        assert tuple(overlay[2 * y + 1, 2 * x + 1]) == CLASS_RGB[CLASSES[c]], (x, y)
