from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scoring.slide_reader import SlideReader
from scoring.tissue import (
    glass_rgb,
    optical_density,
    otsu_threshold,
    read_thumbnail,
    tissue_from_thumbnail,
)
from tests.worker_slide_fixture import GLASS, TISSUE, markers_image, write_pyramid_tiff


def test_optical_density_against_the_glass() -> None:
    rgb = np.array([[GLASS, TISSUE, (255, 0, 0), (127, 255, 255)]], np.uint8)
    # ln(256 / (v + 1)) of the darkest channel: 0; ln(256/176); ln(256/1); ln(256/128)
    expected = [[0.0, np.log(256 / 176), np.log(256.0), np.log(2.0)]]
    np.testing.assert_allclose(optical_density(rgb, np.full(3, 255.0)), expected, rtol=1e-6)


def test_glass_colour_is_the_brightest_tenth_or_white() -> None:
    tinted = np.full((10, 10, 3), (244, 254, 243), np.uint8)
    tinted[:8] = (224, 243, 223)  # 80 % pale tissue
    np.testing.assert_array_equal(glass_rgb(tinted), [244, 254, 243])
    no_glass = np.full((10, 10, 3), TISSUE, np.uint8)
    np.testing.assert_array_equal(glass_rgb(no_glass), [255, 255, 255])


def test_pale_tissue_on_tinted_glass_is_found() -> None:
    # Colours read off a synthetic IHC slide: greenish glass, pale haematoxylin-only stroma;
    # their saturations (0.043 and 0.08) are too close for a saturation threshold.
    thumb = np.full((60, 60, 3), (244, 254, 243), np.uint8)
    thumb[10:50, 5:25] = (224, 243, 223)
    thumb[10:50, 35:55] = (195, 211, 201)
    mask = tissue_from_thumbnail(thumb, downsample=16.0, mpp=0.5, min_area_um2=1_000)
    assert mask[30, 15] and mask[30, 45] and not mask[30, 30] and not mask[2, 2]


def test_otsu_splits_two_populations() -> None:
    values = np.concatenate([np.full(100, 0.02), np.full(50, 0.4)])
    assert 0.02 < otsu_threshold(values) <= 0.4


def test_small_fragments_are_dropped_by_area_in_um2() -> None:
    thumb = np.full((40, 40, 3), GLASS, np.uint8)
    thumb[2:12, 2:12] = TISSUE  # 10 x 10 px; at 10 um per pixel, 10,000 um^2 before growth
    thumb[30:32, 30:32] = TISSUE  # 2 x 2 px = 400 um^2
    mask = tissue_from_thumbnail(thumb, downsample=20.0, mpp=0.5, min_area_um2=5_000)
    assert mask[5, 5] and not mask[31, 31]
    # grown by one pixel so the washed-out edge pixels of a fragment stay in
    assert mask[1, 1] and mask[12, 12] and not mask[14, 14]


def test_thumbnail_is_a_block_mean_of_the_slide(tmp_path: Path) -> None:
    image, _ = markers_image(1000, 600, seed=3, tissue_box=(200, 100, 800, 500))
    path = write_pyramid_tiff(tmp_path / "s.tiff", image, mpp=0.5)
    with SlideReader(path) as reader:
        thumb, downsample = read_thumbnail(reader, max_side=250)
    assert downsample == 4.0 and thumb.shape == (150, 250, 3)
    np.testing.assert_array_equal(thumb[0, 0], GLASS)
    np.testing.assert_array_equal(thumb[75, 125], np.round(
        image[300:304, 500:504].reshape(-1, 3).mean(axis=0)))


@pytest.mark.parametrize("fill", [GLASS, TISSUE])
def test_uniform_slides_are_all_or_nothing(fill: tuple[int, int, int]) -> None:
    thumb = np.full((30, 30, 3), fill, np.uint8)
    mask = tissue_from_thumbnail(thumb, 16.0, 0.5, min_area_um2=100)
    assert mask.all() == (fill == TISSUE) and mask.any() == (fill == TISSUE)
