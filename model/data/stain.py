"""Stain augmentation in HED space (Ruifrok & Johnston colour deconvolution), numpy only.

Haematoxylin and DAB intensities vary between labs and scanners; jittering them teaches the
model that a cell's class lives in its stain pattern, not in one lab's exact hue.
"""
from __future__ import annotations

import numpy as np

from scoring.optical_density import (
    HED_FROM_RGB,
    RGB_FROM_HED,
    optical_density,
    rgb_from_density,
)


def rgb_to_hed(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W, 3) float64 stain concentrations."""
    hed: np.ndarray = optical_density(image) @ HED_FROM_RGB  # (H, W, 3)
    return hed


def hed_to_rgb(hed: np.ndarray) -> np.ndarray:
    """(H, W, 3) stain concentrations -> (H, W, 3) uint8 RGB."""
    return rgb_from_density(hed @ RGB_FROM_HED)  # (H, W, 3)


def jitter_hed(image: np.ndarray, rng: np.random.Generator, sigma: float = 0.05,
               bias: float = 0.02) -> np.ndarray:
    """Scale each stain by 1 + N(0, sigma) and shift it by N(0, bias); returns uint8 RGB."""
    hed = rgb_to_hed(image)
    scale = 1.0 + rng.normal(0.0, sigma, size=3)
    shift = rng.normal(0.0, bias, size=3)
    return hed_to_rgb(hed * scale + shift)
