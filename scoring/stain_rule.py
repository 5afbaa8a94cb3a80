"""The classical stain rule: cells and their sign from colour deconvolution alone, no model.

It is the reference every model is measured against, and the second opinion beside the model's
TPS on each slide. As QuPath-style positive-cell detection does it: haematoxylin + DAB optical
density, smoothed; each local maximum far enough from a brighter one and dense enough is a
nucleus; a nucleus is positive when the mean DAB density in a disk around it passes a
threshold. Every detection is called tumour: the rule cannot tell tumour from lymphocyte, which
is exactly what a model is for.
"""
from __future__ import annotations

from dataclasses import dataclass

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
    (scoring.optical_density) along unit stain vectors."""

    sigma_um: float = 1.0  # smoothing of the nuclear density
    min_distance_um: float = 3.0  # two nuclei's centres are at least this far apart
    min_peak_od: float = 0.6  # haematoxylin + DAB at a nucleus centre, smoothed
    positive_dab_od: float = 1.4  # mean DAB in the disk that makes a nucleus positive
    disk_um: float = 2.0  # radius of the disk the DAB is measured in


def stain_densities(image_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(h, w) haematoxylin and (h, w) DAB optical density, each clipped at 0."""
    amounts = optical_density(image_rgb) @ HED_FROM_RGB_UNIT  # (h, w, 3) H, E, DAB
    return np.clip(amounts[..., 0], 0.0, None), np.clip(amounts[..., 2], 0.0, None)


def disk_mean(values: np.ndarray, xy: np.ndarray, radius_px: float) -> np.ndarray:
    """(K,) mean of `values` (h, w) over a disk of `radius_px` around each (K, 2) point."""
    r = max(1, round(radius_px))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    disk = (xx * xx + yy * yy <= radius_px * radius_px).astype(np.float64)
    local = ndimage.correlate(values, disk / disk.sum(), mode="nearest")  # (h, w)
    cols = np.clip(np.rint(xy[:, 0]).astype(np.int64), 0, values.shape[1] - 1)
    rows = np.clip(np.rint(xy[:, 1]).astype(np.int64), 0, values.shape[0] - 1)
    measured: np.ndarray = local[rows, cols]
    return measured


def detect_by_stain(image_rgb: np.ndarray, mpp: float, rule: StainRule = StainRule()
                    ) -> DecodedCells:
    """Cells of an (h, w, 3) uint8 RGB image at `mpp` um/px, in its own pixel frame."""
    haematoxylin, dab = stain_densities(image_rgb)
    nuclear = ndimage.gaussian_filter(haematoxylin + dab, rule.sigma_um / mpp)  # (h, w)
    size = 2 * max(1, round(rule.min_distance_um / mpp)) + 1
    peaks = (nuclear == ndimage.maximum_filter(nuclear, size=size)) & (nuclear >= rule.min_peak_od)
    rows, cols = np.nonzero(peaks)
    xy = np.stack([cols, rows], axis=1).astype(np.float64)  # (K, 2)
    dab_mean = disk_mean(dab, xy, rule.disk_um / mpp)
    cls = np.where(dab_mean > rule.positive_dab_od, TUMOR_POS, TUMOR_NEG).astype(np.int16)
    strength = np.ones(len(xy), np.float32)
    return DecodedCells(xy, cls, strength, strength)
