"""Test-time views: each symmetry maps back exactly, fusion's arithmetic by hand, and a model
that sees every view alike gives the same cells over eight views as over one."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scoring.region_detect import detect_region
from scoring.views import FLOOR, SYMMETRIES, fuse, unviewed, viewed
from tests.marker_model import build_marker_model

TISSUE = (200, 180, 190)


@pytest.mark.parametrize("symmetry", SYMMETRIES)
def test_a_pixel_seen_in_any_view_maps_back_to_where_it_was(
        symmetry: tuple[bool, bool, bool]) -> None:
    tiles = np.zeros((2, 32, 64, 3), np.uint8)
    tiles[1, 5, 41] = 255  # tile 1, x 41, y 5
    view = viewed(tiles, symmetry)
    assert view.shape == ((2, 64, 32, 3) if symmetry[2] else tiles.shape)
    b, y, x, _ = np.argwhere(view == 255)[0]
    assert b == 1
    np.testing.assert_array_equal(unviewed(np.array([[x, y]], float), symmetry, 64, 32),
                                  [[41, 5]])


def _cells(xy: list[tuple[float, float]], p_obj: list[float],
           p_class: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.array(xy, float).reshape(-1, 2), np.array(p_obj, np.float32), \
        np.array(p_class, np.float32).reshape(-1, 2)


def test_fusion_weighs_each_view_by_its_p_obj_and_takes_one_point_per_view() -> None:
    first = _cells([(10, 10), (11, 10), (40, 40)], [0.8, 0.3, 0.9], [(1, 0), (1, 0), (0, 1)])
    second = _cells([(12, 10), (90, 90)], [0.4, FLOOR / 2], [(0, 1), (1, 0)])
    xy, p_obj, p_class = fuse([first, second], radius=5.0)
    order = np.argsort(-p_obj)
    # (40, 40) alone: 0.9 / 2. (10, 10) with the second view's (12, 10): (0.8 + 0.4) / 2, at
    # (0.8 * 10 + 0.4 * 12) / 1.2, classes (0.8 * (1, 0) + 0.4 * (0, 1)) / 1.2. (11, 10) is the
    # first view's second point there: a cell of its own, 0.3 / 2. (90, 90) is under the floor.
    np.testing.assert_allclose(p_obj[order], [0.6, 0.45, 0.15], rtol=1e-6)
    np.testing.assert_allclose(xy[order], [[32 / 3, 10], [40, 40], [11, 10]])
    np.testing.assert_allclose(p_class[order], [[2 / 3, 1 / 3], [0, 1], [1, 0]], rtol=1e-6)


def test_fusion_takes_the_surest_point_of_a_view_not_the_nearest() -> None:
    sure = _cells([(10, 10)], [0.9], [(1, 0)])
    other = _cells([(10.5, 10), (13, 10)], [0.2, 0.8], [(0, 1), (1, 0)])
    xy, p_obj, _ = fuse([sure, other], radius=5.0)
    order = np.argsort(-p_obj)
    np.testing.assert_allclose(p_obj[order], [0.85, 0.1], rtol=1e-6)
    np.testing.assert_allclose(xy[order][0], [(0.9 * 10 + 0.8 * 13) / 1.7, 10])


def test_no_points_fuse_into_no_cells() -> None:
    xy, p_obj, p_class = fuse([_cells([], [], []), _cells([(1, 1)], [0.01], [(1, 0)])], 5.0)
    assert xy.shape == (0, 2) and p_obj.shape == (0,) and p_class.shape == (0, 2)


@pytest.mark.parametrize("views", [2, 4, 8])
def test_a_model_that_sees_every_view_alike_finds_the_same_cells(tmp_path: Path,
                                                                  views: int) -> None:
    from tps.calibrate_cli import write_metadata

    one = build_marker_model(tmp_path / "markers.onnx")
    many = tmp_path / "views.onnx"
    write_metadata(one, many, {"views": views, "view_radius_um": 3.0})
    image = np.full((48, 80, 3), TISSUE, np.uint8)  # padded to 64 x 96 inside: not square
    for (x, y), rgb in (((13, 5), (255, 0, 0)), ((18, 5), (0, 0, 255)), ((70, 40), (0, 255, 0))):
        image[y - 1:y + 2, x - 1:x + 2] = rgb  # the first two 5 px (2.5 um) apart, both sure
    plain, fused = detect_region(one, image, 0.5), detect_region(many, image, 0.5)
    assert sorted(map(tuple, fused.xy.tolist())) == sorted(map(tuple, plain.xy.tolist())) \
        == [(13, 5), (18, 5), (70, 40)]
    assert sorted(zip(fused.xy[:, 0].tolist(), fused.cls.tolist())) == [(13, 0), (18, 1), (70, 2)]
    np.testing.assert_allclose(fused.p_obj, 1.0)
