"""Level reduction used between pyramid levels."""
from __future__ import annotations

import numpy as np

from synth.pyramid import halve


def test_halve_is_rounded_2x2_mean_with_floor_size() -> None:
    band = np.zeros((3, 5, 3), np.uint8)
    band[0:2, 0:2] = [[[0, 10, 255], [1, 10, 255]], [[0, 11, 255], [1, 11, 255]]]
    out = halve(band)
    assert out.shape == (1, 2, 3)
    # means: (0+1+0+1)/4 = 0.5 -> 1 (round half up), (10+10+11+11)/4 = 10.5 -> 11, 255
    assert out[0, 0].tolist() == [1, 11, 255]
    assert out[0, 1].tolist() == [0, 0, 0]
