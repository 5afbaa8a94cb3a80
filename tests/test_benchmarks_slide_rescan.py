"""The whole-slide rescan benchmark writes what a scanner at another resolution would: the same
slide's level 0 resized by 1 / factor, stating mpp x factor, readable by the engine's reader."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile

from benchmarks.slide_rescan import rescan_slide
from scoring.slide_reader import SlideReader
from synth.pyramid import write_pyramid


def _source(tmp_path: Path) -> tuple[Path, np.ndarray]:
    ys, xs = np.mgrid[0:300, 0:400]
    pixels = np.stack([xs % 256, ys % 256, (xs + ys) % 256], -1).astype(np.uint8)
    path = tmp_path / "source.tiff"
    write_pyramid(path, 400, 300, lambda y0, y1: pixels[y0:y1], 0.5, lossless=True)
    return path, pixels


def test_factor_one_keeps_every_pixel_and_the_scale(tmp_path: Path) -> None:
    source, pixels = _source(tmp_path)
    assert rescan_slide(source, tmp_path / "same.tiff", 1.0, 0.5) == (400, 300)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "same.tiff", key=0), pixels)
    with SlideReader(tmp_path / "same.tiff") as reader:
        assert abs(reader.info.mpp - 0.5) < 1e-6


def test_a_coarser_scan_has_fewer_pixels_and_states_its_scale(tmp_path: Path) -> None:
    source, _ = _source(tmp_path)
    # 400 / 1.1 = 363.6 and 300 / 1.1 = 272.7: rounded, as a scanner's image is whole pixels
    assert rescan_slide(source, tmp_path / "coarse.tiff", 1.1, 0.5) == (364, 273)
    with SlideReader(tmp_path / "coarse.tiff") as reader:
        assert reader.level_dimensions[0] == (364, 273)
        assert abs(reader.info.mpp - 0.55) < 1e-6
