"""tissue.png: the analysed tissue's edge alone, opaque, on a transparent background, written by
the engine beside the other outputs in the geometry of heatmap.png's picture (no legend band),
so a viewer lays it over the slide as it lays the heatmap."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from scoring.outputs import FILES, write_outputs
from scoring.slide_images import OUTLINE_RGB
from scoring.stain_check import read_stain
from scoring.tissue_outline import write_tissue_outline
from tests.scoring_inputs import (
    DOWNSAMPLE,
    MASK_SHAPE,
    MPP,
    TissueReader,
    make_model,
    make_slide,
    make_tissue,
    placed_cells,
    write_cells,
)

K = 4  # make_tissue's 30-pixel-wide mask is enlarged 4 times (at most 4, towards 2048 px)
WIDTH = 2  # the outline's width in output pixels at this size (scoring.slide_images)


def _rgba(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.mode == "RGBA"
        return np.asarray(image).copy()


def test_the_engine_writes_the_outline_beside_the_other_files(tmp_path: Path) -> None:
    tissue = make_tissue()
    out = tmp_path / "out"
    result = write_outputs(out, write_cells(tmp_path / "cells.bin", placed_cells()), tissue,
                           make_slide(), make_model(), {"assay": "22C3"}, {}, (1.0, 50.0),
                           read_stain(tissue), reader=TissueReader(tissue))
    assert FILES["tissue"] == "tissue.png" and result["files"]["tissue"] == "tissue.png"
    assert json.loads((out / "result.json").read_text())["files"]["tissue"] == "tissue.png"
    pixels = _rgba(out / "tissue.png")

    # The whole slide at the overview's scale: the mask's grid enlarged K times, every row of
    # it slide (the 7680 x 5120 slide is 120 x 80 pixels; no legend below).
    assert pixels.shape == (MASK_SHAPE[0] * K, MASK_SHAPE[1] * K, 4)
    assert DOWNSAMPLE / K * pixels.shape[1] == make_slide().width
    opaque = pixels[..., 3] == 255
    assert set(np.unique(pixels[..., 3])) == {0, 255}
    assert np.all(pixels[opaque][:, :3] == OUTLINE_RGB)

    # Opaque just outside the mask's edge, WIDTH pixels deep; clear on the tissue and beyond.
    mask = np.repeat(np.repeat(tissue.mask, K, axis=0), K, axis=1)
    distance = ndimage.distance_transform_cdt(~mask, metric="chessboard")
    touching = ~mask & ndimage.binary_dilation(mask)  # every pixel beside the tissue
    assert touching.sum() > 100
    assert np.all(opaque[touching])
    assert not opaque[mask].any()
    assert not opaque[distance > WIDTH].any()
    assert 0 < opaque.sum() < 0.2 * opaque.size
    # Fragment A (mask rows 2..7, columns 2..9): its top-left corner, one pixel out, is edge;
    # its middle and the far corner of the slide are clear.
    assert opaque[2 * K - 1, 4 * K] and opaque[4 * K, 2 * K - 1]
    assert pixels[5 * K, 6 * K, 3] == 0 and pixels[-1, 0, 3] == 0

    # heatmap.png's picture, its top-left part (the legend band below is at least 560 pixels
    # wide, so here it is wider than the picture too), is the same geometry: its outline is at
    # these very pixels.
    with Image.open(out / "heatmap.png") as image:
        heatmap = np.asarray(image.convert("RGB"))
    assert heatmap.shape[0] > pixels.shape[0] and heatmap.shape[1] >= pixels.shape[1]
    picture = heatmap[:pixels.shape[0], :pixels.shape[1]]
    assert np.array_equal(np.all(picture == OUTLINE_RGB, axis=-1) & ~mask, opaque)


def test_no_tissue_gives_a_clear_picture(tmp_path: Path) -> None:
    write_tissue_outline(tmp_path / "tissue.png", make_tissue(empty=True), MPP)
    pixels = _rgba(tmp_path / "tissue.png")
    assert pixels.shape == (MASK_SHAPE[0] * K, MASK_SHAPE[1] * K, 4)
    assert not pixels[..., 3].any()
