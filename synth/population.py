"""Which cells exist: positions, kinds and PD-L1 status, with the tumour positives set exactly."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from synth.classes import FIBROBLAST, LYMPHOCYTE, MACROPHAGE, TUMOR, class_of
from synth.layout import Layout

STRIP = 4096  # sample a slide in strips of this many rows so candidates never fill memory
TISSUE_MARGIN = 0.03  # cells stay this far (in field units) inside the tissue outline
MARKER_BLOCK = 16


class SynthError(ValueError):
    """A request the generator cannot satisfy (e.g. a slide too small to hold tumour cells)."""


@dataclass
class Cells:
    x: np.ndarray  # (N,) int32 level-0 pixel
    y: np.ndarray  # (N,) int32
    kind: np.ndarray  # (N,) int8, synth.classes kinds
    positive: np.ndarray  # (N,) bool

    @property
    def labels(self) -> np.ndarray:
        lookup = np.array([[class_of(k, p) for p in (False, True)] for k in range(4)], np.int8)
        classes: np.ndarray = lookup[self.kind, self.positive.astype(np.int8)]
        return classes


def _strips(height: int) -> Iterator[tuple[int, int, int]]:
    for index, y0 in enumerate(range(0, height, STRIP)):
        yield index, y0, min(height, y0 + STRIP)


def _jittered_grid(rng: np.random.Generator, x1: int, y0: int, y1: int,
                   spacing: float) -> tuple[np.ndarray, np.ndarray]:
    ys = np.arange(y0 + spacing / 2, y1, spacing)
    xs = np.arange(spacing / 2, x1, spacing)
    gy, gx = np.meshgrid(ys, xs, indexing="ij")
    gx = gx + (np.arange(len(ys))[:, None] % 2) * spacing / 2  # hexagonal packing
    jitter = rng.uniform(-0.3, 0.3, (2, *gx.shape)) * spacing
    x = np.round(gx + jitter[0]).ravel().astype(np.int32)
    y = np.round(gy + jitter[1]).ravel().astype(np.int32)
    keep = (x >= 0) & (x < x1) & (y >= y0) & (y < y1)  # after rounding: centres are pixels
    return x[keep], y[keep]


def sample_ihc_cells(layout: Layout, mpp: float, seed: int) -> Cells:
    """Tumour cells packed in nests; lymphocytes, macrophages and fibroblasts in the stroma."""
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for index, y0, y1 in _strips(layout.height):
        rng = np.random.default_rng([seed, 11, index])
        x, y = _jittered_grid(rng, layout.width, y0, y1, 13.0 / mpp)
        inside = layout.sample(layout.tissue, x, y) > TISSUE_MARGIN
        x, y = x[inside], y[inside]
        in_nest = layout.sample(layout.nest, x, y) > 0.5
        draw = rng.random(len(x))
        kind = np.where(draw < 0.05, LYMPHOCYTE, np.where(draw < 0.08, MACROPHAGE, TUMOR))
        parts.append((x[in_nest], y[in_nest], kind[in_nest].astype(np.int8)))

        sx, sy = _jittered_grid(rng, layout.width, y0, y1, 11.0 / mpp)
        inside = layout.sample(layout.tissue, sx, sy) > TISSUE_MARGIN
        inside &= layout.sample(layout.nest, sx, sy) <= 0.5
        sx, sy = sx[inside], sy[inside]
        inflamed = layout.sample(layout.inflammation, sx, sy)
        keep = rng.random(len(sx)) < 0.12 + 0.6 * inflamed
        sx, sy, inflamed = sx[keep], sy[keep], inflamed[keep]
        draw = rng.random(len(sx))
        lymph = draw < 0.25 + 0.7 * inflamed
        kind = np.where(lymph, LYMPHOCYTE, np.where(draw > 0.9, MACROPHAGE, FIBROBLAST))
        parts.append((sx, sy, kind.astype(np.int8)))
    return _finish(parts, layout, seed)


def sample_marker_cells(layout: Layout, seed: int, density: float = 0.3) -> Cells:
    """At most one cell per aligned 16x16 block, centred at x % 16 and y % 16 in [4, 11]."""
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    blocks_x = layout.width // MARKER_BLOCK
    for index, y0, y1 in _strips(layout.height):
        rng = np.random.default_rng([seed, 13, index])
        by, bx = np.mgrid[y0 // MARKER_BLOCK : y1 // MARKER_BLOCK, 0:blocks_x]
        by, bx = by.ravel().astype(np.int32), bx.ravel().astype(np.int32)
        offset = rng.integers(4, 12, (2, len(bx)), dtype=np.int32)
        chosen = rng.random(len(bx)) < density
        tissue = marker_tissue_blocks(layout, bx, by)
        keep = chosen & tissue
        x = bx[keep] * MARKER_BLOCK + offset[0][keep]
        y = by[keep] * MARKER_BLOCK + offset[1][keep]
        in_nest = layout.sample(layout.nest, x, y) > 0.5
        draw = rng.random(len(x))
        tumour = np.where(in_nest, draw < 0.9, draw < 0.05)
        other = np.where(rng.random(len(x)) < 0.3, MACROPHAGE, LYMPHOCYTE)
        parts.append((x, y, np.where(tumour, TUMOR, other).astype(np.int8)))
    return _finish(parts, layout, seed)


def marker_tissue_blocks(layout: Layout, bx: np.ndarray, by: np.ndarray) -> np.ndarray:
    """Whether each 16x16 block is tissue (judged at its centre): the markers slide's mask."""
    centre = MARKER_BLOCK / 2
    return layout.sample(layout.tissue, bx * MARKER_BLOCK + centre, by * MARKER_BLOCK + centre) > 0


def _finish(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], layout: Layout,
            seed: int) -> Cells:
    x = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int32)
    y = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int32)
    kind = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.int8)
    rng = np.random.default_rng([seed, 17])
    # Immune PD-L1: most macrophages stain (the classic false positive), a few lymphocytes.
    draw = rng.random(len(x))
    positive = ((kind == MACROPHAGE) & (draw < 0.75)) | ((kind == LYMPHOCYTE) & (draw < 0.03))
    return Cells(x.astype(np.int32), y.astype(np.int32), kind, positive)


def set_tumour_positive(cells: Cells, layout: Layout, tps: float, seed: int) -> int:
    """Mark exactly round(tps% of tumour cells) positive, clustered where the PD-L1 field is high.

    Returns the number of positive tumour cells.
    """
    if not 0.0 <= tps <= 100.0:
        raise SynthError(f"tps must be within 0..100, got {tps}")
    tumour = np.flatnonzero(cells.kind == TUMOR)
    if len(tumour) == 0:
        raise SynthError("the slide holds no tumour cells; make it larger")
    n_positive = round(tps / 100.0 * len(tumour))
    rng = np.random.default_rng([seed, 19])
    score = layout.sample(layout.pdl1, cells.x[tumour], cells.y[tumour])
    score = score + rng.normal(0.0, 0.7, len(tumour)).astype(np.float32)
    order = np.argsort(-score, kind="stable")
    cells.positive[tumour] = False
    cells.positive[tumour[order[:n_positive]]] = True
    return n_positive
