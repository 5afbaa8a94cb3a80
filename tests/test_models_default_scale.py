"""The shipped model on real IHC tiles at the model's own scale whose stated scale moves by up
to 2 % (0.49-0.51 um/px): the same tissue gives the same tumour cells (within 3 %) and the same
positive ones (within 5 %), because the engine reads them as they are
(scoring.resample.SCALE_TOLERANCE) instead of adding resampling blur. These are the same
pixels stated at another scale; tiles truly rescanned by 1-2 % are measured by
benchmarks/scale_stability.py on 228 tiles (0.8.0: within 1.8 %), too slow for a test.

A tile rescanned at 0.45 or 0.55 um/px and stated right (so the engine resamples it back) keeps
its tumour cells within 3 % and its positives within 5 %: 0.8.0 was trained with blur,
sharpening and JPEG for that. A wrongly stated scale still moves it: the nuclei's size changes,
and with 0.8.0 a third of EndoNuke's tumour cells turn non-tumour when 0.5 um/px tiles are read
as 0.45-0.475 (benchmarks/scale_stability.py, MODEL_CARD.md); no test claims more.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.scale_stability import RESCAN_FACTORS, rescanned, tumour_calls
from model.data.point_readers import read_points_csv
from model.data.samples import read_rgb
from model.default_recipe import held_out_split
from scoring.bundled_model import bundled_model_path


def _tumour_calls(images: list[np.ndarray], mpp: float) -> tuple[int, int]:
    return tumour_calls(bundled_model_path(), images, mpp)


@pytest.mark.parametrize("folder, mpp", [("endonuke-sample", 0.5)])
def test_counts_hold_across_two_percent_of_scale(shared_data: Path, folder: str,
                                                 mpp: float) -> None:
    items = read_points_csv(shared_data / folder / "points.csv")
    images = [read_rgb(item.image_path) for item in items[::max(1, len(items) // 12)]]
    tumour, positive = _tumour_calls(images, mpp)
    assert tumour > 100
    for factor in (0.98, 0.998, 1.02):
        moved_tumour, moved_positive = _tumour_calls(images, mpp * factor)
        assert abs(moved_tumour / tumour - 1) <= 0.03, (factor, moved_tumour, tumour)
        assert abs(moved_positive - positive) <= max(0.05 * positive, 3), \
            (factor, moved_positive, positive)


def test_a_rescanned_tile_stated_right_keeps_its_cells(shared_data: Path) -> None:
    """On the 29 held-out tiles (458 tumour cells), as the model's bar was measured; on
    fewer cells the share moves more (12 tiles of the whole set: 9 of 197 cells, 4.6 %)."""
    items = read_points_csv(shared_data / "endonuke-sample" / "points.csv")
    images = [read_rgb(item.image_path) for item in held_out_split(items)[1]]
    tumour, positive = _tumour_calls(images, 0.5)
    assert tumour > 400
    for factor in RESCAN_FACTORS:
        moved_tumour, moved_positive = _tumour_calls([rescanned(i, factor) for i in images],
                                                     0.5 * factor)
        assert abs(moved_tumour / tumour - 1) <= 0.03, (factor, moved_tumour, tumour)
        assert abs(moved_positive - positive) <= max(0.05 * positive, 3), \
            (factor, moved_positive, positive)
