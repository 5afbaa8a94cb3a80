"""What scanners and the worker do to pixels: rescanning, resampling blur, sharpening, JPEG.

0.5.0 gave 3,906 tumour cells on a slide read unresampled and about 3,250 on the same slide
resampled by 2 %: it reacted to the slight blur of resampling, not to the cells. Training crops
that are blurred, sharpened or JPEG-compressed at random teach it that these do not change a
cell. A tile scanned at another resolution and resampled back by the engine carries two
resamplings (bicubic, then the engine's bilinear); stride-16 candidates lost 3-7 % of their tumour
cells on such tiles (MODEL_CARD.md, "Stride 16"), so `rescan` shows them that too; at 15-30 %
of the crops it moved that loss anywhere from -9 to +5 % between runs, so no recipe uses it yet.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter


@dataclass(frozen=True)
class Degradation:
    """Each a probability per crop; 0 turns it off."""

    # resized by 1 / f and back, as a rescanned tile reads: f 3-18 % off 1 either way, where
    # the engine resamples (scoring.resample.SCALE_TOLERANCE)
    rescan: float = 0.0
    blur: float = 0.0  # Gaussian blur, sigma 0.3-1.0 px: a resampled or slightly unfocused scan
    sharpen: float = 0.0  # unsharp mask: the scanner's own sharpening
    jpeg: float = 0.0  # JPEG quality 40-95: how most slides are stored


def degrade(image: np.ndarray, rng: np.random.Generator, degradation: Degradation) -> np.ndarray:
    """(H, W, 3) uint8 RGB, maybe rescanned, blurred or sharpened (never both), then maybe
    JPEG-compressed. The size, and so every point, stays where it was."""
    picture = Image.fromarray(image)
    if degradation.rescan and rng.random() < degradation.rescan:  # off: the stream as before
        off = rng.uniform(np.log(1.03), np.log(1.18)) * rng.choice((-1, 1))
        picture = _rescanned(picture, float(np.exp(off)))
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


def _rescanned(picture: Image.Image, factor: float) -> Image.Image:
    """As a scanner at `factor` times the um/px gives it (bicubic), read back to the first grid
    the way scoring.resample does (bilinear); pixel centres map back onto themselves."""
    size = picture.size
    smaller = picture.resize((round(size[0] / factor), round(size[1] / factor)),
                             Image.Resampling.BICUBIC)
    return smaller.resize(size, Image.Resampling.BILINEAR)
