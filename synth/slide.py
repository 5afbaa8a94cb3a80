"""Synthetic whole-slide images with exact truth: `write_slide`."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from synth.classes import CLASS_NAMES
from synth.layout import Layout, make_layout
from synth.markers import paint_marker_band
from synth.population import (
    Cells,
    SynthError,
    sample_ihc_cells,
    sample_marker_cells,
    set_tumour_positive,
)
from synth.pyramid import write_pyramid
from synth.render import BLUR_MARGIN, Painter, make_painter, paint_window, upsample
from synth.truth import SlideTruth, class_counts, truth_paths, write_truth

STYLES = ("ihc", "markers")


def _rows(cells: Cells, order: np.ndarray, sorted_y: np.ndarray, y0: int, y1: int) -> Cells:
    lo, hi = np.searchsorted(sorted_y, [y0, y1])
    pick = order[lo:hi]
    return Cells(cells.x[pick], cells.y[pick], cells.kind[pick], cells.positive[pick])


class _BandPainter:
    """Paints full-width row bands in order, counting tissue pixels on the way."""

    def __init__(self, layout: Layout, cells: Cells, style: str, painter: Painter | None) -> None:
        self.layout, self.cells, self.style, self.painter = layout, cells, style, painter
        self.order = np.argsort(cells.y, kind="stable")
        self.sorted_y = cells.y[self.order]
        self.tissue_pixels = 0
        reach = 0 if painter is None else max(bank.half for bank in painter.banks)
        self.reach = reach + BLUR_MARGIN + 1

    def __call__(self, y0: int, y1: int) -> np.ndarray:
        if self.painter is None:
            band, tissue = paint_marker_band(
                self.layout, _rows(self.cells, self.order, self.sorted_y, y0, y1), y0, y1
            )
            self.tissue_pixels += tissue
            return band
        near = _rows(self.cells, self.order, self.sorted_y, y0 - self.reach, y1 + self.reach)
        width = self.layout.width
        self.tissue_pixels += int((upsample(self.layout.tissue, y0, y1, 0, width) > 0).sum())
        return paint_window(self.painter, self.layout, near, y0, y1, 0, width)


def write_slide(path: Path, width: int, height: int, tps: float, seed: int, mpp: float = 0.5,
                style: str = "ihc") -> SlideTruth:
    """Write a pyramidal TIFF slide plus `<stem>.truth.json` and `<stem>.cells.csv.gz`."""
    if style not in STYLES:
        raise SynthError(f"style must be one of {STYLES}, got {style!r}")
    if width < 64 or height < 64:
        raise SynthError(f"slide must be at least 64 x 64 pixels, got {width} x {height}")
    path = Path(path)
    layout = make_layout(width, height, mpp, np.random.default_rng([seed, 3]), fragments=True)
    if style == "markers":
        cells = sample_marker_cells(layout, seed)
        painter = None
    else:
        cells = sample_ihc_cells(layout, mpp, seed)
        painter = make_painter(mpp, seed)
    n_positive = set_tumour_positive(cells, layout, tps, seed)
    bands = _BandPainter(layout, cells, style, painter)
    levels = write_pyramid(path, width, height, bands, mpp, lossless=style == "markers")
    counts = class_counts(cells)
    n_tumour = counts["tumor_pos"] + counts["tumor_neg"]
    assert counts["tumor_pos"] == n_positive and set(counts) == set(CLASS_NAMES)
    truth = SlideTruth(
        slide=path.name, width=width, height=height, mpp=mpp, levels=levels, style=style,
        seed=seed, tps_requested=float(tps), tps=100.0 * n_positive / n_tumour, counts=counts,
        tissue_area_mm2=bands.tissue_pixels * (mpp / 1000.0) ** 2,
        cells_file=truth_paths(path)[1].name,
    )
    write_truth(path, truth, cells)
    return truth
