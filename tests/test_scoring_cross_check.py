"""The model/stain cross-check on counts worked out by hand."""
from __future__ import annotations

import numpy as np
import pytest

from scoring.cross_check import MARGIN_POINTS, cross_check

CUTOFFS = (1.0, 50.0)


def _agreement(both_pos: int, model_only: int, stain_only: int, both_neg: int) -> np.ndarray:
    return np.array([[both_pos, model_only], [stain_only, both_neg]], np.int64)


def test_close_shares_in_one_category_agree() -> None:
    check = cross_check(_agreement(28, 2, 4, 66), 30.0, CUTOFFS)  # stain: 32 of 100
    assert check["stain_positive_share"] == pytest.approx(32.0)
    assert check["difference"] == pytest.approx(-2.0)
    assert not check["disagrees"] and not check["opposite_categories"]


def test_a_gap_wider_than_the_margin_disagrees() -> None:
    check = cross_check(_agreement(10, 0, 25, 65), 10.0, CUTOFFS)  # stain: 35 of 100
    assert check["difference"] == pytest.approx(-25.0) and abs(-25.0) > MARGIN_POINTS
    assert check["disagrees"] and not check["opposite_categories"]


def test_opposite_sides_of_a_cutoff_disagree_however_close() -> None:
    check = cross_check(_agreement(48, 1, 3, 48), 49.0, CUTOFFS)  # stain: 51 of 100
    assert check["opposite_categories"] and check["disagrees"]
    assert abs(check["difference"]) < MARGIN_POINTS


def test_nothing_to_check_without_a_tps_or_tumour_cells() -> None:
    withheld = cross_check(_agreement(5, 5, 5, 5), None, CUTOFFS)  # H&E: TPS withheld
    assert withheld["stain_positive_share"] == pytest.approx(50.0)
    assert withheld["difference"] is None and not withheld["disagrees"]
    empty = cross_check(_agreement(0, 0, 0, 0), None, CUTOFFS)
    assert empty["stain_positive_share"] is None and not empty["disagrees"]
