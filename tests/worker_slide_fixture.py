"""Tiny markers-style slides written as pyramidal tiled TIFFs that OpenSlide reads."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile

TISSUE = (175, 180, 205)
GLASS = (255, 255, 255)
MARKER_RGB = ((255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 255, 0))


def markers_image(width: int, height: int, seed: int,
                  tissue_box: tuple[int, int, int, int]) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """Glass with one rectangle of tissue holding markers; returns the image and (x, y, cls)."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), GLASS, np.uint8)
    x0, y0, x1, y1 = tissue_box
    image[y0:y1, x0:x1] = TISSUE
    truth = []
    for by in range(y0 // 16 + 1, y1 // 16 - 1):
        for bx in range(x0 // 16 + 1, x1 // 16 - 1):
            if rng.random() < 0.5:
                continue
            x, y = bx * 16 + int(rng.integers(4, 12)), by * 16 + int(rng.integers(4, 12))
            cls = int(rng.integers(0, 4))
            image[y - 1:y + 2, x - 1:x + 2] = MARKER_RGB[cls]
            truth.append((x, y, cls))
    return image, truth


def write_pyramid_tiff(path: Path, image: np.ndarray, mpp: float | None) -> Path:
    """Lossless tiled pyramid: level 0 plus 2x reductions down to ~256 px."""
    levels = [image]
    while max(levels[-1].shape[:2]) > 256:
        prev = levels[-1]
        h, w = prev.shape[0] // 2 * 2, prev.shape[1] // 2 * 2
        levels.append(prev[:h:2, :w:2].copy())
    options: dict[str, object] = {"tile": (128, 128), "photometric": "rgb",
                                  "compression": "zlib"}
    with tifffile.TiffWriter(path) as tif:
        for index, level in enumerate(levels):
            extra: dict[str, object] = {}
            if mpp is not None:
                per_cm = 1e4 / (mpp * image.shape[1] / level.shape[1])
                extra = {"resolution": (per_cm, per_cm), "resolutionunit": "CENTIMETER"}
            tif.write(level, subfiletype=1 if index else 0, **options, **extra)
    return path
