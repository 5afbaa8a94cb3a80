"""Stain augmentation in HED space (Ruifrok & Johnston colour deconvolution), numpy only.

Haematoxylin and DAB intensities vary between labs and scanners; jittering them teaches the
model that a cell's class lives in its stain pattern, not in one lab's exact hue.
"""
from __future__ import annotations

import numpy as np

# Rows: optical density of haematoxylin, eosin, DAB in RGB (the values scikit-image uses).
RGB_FROM_HED = np.array([[0.65, 0.70, 0.29],
                         [0.07, 0.99, 0.11],
                         [0.27, 0.57, 0.78]], dtype=np.float64)
HED_FROM_RGB = np.linalg.inv(RGB_FROM_HED)
# Optical density is -log(I / I0); a floor keeps black pixels finite.
MIN_INTENSITY = 1.0 / 255.0


def rgb_to_hed(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W, 3) float64 stain concentrations."""
    density = -np.log(np.maximum(image.astype(np.float64) / 255.0, MIN_INTENSITY))  # (H, W, 3)
    hed: np.ndarray = density @ HED_FROM_RGB
    return hed


def hed_to_rgb(hed: np.ndarray) -> np.ndarray:
    """(H, W, 3) stain concentrations -> (H, W, 3) uint8 RGB."""
    rgb = np.exp(-(hed @ RGB_FROM_HED)) * 255.0  # (H, W, 3)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def jitter_hed(image: np.ndarray, rng: np.random.Generator, sigma: float = 0.05,
               bias: float = 0.02) -> np.ndarray:
    """Scale each stain by 1 + N(0, sigma) and shift it by N(0, bias); returns uint8 RGB."""
    hed = rgb_to_hed(image)
    scale = 1.0 + rng.normal(0.0, sigma, size=3)
    shift = rng.normal(0.0, bias, size=3)
    return hed_to_rgb(hed * scale + shift)
