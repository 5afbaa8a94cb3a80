"""What scanners and the worker do to pixels: resampling blur, scanner sharpening, JPEG.

0.5.0 gave 3,906 tumour cells on a slide read unresampled and about 3,250 on the same slide
resampled by 2 %: it reacted to the slight blur of resampling, not to the cells. Training crops
that are blurred, sharpened or JPEG-compressed at random teach it that these do not change a
cell.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter


@dataclass(frozen=True)
class Degradation:
    """Each a probability per crop; 0 turns it off."""

    blur: float = 0.0  # Gaussian blur, sigma 0.3-1.0 px: a resampled or slightly unfocused scan
    sharpen: float = 0.0  # unsharp mask: the scanner's own sharpening
    jpeg: float = 0.0  # JPEG quality 40-95: how most slides are stored


def degrade(image: np.ndarray, rng: np.random.Generator, degradation: Degradation) -> np.ndarray:
    """(H, W, 3) uint8 RGB, blurred or sharpened (never both), then maybe JPEG-compressed."""
    picture = Image.fromarray(image)
    draw = rng.random()
    if draw < degradation.blur:
        picture = picture.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.0))))
    elif draw < degradation.blur + degradation.sharpen:
        picture = picture.filter(ImageFilter.UnsharpMask(radius=float(rng.uniform(0.5, 1.5)),
                                                         percent=int(rng.integers(30, 120)),
                                                         threshold=0))
    if rng.random() < degradation.jpeg:
        buffer = io.BytesIO()
        picture.save(buffer, format="JPEG", quality=int(rng.integers(40, 96)))
        buffer.seek(0)
        picture = Image.open(buffer).convert("RGB")
    return np.asarray(picture)
