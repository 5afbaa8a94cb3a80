"""Where tissue, tumour nests and PD-L1-rich areas lie: smooth fields on a coarse grid."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from synth.noise import smooth_noise

GRID = 32  # level-0 pixels per coarse-grid step; fields are bilinear between grid points
# Tissue detection drops specks under 0.01 mm^2 as debris; generated pieces stay well above
# that, so the truth never counts cells that a correct detector rightly ignores.
MIN_FRAGMENT_MM2 = 0.015


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    tissue: np.ndarray  # (gh, gw) float32; > 0 is tissue, < 0 glass
    nest: np.ndarray  # (gh, gw) float32 in [0, 1]; > 0.5 is a tumour nest
    pdl1: np.ndarray  # (gh, gw) float32; high where tumour cells tend to be positive
    inflammation: np.ndarray  # (gh, gw) float32 in [0, 1]; lymphocyte density in stroma

    def sample(self, field: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Bilinear value of a coarse field at level-0 pixel positions."""
        gx = np.clip(np.asarray(x, np.float32) / GRID, 0, field.shape[1] - 1.001)
        gy = np.clip(np.asarray(y, np.float32) / GRID, 0, field.shape[0] - 1.001)
        ix, iy = gx.astype(np.int64), gy.astype(np.int64)
        fx, fy = gx - ix, gy - iy
        top = field[iy, ix] * (1 - fx) + field[iy, ix + 1] * fx
        bottom = field[iy + 1, ix] * (1 - fx) + field[iy + 1, ix + 1] * fx
        return (top * (1 - fy) + bottom * fy).astype(np.float32)


def _grid_shape(width: int, height: int) -> tuple[int, int]:
    return height // GRID + 2, width // GRID + 2


def _fragments(shape: tuple[int, int], width: int, height: int, mpp: float,
               rng: np.random.Generator) -> np.ndarray:
    """Several separate tissue pieces, one per cell of a coarse layout, with glass between."""
    width_mm, height_mm = width * mpp / 1000, height * mpp / 1000
    cols = int(np.clip(round(width_mm / 6.0), 1, 6))
    rows = int(np.clip(round(height_mm / 6.0), 1, 6))
    if cols * rows == 1:
        cols, rows = (2, 1) if width >= height else (1, 2)
    gy, gx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32) * GRID
    u, v = gx / width * cols, gy / height * rows  # position in fragment-cell units
    cell_x, cell_y = np.clip(u.astype(int), 0, cols - 1), np.clip(v.astype(int), 0, rows - 1)
    lu, lv = (u - cell_x) * 2 - 1, (v - cell_y) * 2 - 1  # -1..1 inside each fragment cell
    n = rows * cols
    centre = rng.uniform(-0.12, 0.12, (2, n))
    axes = rng.uniform(0.55, 0.8, (2, n))
    angle = rng.uniform(0, np.pi, n)
    idx = cell_y * cols + cell_x
    du, dv = lu - centre[0][idx], lv - centre[1][idx]
    cos, sin = np.cos(angle[idx]), np.sin(angle[idx])
    r = np.hypot((du * cos + dv * sin) / axes[0][idx], (-du * sin + dv * cos) / axes[1][idx])
    sigma = max(1.5, min(shape) / (6 * max(rows, cols)))
    field = 1.0 - r + 0.25 * smooth_noise(rng, shape, sigma)
    # Keep a glass margin around every fragment cell so pieces never touch.
    margin = np.minimum(1 - np.abs(lu), 1 - np.abs(lv)) - 0.08
    field = np.minimum(field, margin * 4).astype(np.float32)
    return _drop_specks(field, mpp)


def _drop_specks(field: np.ndarray, mpp: float) -> np.ndarray:
    """Turn tissue islands smaller than MIN_FRAGMENT_MM2 into glass."""
    labels, count = ndimage.label(field > 0, structure=np.ones((3, 3), bool))
    grid_mm2 = (GRID * mpp / 1000) ** 2
    areas = np.bincount(labels.ravel(), minlength=count + 1) * grid_mm2
    small = np.concatenate([[False], areas[1:] < MIN_FRAGMENT_MM2])[labels]
    # Far below zero, so bilinear sampling between grid points cannot revive the speck.
    return np.where(small, np.float32(-1.0), field)


def make_layout(width: int, height: int, mpp: float, rng: np.random.Generator,
                fragments: bool = True) -> Layout:
    shape = _grid_shape(width, height)
    um_per_cell = GRID * mpp
    if fragments:
        tissue = _fragments(shape, width, height, mpp, rng)
    else:  # a field of view inside tissue: mostly tissue, an occasional lumen or tear
        tissue = (1.8 + smooth_noise(rng, shape, 80 / um_per_cell)).astype(np.float32)
    nest_noise = smooth_noise(rng, shape, 35 / um_per_cell) + rng.uniform(-0.6, 0.6)
    nest = 1 / (1 + np.exp(-4 * nest_noise))
    pdl1 = smooth_noise(rng, shape, 120 / um_per_cell)
    inflammation = 1 / (1 + np.exp(-3 * (smooth_noise(rng, shape, 50 / um_per_cell) - 0.8)))
    return Layout(width, height, tissue, nest.astype(np.float32), pdl1,
                  inflammation.astype(np.float32))
