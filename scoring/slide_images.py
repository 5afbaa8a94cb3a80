"""The overview canvas shared by overlay.png, heatmap.png and tissue.png: the tissue thumbnail
at output scale, its tissue outline, and PNG writing. The pictures themselves are drawn in
scoring.overlay, scoring.heatmap and scoring.tissue_outline; the legends in
scoring.image_legend."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from scoring.tissue_mask import TissueMask

MAX_UPSCALE = 4
TARGET_LONG_SIDE = 2048  # small thumbnails are enlarged so that marks and tiles stay visible
OUTLINE_RGB = (30, 30, 30)  # the analysed tissue's edge: dark, so it shows against glass
# zlib level 3: PNG encoding of 2048-px images at the default level (with optimize) took longer
# than scoring a small slide; level 3 files are about a tenth larger.
PNG_LEVEL = 3
ROWS_PER_STRIP = 512  # image rows blended at once, so float copies stay small


@dataclass(frozen=True)
class Canvas:
    """The thumbnail enlarged `k` times: output pixel (r, c) shows level-0 pixels
    [c * to_level0, (c + 1) * to_level0) across, likewise down."""

    rgb: np.ndarray  # (h, w, 3) uint8; may be the thumbnail itself: copy before drawing
    tissue: np.ndarray  # (h, w) bool, the analysed area (ROI applied)
    k: int
    to_level0: float  # level-0 pixels per output pixel
    um_per_px: float

    @property
    def shape(self) -> tuple[int, int]:
        return self.tissue.shape[0], self.tissue.shape[1]

    def pixel_of(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Output row, column (int64, not clipped) of level-0 points (pixel centres)."""
        return (np.floor((y + 0.5) / self.to_level0).astype(np.int64),
                np.floor((x + 0.5) / self.to_level0).astype(np.int64))

    def level0_centres(self, n: int) -> np.ndarray:
        """(n,) level-0 coordinate of the centres of output pixels 0..n-1 along one axis."""
        return (np.arange(n) + 0.5) * self.to_level0 - 0.5


def upscale_factor(tissue: TissueMask) -> int:
    long_side = max(tissue.thumbnail.shape[:2])
    return int(np.clip(TARGET_LONG_SIDE // max(long_side, 1), 1, MAX_UPSCALE))


def _enlarge(image: np.ndarray, k: int) -> np.ndarray:
    return image if k == 1 else np.repeat(np.repeat(image, k, axis=0), k, axis=1)


def make_canvas(tissue: TissueMask, mpp: float) -> Canvas:
    k = upscale_factor(tissue)
    to_level0 = tissue.downsample / k
    return Canvas(rgb=_enlarge(tissue.thumbnail[..., :3], k),
                  tissue=_enlarge(tissue.mask, k), k=k, to_level0=to_level0,
                  um_per_px=to_level0 * mpp)


def outline_width(canvas: Canvas) -> int:
    return max(2, max(canvas.shape) // 1000)


def outline_pixels(canvas: Canvas) -> np.ndarray:
    """(h, w) bool: the analysed tissue's edge, a band `outline_width` wide just outside it."""
    if not canvas.tissue.any():
        return np.zeros(canvas.shape, bool)
    grown = ndimage.binary_dilation(canvas.tissue, iterations=outline_width(canvas))
    return np.asarray(grown & ~canvas.tissue)


def draw_outline(image: np.ndarray, canvas: Canvas) -> None:
    """Draw the analysed tissue's edge, just outside it, in place."""
    image[outline_pixels(canvas)] = OUTLINE_RGB


def greyed(rgb: np.ndarray, lighten: float) -> np.ndarray:
    """(h, w, 3) float32: the image in grey, moved `lighten` of the way to white, so colours
    drawn over it read as themselves."""
    luminance = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.repeat((luminance + lighten * (255.0 - luminance))[..., None], 3, axis=2)


# rows -> (paint (r, w, 3), alpha (r, w)) for those output rows
Painter = Callable[[slice], tuple[np.ndarray, np.ndarray]]


def blend_strips(base: np.ndarray, paint: Painter, lighten: float) -> np.ndarray:
    """(h, w, 3) uint8: what `paint` gives over the greyed `base`, a strip of rows at a time,
    so no full-size float image is ever held."""
    out = np.empty_like(base)
    for top in range(0, base.shape[0], ROWS_PER_STRIP):
        rows = slice(top, min(top + ROWS_PER_STRIP, base.shape[0]))
        colour, alpha = paint(rows)
        a = alpha[..., None].astype(np.float32)
        mixed = (1.0 - a) * greyed(base[rows], lighten) + a * colour.astype(np.float32)
        out[rows] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    return out


def save_png(image: Image.Image, path: Path) -> None:
    image.save(path, compress_level=PNG_LEVEL)
