"""The analysed area of a slide at low resolution, shared by detection and reporting."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TissueMask:
    mask: np.ndarray  # (h, w) bool: True where tissue is analysed (ROI already applied)
    downsample: float  # level-0 pixels per mask pixel
    thumbnail: np.ndarray  # (h, w, 3) uint8 RGB, the same grid as `mask`

    def area_mm2(self, mpp: float) -> float:
        pixel_mm = self.downsample * mpp / 1000.0
        return float(self.mask.sum()) * pixel_mm * pixel_mm
