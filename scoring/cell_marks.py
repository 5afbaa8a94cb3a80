"""How one cell call is drawn, the same in overlay.png and in the review crops.

A call is a ring round the cell with a dot on the called point or, where a cell is only a few
pixels wide, a filled dot; each in its class colour inside a white halo, so a blue
tumour-negative mark stays visible on blue haematoxylin and a red one on brown DAB. Marks are
drawn layer by layer (every cell's halo, then every cell's colour, then the centre dots), so
where marks overlap no call's colour is hidden under a neighbour's halo, and the pixel at a
call's point always carries its class colour.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CELL_UM = 11.0  # a mark's outer edge, halo included: the coloured ring is about 10 um across
MIN_DOT_PX = 5  # a call's colour is never narrower than this: a 5-px dot in a 7-px halo
RING_FROM_PX = 19  # marks at least this wide are rings, so the stained cell shows through
HALO_RGB = np.array([255, 255, 255], np.uint8)
ROUND = 0.25  # disc radius slack, so that small discs look round rather than diamond-shaped


@dataclass(frozen=True)
class MarkLayer:
    offsets: np.ndarray  # (n, 2) int dy, dx from the call's pixel
    halo: bool  # True: white; False: the call's class colour


@dataclass(frozen=True)
class CellMarks:
    width_px: int  # across the whole mark, halo included
    colour_px: int  # across the coloured part (the dot, or the ring's outer edge)
    rings: bool
    layers: tuple[MarkLayer, ...]


def _band(inner: float, outer: float) -> np.ndarray:
    """(n, 2) dy, dx whose distance d from the centre has inner < d <= outer + ROUND."""
    reach = int(np.ceil(outer + ROUND))
    dy, dx = np.mgrid[-reach:reach + 1, -reach:reach + 1]
    d = np.hypot(dy, dx)
    keep = (d > inner + ROUND if inner >= 0 else d >= 0) & (d <= outer + ROUND)
    return np.stack([dy[keep], dx[keep]], axis=1).astype(np.int64)


def cell_marks(um_per_px: float) -> CellMarks:
    """Marks for an image of `um_per_px`: CELL_UM wide, but at least MIN_DOT_PX of colour."""
    radius = max((MIN_DOT_PX + 1) // 2, round(CELL_UM / um_per_px) // 2)  # halo included
    if 2 * radius + 1 < RING_FROM_PX:
        dot = radius - 1
        dots = (MarkLayer(_band(-1, radius), True), MarkLayer(_band(-1, dot), False))
        return CellMarks(2 * radius + 1, 2 * dot + 1, False, dots)
    thick = max(2, round(radius / 5))
    ring_out = radius - 1
    layers = (
        MarkLayer(_band(ring_out - thick - 1, radius), True),  # halo either side of the ring
        MarkLayer(_band(ring_out - thick, ring_out), False),
        MarkLayer(_band(-1, 2), True),  # the centre dot's halo: 5 px across
        MarkLayer(_band(-1, 1.25), False),  # the centre dot: 3 x 3 px
    )
    return CellMarks(2 * radius + 1, 2 * ring_out + 1, True, layers)


def draw_layer(image: np.ndarray, rows: np.ndarray, cols: np.ndarray, rgb: np.ndarray,
               layer: MarkLayer) -> None:
    """Draw one layer of the marks of calls at pixel (rows, cols), colours rgb (n, 3)."""
    h, w = image.shape[:2]
    for dy, dx in layer.offsets:
        r, c = rows + dy, cols + dx
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        image[r[inside], c[inside]] = HALO_RGB if layer.halo else rgb[inside]


def draw_marks(image: np.ndarray, rows: np.ndarray, cols: np.ndarray, rgb: np.ndarray,
               marks: CellMarks) -> None:
    """Draw every layer of the marks of calls held in memory (a crop's, a legend's)."""
    for layer in marks.layers:
        draw_layer(image, rows, cols, rgb, layer)
