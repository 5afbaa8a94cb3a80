"""overlay.png (cells as coloured dots on the thumbnail) and heatmap.png (TPS per mm^2)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from scoring.aggregate import SlideCounts
from scoring.cells import read_cells
from scoring.class_colors import class_colors
from scoring.tissue_mask import TissueMask

MAX_UPSCALE = 4
TARGET_LONG_SIDE = 2048  # small thumbnails are enlarged so that dots stay visible
NO_TUMOR_RGB = np.array([150, 150, 150], dtype=np.float32)
HEAT_ALPHA = 0.6
# 0 % blue, 50 % yellow, 100 % red: the ends echo the tumour-negative and -positive colours.
HEAT_STOPS = np.array([0.0, 50.0, 100.0])
HEAT_RGB = np.array([[40, 90, 220], [240, 200, 40], [220, 40, 40]], dtype=np.float32)
# zlib level 3: PNG encoding of 2048-px images at the default level (with optimize) took longer
# than scoring a small slide; level 3 files are about a tenth larger.
PNG_LEVEL = 3


def upscale_factor(tissue: TissueMask) -> int:
    long_side = max(tissue.thumbnail.shape[:2])
    return int(np.clip(TARGET_LONG_SIDE // max(long_side, 1), 1, MAX_UPSCALE))


def _enlarged_thumbnail(tissue: TissueMask, k: int) -> np.ndarray:
    return np.repeat(np.repeat(tissue.thumbnail[..., :3], k, axis=0), k, axis=1)  # (kh, kw, 3)


def write_overlay(path: Path, cells_path: Path, tissue: TissueMask,
                  classes: tuple[str, ...]) -> None:
    k = upscale_factor(tissue)
    image = _enlarged_thumbnail(tissue, k)
    h, w = image.shape[:2]
    scale = k / tissue.downsample
    # Dots are drawn in stream order, so where they overlap each class shows about in
    # proportion to its count; drawing one class on top would exaggerate it.
    colors = np.array(class_colors(classes), dtype=np.uint8)
    radius = 1 if k < 3 else 2
    offsets = [(dy, dx) for dy in range(-radius + 1, radius) for dx in range(-radius + 1, radius)]
    for chunk in read_cells(cells_path):
        rgb = colors[chunk["cls"]]  # (n, 3)
        col = np.floor((chunk["x"] + 0.5) * scale).astype(np.int64)
        row = np.floor((chunk["y"] + 0.5) * scale).astype(np.int64)
        for dy, dx in offsets:
            r, c = row + dy, col + dx
            inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
            image[r[inside], c[inside]] = rgb[inside]
    Image.fromarray(image).save(path, compress_level=PNG_LEVEL)


def tps_grid(counts: SlideCounts) -> np.ndarray:
    """(gh, gw) TPS in percent per grid square; NaN where the square has no tumour cells."""
    n = counts.grid_pos + counts.grid_neg
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, 100.0 * counts.grid_pos / np.maximum(n, 1), np.nan)


def heat_colors(tps: np.ndarray) -> np.ndarray:
    """(..., 3) float RGB for TPS values in percent (NaN gives the no-tumour grey)."""
    rgb = np.stack([np.interp(np.nan_to_num(tps), HEAT_STOPS, HEAT_RGB[:, i]) for i in range(3)],
                   axis=-1)
    rgb[np.isnan(tps)] = NO_TUMOR_RGB
    return rgb


def write_heatmap(path: Path, counts: SlideCounts, tissue: TissueMask) -> None:
    k = upscale_factor(tissue)
    base = _enlarged_thumbnail(tissue, k).astype(np.float32)
    h, w = base.shape[:2]
    grid = tps_grid(counts)
    gh, gw = grid.shape
    # Level-0 coordinate of each output pixel's centre, then its grid square.
    to_level0 = tissue.downsample / k
    gy = np.clip(((np.arange(h) + 0.5) * to_level0 // counts.grid_px).astype(np.int64), 0, gh - 1)
    gx = np.clip(((np.arange(w) + 0.5) * to_level0 // counts.grid_px).astype(np.int64), 0, gw - 1)
    heat = heat_colors(grid)[gy[:, None], gx[None, :]]  # (h, w, 3)
    blended = (1.0 - HEAT_ALPHA) * base + HEAT_ALPHA * heat
    image = Image.fromarray(np.clip(blended + 0.5, 0, 255).astype(np.uint8))
    _legend(image).save(path, compress_level=PNG_LEVEL)


def _legend(image: Image.Image) -> Image.Image:
    """The same image with a colour bar under it: 0 %, 50 %, 100 %, and the no-tumour grey."""
    bar_h, pad = 14, 4
    font = ImageFont.load_default()
    width = max(image.width, 240)
    out = Image.new("RGB", (width, image.height + bar_h + 3 * pad + 12), (255, 255, 255))
    out.paste(image, (0, 0))
    bar_w = width * 2 // 3
    top = image.height + pad
    ramp = heat_colors(np.linspace(0.0, 100.0, bar_w))  # (bar_w, 3)
    bar = np.broadcast_to(ramp[None], (bar_h, bar_w, 3))
    out.paste(Image.fromarray(bar.astype(np.uint8)), (0, top))
    draw = ImageDraw.Draw(out)
    for tps, label in ((0.0, "0%"), (50.0, "50%"), (100.0, "100%")):
        x = round(tps / 100.0 * (bar_w - 1))
        draw.text((max(0, min(x - 8, bar_w - 24)), top + bar_h + pad), label, fill=(0, 0, 0),
                  font=font)
    grey_x = bar_w + 2 * pad
    draw.rectangle((grey_x, top, grey_x + bar_h, top + bar_h),
                   fill=tuple(int(v) for v in NO_TUMOR_RGB))
    draw.text((grey_x + bar_h + pad, top), "no tumour", fill=(0, 0, 0), font=font)
    return out
