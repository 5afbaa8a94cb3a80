"""Is the slide stained like IHC at all? Colour deconvolution of the tissue thumbnail.

A PD-L1 model has seen haematoxylin (negative) against DAB (positive). An H&E slide sent by
mistake has no DAB, yet its purple nuclei can read as positive, so the TPS would be
meaningless; eosin is what gives such a slide away.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring.optical_density import HED_FROM_RGB_UNIT, optical_density
from scoring.tissue_mask import TissueMask

# Optical density summed over RGB (0.15 in log10 units); paler pixels carry too little stain.
MIN_PIXEL_DENSITY = 0.35
# Eosin share of the stain on tissue, measured here: real Ki-67 IHC tiles (BCData, DeepLIIF)
# 0.00-0.05, synthetic PD-L1 IHC 0.00, the H&E slide CMU-1-Small-Region 0.21. One H&E
# example only, so the limit sits well below it.
MAX_EOSIN_SHARE = 0.12
SAMPLE_PIXELS = 250_000  # shares of a regular sample of the tissue are as good as of all of it


@dataclass(frozen=True)
class StainShares:
    haematoxylin: float
    eosin: float
    dab: float

    @property
    def looks_like_ihc(self) -> bool:
        return self.eosin <= MAX_EOSIN_SHARE


def stain_shares(rgb: np.ndarray) -> StainShares | None:
    """Share of each stain in the summed optical density of (..., 3) uint8 pixels; None when
    no pixel is dense enough to deconvolve."""
    density = optical_density(rgb.reshape(-1, 3))  # (P, 3)
    dense = density[density.sum(axis=1) > MIN_PIXEL_DENSITY]
    if len(dense) == 0:
        return None
    totals = np.clip(dense @ HED_FROM_RGB_UNIT, 0.0, None).sum(axis=0)  # (3,) H, E, DAB
    if totals.sum() <= 0:
        return None
    h, e, d = (totals / totals.sum()).tolist()
    return StainShares(haematoxylin=h, eosin=e, dab=d)


def check_tissue_stain(tissue: TissueMask) -> StainShares | None:
    pixels = tissue.thumbnail[tissue.mask]  # (P, 3)
    return stain_shares(pixels[:: max(1, len(pixels) // SAMPLE_PIXELS)])
