"""Colour deconvolution (Ruifrok & Johnston, 2001), written once: the stain vectors and the
optical-density convention that the engine's stain check, training's stain augmentation and the
colour studies all use.

Optical density is -ln(I / I0) per RGB channel with I0 = 255; a floor keeps black finite.
"""
from __future__ import annotations

import numpy as np

# Rows: optical density of haematoxylin, eosin and DAB in (R, G, B), as scikit-image has them.
RGB_FROM_HED = np.array([[0.65, 0.70, 0.29],
                         [0.07, 0.99, 0.11],
                         [0.27, 0.57, 0.78]], dtype=np.float64)
HED_FROM_RGB = np.linalg.inv(RGB_FROM_HED)
# The same stains as unit vectors: amounts unmixed with these compare across stains.
UNIT_STAINS = RGB_FROM_HED / np.linalg.norm(RGB_FROM_HED, axis=1, keepdims=True)
HED_FROM_RGB_UNIT = np.linalg.inv(UNIT_STAINS)
MIN_INTENSITY = 1.0 / 255.0


def optical_density(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 RGB -> (..., 3) float64 optical density."""
    intensity = np.maximum(rgb.astype(np.float64) / 255.0, MIN_INTENSITY)
    density: np.ndarray = -np.log(intensity)
    return density


def rgb_from_density(density: np.ndarray) -> np.ndarray:
    """(..., 3) optical density -> (..., 3) uint8 RGB, the inverse of optical_density."""
    rgb = np.exp(-density) * 255.0
    pixels: np.ndarray = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return pixels
