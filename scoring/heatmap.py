"""heatmap.png: TPS per tile of tissue on the grid counted by scoring.aggregate (its edge adapts
to the tissue's size, see heatmap_grid_mm), tissue only, grey where a tile holds no tumour
cells, each tile's TPS written in it when tiles are large enough, and a legend in percent
with the cutoffs marked."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from scoring.aggregate import SlideCounts
from scoring.image_legend import LegendBand, filled, font_px_for, legend_font, outlined
from scoring.slide_images import (
    OUTLINE_RGB,
    Canvas,
    blend_strips,
    draw_outline,
    make_canvas,
    save_png,
)
from scoring.tissue_mask import TissueMask

NO_TUMOR_RGB = np.array([150, 150, 150], dtype=np.float32)
HEAT_ALPHA = 0.8  # tile colour over the greyed tissue
LIGHTEN = 0.3
# 0 % blue, 25 % teal, 50 % yellow, 75 % orange, 100 % red: the ends echo the tumour-negative
# and -positive colours; teal keeps low scores away from the no-tumour grey (blue straight to
# yellow passes through grey).
HEAT_STOPS = np.array([0.0, 25.0, 50.0, 75.0, 100.0])
HEAT_RGB = np.array([[40, 90, 220], [40, 180, 190], [240, 200, 40], [240, 130, 30],
                     [220, 40, 40]], dtype=np.float32)
LABEL_FROM_FONTS = 3.5  # tiles this many font heights wide get their TPS written in them
EDGE_LIGHTEN = 0.35  # tile edges, where tiles are wide enough to show them


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


def tile_index(canvas: Canvas, counts: SlideCounts, n: int, tiles: int) -> np.ndarray:
    """(n,) tile of each output pixel along one axis, by its centre's level-0 coordinate
    (the same floor(coordinate / grid_px) rule scoring.aggregate counts cells by)."""
    return np.clip(canvas.level0_centres(n) // counts.grid_px, 0, tiles - 1).astype(np.int64)


def write_heatmap(path: Path, counts: SlideCounts, tissue: TissueMask, mpp: float,
                  cutoffs: tuple[float, ...]) -> None:
    canvas = make_canvas(tissue, mpp)
    grid = tps_grid(counts)
    colours = heat_colors(grid)  # (gh, gw, 3)
    h, w = canvas.shape
    gy, gx = tile_index(canvas, counts, h, grid.shape[0]), tile_index(canvas, counts, w,
                                                                       grid.shape[1])
    tile_out_px = counts.grid_px / canvas.to_level0
    edges = tile_out_px >= 12
    edge_x = np.r_[False, gx[1:] != gx[:-1]] if edges else np.zeros(w, bool)

    def paint(rows: slice) -> tuple[np.ndarray, np.ndarray]:
        ty = gy[rows]
        colour = colours[ty][:, gx]
        if edges:
            edge_y = np.r_[rows.start > 0 and ty[0] != gy[rows.start - 1], ty[1:] != ty[:-1]]
            on_edge = edge_y[:, None] | edge_x[None, :]
            colour[on_edge] += EDGE_LIGHTEN * (255.0 - colour[on_edge])
        return colour, HEAT_ALPHA * canvas.tissue[rows]

    image = Image.fromarray(blend_strips(canvas.rgb, paint, LIGHTEN))
    font_px = font_px_for(w)
    if tile_out_px >= LABEL_FROM_FONTS * font_px:
        _write_tile_values(image, canvas, grid, counts.grid_px, font_px)
    pixels = np.asarray(image).copy()
    draw_outline(pixels, canvas)
    legend = LegendBand(w, font_px)
    _legend(legend, canvas, counts.grid_mm, cutoffs)
    save_png(legend.attach(Image.fromarray(pixels)), path)


def _write_tile_values(image: Image.Image, canvas: Canvas, grid: np.ndarray, grid_px: float,
                       font_px: int) -> None:
    """Each tile's TPS at its centre, where the centre is tissue and the tile has tumour."""
    draw = ImageDraw.Draw(image)
    font = legend_font(font_px)
    h, w = canvas.shape
    for (ty, tx), tps in np.ndenumerate(grid):
        if np.isnan(tps):
            continue
        row, col = (int((t + 0.5) * grid_px / canvas.to_level0) for t in (ty, tx))
        if row < h and col < w and canvas.tissue[row, col]:
            draw.text((col, row), f"{tps:.0f}%", fill=(255, 255, 255), font=font, anchor="mm",
                      stroke_width=max(2, font_px // 8), stroke_fill=(0, 0, 0))


def _legend(legend: LegendBand, canvas: Canvas, grid_mm: float,
            cutoffs: tuple[float, ...]) -> None:
    legend.text(f"TPS per {grid_mm:g} mm tile of tissue: PD-L1+ tumour cells / all tumour "
                "cells in the tile.")
    ramp = heat_colors(np.linspace(0.0, 100.0, 1001))
    legend.colour_bar(ramp, [(v / 100.0, f"{v}%") for v in (0, 25, 50, 75, 100)],
                      [(c / 100.0, f"cutoff {c:g}%") for c in cutoffs])
    grey = tuple(int(v) for v in NO_TUMOR_RGB)
    legend.swatches([(filled((grey[0], grey[1], grey[2])), "no tumour cells in the tile"),
                     (outlined(OUTLINE_RGB), "edge of the tissue analysed")])
    legend.scale_bar(canvas.um_per_px, canvas.shape[1])

