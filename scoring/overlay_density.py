"""The overlay where the overview is too coarse to show cells: the density of PD-L1 positive
and negative tumour cells, counted in one streaming pass on a coarse grid of bins."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from scoring.aggregate import TumorClassIds
from scoring.cells import read_cells
from scoring.slide_images import Canvas, Painter

DENSITY_BIN_UM = 50.0  # density is counted on bins about this wide, then smoothed by one bin
FULL_DENSITY_MM2 = 4000.0  # tumour cells per mm^2 drawn at full strength (solid tumour)
MAX_ALPHA = 0.85


def density_bin_px(canvas: Canvas) -> int:
    return max(2, round(DENSITY_BIN_UM / canvas.um_per_px))


def tumour_density(cells_path: Path, canvas: Canvas, tumor: TumorClassIds
                   ) -> tuple[np.ndarray, np.ndarray, int]:
    """(positive, negative) tumour cells per mm^2 on bins of the returned edge (output px)."""
    bin_px = density_bin_px(canvas)
    h, w = canvas.shape
    gh, gw = -(-h // bin_px), -(-w // bin_px)
    pos = np.zeros(gh * gw, np.int64)
    neg = np.zeros(gh * gw, np.int64)
    for chunk in read_cells(cells_path):
        rows, cols = canvas.pixel_of(chunk["x"], chunk["y"])
        index = np.clip(rows // bin_px, 0, gh - 1) * gw + np.clip(cols // bin_px, 0, gw - 1)
        cls = chunk["cls"]
        pos += np.bincount(index[np.isin(cls, tumor.pos)], minlength=gh * gw)
        neg += np.bincount(index[np.isin(cls, tumor.neg)], minlength=gh * gw)
    bin_mm2 = (bin_px * canvas.um_per_px / 1000.0) ** 2
    smooth = [ndimage.gaussian_filter(a.reshape(gh, gw).astype(np.float32), 1.0) / bin_mm2
              for a in (pos, neg)]
    return smooth[0], smooth[1], bin_px


def strength(per_mm2: np.ndarray) -> np.ndarray:
    """Opacity for a density: square root, so sparse tumour still shows."""
    return MAX_ALPHA * np.sqrt(np.clip(per_mm2 / FULL_DENSITY_MM2, 0.0, 1.0))


def mixed_colour(share_pos: np.ndarray, pos_rgb: np.ndarray, neg_rgb: np.ndarray) -> np.ndarray:
    """(..., 3): the positive colour for share 1, the negative for 0, purple between."""
    share = share_pos[..., None]
    return share * pos_rgb.astype(np.float32) + (1.0 - share) * neg_rgb.astype(np.float32)


def density_painter(canvas: Canvas, pos: np.ndarray, neg: np.ndarray, bin_px: int,
                    pos_rgb: np.ndarray, neg_rgb: np.ndarray) -> Painter:
    bx = np.arange(canvas.shape[1]) // bin_px

    def paint(rows: slice) -> tuple[np.ndarray, np.ndarray]:
        by = np.arange(rows.start, rows.stop) // bin_px
        p, n = pos[by][:, bx], neg[by][:, bx]
        total = p + n
        share = np.divide(p, total, out=np.zeros_like(total), where=total > 0)
        return (mixed_colour(share, pos_rgb, neg_rgb),
                strength(total) * canvas.tissue[rows])
    return paint
