"""Hand-built inputs for the aggregation and output tests: a two-fragment tissue mask, a
fake model description and a cell file with cells placed by hand (no slide, no model run)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from scoring.cells import CELL_DTYPE, CellSink
from scoring.model_info import ModelInfo
from scoring.slide_info import SlideInfo
from scoring.tissue_mask import TissueMask

CLASSES = ("tumor_pos", "tumor_neg", "nontumor_pos", "nontumor_neg")
DOWNSAMPLE = 256.0  # level-0 pixels per mask pixel
MPP = 0.5  # so one mm is 2000 level-0 pixels and the 7680 x 5120 slide is a 4 x 3 mm grid
MASK_SHAPE = (20, 30)  # (h, w): 5120 x 7680 level-0 pixels

# Fragment A: mask rows 2..7, columns 2..9; fragment B: rows 10..17, columns 15..27.
FRAGMENT_A = (slice(2, 8), slice(2, 10))
FRAGMENT_B = (slice(10, 18), slice(15, 28))


def make_model() -> ModelInfo:
    return ModelInfo(
        path=Path("/models/test.onnx"), sha256="ab" * 32, name="test-model", version="0.0.1",
        mpp=0.5, classes=CLASSES, tumor_pos=("tumor_pos",), tumor_neg=("tumor_neg",),
        threshold=0.5, input_multiple=32, anchors={"stride": 16, "offsets": [[8, 8]]},
    )


def make_slide(width: int = 7680, height: int = 5120) -> SlideInfo:
    return SlideInfo(path=Path("/slides/Doe_John_1970-01-01.svs"), sha256="cd" * 32,
                     width=width, height=height, mpp=MPP, vendor="aperio")


def make_tissue(empty: bool = False) -> TissueMask:
    mask = np.zeros(MASK_SHAPE, dtype=bool)
    if not empty:
        mask[FRAGMENT_A] = True
        mask[FRAGMENT_B] = True
    thumbnail = np.full((*MASK_SHAPE, 3), 255, dtype=np.uint8)
    thumbnail[mask] = (175, 180, 205)
    return TissueMask(mask=mask, downsample=DOWNSAMPLE, thumbnail=thumbnail)


def mask_centre(row: int, col: int) -> tuple[float, float]:
    """Level-0 (x, y) in the middle of a mask pixel."""
    return (col + 0.5) * DOWNSAMPLE, (row + 0.5) * DOWNSAMPLE


# (mask row, mask column, class id, how many). Fragment A lies in grid square (0, 0) and (0, 1)
# at x < 2000 / x >= 2000 (mask column 7.8); fragment B in squares (1..2, 1..3).
PLACED = [
    (3, 3, 0, 30),  # A, tumour positive, grid (0, 0)
    (4, 4, 1, 70),  # A, tumour negative, grid (0, 0)
    (5, 9, 0, 5),  # A, tumour positive, grid (0, 1): x = 9.5 * 256 = 2432
    (6, 5, 2, 4),  # A, non-tumour positive
    (12, 16, 0, 1),  # B, tumour positive, grid row 1 (y = 3200), column 2 (x = 4224)
    (15, 20, 1, 60),  # B, tumour negative, grid (1, 2): x = 5248, y = 3968
    (16, 26, 3, 9),  # B, non-tumour negative
    (8, 6, 1, 2),  # just below A (mask row 8 is glass): belongs to A as nearest
]


def _stain_of(cls: int, i: int) -> tuple[float, float]:
    """(dab_nucleus, dab_membrane): the stain agrees with the call, except that every fifth
    tumour-negative call has a DAB membrane (the stain rule calls it positive)."""
    if cls == 0:
        return 0.2, 3.0
    return (0.1, 2.5) if cls == 1 and i % 5 == 0 else (0.1, 0.3)


def placed_cells() -> np.ndarray:
    rows = []
    for row, col, cls, n in PLACED:
        x, y = mask_centre(row, col)
        for i in range(n):
            # Spread cells a little inside the mask pixel, with fractional coordinates.
            rows.append((x + (i % 10) * 3.25 - 15, y + (i // 10) * 2.5 - 10, cls,
                         0.5 + 0.004 * i, 0.6 + 0.003 * i, *_stain_of(cls, i)))
    return np.array(rows, dtype=CELL_DTYPE)


def write_cells(path: Path, cells: np.ndarray, chunk: int = 7) -> Path:
    with CellSink(path) as sink:
        for start in range(0, len(cells), chunk):
            sink.append(cells[start:start + chunk])
    return path


class TissueReader:
    """Stands in for an open slide in the review-crop tests: one level, each level-0 pixel the
    colour of its thumbnail pixel, glass beyond the slide's edge."""

    level_downsamples = (1.0,)

    def __init__(self, tissue: TissueMask, width: int = 7680, height: int = 5120) -> None:
        self.tissue, self.width, self.height = tissue, width, height
        self.reads: list[tuple[int, int, int, int, int]] = []

    def best_level(self, downsample: float) -> int:
        return 0

    def read_rgb(self, level: int, x0: int, y0: int, width: int, height: int) -> np.ndarray:
        self.reads.append((level, x0, y0, width, height))
        ys, xs = np.arange(y0, y0 + height), np.arange(x0, x0 + width)
        h, w = self.tissue.mask.shape
        rows = np.clip(ys // int(self.tissue.downsample), 0, h - 1)
        cols = np.clip(xs // int(self.tissue.downsample), 0, w - 1)
        rgb = self.tissue.thumbnail[rows][:, cols].copy()
        outside = (ys[:, None] >= self.height) | (xs[None, :] >= self.width)
        rgb[outside] = 255
        return rgb
