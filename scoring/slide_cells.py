"""The tile loop: prefetched tiles, batched through the model, decoded, kept once, streamed."""
from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import numpy as np

from scoring.aggregate import mask_pixel_of
from scoring.cells import CELL_DTYPE, CellSink
from scoring.decode import decode
from scoring.inference import ModelRunner
from scoring.prefetch import TileReaders
from scoring.slide_info import SlideInfo
from scoring.stain_rule import cell_dab, nucleus_dab
from scoring.tiling import TileGrid
from scoring.tissue_mask import TissueMask
from scoring.views import run_views

Progress = Callable[[int, int], None]


def keep_cells(level0_xy: np.ndarray, slide: SlideInfo, tissue: TissueMask) -> np.ndarray:
    """(K, 2) level-0 points -> (K,) bool: on the slide (not in padding) and in the mask."""
    x, y = level0_xy[:, 0], level0_xy[:, 1]
    on_slide = (x >= -0.5) & (x < slide.width - 0.5) & (y >= -0.5) & (y < slide.height - 0.5)
    row, col = mask_pixel_of(x, y, tissue)
    return np.asarray(on_slide & tissue.mask[row, col])


def detect_cells(readers: TileReaders, grid: TileGrid, runner: ModelRunner, tissue: TissueMask,
                 threshold: float, sink: CellSink, batch_size: int,
                 progress: Progress | None = None) -> float:
    """Detect every cell of the grid's tiles into `sink`; returns seconds spent in the model
    (all its views, and their fusion, scoring.views)."""
    slide = readers.slide
    sign = runner.info.sign_call()
    min_distance = runner.info.min_distance_px(runner.info.mpp)
    origins = iter(grid.origins)
    done, model_s = 0, 0.0
    for batch in readers.batches(grid, batch_size):  # (B, H, W, 3) uint8
        started = time.perf_counter()
        outputs = run_views(runner, batch)
        model_s += time.perf_counter() - started
        for b, (points, p_obj, p_class) in enumerate(outputs):
            origin = next(origins)
            cells = decode(points, p_obj, p_class, threshold, sign,
                           partial(nucleus_dab, batch[b], mpp=runner.info.mpp), min_distance)
            cells = cells.select(grid.in_core(cells.xy))
            level0_xy = grid.to_level0(cells.xy, origin)
            keep = keep_cells(level0_xy, slide, tissue)
            records = np.empty(int(keep.sum()), CELL_DTYPE)
            records["x"], records["y"] = level0_xy[keep, 0], level0_xy[keep, 1]
            records["cls"], records["p_obj"] = cells.cls[keep], cells.p_obj[keep]
            records["p_class"] = cells.p_class[keep]
            dab = cell_dab(batch[b], cells.xy[keep], runner.info.mpp)
            records["dab_nucleus"], records["dab_membrane"] = dab.nucleus, dab.membrane
            sink.append(records)
        done += len(batch)
        if progress is not None:
            progress(done, len(grid))
    return model_s
