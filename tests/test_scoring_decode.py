from __future__ import annotations

import numpy as np
import pytest

from scoring.decode import decode


def test_keeps_anchors_at_or_above_threshold_with_argmax_class() -> None:
    points = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], np.float32)
    p_obj = np.array([0.5, 0.49, 0.9], np.float32)
    p_class = np.array([[0.1, 0.7, 0.2], [0.9, 0.05, 0.05], [0.3, 0.3, 0.4]], np.float32)
    cells = decode(points, p_obj, p_class, threshold=0.5)
    np.testing.assert_array_equal(cells.xy, [[1.0, 2.0], [5.0, 6.0]])
    np.testing.assert_array_equal(cells.cls, [1, 2])
    np.testing.assert_allclose(cells.p_obj, [0.5, 0.9])
    np.testing.assert_allclose(cells.p_class, [0.7, 0.4])
    assert cells.xy.dtype == np.float64 and cells.cls.dtype == np.int16


def test_nothing_above_threshold_gives_empty_cells() -> None:
    cells = decode(np.zeros((4, 2)), np.full(4, 0.2), np.full((4, 3), 1 / 3), threshold=0.5)
    assert len(cells) == 0 and cells.xy.shape == (0, 2)


def test_mismatched_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="contract"):
        decode(np.zeros((4, 2)), np.zeros(5), np.zeros((4, 3)), threshold=0.5)


def test_a_calibrated_sign_threshold_recalls_only_tumour_cells() -> None:
    from scoring.decode import SignCall

    p_class = np.array([[0.55, 0.45, 0.00, 0.00],   # tumour, ratio 0.55: positive by argmax
                        [0.72, 0.18, 0.10, 0.00],   # tumour, ratio 0.80
                        [0.20, 0.10, 0.70, 0.00],   # non-tumour: the sign rule leaves it
                        [0.35, 0.45, 0.00, 0.20]])  # tumour, ratio 0.4375: negative either way
    points, p_obj = np.zeros((4, 2)), np.ones(4)
    assert decode(points, p_obj, p_class, 0.5).cls.tolist() == [0, 0, 2, 1]
    assert decode(points, p_obj, p_class, 0.5, SignCall(0, 1, 0.5)).cls.tolist() == [0, 0, 2, 1]
    called = decode(points, p_obj, p_class, 0.5, SignCall(0, 1, 0.7))
    assert called.cls.tolist() == [1, 0, 2, 1]
    assert called.p_class.tolist() == pytest.approx([0.45, 0.72, 0.70, 0.45])


def test_a_brown_nucleus_makes_a_tumour_cell_positive_and_nothing_negative() -> None:
    from scoring.decode import SignCall

    p_class = np.array([[0.30, 0.70, 0.00, 0.00],   # tumour, network negative, brown nucleus
                        [0.30, 0.70, 0.00, 0.00],   # tumour, network negative, blue nucleus
                        [0.90, 0.10, 0.00, 0.00],   # tumour, network positive, blue nucleus
                        [0.00, 0.10, 0.00, 0.90]])  # non-tumour, brown nucleus: left alone
    points = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    dab_at_x = np.array([2.0, 0.3, 0.1, 2.5])  # each point's nucleus DAB, looked up by x
    asked: list[list[float]] = []

    def nucleus_dab(xy: np.ndarray) -> np.ndarray:
        asked.append(xy[:, 0].tolist())
        return dab_at_x[xy[:, 0].astype(int)]

    called = decode(points, np.ones(4), p_class, 0.5, SignCall(0, 1, 0.7, 1.4), nucleus_dab)
    assert called.cls.tolist() == [0, 1, 0, 3]
    # the chosen class's own probability, as for any other call
    assert called.p_class.tolist() == pytest.approx([0.30, 0.70, 0.90, 0.90])
    assert asked == [[0.0, 1.0]]  # only the tumour cells the network called negative
    # exactly at the floor is not past it
    dab_at_x[0] = 1.4
    assert decode(points, np.ones(4), p_class, 0.5, SignCall(0, 1, 0.7, 1.4),
                  nucleus_dab).cls.tolist() == [1, 1, 0, 3]


def test_a_stain_floor_without_the_image_is_refused() -> None:
    from scoring.decode import SignCall

    p_class = np.array([[0.3, 0.7, 0.0, 0.0]])
    with pytest.raises(ValueError, match="nucleus_dab"):
        decode(np.zeros((1, 2)), np.ones(1), p_class, 0.5, SignCall(0, 1, 0.7, 1.4))


def test_of_two_close_cells_the_surer_is_kept_and_a_removed_one_removes_nothing() -> None:
    from scoring.decode import kept_anchors

    points = np.array([[0.0, 0.0], [2.0, 0.0], [5.0, 0.0], [5.0, 1.5], [9.0, 0.0], [30.0, 0.0]])
    p_obj = np.array([0.9, 0.8, 0.7, 0.95, 0.6, 0.4])
    # (5, 1.5) outranks (5, 0) 1.5 px away; (0, 0) outranks (2, 0); (9, 0) is 4 px from the
    # removed (5, 0) and 4.3 from the kept (5, 1.5), so it stays; (30, 0) is under threshold
    assert kept_anchors(points, p_obj, 0.5, 3.0).tolist() == [0, 3, 4]
    assert kept_anchors(points, p_obj, 0.5).tolist() == [0, 1, 2, 3, 4]
    # a chain: the first removes the second, and the third, 2.5 px from the second only, stays
    chain = np.array([[0.0, 0.0], [2.5, 0.0], [5.0, 0.0]])
    assert kept_anchors(chain, np.array([0.9, 0.8, 0.7]), 0.5, 3.0).tolist() == [0, 2]
    # a tie keeps the first anchor
    assert kept_anchors(chain[:2], np.array([0.8, 0.8]), 0.5, 3.0).tolist() == [0]


def test_decode_drops_the_less_sure_of_two_close_cells() -> None:
    points = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0]])
    p_class = np.array([[0.1, 0.9], [0.8, 0.2], [0.6, 0.4]])
    cells = decode(points, np.array([0.7, 0.9, 0.8]), p_class, 0.5, min_distance=2.0)
    assert cells.xy[:, 0].tolist() == [1.0, 10.0] and cells.cls.tolist() == [0, 0]
    assert cells.p_obj.tolist() == pytest.approx([0.9, 0.8])
