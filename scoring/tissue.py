"""Find tissue on a low-resolution view: optical density against the glass, Otsu threshold,
minimum fragment area."""
from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from scoring.errors import UnscorableSlide
from scoring.slide_reader import SlideReader
from scoring.tissue_mask import TissueMask

MASK_MAX_SIDE = 2048  # mask pixels along the longer side of the slide
DEFAULT_MIN_AREA_UM2 = 10_000.0  # 0.01 mm^2: smaller specks are dust or debris
STRIP_ROWS = 64  # mask rows read at once, so memory stays bounded on huge levels
READ_MAX_PIXELS = 16_000_000  # level pixels in one read (64 MB of RGBA)
# An overview read from a level larger than this would take minutes: the file has no pyramid.
OVERVIEW_MAX_PIXELS = 4_000_000_000
# Otsu on a slide that is nearly all tissue (or all glass) can split one population in two;
# the clamp keeps the threshold between glass noise (density ~ 0.01) and faint stroma (~ 0.08),
# which Otsu would otherwise put with the glass when dense tissue is also present.
MIN_DENSITY, MAX_DENSITY = 0.03, 0.06
MIN_GLASS_LEVEL = 200.0  # a "glass" colour darker than this is tissue: the slide has no glass


def read_thumbnail(reader: SlideReader, max_side: int = MASK_MAX_SIDE) -> tuple[np.ndarray, float]:
    """Block-mean RGB view of the slide, (h, w, 3) uint8, and its level-0 downsample."""
    info = reader.info
    target = max(1.0, max(info.width, info.height) / max_side)
    level = reader.best_level(target)
    level_ds = reader.level_downsamples[level]
    factor = max(1, math.floor(target / level_ds))
    level_w, level_h = reader.level_dimensions[level]
    if level_w * level_h > OVERVIEW_MAX_PIXELS:
        raise UnscorableSlide(
            f"the slide has no reduced-resolution level to find tissue on: its smallest level is "
            f"{level_w:,} x {level_h:,} px; export it as a pyramidal (multi-resolution) file")
    out_w, out_h = math.ceil(level_w / factor), math.ceil(level_h / factor)
    thumb = np.empty((out_h, out_w, 3), np.uint8)
    # Each read stays under READ_MAX_PIXELS, so memory does not grow with the slide.
    cols = max(1, min(out_w, READ_MAX_PIXELS // (STRIP_ROWS * factor * factor)))
    for row in range(0, out_h, STRIP_ROWS):
        rows = min(STRIP_ROWS, out_h - row)
        y0 = round(row * factor * level_ds)
        for col in range(0, out_w, cols):
            width = min(cols, out_w - col)
            x0 = round(col * factor * level_ds)
            block = reader.read_rgb(level, x0, y0, width * factor, rows * factor)
            means = block.reshape(rows, factor, width, factor, 3).mean(axis=(1, 3))
            thumb[row:row + rows, col:col + width] = np.round(means).astype(np.uint8)
    return thumb, level_ds * factor


def glass_rgb(thumb: np.ndarray) -> np.ndarray:
    """(3,) colour of the empty glass: the median of the brightest tenth of the thumbnail.

    Glass is the brightest thing on a brightfield slide, but scanners tint it (greenish,
    yellowish), so tissue is measured against this colour rather than against pure white.
    A slide with too little glass for its brightest tenth to be glass falls back to white.
    """
    flat = thumb.reshape(-1, 3).astype(np.float32)
    brightness = flat.sum(axis=1)
    glass = np.median(flat[brightness >= np.percentile(brightness, 90)], axis=0)
    return glass if glass.mean() >= MIN_GLASS_LEVEL else np.full(3, 255.0, np.float32)


def optical_density(thumb: np.ndarray, glass: np.ndarray) -> np.ndarray:
    """(h, w) largest per-channel optical density against the glass: 0 on glass, more stain
    more density. Natural log, so 0.05 is a pixel about 5 % darker than the glass."""
    density = np.log((glass + 1.0) / (thumb.astype(np.float32) + 1.0))  # (h, w, 3)
    return np.asarray(np.clip(density.max(axis=2), 0.0, None))


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Threshold on [0, 1] that maximises the between-class variance."""
    hist, edges = np.histogram(values, bins=bins, range=(0.0, 1.0))
    centres = (edges[:-1] + edges[1:]) / 2
    weight0 = np.cumsum(hist).astype(np.float64)
    weight1 = weight0[-1] - weight0
    mean0 = np.cumsum(hist * centres) / np.maximum(weight0, 1)
    mean1 = (np.sum(hist * centres) - np.cumsum(hist * centres)) / np.maximum(weight1, 1)
    between = weight0 * weight1 * (mean0 - mean1) ** 2
    return float(edges[int(np.argmax(between)) + 1])


def tissue_from_thumbnail(thumb: np.ndarray, downsample: float, mpp: float,
                          min_area_um2: float = DEFAULT_MIN_AREA_UM2) -> np.ndarray:
    """(h, w) bool tissue mask of a thumbnail whose pixels are `downsample` level-0 pixels."""
    density = optical_density(thumb, glass_rgb(thumb))
    threshold = float(np.clip(otsu_threshold(np.minimum(density, 1.0)), MIN_DENSITY, MAX_DENSITY))
    mask = density > threshold
    # A mask pixel on a fragment's edge is part glass, so its mean colour is washed out;
    # growing by one pixel keeps the cells right at the edge of the tissue.
    mask = ndimage.binary_dilation(mask, structure=np.ones((3, 3), bool))
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if count == 0:
        return np.asarray(mask)
    pixel_um2 = (downsample * mpp) ** 2
    areas = np.bincount(labels.ravel())[1:] * pixel_um2  # (count,)
    keep = np.concatenate([[False], areas >= min_area_um2])
    return np.asarray(keep[labels])


def detect_tissue(reader: SlideReader, min_area_um2: float = DEFAULT_MIN_AREA_UM2,
                  max_side: int = MASK_MAX_SIDE) -> TissueMask:
    thumb, downsample = read_thumbnail(reader, max_side)
    mask = tissue_from_thumbnail(thumb, downsample, reader.info.mpp, min_area_um2)
    return TissueMask(mask=mask, downsample=downsample, thumbnail=thumb)
