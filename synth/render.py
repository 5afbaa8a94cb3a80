"""Paint a window of a synthetic IHC image: stroma, nests, cells, stain, blur."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from synth.classes import FIBROBLAST, LYMPHOCYTE, MACROPHAGE, TUMOR
from synth.layout import GRID, Layout
from synth.noise import fibre_texture, gaussian_filter, tile_rows
from synth.population import Cells
from synth.sprites import VARIANTS, SpriteBank, build_bank
from synth.stain import StainStyle, densities_to_rgb, random_he_style, random_style

BLUR_MARGIN = 4  # rows painted beyond a window so the blur has real neighbours at its edges


@dataclass(frozen=True)
class Painter:
    """Everything fixed for one image or slide: stain, cell banks and periodic textures."""

    style: StainStyle
    banks: tuple[SpriteBank, ...]  # indexed by kind
    fibres: tuple[np.ndarray, np.ndarray]
    grain: np.ndarray
    seed: int


def make_painter(mpp: float, seed: int, stain: str = "ihc") -> Painter:
    rng = np.random.default_rng([seed, 23])
    style = random_he_style(rng) if stain == "he" else random_style(rng)
    banks = tuple(build_bank(kind, mpp, rng) for kind in (TUMOR, LYMPHOCYTE, MACROPHAGE, FIBROBLAST))
    angle = rng.uniform(0, np.pi)
    # Two periods that share no small factor, so the repetition of the texture is not obvious.
    fibres = (fibre_texture(rng, 512, angle, 40.0), fibre_texture(rng, 384, angle + 0.5, 25.0))
    grain = gaussian_filter(rng.standard_normal((256, 256)).astype(np.float32), 0.8)
    return Painter(style, banks, fibres, grain / float(grain.std()), seed)


def upsample(field: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """Bilinear values of a coarse layout field on the level-0 window [y0:y1, x0:x1]."""
    gy = np.clip(np.arange(y0, y1, dtype=np.float32) / GRID, 0, field.shape[0] - 1.001)
    gx = np.clip(np.arange(x0, x1, dtype=np.float32) / GRID, 0, field.shape[1] - 1.001)
    iy, ix = gy.astype(np.int64), gx.astype(np.int64)
    fy, fx = (gy - iy)[:, None], gx - ix
    rows = field[iy] * (1 - fy) + field[iy + 1] * fy  # (h, gw)
    return (rows[:, ix] * (1 - fx) + rows[:, ix + 1] * fx).astype(np.float32)


def _cell_hash(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Stable per-cell pseudo-random integers, so any window draws a cell the same way."""
    h = x.astype(np.uint64) * np.uint64(73856093) ^ y.astype(np.uint64) * np.uint64(19349663)
    h ^= np.uint64(seed & 0xFFFFFFFF) * np.uint64(83492791)
    h ^= h >> np.uint64(13)
    return (h * np.uint64(0x9E3779B1)) & np.uint64(0xFFFFFFFF)


def _stamp(canvas: np.ndarray, patch: np.ndarray, cx: int, cy: int, gain: float) -> None:
    half = patch.shape[0] // 2
    top, left = cy - half, cx - half
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + patch.shape[0], canvas.shape[0]), min(left + patch.shape[1], canvas.shape[1])
    if y0 < y1 and x0 < x1:
        canvas[y0:y1, x0:x1] += gain * patch[y0 - top : y1 - top, x0 - left : x1 - left]


def paint_cells(painter: Painter, cells: Cells, hema: np.ndarray, dab: np.ndarray,
                y0: int, x0: int) -> None:
    """Add every given cell's nucleus and DAB into the window canvases (top-left at x0, y0)."""
    code = _cell_hash(cells.x, cells.y, painter.seed)
    variant = (code % np.uint64(VARIANTS)).astype(np.int64)
    unit = ((code >> np.uint64(8)) & np.uint64(0xFFFF)).astype(np.float32) / 65535.0
    h_gain = 0.8 + 0.4 * unit
    # Weak, moderate and strong membranes all count as positive for the TPS.
    dab_gain = np.where(cells.positive, 0.35 + 1.0 * ((unit * 7.31) % 1.0), 0.0)
    for i in range(len(cells.x)):
        bank = painter.banks[cells.kind[i]]
        cx, cy, v = int(cells.x[i]) - x0, int(cells.y[i]) - y0, variant[i]
        _stamp(hema, bank.hematoxylin[v], cx, cy, float(h_gain[i]))
        if dab_gain[i] > 0:
            _stamp(dab, bank.dab[v], cx, cy, float(dab_gain[i]))


def paint_window(painter: Painter, layout: Layout, cells: Cells,
                 y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """RGB uint8 of level-0 window [y0:y1, x0:x1]; `cells` are those that may reach into it."""
    m = BLUR_MARGIN
    wy0, wy1, wx0, wx1 = y0 - m, y1 + m, x0 - m, x1 + m
    tissue = (upsample(layout.tissue, wy0, wy1, wx0, wx1) > 0).astype(np.float32)
    nest = np.clip((upsample(layout.nest, wy0, wy1, wx0, wx1) - 0.35) * 3.3, 0, 1)
    grain = tile_rows(painter.grain, wy0, wy1, wx0, wx1)
    fibre = 0.6 * tile_rows(painter.fibres[0], wy0, wy1, wx0, wx1)
    fibre += 0.4 * tile_rows(painter.fibres[1], wy0, wy1, wx0, wx1)
    stroma = 0.05 + 0.05 * np.maximum(fibre, -0.6)
    cytoplasm = 0.10 + 0.015 * grain
    hema = tissue * (stroma * (1 - nest) + cytoplasm * nest)
    dab = np.zeros_like(hema)
    paint_cells(painter, cells, hema, dab, wy0, wx0)
    hema *= tissue  # cells never spill onto glass
    dab *= tissue
    rgb = densities_to_rgb(hema, dab, tissue * (1 + 0.3 * grain), painter.style)
    # A box blur is a third of PIL's Gaussian (three boxes); the cells are pre-blurred already.
    image = Image.fromarray(rgb).filter(ImageFilter.BoxBlur(painter.style.blur_radius * 0.7))
    return np.asarray(image)[m:-m, m:-m]
