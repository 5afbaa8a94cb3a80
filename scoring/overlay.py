"""overlay.png: every call on the tissue overview as a mark of its class colour, the analysed
tissue's outline and a legend. Where the overview is so coarse that a cell would be under
5 pixels (coarser than DENSITY_ABOVE_UM_PER_PX), the density of PD-L1 positive and negative
tumour cells is drawn instead, and the legend says so. Cells are streamed from the cell file,
so memory does not grow with their number."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from scoring.aggregate import TumorClassIds
from scoring.cell_marks import CellMarks, cell_marks, draw_layer, draw_marks
from scoring.cells import read_cells
from scoring.class_colors import class_colors
from scoring.image_legend import LegendBand, SwatchPainter, filled, font_px_for, outlined
from scoring.overlay_density import (
    FULL_DENSITY_MM2,
    density_painter,
    mixed_colour,
    strength,
    tumour_density,
)
from scoring.slide_images import (
    OUTLINE_RGB,
    Canvas,
    blend_strips,
    draw_outline,
    make_canvas,
    save_png,
)
from scoring.tissue_mask import TissueMask

DENSITY_ABOVE_UM_PER_PX = 2.0  # a 10 um cell is then under 5 px: draw density, not cells
DENSITY_LIGHTEN = 0.35  # the overview under the density, greyed and lightened this much
CLASS_LABELS = {"tumor_pos": "tumour PD-L1+", "tumor_neg": "tumour PD-L1-",
                "nontumor_pos": "non-tumour PD-L1+", "nontumor_neg": "non-tumour PD-L1-"}
SWATCH_BACKGROUND = (205, 215, 225)  # a pale tissue tone behind the legend's marks


def overlay_mode(um_per_px: float) -> str:
    return "density" if um_per_px > DENSITY_ABOVE_UM_PER_PX else "cells"


def write_overlay(path: Path, cells_path: Path, tissue: TissueMask, mpp: float,
                  classes: tuple[str, ...], tumor: TumorClassIds) -> str:
    """Write overlay.png; returns its mode, "cells" or "density"."""
    canvas = make_canvas(tissue, mpp)
    colours = np.array(class_colors(classes), np.uint8)
    legend = LegendBand(canvas.shape[1], font_px_for(canvas.shape[1]))
    mode = overlay_mode(canvas.um_per_px)
    if mode == "density":
        pos_rgb, neg_rgb = _first_colour(colours, tumor.pos), _first_colour(colours, tumor.neg)
        pos, neg, bin_px = tumour_density(cells_path, canvas, tumor)
        image = blend_strips(canvas.rgb, density_painter(canvas, pos, neg, bin_px, pos_rgb,
                                                         neg_rgb), DENSITY_LIGHTEN)
        draw_outline(image, canvas)
        _density_legend(legend, canvas, pos_rgb, neg_rgb)
    else:
        image = canvas.rgb.copy()
        draw_outline(image, canvas)
        marks = cell_marks(canvas.um_per_px)
        # Layer by layer over the whole file, so no call's colour hides under another's halo.
        for layer in marks.layers:
            for chunk in read_cells(cells_path):
                rows, cols = canvas.pixel_of(chunk["x"], chunk["y"])
                draw_layer(image, rows, cols, colours[chunk["cls"]], layer)
        _cells_legend(legend, canvas, marks, classes, colours)
    save_png(legend.attach(Image.fromarray(image)), path)
    return mode


def _mark_swatch(marks: CellMarks, rgb: np.ndarray) -> SwatchPainter:
    def paint(draw: ImageDraw.ImageDraw, image: Image.Image,
              box: tuple[int, int, int, int]) -> None:
        x0, y0, x1, y1 = box
        patch = np.full((y1 - y0, x1 - x0, 3), SWATCH_BACKGROUND, np.uint8)
        centre = np.array([(y1 - y0) // 2]), np.array([(x1 - x0) // 2])
        draw_marks(patch, *centre, rgb[None], marks)
        image.paste(Image.fromarray(patch), (x0, y0))
    return paint


def _cells_legend(legend: LegendBand, canvas: Canvas, marks: CellMarks,
                  classes: tuple[str, ...], colours: np.ndarray) -> None:
    shape = "ring" if marks.rings else "dot"
    legend.text(f"Each cell the model found is a {shape} in its class colour "
                f"({canvas.um_per_px:.2g} um per pixel).")
    items = [(_mark_swatch(marks, colours[i]), CLASS_LABELS.get(name, name))
             for i, name in enumerate(classes)]
    legend.swatches([*items, (outlined(OUTLINE_RGB), "edge of the tissue analysed")])
    legend.scale_bar(canvas.um_per_px, canvas.shape[1])


def _density_legend(legend: LegendBand, canvas: Canvas, pos_rgb: np.ndarray,
                    neg_rgb: np.ndarray) -> None:
    legend.text(f"Overview too coarse to show cells ({canvas.um_per_px:.2g} um per pixel, a "
                "cell under 5 px):")
    legend.text("tumour cell DENSITY is drawn instead; non-tumour cells are not shown.")
    half = mixed_colour(np.array(0.5), pos_rgb, neg_rgb).astype(np.uint8)
    legend.swatches([(filled(_rgb(pos_rgb)), "all PD-L1+"), (filled(_rgb(half)), "mixed"),
                     (filled(_rgb(neg_rgb)), "all PD-L1-"),
                     (outlined(OUTLINE_RGB), "edge of the tissue analysed")])
    density = np.linspace(0.0, FULL_DENSITY_MM2, 256)
    alpha = strength(density)[:, None]
    ramp = (1.0 - alpha) * 235.0 + alpha * half.astype(np.float32)  # over pale grey tissue
    full = f"{FULL_DENSITY_MM2:,.0f}"
    legend.colour_bar(ramp, [(0.0, "0"), (0.25, f"{FULL_DENSITY_MM2 / 4:,.0f}"),
                             (1.0, f">= {full} tumour cells per mm2")])
    legend.scale_bar(canvas.um_per_px, canvas.shape[1])


def _first_colour(colours: np.ndarray, ids: np.ndarray) -> np.ndarray:
    return colours[ids[0]] if ids.size else np.array((128, 128, 128), np.uint8)


def _rgb(value: np.ndarray) -> tuple[int, int, int]:
    return int(value[0]), int(value[1]), int(value[2])
