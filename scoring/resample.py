"""Resampling between a source pixel grid and the model's, with the coordinate maps both ways."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

# Scales this close to 1 (or to a pyramid level's downsample) are read as they are. Resampling
# by 1-3 % changes no cell's size that matters (the model is trained with scale jitter of
# 0.8-1.25), but its blur changed the bundled model's counts by 15 % on a slide at 0.499 against
# 0.5 um/px: the same tissue must give the model the same kind of pixels.
SCALE_TOLERANCE = 0.03


def snapped_scale(scale: float, level_downsamples: Sequence[float]) -> float:
    """Level-0 pixels per model pixel: a level's own downsample when `scale` is within
    SCALE_TOLERANCE of it (that level is then read without resampling), else `scale`."""
    for downsample in level_downsamples:
        if abs(scale / downsample - 1.0) < SCALE_TOLERANCE:
            return float(downsample)
    return scale


def resize_rgb(image_rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """(h, w, 3) uint8 -> (height, width, 3) uint8; a no-op when the size already matches."""
    if image_rgb.shape[1] == width and image_rgb.shape[0] == height:
        return image_rgb
    resized = Image.fromarray(image_rgb).resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(resized)


def scaled_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """Size of an image of width x height after scaling by `scale` (model px per source px)."""
    if abs(scale - 1.0) < SCALE_TOLERANCE:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def to_source_xy(model_xy: np.ndarray, scale_x: float, scale_y: float) -> np.ndarray:
    """Map pixel-centre coordinates from the resized grid back to the source grid. (K, 2)."""
    out = np.empty_like(model_xy, dtype=np.float64)
    out[:, 0] = (model_xy[:, 0] + 0.5) / scale_x - 0.5
    out[:, 1] = (model_xy[:, 1] + 0.5) / scale_y - 0.5
    return out


def pad_to_multiple(image_rgb: np.ndarray, multiple: int, fill: int = 255) -> np.ndarray:
    """Pad right and bottom with glass-white so that both sides are multiples of `multiple`."""
    h, w = image_rgb.shape[:2]
    ph, pw = -h % multiple, -w % multiple
    if ph == 0 and pw == 0:
        return image_rgb
    return np.pad(image_rgb, ((0, ph), (0, pw), (0, 0)), constant_values=fill)


def to_model_input(tiles_rgb: np.ndarray) -> np.ndarray:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float32, the model's input layout."""
    return np.ascontiguousarray(tiles_rgb.transpose(0, 3, 1, 2), dtype=np.float32)
