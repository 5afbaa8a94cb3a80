"""tissue.png: the analysed tissue's edge alone, on a transparent background, for a viewer to lay
over the slide as a layer of its own.

The same geometry as overlay.png and heatmap.png above their legends (scoring.slide_images'
canvas: the whole slide at the overview's scale, pixel (r, c) covering level-0 pixels
[c * to_level0, (c + 1) * to_level0) across, likewise down), the same edge in the same colour,
and no legend band: every row of the picture is slide."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from scoring.slide_images import OUTLINE_RGB, make_canvas, outline_pixels, save_png
from scoring.tissue_mask import TissueMask


def write_tissue_outline(path: Path, tissue: TissueMask, mpp: float) -> None:
    """RGBA PNG: OUTLINE_RGB, opaque, on the edge; fully transparent everywhere else."""
    canvas = make_canvas(tissue, mpp)
    pixels = np.zeros((*canvas.shape, 4), np.uint8)
    pixels[outline_pixels(canvas)] = (*OUTLINE_RGB, 255)
    save_png(Image.fromarray(pixels, "RGBA"), path)
