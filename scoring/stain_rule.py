"""The classical stain rule: cells and their sign from colour deconvolution alone, no model.

It is the reference every model is measured against, and the second opinion beside the model's
TPS on each slide. As QuPath-style positive-cell detection does it: haematoxylin + DAB optical
density, smoothed; each local maximum far enough from a brighter one and dense enough is a
nucleus; a nucleus is positive when the DAB in it (a nuclear stain) or on the ring of its
membrane (PD-L1) passes a threshold. Every detection is called tumour: the rule cannot tell tumour from lymphocyte, which
is exactly what a model is for.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage

from scoring.decode import DecodedCells
from scoring.optical_density import HED_FROM_RGB_UNIT, optical_density

# Class ids in the models' canonical order (docs/architecture.md): the rule calls every cell
# tumour, positive or negative.
TUMOR_POS, TUMOR_NEG = 0, 1
STAIN_CLASSES = ("tumor_pos", "tumor_neg", "nontumor_pos", "nontumor_neg")


@dataclass(frozen=True)
class StainRule:
    """Lengths in microns, so one rule serves any scan; densities in natural-log OD units
    (scoring.optical_density) along unit stain vectors. Tuned on the BCData sample only."""

    sigma_um: float = 1.0  # smoothing of the nuclear density
    min_distance_um: float = 3.0  # two nuclei's centres are at least this far apart
    min_peak_od: float = 0.6  # haematoxylin + DAB at a nucleus centre, smoothed
    nucleus_um: float = 2.0  # the disk a nuclear stain (Ki-67, ER/PR) is measured in
    nucleus_dab_od: float = 1.4  # its mean DAB that makes a cell positive
    membrane_um: tuple[float, float] = (3.0, 6.0)  # the ring a membrane stain (PD-L1) lies in
    membrane_dab_od: float = 2.0  # the ring's 90th-percentile DAB that makes a cell positive


@dataclass(frozen=True)
class CellDab:
    nucleus: np.ndarray  # (K,) mean DAB in the nucleus disk
    membrane: np.ndarray  # (K,) 90th percentile of DAB on the membrane ring

    def positive(self, rule: StainRule) -> np.ndarray:
        """(K,) bool: DAB in the nucleus or on the membrane, as the stain says."""
        return np.asarray((self.nucleus > rule.nucleus_dab_od)
                          | (self.membrane > rule.membrane_dab_od))


@lru_cache(maxsize=16)
def _offsets(inner_px: float, outer_px: float) -> tuple[np.ndarray, np.ndarray]:
    """(M,) row and column offsets of the pixels between inner_px and outer_px of a centre;
    the same two rings serve every tile of a slide, so they are made once."""
    r = max(1, int(np.ceil(outer_px)))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    distance = np.hypot(xx, yy)
    ring = (distance >= inner_px) & (distance <= max(outer_px, 0.5))
    return yy[ring], xx[ring]


def _dab_around(image_rgb: np.ndarray, xy: np.ndarray, inner_px: float,
                outer_px: float) -> np.ndarray:
    """(K, M) DAB density of the M pixels between inner_px and outer_px of each point; only
    those pixels are deconvolved, so a tile costs little more than its cells."""
    dy, dx = _offsets(inner_px, outer_px)
    rows = np.clip(np.rint(xy[:, 1]).astype(np.int64)[:, None] + dy, 0, image_rgb.shape[0] - 1)
    cols = np.clip(np.rint(xy[:, 0]).astype(np.int64)[:, None] + dx, 0, image_rgb.shape[1] - 1)
    amounts = optical_density(image_rgb[rows, cols]) @ HED_FROM_RGB_UNIT  # (K, M, 3)
    dab: np.ndarray = np.clip(amounts[..., 2], 0.0, None)
    return dab


def nucleus_dab(image_rgb: np.ndarray, xy: np.ndarray, mpp: float,
                rule: StainRule = StainRule()) -> np.ndarray:
    """(K,) mean DAB in the nucleus disk of each of (K, 2) points of an (h, w, 3) image."""
    if len(xy) == 0:
        return np.zeros(0)
    mean: np.ndarray = _dab_around(image_rgb, xy, 0.0, rule.nucleus_um / mpp).mean(axis=1)
    return mean


def cell_dab(image_rgb: np.ndarray, xy: np.ndarray, mpp: float,
             rule: StainRule = StainRule()) -> CellDab:
    """The DAB of each cell at (K, 2) points of an (h, w, 3) image at `mpp` um/px."""
    if len(xy) == 0:
        return CellDab(np.zeros(0), np.zeros(0))
    inner, outer = rule.membrane_um
    nucleus = nucleus_dab(image_rgb, xy, mpp, rule)
    membrane = np.percentile(_dab_around(image_rgb, xy, inner / mpp, outer / mpp), 90, axis=1)
    return CellDab(nucleus, membrane)


def stain_densities(image_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(h, w) haematoxylin and (h, w) DAB optical density, each clipped at 0."""
    amounts = optical_density(image_rgb) @ HED_FROM_RGB_UNIT  # (h, w, 3) H, E, DAB
    return np.clip(amounts[..., 0], 0.0, None), np.clip(amounts[..., 2], 0.0, None)


def detect_by_stain(image_rgb: np.ndarray, mpp: float, rule: StainRule = StainRule()
                    ) -> DecodedCells:
    """Cells of an (h, w, 3) uint8 RGB image at `mpp` um/px, in its own pixel frame."""
    haematoxylin, dab = stain_densities(image_rgb)
    nuclear = ndimage.gaussian_filter(haematoxylin + dab, rule.sigma_um / mpp)  # (h, w)
    size = 2 * max(1, round(rule.min_distance_um / mpp)) + 1
    peaks = (nuclear == ndimage.maximum_filter(nuclear, size=size)) & (nuclear >= rule.min_peak_od)
    rows, cols = np.nonzero(peaks)
    xy = np.stack([cols, rows], axis=1).astype(np.float64)  # (K, 2)
    positive = cell_dab(image_rgb, xy, mpp, rule).positive(rule)
    cls = np.where(positive, TUMOR_POS, TUMOR_NEG).astype(np.int16)
    strength = np.ones(len(xy), np.float32)
    return DecodedCells(xy, cls, strength, strength)
