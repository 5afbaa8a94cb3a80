"""The colour of a call: hue and chroma checked against angles worked out by hand, the mean
density of a square, the positive box, and the same figures read back from a slide."""
from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np

from benchmarks.call_colours import Colours, colours_of, mean_density, positive_box, slide_calls
from scoring.optical_density import UNIT_STAINS
from tests.worker_slide_fixture import write_pyramid_tiff

H, E, D = UNIT_STAINS


def _off_h(v: np.ndarray) -> np.ndarray:
    return v - (v @ H) * H


def test_haematoxylin_has_no_chroma_and_dab_has_hue_zero() -> None:
    colours = colours_of(np.stack([2 * H, 3 * D]))
    assert np.allclose(colours.haematoxylin, [2.0, 3 * (D @ H)])
    assert colours.chroma[0] < 1e-12
    # |D off H| = sqrt(1 - cos^2) for unit vectors
    assert np.isclose(colours.chroma[1], 3 * np.sqrt(1 - (D @ H) ** 2))
    assert abs(colours.hue[1]) < 1e-9


def test_eosin_lies_on_the_negative_side_at_its_angle_from_dab() -> None:
    e, d = _off_h(E), _off_h(D)
    angle = np.degrees(np.arccos(e @ d / np.linalg.norm(e) / np.linalg.norm(d)))
    hue = colours_of(E[None, :]).hue[0]
    assert np.isclose(hue, -angle)
    assert 80 < angle < 85  # Ruifrok's eosin is about 82 deg from DAB off haematoxylin


def test_hue_ignores_the_haematoxylin_part() -> None:
    mixed = colours_of(np.stack([D, D + 5 * H]))
    assert np.isclose(mixed.hue[0], mixed.hue[1])
    assert np.isclose(mixed.chroma[0], mixed.chroma[1])


def test_mean_density_of_a_square_cut_at_the_edge() -> None:
    image = np.full((10, 10, 3), 255, np.uint8)
    image[:, 5:] = 94  # -ln(94 / 255) = 0.998 in every channel
    od = -np.log(94 / 255)
    # at (4, 4), +-1 px: columns 3, 4, 5 -> one third dark
    # at (9, 0), +-1 px: the square is cut to columns 8-9, rows 0-1 -> all dark
    means = mean_density(image, np.array([[4.0, 4.0], [9.0, 0.0]]), half_side=1)
    assert np.allclose(means[0], od / 3)
    assert np.allclose(means[1], od)


def test_positive_box_and_inside() -> None:
    hue = np.arange(0, 101, dtype=float)  # percentiles 10 and 90 are 10 and 90
    chroma = np.linspace(1.0, 2.0, 101)  # 10th percentile 1.1
    box = positive_box(Colours(np.zeros(101), chroma, hue))
    assert np.allclose(box, (10.0, 90.0, 1.1))
    probe = Colours(np.zeros(3), np.array([1.5, 1.5, 1.0]), np.array([50.0, 95.0, 50.0]))
    assert probe.inside(box).tolist() == [True, False, False]


def _rgb(density: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(255 * np.exp(-density)), 0, 255).astype(np.uint8)


def test_slide_calls_read_each_cell_from_the_slide(tmp_path: Path) -> None:
    image = np.full((64, 64, 3), 255, np.uint8)
    image[:, :32] = _rgb(1.0 * D)  # a DAB field on the left
    image[:, 32:] = _rgb(1.0 * H)  # a haematoxylin field on the right
    slide = write_pyramid_tiff(tmp_path / "s.tiff", image, mpp=0.5)
    result = tmp_path / "result"
    result.mkdir()
    with gzip.open(result / "cells.csv.gz", "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x_px", "y_px", "class"])
        writer.writerows([[10.2, 20.0, "tumor_pos"], [50.0, 40.7, "tumor_neg"]])
    calls = slide_calls(result, slide)
    assert abs(calls["tumor_pos"].hue[0]) < 2.0  # uint8 rounding moves it a little
    assert np.isclose(calls["tumor_pos"].chroma[0], np.sqrt(1 - (D @ H) ** 2), atol=0.02)
    assert calls["tumor_neg"].chroma[0] < 0.02
    assert np.isclose(calls["tumor_neg"].haematoxylin[0], 1.0, atol=0.02)
