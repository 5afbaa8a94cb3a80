"""The `markers` slide style: flat tissue, 3x3 pure-colour cell squares, for exact pipeline tests."""
from __future__ import annotations

import numpy as np

from synth.layout import Layout
from synth.population import MARKER_BLOCK, Cells, marker_tissue_blocks

TISSUE_RGB = (175, 180, 205)
GLASS_RGB = (255, 255, 255)
# Indexed by class id: tumor_pos, tumor_neg, nontumor_pos, nontumor_neg.
MARKER_RGB = np.array([(255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 255, 0)], dtype=np.uint8)


def tissue_rows(layout: Layout, y0: int, y1: int) -> np.ndarray:
    """(y1 - y0, width) bool tissue mask: whole 16x16 blocks, judged at their centres."""
    blocks_x = -(-layout.width // MARKER_BLOCK)
    block_rows = np.arange(y0 // MARKER_BLOCK, -(-y1 // MARKER_BLOCK))
    by, bx = np.meshgrid(block_rows, np.arange(blocks_x), indexing="ij")
    blocks = marker_tissue_blocks(layout, bx, by)
    pixels = np.repeat(np.repeat(blocks, MARKER_BLOCK, axis=0), MARKER_BLOCK, axis=1)
    start = y0 - block_rows[0] * MARKER_BLOCK
    return pixels[start : start + (y1 - y0), : layout.width]


def paint_marker_band(layout: Layout, cells: Cells, y0: int, y1: int) -> tuple[np.ndarray, int]:
    """RGB rows [y0:y1] and the number of tissue pixels in them; `cells` lie within the rows."""
    tissue = tissue_rows(layout, y0, y1)
    band = np.full((y1 - y0, layout.width, 3), GLASS_RGB, dtype=np.uint8)
    band[tissue] = TISSUE_RGB
    colours = MARKER_RGB[cells.labels]
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            band[cells.y - y0 + dy, cells.x + dx] = colours
    return band, int(tissue.sum())
