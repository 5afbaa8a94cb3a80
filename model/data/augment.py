"""Geometric augmentations of a PointSample: crops, resized crops, flips, padding.

Each moves the points exactly as it moves the pixels (pixel centres at integer coordinates).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from PIL import Image

from model.data.samples import PointSample
from scoring.resample import pad_to_multiple as pad_image

GLASS = 255  # padding looks like empty glass, not like dark tissue


def crop(sample: PointSample, x0: int, y0: int, width: int, height: int,
         out_size: tuple[int, int] | None = None) -> PointSample:
    """Cut the box [x0, x0+width) x [y0, y0+height), resized to out_size (w, h) if given.

    Points outside the box are dropped. A box reaching past the image is padded with glass.
    """
    out_w, out_h = out_size or (width, height)
    image = _pad_to(sample.image, x0 + width, y0 + height)[y0:y0 + height, x0:x0 + width]
    if (out_w, out_h) != (width, height):
        image = np.asarray(Image.fromarray(image).resize(
            (out_w, out_h), Image.Resampling.BILINEAR, reducing_gap=None))
    x, y = sample.xy[:, 0], sample.xy[:, 1]
    # A pixel covers its centre +- 0.5, so the box covers [x0 - 0.5, x0 + width - 0.5).
    inside = (x >= x0 - 0.5) & (x < x0 + width - 0.5) & (y >= y0 - 0.5) & (y < y0 + height - 0.5)
    ratio = np.array([out_w / width, out_h / height], dtype=np.float64)
    shifted = sample.xy[inside].astype(np.float64) - (x0, y0)  # (K, 2)
    xy = shifted if (out_w, out_h) == (width, height) else (shifted + 0.5) * ratio - 0.5
    return replace(sample, image=np.ascontiguousarray(image), xy=xy.astype(np.float32),
                   labels=sample.labels[inside])


def random_resized_crop(sample: PointSample, rng: np.random.Generator, out_size: int,
                        scale_range: tuple[float, float] = (0.8, 1.25),
                        unscaled: float = 0.0) -> PointSample:
    """A square crop of out_size px whose source side is out_size * s, s log-uniform in range;
    with probability `unscaled`, s = 1: the pixels as they are, not resampled.

    Scales stay near 1 because cell size carries meaning: the model works at one mpp. Without
    `unscaled` nearly every crop is interpolated, while the engine gives a slide at the model's
    scale to the network as it is (scoring/resample.py).
    """
    low, high = np.log(scale_range[0]), np.log(scale_range[1])
    if unscaled and rng.random() < unscaled:  # off: the stream as before
        side = out_size
    else:
        side = max(1, round(out_size * float(np.exp(rng.uniform(low, high)))))
    h, w = sample.image.shape[:2]
    x0 = int(rng.integers(0, max(0, w - side) + 1))
    y0 = int(rng.integers(0, max(0, h - side) + 1))
    return crop(sample, x0, y0, side, side, (out_size, out_size))


def flip(sample: PointSample, horizontal: bool, vertical: bool) -> PointSample:
    h, w = sample.image.shape[:2]
    image, xy = sample.image, sample.xy.copy()
    if horizontal:
        image, xy[:, 0] = image[:, ::-1], (w - 1) - xy[:, 0]
    if vertical:
        image, xy[:, 1] = image[::-1], (h - 1) - xy[:, 1]
    return replace(sample, image=np.ascontiguousarray(image), xy=xy)


def random_flip(sample: PointSample, rng: np.random.Generator) -> PointSample:
    horizontal, vertical = rng.random(2) < 0.5
    return flip(sample, bool(horizontal), bool(vertical))


def pad_to_multiple(sample: PointSample, multiple: int) -> PointSample:
    """Pad right and bottom with glass to multiples of `multiple`; points do not move."""
    return replace(sample, image=pad_image(sample.image, multiple, fill=GLASS))


def _pad_to(image: np.ndarray, width: int, height: int) -> np.ndarray:
    pad_h, pad_w = max(0, height - image.shape[0]), max(0, width - image.shape[1])
    if pad_h == 0 and pad_w == 0:
        return image
    return np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), constant_values=GLASS)
